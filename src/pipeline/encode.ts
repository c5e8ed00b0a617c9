/** @module pipeline/encode — column batch → Arrow IPC → Parquet bytes with tuned, fresh writer properties. */
import { Compression, Encoding, Table as WasmTable, writeParquet, WriterPropertiesBuilder } from "parquet-wasm/esm";
import { transferablesOf, type ColumnBatch } from "./columns.ts";
import { DICTIONARY_COLUMNS } from "../schema/v1.ts";
import { arrowColumns } from "./arrow-buffers.ts";
import { ipcStream } from "./arrow-ipc.ts";
import { releaseBuffers } from "./release.ts";

/** Rows per Parquet row group; bounds wasm memory growth (WebAssembly memory grows and never shrinks). */
const MAX_ROW_GROUP_ROWS = 50_000;

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
  const columns = arrowColumns(batch);
  const ipc = ipcStream(columns, batch.length);
  const bytes = writeParquet(WasmTable.fromIPCStream(ipc), writerProperties(batch, opts));
  // The Arrow copies made here (int64 values, UTF-8 bytes and offsets, bitmaps) and the IPC stream are
  // read by nobody now: freed at once, not at the encoder's next GC (bench/memory.ts). The batch's
  // own buffers are the caller's.
  const own = new Set<ArrayBufferLike>(transferablesOf(batch));
  const release = new Set<ArrayBufferLike>([ipc.buffer]);
  for (const c of columns) for (const a of [c.values, c.offsets, c.validity]) if (a && !own.has(a.buffer)) release.add(a.buffer);
  releaseBuffers(release);
  return bytes;
}
