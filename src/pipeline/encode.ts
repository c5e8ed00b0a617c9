/** @module pipeline/encode — column batch → Arrow → Parquet bytes with tuned, fresh writer properties. */
import { Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Table, tableToIPC, Utf8, type Data, type DataType } from "apache-arrow";
import { Compression, Encoding, Table as WasmTable, writeParquet, WriterPropertiesBuilder } from "parquet-wasm/esm";
import { transferablesOf, unpackUtf8, type ColumnBatch, type ColumnData } from "./columns.ts";
import { DICTIONARY_COLUMNS } from "../schema/v1.ts";
import { extraArrowColumn } from "./encode-lists.ts";
import { releaseBuffers } from "./release.ts";

/** Rows per Parquet row group; bounds wasm memory growth (WebAssembly memory grows and never shrinks). */
const MAX_ROW_GROUP_ROWS = 50_000;

const encoder = new TextEncoder();

function validityBitmap(valid: Uint8Array | undefined, n: number): { bitmap?: Uint8Array; nullCount: number } {
  if (!valid) return { nullCount: 0 };
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (valid[i]) bitmap[i >> 3]! |= 1 << (i & 7);
    else nullCount++;
  }
  return nullCount === 0 ? { nullCount: 0 } : { bitmap, nullCount };
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

