/**
 * @module compact/table — Parquet files of one partition in and out: decode (parquet-wasm →
 * apache-arrow), check against schema v1, concatenate, sort, checksum, encode with the product's
 * own encoder (same columns, types, encodings; larger row groups).
 */
import { tableFromIPC, tableToIPC, type Table, type Vector } from "apache-arrow";
import { ParquetFile, readParquet, readSchema, Table as WasmTable, transformParquetStream, type RecordBatch as WasmRecordBatch } from "parquet-wasm/esm";
import { batchToArrow, writerProperties } from "../pipeline/encode.ts";
import type { ColumnBatch, ColumnData } from "../pipeline/columns.ts";
import { columnsFor, DICTIONARY_COLUMNS, type ColumnDef } from "../schema/v1.ts";
import type { FileStream } from "../schema/rows.ts";

export class CompactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompactError";
  }
}

/**
 * One column, decoded: numbers for int64/float64 (int64 values are safe integers), strings for utf8,
 * bools (1/0 per row) for bool, list (Arrow's layout: row i = values[offsets[i] .. offsets[i+1]))
 * for list_f64 — the forms the product's encoder takes (pipeline/list-columns).
 */
export interface Column {
  def: ColumnDef;
  numbers?: Float64Array;
  strings?: (string | null)[];
  bools?: Uint8Array;
  list?: { offsets: Int32Array; values: Float64Array };
  /** 1 = present, 0 = null; absent when no nulls. */
  valid?: Uint8Array;
}

export interface Decoded {
  length: number;
  columns: Column[];
  metadata: Map<string, string>;
}

/** Key-value metadata only (the file's footer), without decoding rows. */
export function readMetadata(bytes: Uint8Array): Map<string, string> {
  const schema = readSchema(bytes);
  try {
    return new Map([...schema.metadata()].map(([k, v]) => [String(k), String(v)]));
  } finally {
    schema.free();
  }
}

const typeName = (t: unknown): string => String(t);
const EXPECTED_ARROW: Record<ColumnDef["type"], string> = { utf8: "Utf8", int64: "Int64", float64: "Float64", bool: "Bool", list_f64: "List<Float64>" };

/**
 * JavaScriptCore collects the short-lived Arrow/IPC buffers of a multi-million-row stream too
 * late (measured: RSS 5.7 GB for a 4 M-row verify); a full collection every ~1 M rows bounds it.
 */
let sinceGc = 0;
function collectEvery(rows: number): void {
  sinceGc += rows;
  if (sinceGc >= 1_000_000) {
    sinceGc = 0;
    Bun.gc(true);
  }
}

/** Rows per decoded batch: a large file is converted batch by batch, never whole in wasm memory. */
const READ_BATCH_ROWS = 65_536;

/**
 * Stream a file's rows batch by batch (a large file is never whole in wasm memory), checking it has
 * exactly the v1 columns of `stream` (names, order, types, nullability). Returns its metadata.
 */
export async function forEachBatch(bytes: Uint8Array, stream: FileStream, what: string, fn: (batch: Decoded) => void): Promise<Map<string, string>> {
  const metadata = readMetadata(bytes);
  const defs = columnsFor(stream);
  const want = defs.map((d) => `${d.name}:${EXPECTED_ARROW[d.type]}:${d.nullable}`);
  const check = (t: Table) => {
    const got = t.schema.fields.map((f) => `${f.name}:${typeName(f.type)}:${f.nullable}`);
    if (got.join(",") !== want.join(",")) throw new CompactError(`${what}: columns ${got.join(",")} are not schema v1 ${stream} (${want.join(",")})`);
  };
  let batches = 0;
  const file = await ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  try {
    const stream_ = (await file.stream({ batchSize: READ_BATCH_ROWS })) as unknown as AsyncIterable<WasmRecordBatch>;
    for await (const rb of stream_) {
      const t = tableFromIPC(rb.intoIPCStream());
      check(t);
      batches++;
      collectEvery(t.numRows);
      fn({ length: t.numRows, columns: defs.map((def) => decodeColumn(t.getChild(def.name)!, def, t.numRows, what)), metadata });
    }
  } finally {
    file.free();
  }
  if (batches === 0) check(tableFromIPC(readParquet(bytes).intoIPCStream()));
  return metadata;
}

