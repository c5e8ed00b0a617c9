/** @module exchanges/fields — strict readers for venue fields: a wrong type is an error, never a guess. */
import { digitsInt } from "../schema/digits.ts";

export class FieldError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Exact powers of ten for the fast path below (10^0 … 10^15 are exact doubles). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * A decimal string as the venues send it: `-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?` and nothing else
 * (no sign `+`, no spaces, no hex/octal/binary, no `Infinity`). `Number()` accepts exactly that
 * grammar plus surrounding white space, a leading `+`, `Infinity` and `0x`/`0o`/`0b` integers
 * (ECMA-262 StringNumericLiteral), so a finite `Number()` result whose text starts with a digit, `-`
 * or `.`, ends with a digit or `.` and has no radix prefix is exactly a string of that grammar. Per value
 * (realistic prices and sizes) this takes ~23–29 ns where the regular expression + Number() took ~42–49 ns.
 */
function decimalOf(v: string): number | null {
  // Fast path, `-?\d*\.?\d*` with 1–15 digits (nearly every venue price and size): the digits as an
  // integer m < 10^15 < 2^53 and 10^k (k ≤ 15 decimals) are both exact doubles, so m / 10^k is
  // the correctly rounded value of the text, the same double Number() returns (Clinger's fast path).
  const len = v.length;
  let i = 0;
  let negative = false;
  if (v.charCodeAt(0) === 45) {
    negative = true;
    i = 1;
  }
  let m = 0;
  let digits = 0;
  let dot = -1;
  for (; i < len; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
    } else if (c === 46 && dot < 0) dot = i;
    else break;
  }
  if (i === len && digits > 0 && digits <= 15) {
    const n = m / POW10[dot < 0 ? 0 : len - 1 - dot]!;
    return negative ? -n : n;
  }
  return anyDecimalOf(v);
}

/** Any text of that grammar (exponents, more than 15 digits): Number() and the checks described above. */
function anyDecimalOf(v: string): number | null {
  const n = Number(v);
  // NaN - NaN and ±Infinity - ±Infinity are NaN: one comparison tests "finite".
  if (n - n !== 0) return null;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  if (!((first >= 48 && first <= 57) || first === 45 || first === 46)) return null;
  if (!((last >= 48 && last <= 57) || last === 46)) return null;
  if (first === 48 && v.length > 2) {
    const p = v.charCodeAt(1) | 0x20; // lower case
    if (p === 120 || p === 111 || p === 98) return null; // 0x 0o 0b
  }
  return n;
}

/** A decimal string or JSON number → float64 exactly as sent; absent → null; "" → null. */
export function optFloat(o: Obj, key: string): number | null {
  const v = o[key];
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "number") {
    if (v - v === 0) return v;
  } else if (typeof v === "string") {
    // "1e400" parses to Infinity: a counted skip like any other bad number, never stored.
    const n = decimalOf(v);
    if (n !== null) return n;
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
  if (typeof v === "string") {
    const n = integerOf(v);
    if (n !== null) return n;
  }
  throw new FieldError(`bad_integer:${key}`);
}

/** `-?\d{1,16}` (digits only, as the venues send ids and ms times) that is a safe integer; else null. */
function integerOf(v: string): number | null {
  const negative = v.charCodeAt(0) === 45;
  const n = digitsInt(v, negative ? 1 : 0);
  return n !== null && negative ? -n : n;
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
  if (typeof v === "string") {
    const n = decimalOf(v);
    if (n !== null) return n;
  } else if (typeof v === "number" && v - v === 0) return v;
  throw new FieldError(`bad_level:${key}`);
}
