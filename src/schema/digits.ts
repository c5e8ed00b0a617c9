/**
 * @module schema/digits — the one reader of venue integer text (ids, ms times): 1–16 decimal digits
 * that make a safe integer. Shared by the adapters' strict field readers and the trade-id gap tracker.
 */

/** `v` from index `from` on: `\d{1,16}` that is a safe integer, else null. */
export function digitsInt(v: string, from = 0): number | null {
  const len = v.length;
  if (len - from < 1 || len - from > 16) return null;
  // Accumulated exactly while the value is a safe integer; a 16-digit text above 2^53 - 1 accumulates
  // to 2^53 or more (rounding is monotonic) and is refused, as Number() + isSafeInteger did.
  let n = 0;
  for (let i = from; i < len; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    n = n * 10 + (c - 48);
  }
  return n > Number.MAX_SAFE_INTEGER ? null : n;
}
