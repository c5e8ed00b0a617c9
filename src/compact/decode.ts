/**
 * @module compact/decode — Parquet bytes to the decoded form (compact/columns): parquet-wasm →
 * apache-arrow, batch by batch, each batch checked against the stream's v1 columns.
 */
import { tableFromIPC, type Table, type Vector } from "apache-arrow";
import { ParquetFile, readParquet, readSchema, type RecordBatch as WasmRecordBatch } from "parquet-wasm/esm";
import { columnsFor, DICTIONARY_COLUMNS, type ColumnDef } from "../schema/v1.ts";
import type { FileStream } from "../schema/rows.ts";
import { at, collectEvery, CompactError, concat, type Column, type Decoded, type ListValues } from "./columns.ts";

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
    const stream_: ReadableStream<WasmRecordBatch> = await file.stream({ batchSize: READ_BATCH_ROWS });
    for await (const rb of stream_) {
      const t = tableFromIPC(rb.intoIPCStream());
      check(t);
      batches++;
      collectEvery(t.numRows);
      fn({ length: t.numRows, columns: defs.map((def) => decodeColumn(childOf(t, def.name, what), def, t.numRows, what)), metadata });
    }
  } finally {
    file.free();
  }
  if (batches === 0) check(tableFromIPC(readParquet(bytes).intoIPCStream()));
  return metadata;
}

/** A column of a batch whose schema `check` has accepted. */
function childOf(t: Table, name: string, what: string): Vector {
  const v = t.getChild(name);
  if (!v) throw new CompactError(`${what}: no column ${name}`);
  return v;
}

/** Decode a whole file (sources are small: one flush each). */
export async function decode(bytes: Uint8Array, stream: FileStream, what: string): Promise<Decoded> {
  const parts: Decoded[] = [];
  const metadata = await forEachBatch(bytes, stream, what, (b) => parts.push(b));
  const only = parts.length === 1 ? parts[0] : undefined;
  return only ?? concat(parts, stream, metadata);
}

function decodeColumn(v: Vector, def: ColumnDef, n: number, what: string): Column {
  const valid = validityOf(v, n);
  switch (def.type) {
    case "utf8":
      return { def, strings: decodeStrings(v, n, valid, DICTIONARY_COLUMNS.has(def.name)), valid };
    case "bool":
      return { def, bools: decodeBools(v, n, valid), valid };
    case "list_f64":
      return { def, list: decodeList(v, n, valid), valid };
    case "float64":
      return { def, numbers: zeroNulls(decodeFloats(v, n), valid), valid };
    case "int64":
      return { def, numbers: zeroNulls(decodeInts(v, n, `${what}: ${def.name}`), valid), valid };
  }
}

/** 1 = present, 0 = null per row; undefined when the vector has no nulls. */
function validityOf(v: Vector, n: number): Uint8Array | undefined {
  if (v.nullCount === 0) return undefined;
  const valid = new Uint8Array(n);
  for (let i = 0; i < n; i++) valid[i] = v.isValid(i) ? 1 : 0;
  return valid;
}

function decodeStrings(v: Vector, n: number, valid: Uint8Array | undefined, dictionary: boolean): (string | null)[] {
  const strings = new Array<string | null>(n);
  if (!dictionary) {
    for (let i = 0; i < n; i++) strings[i] = valid && !valid[i] ? null : (v.get(i) as string);
    return strings;
  }
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
  return strings;
}

function decodeBools(v: Vector, n: number, valid: Uint8Array | undefined): Uint8Array {
  const bools = new Uint8Array(n);
  for (let i = 0; i < n; i++) bools[i] = (!valid || valid[i]) && v.get(i) ? 1 : 0;
  return bools;
}

function decodeFloats(v: Vector, n: number): Float64Array {
  const numbers = new Float64Array(n);
  let i = 0;
  for (const d of v.data) {
    numbers.set(d.values.subarray(0, d.length) as Float64Array, i);
    i += d.length;
  }
  return numbers;
}

/** int64 values as numbers; one outside the safe integer range stops the partition (never rounded). */
function decodeInts(v: Vector, n: number, what: string): Float64Array {
  const numbers = new Float64Array(n);
  let i = 0;
  for (const d of v.data) {
    for (const x of (d.values as BigInt64Array).subarray(0, d.length)) {
      if (x > 9007199254740991n || x < -9007199254740991n) throw new CompactError(`${what} value ${x} is outside the safe integer range; not compacted`);
      numbers[i++] = Number(x);
    }
  }
  return numbers;
}

/** A null row reads 0 (the writer's placeholder under a null). */
function zeroNulls(numbers: Float64Array, valid: Uint8Array | undefined): Float64Array {
  if (valid) for (let i = 0; i < numbers.length; i++) if (!valid[i]) numbers[i] = 0;
  return numbers;
}

/**
 * A chunk's child Float64 values when its own offsets index them directly (what a Parquet read
 * yields: no slice offsets), else null (read row by row).
 */
function directValues(d: Vector["data"][number]): Float64Array | null {
  const child = d.children[0];
  if (!d.valueOffsets || !child || d.offset !== 0 || child.offset !== 0 || !(child.values instanceof Float64Array)) return null;
  return child.values;
}

/** A list<float64> vector as flat values + offsets (a null row is an empty list, marked in `valid`). */
function decodeList(v: Vector, n: number, valid: Uint8Array | undefined): ListValues {
  const offsets = new Int32Array(n + 1);
  let total = 0;
  let row0 = 0;
  for (const d of v.data) {
    const vo = d.valueOffsets as Int32Array;
    if (directValues(d)) total += at(vo, d.length) - at(vo, 0);
    else for (let j = 0; j < d.length; j++) total += (v.get(row0 + j) as Vector | null)?.length ?? 0;
    row0 += d.length;
  }
  const values = new Float64Array(total);
  let row = 0;
  let pos = 0;
  for (const d of v.data) {
    const direct = directValues(d);
    const vo = d.valueOffsets as Int32Array;
    for (let j = 0; j < d.length; j++, row++) {
      if (!valid || valid[row]) {
        if (direct) {
          const from = at(vo, j);
          const to = at(vo, j + 1);
          values.set(direct.subarray(from, to), pos);
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
