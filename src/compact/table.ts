/**
 * @module compact/table — Parquet files of one partition in and out: decode (compact/decode), check
 * against schema v1, concatenate (compact/columns), sort (compact/order), checksum
 * (compact/checksum), encode with the product's own encoder (same columns, types, encodings; larger
 * row groups). The other compact modules' API is re-exported here.
 */
import { tableToIPC } from "apache-arrow";
import { Table as WasmTable, transformParquetStream, type RecordBatch as WasmRecordBatch } from "parquet-wasm/esm";
import { writerProperties } from "../pipeline/encode.ts";
import { batchToArrow } from "../pipeline/arrow-table.ts";
import type { ColumnBatch, ColumnData } from "../pipeline/columns.ts";
import type { FileStream } from "../schema/rows.ts";
import { Checksum } from "./checksum.ts";
import { at, collectEvery, numbersOf, type Column, type Decoded, type ListValues } from "./columns.ts";
import { forEachBatch } from "./decode.ts";
import { compareKeys, isSorted, keyAt, type SortKey } from "./order.ts";

export { Checksum, checksum } from "./checksum.ts";
export { CompactError, concat, type Column, type Decoded } from "./columns.ts";
export { decode, forEachBatch, readMetadata } from "./decode.ts";
export { isSorted, sortOrder } from "./order.ts";

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

/** Rows [from, to) of `order` as the writer's column batch. */
function sliceBatch(t: Decoded, order: Uint32Array, from: number, to: number, stream: FileStream): ColumnBatch {
  const rows = order.subarray(from, to);
  return { stream, length: rows.length, columns: t.columns.map((col) => sliceColumn(col, rows)) };
}

function sliceColumn(col: Column, rows: Uint32Array): ColumnData {
  const base = { name: col.def.name, type: col.def.type, nullable: col.def.nullable, valid: col.valid && gather(col.valid, rows, new Uint8Array(rows.length)) };
  if (col.strings) return { ...base, utf8: dictionaryOf(col.strings, rows) };
  if (col.bools) return { ...base, bools: gather(col.bools, rows, new Uint8Array(rows.length)) };
  if (col.list) return { ...base, list: sliceList(col.list, rows) };
  return { ...base, numbers: gather(numbersOf(col), rows, new Float64Array(rows.length)) };
}

/** out[k] = src[rows[k]]. */
function gather<A extends Uint8Array | Float64Array>(src: A, rows: Uint32Array, out: A): A {
  let k = 0;
  for (const r of rows) out[k++] = at(src, r);
  return out;
}

/** The strings of `rows` as dictionary + codes (a null reads "", marked in `valid`). */
function dictionaryOf(strings: (string | null)[], rows: Uint32Array): { dict: string[]; codes: Int32Array } {
  const dictIndex = new Map<string, number>();
  const dict: string[] = [];
  const codes = new Int32Array(rows.length);
  let k = 0;
  for (const r of rows) {
    const s = strings[r] ?? "";
    let code = dictIndex.get(s);
    if (code === undefined) {
      code = dict.length;
      dict.push(s);
      dictIndex.set(s, code);
    }
    codes[k++] = code;
  }
  return { dict, codes };
}

function sliceList(src: ListValues, rows: Uint32Array): ListValues {
  const offsets = new Int32Array(rows.length + 1);
  let total = 0;
  let k = 0;
  for (const r of rows) {
    total += at(src.offsets, r + 1) - at(src.offsets, r);
    offsets[++k] = total;
  }
  const values = new Float64Array(total);
  k = 0;
  for (const r of rows) values.set(src.values.subarray(at(src.offsets, r), at(src.offsets, r + 1)), at(offsets, k++));
  return { offsets, values };
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
  // The writer decides some encodings from the rows themselves (a float64 column is dictionary-coded
  // only where its values repeat): it is given the first slice, as the collector's writer its buffer.
  let first: ColumnBatch | null = sliceBatch(t, order, 0, Math.min(n, SLICE_ROWS), stream);
  const properties = writerProperties(first, { metadata, createdBy, maxRowGroupRows });
  const input = new ReadableStream<WasmRecordBatch>({
    pull(controller) {
      if (next >= n) {
        controller.close();
        return;
      }
      const end = Math.min(n, next + SLICE_ROWS);
      const ipc = tableToIPC(batchToArrow(first ?? sliceBatch(t, order, next, end, stream)), "stream");
      first = null;
      next = end;
      collectEvery(SLICE_ROWS);
      const table = WasmTable.fromIPCStream(ipc);
      for (const rb of table.recordBatches()) controller.enqueue(rb);
    },
  });
  const out: ReadableStream<Uint8Array> = await transformParquetStream(input, properties);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of out) {
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