function utf8Data(strings: (string | null)[], valid: Uint8Array | undefined): { offsets: Int32Array; bytes: Uint8Array } {
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
function utf8FromDict(
  dict: string[],
  codes: Uint8Array | Int32Array | undefined,
  n: number,
  valid: Uint8Array | undefined,
): { offsets: Int32Array; bytes: Uint8Array } {
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
function utf8FromJoinedAscii(joined: string, lengths: Int32Array, n: number, valid: Uint8Array | undefined): { offsets: Int32Array; bytes: Uint8Array } | null {
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
function utf8FromInts(ints: Float64Array, n: number, valid: Uint8Array | undefined): { offsets: Int32Array; bytes: Uint8Array } {
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

function columnData(c: ColumnData, n: number): { field: Field; data: Data<DataType> } {
  const { bitmap, nullCount } = validityBitmap(c.valid, n);
  const extra = extraArrowColumn(c, n, bitmap, nullCount);
  if (extra) return extra;
  // The builder hands its buffers over untrimmed (no copy on the ingest thread): read `n` rows.
  const numbers = c.numbers?.subarray(0, n);
  if (c.type === "utf8") {
    const { offsets, bytes } =
      c.utf8 && "dict" in c.utf8
        ? utf8FromDict(c.utf8.dict, c.utf8.codes, n, c.valid)
        : c.utf8 && "ints" in c.utf8
          ? utf8FromInts(c.utf8.ints, n, c.valid)
          : (c.utf8 && utf8FromJoinedAscii(c.utf8.joined, c.utf8.lengths, n, c.valid)) || utf8Data(c.utf8 ? unpackUtf8(c.utf8, n) : [], c.valid);
    const type = new Utf8();
    const data = makeData({ type, length: n, nullCount, nullBitmap: bitmap, valueOffsets: offsets, data: bytes });
    return { field: new Field(c.name, type, c.nullable), data: data as Data<DataType> };
  }
  if (c.type === "int64") {
    const type = new Int64();
    const data = makeData({ type, length: n, nullCount, nullBitmap: bitmap, data: int64Values(numbers!) });
    return { field: new Field(c.name, type, c.nullable), data: data as Data<DataType> };
  }
  const type = new Float64();
  const data = makeData({ type, length: n, nullCount, nullBitmap: bitmap, data: numbers! });
  return { field: new Field(c.name, type, c.nullable), data: data as Data<DataType> };
}

export function batchToArrow(batch: ColumnBatch): Table {
  const parts = batch.columns.map((c) => columnData(c, batch.length));
  const schema = new Schema(parts.map((p) => p.field));
  const struct = makeData({
    type: new Struct(schema.fields),
    length: batch.length,
    nullCount: 0,
    children: parts.map((p) => p.data),
  });
  return new Table([new RecordBatch(schema, struct)]);
}

export interface EncodeOptions {
  metadata: Map<string, string>;
  createdBy: string;
  /** Rows per row group (default 50,000); `compact` writes larger ones. */
  maxRowGroupRows?: number;
}

/** Rows a float column's encoding is decided on (its first ones): the same window for every rule below. */
const SAMPLE_ROWS = 2048;

/** Distinct values among the first (up to) SAMPLE_ROWS rows: at most half of them means the column repeats. */
export function repeats(values: Float64Array, n: number): boolean {
  const m = Math.min(n, SAMPLE_ROWS);
  const seen = new Set<number>();
  for (let i = 0; i < m; i++) seen.add(values[i]!);
  return seen.size * 2 <= m;
}

/** Every one of the first (up to) SAMPLE_ROWS values is a whole number (open interest in contracts): its low mantissa bytes are zero. */
export function wholeNumbers(values: Float64Array, n: number): boolean {
  const m = Math.min(n, SAMPLE_ROWS);
  for (let i = 0; i < m; i++) if (!Number.isInteger(values[i]!)) return false;
  return m > 0;
}

/**
 * A NEW WriterProperties for every file: writeParquet consumes it. Choices measured per stream on
 * realistic series (`npx bun bench/encoding.ts`, docs/schema-v1.md §6):
 * - dictionary strings (exchange, symbol, …); ids as text DELTA_BYTE_ARRAY; int64 DELTA_BINARY_PACKED;
 * - float64 prices and sizes that repeat within a file (tick/lot grid): dictionary + ZSTD;
 * - float64 values that hardly repeat (open interest and its USD value): plain + GZIP, which finds the
 *   repeated high bytes of slowly moving values better than ZSTD's default level; when they are whole
 *   numbers (contracts), BYTE_STREAM_SPLIT first: their zero low bytes become long runs;
 * - book levels (`list<f64>` elements): dictionary + GZIP. parquet-wasm names columns by one path part,
 *   so a list's element column cannot be configured by name: it takes the file's defaults, and every
 *   other column of such a file is configured explicitly.
 */
export function writerProperties(batch: ColumnBatch, opts: EncodeOptions) {
  const hasLists = batch.columns.some((c) => c.type === "list_f64");
  let b = new WriterPropertiesBuilder()
    .setCompression(hasLists ? Compression.GZIP : Compression.ZSTD)
    .setDictionaryEnabled(hasLists)
    .setMaxRowGroupSize(opts.maxRowGroupRows ?? MAX_ROW_GROUP_ROWS)
    .setCreatedBy(opts.createdBy)
    .setKeyValueMetadata(opts.metadata);
  for (const c of batch.columns) {
    if (c.type === "list_f64") continue;
    const floatRepeats = c.type === "float64" && c.numbers !== undefined && repeats(c.numbers, batch.length);
    const dictionary = (c.type === "utf8" && DICTIONARY_COLUMNS.has(c.name)) || floatRepeats;
    const gzip = c.type === "float64" && !floatRepeats;
    b = b.setColumnDictionaryEnabled(c.name, dictionary).setColumnCompression(c.name, gzip ? Compression.GZIP : Compression.ZSTD);
    // Ids as text (trade_id) share long prefixes with their neighbours.
    if (c.type === "utf8" && !dictionary) b = b.setColumnEncoding(c.name, Encoding.DELTA_BYTE_ARRAY);
    if (c.type === "int64") b = b.setColumnEncoding(c.name, Encoding.DELTA_BINARY_PACKED);
    if (gzip && c.numbers && wholeNumbers(c.numbers, batch.length)) b = b.setColumnEncoding(c.name, Encoding.BYTE_STREAM_SPLIT);
  }
  return b.build();
}

export function encodeParquet(batch: ColumnBatch, opts: EncodeOptions): Uint8Array {
  const table = batchToArrow(batch);
  const ipc = tableToIPC(table, "stream");
  const wasmTable = WasmTable.fromIPCStream(ipc);
  const bytes = writeParquet(wasmTable, writerProperties(batch, opts));
  // The Arrow copies made here (int64 values, UTF-8 bytes and offsets, bitmaps) and the IPC stream are
  // read by nobody now: freed at once, not at the encoder's next GC (bench/memory.ts). The batch's
  // own buffers are the caller's.
  const own = new Set<ArrayBufferLike>(transferablesOf(batch));
  const release = new Set<ArrayBufferLike>([ipc.buffer]);
  const visit = (d: Data<DataType>) => {
    for (const a of [d.values, d.valueOffsets, d.nullBitmap] as (ArrayBufferView | undefined)[]) if (a && !own.has(a.buffer)) release.add(a.buffer);
    for (const c of d.children) visit(c);
  };
  for (const b of table.batches) visit(b.data);
  releaseBuffers(release);
  return bytes;
}