/** Decode a whole file (sources are small: one flush each). */
export async function decode(bytes: Uint8Array, stream: FileStream, what: string): Promise<Decoded> {
  const parts: Decoded[] = [];
  const metadata = await forEachBatch(bytes, stream, what, (b) => parts.push(b));
  return parts.length === 1 ? parts[0]! : concat(parts, stream, metadata);
}

/** Row count, checksum and order of a (large) file, streamed: nothing but one batch held. */
export async function verifyFile(
  bytes: Uint8Array,
  stream: FileStream,
  what: string,
): Promise<{ rows: number; checksum: string; sorted: boolean; metadata: Map<string, string> }> {
  const sum = new Checksum();
  let sorted = true;
  let last: SortKey | null = null;
  const metadata = await forEachBatch(bytes, stream, what, (b) => {
    sum.add(b);
    if (b.length === 0) return;
    if (sorted && last && compareKeys(last, keyAt(b, stream, 0)) > 0) sorted = false;
    if (sorted && !isSorted(b, stream)) sorted = false;
    last = keyAt(b, stream, b.length - 1);
  });
  return { rows: sum.rows, checksum: sum.hex(), sorted, metadata };
}

type SortKey = [number, string, number];
function keyAt(t: Decoded, stream: FileStream, i: number): SortKey {
  const k = sortKeys(t, stream);
  return [k.ts[i]!, k.conn[i]!, k.seq ? k.seq[i]! : 0];
}
function compareKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2];
}

function decodeColumn(v: Vector, def: ColumnDef, n: number, what: string): Column {
  let valid: Uint8Array | undefined;
  if (v.nullCount > 0) {
    valid = new Uint8Array(n);
    for (let i = 0; i < n; i++) valid[i] = v.isValid(i) ? 1 : 0;
  }
  if (def.type === "utf8") {
    const strings = new Array<string | null>(n);
    if (DICTIONARY_COLUMNS.has(def.name)) {
      // Few distinct values: one string instance each (memory: 8 bytes per row instead of a string per row).
      const seen = new Map<string, string>();
      for (let i = 0; i < n; i++) {
        if (valid && !valid[i]) {
          strings[i] = null;
          continue;
        }
        const s = v.get(i) as string;
        let one = seen.get(s);
        if (one === undefined) seen.set(s, (one = s));
        strings[i] = one;
      }
    } else {
      for (let i = 0; i < n; i++) strings[i] = valid && !valid[i] ? null : (v.get(i) as string);
    }
    return { def, strings, valid };
  }
  if (def.type === "bool") {
    const bools = new Uint8Array(n);
    for (let i = 0; i < n; i++) bools[i] = (!valid || valid[i]) && v.get(i) ? 1 : 0;
    return { def, bools, valid };
  }
  if (def.type === "list_f64") return { def, list: decodeList(v, n, valid), valid };
  const numbers = new Float64Array(n);
  if (def.type === "float64") {
    let i = 0;
    for (const d of v.data) {
      numbers.set(d.values.subarray(0, d.length) as Float64Array, i);
      i += d.length;
    }
  } else {
    let i = 0;
    for (const d of v.data) {
      const vals = d.values as BigInt64Array;
      for (let j = 0; j < d.length; j++, i++) {
        const x = vals[j]!;
        if (x > 9007199254740991n || x < -9007199254740991n)
          throw new CompactError(`${what}: ${def.name} value ${x} is outside the safe integer range; not compacted`);
        numbers[i] = Number(x);
      }
    }
  }
  if (valid) for (let i = 0; i < n; i++) if (!valid[i]) numbers[i] = 0;
  return { def, numbers, valid };
}

