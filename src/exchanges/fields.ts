/** @module exchanges/fields — strict readers for venue fields: a wrong type is an error, never a guess. */

export class FieldError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A decimal string or JSON number → float64 exactly as sent; absent → null; "" → null. */
export function optFloat(o: Obj, key: string): number | null {
  const v = o[key];
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && NUMERIC.test(v)) {
    const n = Number(v);
    // "1e400" parses to Infinity: a counted skip like any other bad number, never stored.
    if (Number.isFinite(n)) return n;
  }
  throw new FieldError(`bad_number:${key}`);
}

export function reqFloat(o: Obj, key: string): number {
  const v = optFloat(o, key);
  if (v === null) throw new FieldError(`missing:${key}`);
  return v;
}

/** An integer (ms timestamp, id) given as a JSON number or an integer string. */
export function optInt(o: Obj, key: string): number | null {
  const v = o[key];
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && /^-?\d{1,16}$/.test(v)) {
    const n = Number(v);
    if (Number.isSafeInteger(n)) return n;
  }
  throw new FieldError(`bad_integer:${key}`);
}

export function reqInt(o: Obj, key: string): number {
  const v = optInt(o, key);
  if (v === null) throw new FieldError(`missing:${key}`);
  return v;
}

export function reqString(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v === "string" && v !== "") return v;
  if (v === undefined) throw new FieldError(`missing:${key}`);
  throw new FieldError(`bad_string:${key}`);
}

/** A string field; absent, null or "" → null. */
export function optString(o: Obj, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "string") return v;
  throw new FieldError(`bad_string:${key}`);
}

/** An order side `buy`/`sell` in any case (Binance `SELL`, Bybit `Sell`, OKX `sell`). */
export function reqSide(o: Obj, key: string): "buy" | "sell" {
  const v = reqString(o, key).toLowerCase();
  if (v !== "buy" && v !== "sell") throw new FieldError(`bad_side:${key}`);
  return v;
}

/** An id that may arrive as a number or a string; stored as its decimal text. */
export function reqId(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  if (typeof v === "string" && v !== "") return v;
  if (v === undefined) throw new FieldError(`missing:${key}`);
  throw new FieldError(`bad_id:${key}`);
}

export function reqBool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v === "boolean") return v;
  if (v === undefined) throw new FieldError(`missing:${key}`);
  throw new FieldError(`bad_bool:${key}`);
}

/** JSON.parse that reports instead of throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * First level of a book side, `[[price, size, …], …]` as strings (Bybit `b`/`a`, OKX `bids`/`asks`);
 * an absent or empty side gives nulls. `names` label the two values in skip reasons.
 */
export function firstLevel(d: Obj, key: string, names: readonly [string, string]): [number | null, number | null] {
  const side = d[key];
  if (side === undefined || (Array.isArray(side) && side.length === 0)) return [null, null];
  if (!Array.isArray(side) || !Array.isArray(side[0])) throw new FieldError(`bad_level:${key}`);
  const lv = side[0] as unknown[];
  const o = { [names[0]]: lv[0], [names[1]]: lv[1] };
  return [reqFloat(o, names[0]), reqFloat(o, names[1])];
}

/**
 * Every level of a book side as sent, `[[price, size, …], …]` → two parallel arrays (order kept,
 * size 0 = delete). An absent side is empty; a malformed level is an error, never skipped.
 */
export function bookSide(d: Obj, key: string): [number[], number[]] {
  const side = d[key];
  if (side === undefined || side === null) return [[], []];
  if (!Array.isArray(side)) throw new FieldError(`bad_levels:${key}`);
  const px = new Array<number>(side.length);
  const qty = new Array<number>(side.length);
  for (let i = 0; i < side.length; i++) {
    const lv = side[i];
    if (!Array.isArray(lv) || lv.length < 2) throw new FieldError(`bad_level:${key}`);
    px[i] = levelNumber(lv[0], key);
    qty[i] = levelNumber(lv[1], key);
  }
  return [px, qty];
}

function levelNumber(v: unknown, key: string): number {
  if (typeof v === "string" && NUMERIC.test(v)) return Number(v);
  if (typeof v === "number" && Number.isFinite(v)) return v;
  throw new FieldError(`bad_level:${key}`);
}
