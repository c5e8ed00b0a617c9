/** @module pipeline/columns — the column batch handed to the encoder worker, and its string packing. */
import type { FileStream } from "../schema/rows.ts";
import type { ColumnType } from "../schema/v1.ts";

/**
 * utf8 columns cross to the worker without a per-string structured clone (which cost tens of ms
 * for 16k-row flushes on the ingest thread): few distinct values → dictionary + codes (absent
 * when every row holds dict[0]: exchange, symbol and exchange_symbol are constant per partition, so
 * they cost nothing per row); otherwise one concatenated string + Int32 lengths. Both forms are exact.
 */
export type Utf8Data = { dict: string[]; codes?: Uint8Array | Int32Array } | { ints: Float64Array } | { joined: string; lengths: Int32Array };

/**
 * `v` as a number when it is a canonical decimal integer that String(number) gives back exactly
 * (digits only, no leading zero, at most 15 digits: below 2^53), else -1. Trade ids of Binance and
 * OKX are: kept as 8-byte numbers instead of one string each (pipeline/column-builder).
 */
export function canonicalInt(v: string): number {
  const n = v.length;
  if (n === 0 || n > 15) return -1;
  let x = 0;
  for (let k = 0; k < n; k++) {
    const d = v.charCodeAt(k) - 48;
    if (d < 0 || d > 9 || (k === 0 && d === 0 && n > 1)) return -1;
    x = x * 10 + d;
  }
  return x;
}

export interface ColumnData {
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** float64 and int64 columns: numbers (int64 values are safe integers). */
  numbers?: Float64Array;
  utf8?: Utf8Data;
  /** bool columns: 1/0 per row (pipeline/list-columns). */
  bools?: Uint8Array;
  /** list_f64 columns: row i's values are values[offsets[i] .. offsets[i+1]) (pipeline/list-columns). */
  list?: { offsets: Int32Array; values: Float64Array };
  /** 1 = value present, 0 = null; absent when the column has no nulls. */
  valid?: Uint8Array;
}

/** The strings back from their packed form (worker side). */
export function unpackUtf8(u: Utf8Data, n: number): string[] {
  const out = new Array<string>(n);
  if ("dict" in u) {
    const codes = u.codes;
    for (let i = 0; i < n; i++) out[i] = u.dict[codes ? codes[i]! : 0]!;
  } else if ("ints" in u) {
    for (let i = 0; i < n; i++) out[i] = String(u.ints[i]!);
  } else {
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const len = u.lengths[i]!;
      out[i] = u.joined.slice(pos, pos + len);
      pos += len;
    }
  }
  return out;
}

export interface ColumnBatch {
  stream: FileStream;
  length: number;
  columns: ColumnData[];
}

/** The batch's ArrayBuffers, moved (not copied) to and from the encoder worker. */
export function transferablesOf(batch: ColumnBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of batch.columns) {
    if (c.numbers) out.push(c.numbers.buffer as ArrayBuffer);
    const packed = c.utf8 && ("dict" in c.utf8 ? c.utf8.codes : "ints" in c.utf8 ? c.utf8.ints : c.utf8.lengths);
    if (packed) out.push(packed.buffer as ArrayBuffer);
    if (c.valid) out.push(c.valid.buffer as ArrayBuffer);
    if (c.bools) out.push(c.bools.buffer as ArrayBuffer);
    if (c.list) out.push(c.list.offsets.buffer as ArrayBuffer, c.list.values.buffer as ArrayBuffer);
  }
  return out;
}