/** A list<float64> vector as flat values + offsets (a null row is an empty list, marked in `valid`). */
function decodeList(v: Vector, n: number, valid: Uint8Array | undefined): { offsets: Int32Array; values: Float64Array } {
  const offsets = new Int32Array(n + 1);
  // Fast path: a chunk's own offsets into its child's Float64 values (what a Parquet read yields).
  const isFast = (d: Vector["data"][number]) =>
    !!d.valueOffsets && !!d.children[0] && d.offset === 0 && d.children[0].offset === 0 && d.children[0].values instanceof Float64Array;
  let total = 0;
  let row0 = 0;
  for (const d of v.data) {
    if (isFast(d)) total += d.valueOffsets[d.length]! - d.valueOffsets[0]!;
    else for (let j = 0; j < d.length; j++) total += (v.get(row0 + j) as Vector | null)?.length ?? 0;
    row0 += d.length;
  }
  const values = new Float64Array(total);
  let row = 0;
  let pos = 0;
  for (const d of v.data) {
    const child = d.children[0];
    const vo = d.valueOffsets as Int32Array;
    const fast = isFast(d);
    for (let j = 0; j < d.length; j++, row++) {
      if (!valid || valid[row]) {
        if (fast) {
          const from = vo[j]!;
          const to = vo[j + 1]!;
          values.set((child!.values as Float64Array).subarray(from, to), pos);
          pos += to - from;
        } else {
          const item = v.get(row) as Vector | null;
          if (item) for (let k = 0; k < item.length; k++) values[pos++] = Number(item.get(k));
        }
      }
      offsets[row + 1] = pos;
    }
  }
  // A null row's range (if a writer left one) is not kept: it reads as null, not as its values.
  return { offsets, values: pos === total ? values : values.slice(0, pos) };
}

/** Concatenate decoded files (same stream) into one. */
export function concat(parts: Decoded[], stream: FileStream, metadata: Map<string, string> = new Map()): Decoded {
  const defs = columnsFor(stream);
  const length = parts.reduce((a, p) => a + p.length, 0);
  const columns = defs.map((def, c): Column => {
    const anyNull = parts.some((p) => p.columns[c]!.valid);
    const valid = anyNull ? new Uint8Array(length).fill(1) : undefined;
    let off = 0;
    if (def.type === "utf8") {
      const strings = new Array<string | null>(length);
      for (const p of parts) {
        const col = p.columns[c]!;
        for (let i = 0; i < p.length; i++) strings[off + i] = col.strings![i]!;
        if (valid && col.valid) valid.set(col.valid, off);
        off += p.length;
      }
      return { def, strings, valid };
    }
    if (def.type === "bool") {
      const bools = new Uint8Array(length);
      for (const p of parts) {
        const col = p.columns[c]!;
        bools.set(col.bools!, off);
        if (valid && col.valid) valid.set(col.valid, off);
        off += p.length;
      }
      return { def, bools, valid };
    }
    if (def.type === "list_f64") {
      const offsets = new Int32Array(length + 1);
      const values = new Float64Array(parts.reduce((a, p) => a + p.columns[c]!.list!.values.length, 0));
      let base = 0;
      for (const p of parts) {
        const col = p.columns[c]!;
        const l = col.list!;
        values.set(l.values, base);
        for (let i = 0; i < p.length; i++) offsets[off + i + 1] = base + l.offsets[i + 1]!;
        base += l.values.length;
        if (valid && col.valid) valid.set(col.valid, off);
        off += p.length;
      }
      return { def, list: { offsets, values }, valid };
    }
    const numbers = new Float64Array(length);
    for (const p of parts) {
      const col = p.columns[c]!;
      numbers.set(col.numbers!, off);
      if (valid && col.valid) valid.set(col.valid, off);
      off += p.length;
    }
    return { def, numbers, valid };
  });
  return { length, columns, metadata };
}

/** Sort key of a stream: (ts_recv_us, conn_id, recv_seq) for market data; (ts_us, conn_id) for `connection`. */
function sortKeys(t: Decoded, stream: FileStream): { ts: Float64Array; conn: (string | null)[]; seq: Float64Array | null } {
  const by = (name: string) => t.columns.find((c) => c.def.name === name)!;
  if (stream === "connection") return { ts: by("ts_us").numbers!, conn: by("conn_id").strings!, seq: null };
  return { ts: by("ts_recv_us").numbers!, conn: by("conn_id").strings!, seq: by("recv_seq").numbers! };
}

