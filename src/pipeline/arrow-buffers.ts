/**
 * @module pipeline/arrow-buffers — a column batch as Arrow's memory layout (validity bitmap, offsets,
 * values), plain typed arrays with no Arrow library behind them: pipeline/arrow-ipc frames them as an
 * IPC stream for parquet-wasm, pipeline/arrow-table wraps them as apache-arrow Data for the tools.
 * Layout: https://arrow.apache.org/docs/format/Columnar.html
 */
import type { ColumnType } from "../schema/v1.ts";
import { unpackUtf8, type ColumnBatch, type ColumnData } from "./columns.ts";

export interface ArrowColumn {
  name: string;
  type: ColumnType;
  nullable: boolean;
  length: number;
  nullCount: number;
  /** LSB-first validity bits; absent when no value is null. */
  validity?: Uint8Array;
  /** utf8 and list_f64: exactly n + 1 offsets into `values` (bytes, or list elements). */
  offsets?: Int32Array;
  /** utf8: UTF-8 bytes; int64: BigInt64Array; float64 and list_f64 (the elements): Float64Array; bool: LSB-first bits. */
  values: Uint8Array | BigInt64Array | Float64Array;
}

const encoder = new TextEncoder();

function validityBitmap(valid: Uint8Array | undefined, n: number): { validity?: Uint8Array; nullCount: number } {
  if (!valid) return { nullCount: 0 };
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (valid[i]) bitmap[i >> 3]! |= 1 << (i & 7);
    else nullCount++;
  }
  return nullCount === 0 ? { nullCount: 0 } : { validity: bitmap, nullCount };
}

function packBits(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (bytes[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

function int64Values(numbers: Float64Array): BigInt64Array {
  const out = new BigInt64Array(numbers.length);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < numbers.length; i++) {
    const v = numbers[i]!;
    if (v >= 0) {
      // Faster than BigInt(v) for the non-negative safe integers that timestamps and ids are.
      words[2 * i] = v >>> 0;
      words[2 * i + 1] = Math.floor(v / 4294967296);
    } else {
      out[i] = BigInt(v);
    }
  }
  return out;
}

interface Utf8Buffers {
  offsets: Int32Array;
  bytes: Uint8Array;
}

function utf8Data(strings: (string | null)[], valid: Uint8Array | undefined): Utf8Buffers {
  const cache = new Map<string, Uint8Array>();
  const encoded = new Array<Uint8Array | null>(strings.length);
  let total = 0;
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i];
    if (s == null || (valid && !valid[i])) {
      encoded[i] = null;
      continue;
    }
    let b = cache.get(s);
    if (!b) {
      b = encoder.encode(s);
      if (cache.size < 4096) cache.set(s, b);
    }
    encoded[i] = b;
    total += b.length;
  }
  const offsets = new Int32Array(strings.length + 1);
  const bytes = new Uint8Array(total);
  let pos = 0;
  for (let i = 0; i < encoded.length; i++) {
    const b = encoded[i];
    if (b) {
      bytes.set(b, pos);
      pos += b.length;
    }
    offsets[i + 1] = pos;
  }
  return { offsets, bytes };
}

/** Dictionary-coded strings (exchange, symbol, conn_id…): each value encoded once, no string per row; no codes = every row dict[0]. */
function utf8FromDict(dict: string[], codes: Uint8Array | Int32Array | undefined, n: number, valid: Uint8Array | undefined): Utf8Buffers {
  const enc = dict.map((d) => encoder.encode(d));
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!valid || valid[i]) total += enc[codes ? codes[i]! : 0]!.length;
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < n; i++) {
    const start = offsets[i]!;
    if (offsets[i + 1]! > start) bytes.set(enc[codes ? codes[i]! : 0]!, start);
  }
  return { offsets, bytes };
}

/**
 * Plain strings (trade ids) arrive concatenated: when they are all ASCII (1 byte per character) the
 * UTF-8 bytes are one encode of the whole and the offsets are the running lengths. Null for anything
 * else (the per-string path handles it).
 */
function utf8FromJoinedAscii(joined: string, lengths: Int32Array, n: number, valid: Uint8Array | undefined): Utf8Buffers | null {
  if (valid) return null; // nulls are stored as "" already, but keep the general path for them
  const bytes = encoder.encode(joined);
  if (bytes.length !== joined.length) return null;
  const offsets = new Int32Array(n + 1);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    pos += lengths[i]!;
    offsets[i + 1] = pos;
  }
  return { offsets, bytes };
}

/** Integer ids kept as numbers (pipeline/column-builder): their decimal digits, which are the strings received. */
function utf8FromInts(ints: Float64Array, n: number, valid: Uint8Array | undefined): Utf8Buffers {
  const strings = new Array<string>(n);
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!valid || valid[i]) {
      const s = String(ints[i]!);
      strings[i] = s;
      total += s.length;
    }
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (s === undefined) continue;
    const start = offsets[i]!;
    for (let k = 0; k < s.length; k++) bytes[start + k] = s.charCodeAt(k);
  }
  return { offsets, bytes };
}

function utf8Of(c: ColumnData, n: number): Utf8Buffers {
  const u = c.utf8;
  if (!u) return { offsets: new Int32Array(n + 1), bytes: new Uint8Array(0) }; // no values: n empty strings (or nulls, by `valid`)
  if ("dict" in u) return utf8FromDict(u.dict, u.codes, n, c.valid);
  if ("ints" in u) return utf8FromInts(u.ints, n, c.valid);
  return utf8FromJoinedAscii(u.joined, u.lengths, n, c.valid) ?? utf8Data(unpackUtf8(u, n), c.valid);
}

/**
 * One column's Arrow buffers, exactly `n` rows long (offsets n + 1, list elements up to offsets[n]). The
 * builder hands its buffers over untrimmed (no copy on the ingest thread): views of their first rows.
 */
export function arrowColumn(c: ColumnData, n: number): ArrowColumn {
  const { validity, nullCount } = validityBitmap(c.valid, n);
  const base = { name: c.name, type: c.type, nullable: c.nullable, length: n, nullCount, validity };
  switch (c.type) {
    case "utf8": {
      const { offsets, bytes } = utf8Of(c, n);
      return { ...base, offsets, values: bytes };
    }
    case "int64":
      return { ...base, values: int64Values(c.numbers!.subarray(0, n)) };
    case "float64":
      return { ...base, values: c.numbers!.subarray(0, n) };
    case "bool":
      return { ...base, values: packBits(c.bools ?? new Uint8Array(n), n) };
    case "list_f64": {
      const offsets = (c.list?.offsets ?? new Int32Array(n + 1)).subarray(0, n + 1);
      return { ...base, offsets, values: (c.list?.values ?? new Float64Array(0)).subarray(0, offsets[n]!) };
    }
  }
}

export function arrowColumns(batch: ColumnBatch): ArrowColumn[] {
  return batch.columns.map((c) => arrowColumn(c, batch.length));
}
