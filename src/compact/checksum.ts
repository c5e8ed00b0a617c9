/**
 * @module compact/checksum — an order-independent checksum of decoded rows: the proof that a
 * compacted file holds exactly the rows of its sources (docs/compact.md).
 */
import { DICTIONARY_COLUMNS } from "../schema/v1.ts";
import type { Column, Decoded, ListValues } from "./columns.ts";
import { at, numbersOf } from "./columns.ts";

const SEED_A = 0x2545f491;
const SEED_B = 0x9e3779b9 | 0;
const NULL_MARK = 0x6b43a9b5;
const BOOL_TRUE = 0x1b56c4e9;
const BOOL_FALSE = 0x2f0c7d13;
const TWO32 = 4294967296;
/** Scratch for a float64's two 32-bit words (little-endian: low word first, as on every host Bun runs on). */
const WORDS = new DataView(new ArrayBuffer(8));

/** murmur3 32-bit body step and finaliser. */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A column as the checksum reads it, in this order of precedence: strings (pre-hashed), bools, list, numbers. */
type Hashed = { valid: Uint8Array | undefined } & (
  | { kind: "strings"; a: Int32Array; b: Int32Array }
  | { kind: "bools"; bools: Uint8Array }
  | { kind: "list"; list: ListValues }
  | { kind: "numbers"; numbers: Float64Array }
);

function hashed(col: Column, rows: number): Hashed {
  const valid = col.valid;
  if (col.strings) return { valid, kind: "strings", ...stringHashes(col.strings, rows, DICTIONARY_COLUMNS.has(col.def.name)) };
  if (col.bools) return { valid, kind: "bools", bools: col.bools };
  if (col.list) return { valid, kind: "list", list: col.list };
  return { valid, kind: "numbers", numbers: numbersOf(col) };
}

/** Per-row string hashes (two lanes), computed once per distinct value for the low-cardinality columns. */
function stringHashes(strings: (string | null)[], rows: number, dictionary: boolean): { a: Int32Array; b: Int32Array } {
  const a = new Int32Array(rows);
  const b = new Int32Array(rows);
  const cache = dictionary ? new Map<string, [number, number]>() : null;
  for (let i = 0; i < rows; i++) {
    const s = strings[i];
    if (s === null || s === undefined) continue;
    let h = cache?.get(s);
    if (!h) {
      h = [Bun.hash.xxHash32(s, SEED_A) | 0, Bun.hash.xxHash32(s, SEED_B >>> 0) | 0];
      cache?.set(s, h);
    }
    a[i] = h[0];
    b[i] = h[1];
  }
  return { a, b };
}

/**
 * Order-independent checksum of the rows: the sum mod 2^64 of a 64-bit hash of each row (two
 * 32-bit murmur3 lanes over every column's value in schema order: float64 bits of numbers,
 * xxHash32 of strings, a marker for nulls, one of two markers for a bool, a list's length then
 * its values' float64 bits). Same rows in any order → same checksum; a lost,
 * duplicated or altered row changes it. Allocates nothing per row.
 */
export class Checksum {
  private lo = 0;
  private hi = 0;
  rows = 0;
  /** The two lanes of the row being hashed. */
  private ha = 0;
  private hb = 0;

  add(t: Decoded): void {
    const cols = t.columns.map((col) => hashed(col, t.length));
    let lo = this.lo;
    let hi = this.hi;
    for (let i = 0; i < t.length; i++) {
      this.ha = SEED_A;
      this.hb = SEED_B;
      for (const col of cols) this.mixValue(col, i);
      lo += fmix(this.ha ^ cols.length);
      if (lo >= TWO32) {
        lo -= TWO32;
        hi += 1;
      }
      hi = (hi + fmix(this.hb ^ cols.length)) % TWO32;
    }
    this.lo = lo;
    this.hi = hi;
    this.rows += t.length;
  }

  hex(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }

  private mixValue(col: Hashed, i: number): void {
    if (col.valid && !col.valid[i]) return this.word(NULL_MARK, ~NULL_MARK);
    switch (col.kind) {
      case "strings":
        return this.word(at(col.a, i), at(col.b, i));
      case "bools":
        return col.bools[i] ? this.word(BOOL_TRUE, ~BOOL_TRUE) : this.word(BOOL_FALSE, ~BOOL_FALSE);
      case "list": {
        // Length, then every value's float64 bits: [1,2],[3] and [1],[2,3] differ.
        const from = at(col.list.offsets, i);
        const to = at(col.list.offsets, i + 1);
        this.word(to - from, ~(to - from));
        for (let k = from; k < to; k++) this.float(at(col.list.values, k));
        return;
      }
      case "numbers":
        return this.float(at(col.numbers, i));
    }
  }

  private word(ka: number, kb: number): void {
    this.ha = mix(this.ha, ka);
    this.hb = mix(this.hb, kb);
  }

  /** Low then high word into lane a, high then low into lane b. */
  private float(x: number): void {
    WORDS.setFloat64(0, x, true);
    const low = WORDS.getUint32(0, true);
    const high = WORDS.getUint32(4, true);
    this.ha = mix(mix(this.ha, low), high);
    this.hb = mix(mix(this.hb, high), low);
  }
}

export function checksum(t: Decoded): string {
  const c = new Checksum();
  c.add(t);
  return c.hex();
}