/** Row order sorted by the stream's key; ties keep input order (Array.prototype.sort is stable). */
export function sortOrder(t: Decoded, stream: FileStream): Uint32Array {
  const { ts, conn, seq } = sortKeys(t, stream);
  const idx = Array.from({ length: t.length }, (_, i) => i);
  idx.sort((a, b) => {
    const d = ts[a]! - ts[b]!;
    if (d !== 0) return d;
    const ca = conn[a]!;
    const cb = conn[b]!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    return seq ? seq[a]! - seq[b]! : 0;
  });
  return Uint32Array.from(idx);
}

/** True when the rows are already in sort order (verification of a compacted file). */
export function isSorted(t: Decoded, stream: FileStream): boolean {
  const { ts, conn, seq } = sortKeys(t, stream);
  for (let i = 1; i < t.length; i++) {
    const d = ts[i]! - ts[i - 1]!;
    if (d > 0) continue;
    if (d < 0) return false;
    if (conn[i]! > conn[i - 1]!) continue;
    if (conn[i]! < conn[i - 1]!) return false;
    if (seq && seq[i]! < seq[i - 1]!) return false;
  }
  return true;
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const SEED_A = 0x2545f491;
const SEED_B = 0x9e3779b9 | 0;
const NULL_MARK = 0x6b43a9b5;
const BOOL_TRUE = 0x1b56c4e9;
const BOOL_FALSE = 0x2f0c7d13;
const TWO32 = 4294967296;

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

  add(t: Decoded): void {
    const cols = t.columns.map((col) => {
      if (!col.strings) return { col, a: null, b: null };
      // Per-row string hashes, computed once per distinct value for the low-cardinality columns.
      const a = new Int32Array(t.length);
      const b = new Int32Array(t.length);
      const cache = DICTIONARY_COLUMNS.has(col.def.name) ? new Map<string, [number, number]>() : null;
      for (let i = 0; i < t.length; i++) {
        const s = col.strings[i];
        if (s === null || s === undefined) continue;
        let h = cache?.get(s);
        if (!h) {
          h = [Bun.hash.xxHash32(s, SEED_A) | 0, Bun.hash.xxHash32(s, SEED_B >>> 0) | 0];
          cache?.set(s, h);
        }
        a[i] = h[0];
        b[i] = h[1];
      }
      return { col, a, b };
    });
    let lo = this.lo;
    let hi = this.hi;
    for (let i = 0; i < t.length; i++) {
      let ha = SEED_A;
      let hb = SEED_B;
      for (const { col, a, b } of cols) {
        if (col.valid && !col.valid[i]) {
          ha = mix(ha, NULL_MARK);
          hb = mix(hb, ~NULL_MARK);
        } else if (a) {
          ha = mix(ha, a[i]!);
          hb = mix(hb, b![i]!);
        } else if (col.bools) {
          ha = mix(ha, col.bools[i] ? BOOL_TRUE : BOOL_FALSE);
          hb = mix(hb, col.bools[i] ? ~BOOL_TRUE : ~BOOL_FALSE);
        } else if (col.list) {
          // Length, then every value's float64 bits: [1,2],[3] and [1],[2,3] differ.
          const from = col.list.offsets[i]!;
          const to = col.list.offsets[i + 1]!;
          ha = mix(ha, to - from);
          hb = mix(hb, ~(to - from));
          for (let k = from; k < to; k++) {
            F64[0] = col.list.values[k]!;
            ha = mix(mix(ha, U32[0]!), U32[1]!);
            hb = mix(mix(hb, U32[1]!), U32[0]!);
          }
        } else {
          F64[0] = col.numbers![i]!;
          ha = mix(mix(ha, U32[0]!), U32[1]!);
          hb = mix(mix(hb, U32[1]!), U32[0]!);
        }
      }
      lo += fmix(ha ^ cols.length);
      if (lo >= TWO32) {
        lo -= TWO32;
        hi += 1;
      }
      hi = (hi + fmix(hb ^ cols.length)) % TWO32;
    }
    this.lo = lo;
    this.hi = hi;
    this.rows += t.length;
  }

  hex(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }
}

export function checksum(t: Decoded): string {
  const c = new Checksum();
  c.add(t);
  return c.hex();
}

/** Rows [from, to) of `order` as the writer's column batch. */
function sliceBatch(t: Decoded, order: Uint32Array, from: number, to: number, stream: FileStream): ColumnBatch {
  const n = to - from;
  const columns: ColumnData[] = t.columns.map((col) => {
    const valid = col.valid ? Uint8Array.from({ length: n }, (_, k) => col.valid![order[from + k]!]!) : undefined;
    if (col.strings) {
      const dictIndex = new Map<string, number>();
      const dict: string[] = [];
      const codes = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const s = col.strings[order[from + k]!] ?? "";
        let code = dictIndex.get(s);
        if (code === undefined) {
          code = dict.length;
          dict.push(s);
          dictIndex.set(s, code);
        }
        codes[k] = code;
      }
      return { name: col.def.name, type: col.def.type, nullable: col.def.nullable, utf8: { dict, codes }, valid };
    }
    if (col.bools) {
      const bools = new Uint8Array(n);
      for (let k = 0; k < n; k++) bools[k] = col.bools[order[from + k]!]!;
      return { name: col.def.name, type: col.def.type, nullable: col.def.nullable, bools, valid };
    }
    if (col.list) {
      const src = col.list;
      const offsets = new Int32Array(n + 1);
      let total = 0;
      for (let k = 0; k < n; k++) {
        const r = order[from + k]!;
        total += src.offsets[r + 1]! - src.offsets[r]!;
        offsets[k + 1] = total;
      }
      const values = new Float64Array(total);
      for (let k = 0; k < n; k++) {
        const r = order[from + k]!;
        values.set(src.values.subarray(src.offsets[r]!, src.offsets[r + 1]!), offsets[k]!);
      }
      return { name: col.def.name, type: col.def.type, nullable: col.def.nullable, list: { offsets, values }, valid };
    }
    const numbers = new Float64Array(n);
    for (let k = 0; k < n; k++) numbers[k] = col.numbers![order[from + k]!]!;
    return { name: col.def.name, type: col.def.type, nullable: col.def.nullable, numbers, valid };
  });
  return { stream, length: n, columns };
}

/** Rows converted to Arrow per slice, so memory holds one slice (plus the open row group), not the whole file twice. */
const SLICE_ROWS = 65_536;

/**
 * Encode rows (in `order`) with the product's own encoder settings (same columns, types and
 * encodings as the writer), streamed slice by slice through parquet-wasm's transformParquetStream.
 */
export async function encode(
  t: Decoded,
  order: Uint32Array,
  stream: FileStream,
  metadata: Map<string, string>,
  createdBy: string,
  maxRowGroupRows: number,
): Promise<Uint8Array> {
  const n = t.length;
  let next = 0;
  const first = sliceBatch(t, order, 0, Math.min(n, 1), stream);
  const input = new ReadableStream<WasmRecordBatch>({
    pull(controller) {
      if (next >= n) {
        controller.close();
        return;
      }
      const end = Math.min(n, next + SLICE_ROWS);
      const ipc = tableToIPC(batchToArrow(sliceBatch(t, order, next, end, stream)), "stream");
      next = end;
      collectEvery(SLICE_ROWS);
      const table = WasmTable.fromIPCStream(ipc);
      for (const rb of table.recordBatches()) controller.enqueue(rb);
    },
  });
  const out = await transformParquetStream(input, writerProperties(first, { metadata, createdBy, maxRowGroupRows }));
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of out as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(c);
    size += c.length;
  }
  const bytes = new Uint8Array(size);
  let pos = 0;
  for (const c of chunks) {
    bytes.set(c, pos);
    pos += c.length;
  }
  return bytes;
}
