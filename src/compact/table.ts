/**
 * @module compact/table — Parquet files of one partition in and out: decode (parquet-wasm →
 * apache-arrow), check against schema v1, concatenate, sort, checksum, encode with the product's
 * own encoder (same columns, types, encodings; larger row groups).
 */
import { tableFromIPC, type Vector } from "apache-arrow";
import { readParquet, readSchema } from "parquet-wasm/esm";
import { encodeParquet } from "../pipeline/encode.ts";
import type { ColumnBatch, ColumnData } from "../pipeline/columns.ts";
import { columnsFor, type ColumnDef } from "../schema/v1.ts";
import type { FileStream } from "../schema/rows.ts";

export class CompactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompactError";
  }
}

/** One column, decoded: numbers for int64/float64 (int64 values are safe integers), strings for utf8. */
export interface Column {
  def: ColumnDef;
  numbers?: Float64Array;
  strings?: (string | null)[];
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
const EXPECTED_ARROW: Record<ColumnDef["type"], string> = { utf8: "Utf8", int64: "Int64", float64: "Float64" };

/** Decode a file and check it has exactly the v1 columns of `stream` (names, order, types, nullability). */
export function decode(bytes: Uint8Array, stream: FileStream, what: string): Decoded {
  const metadata = readMetadata(bytes);
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  const defs = columnsFor(stream);
  const got = table.schema.fields.map((f) => `${f.name}:${typeName(f.type)}:${f.nullable}`);
  const want = defs.map((d) => `${d.name}:${EXPECTED_ARROW[d.type]}:${d.nullable}`);
  if (got.join(",") !== want.join(",")) throw new CompactError(`${what}: columns ${got.join(",")} are not schema v1 ${stream} (${want.join(",")})`);
  const n = table.numRows;
  const columns = defs.map((def) => decodeColumn(table.getChild(def.name)!, def, n, what));
  return { length: n, columns, metadata };
}

function decodeColumn(v: Vector, def: ColumnDef, n: number, what: string): Column {
  let valid: Uint8Array | undefined;
  if (v.nullCount > 0) {
    valid = new Uint8Array(n);
    for (let i = 0; i < n; i++) valid[i] = v.isValid(i) ? 1 : 0;
  }
  if (def.type === "utf8") {
    const strings = new Array<string | null>(n);
    for (let i = 0; i < n; i++) strings[i] = valid && !valid[i] ? null : (v.get(i) as string);
    return { def, strings, valid };
  }
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
        if (x > 9007199254740991n || x < -9007199254740991n) throw new CompactError(`${what}: ${def.name} value ${x} is outside the safe integer range; not compacted`);
        numbers[i] = Number(x);
      }
    }
  }
  if (valid) for (let i = 0; i < n; i++) if (!valid[i]) numbers[i] = 0;
  return { def, numbers, valid };
}

/** Concatenate decoded files (same stream) into one. */
export function concat(parts: Decoded[], stream: FileStream): Decoded {
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
    const numbers = new Float64Array(length);
    for (const p of parts) {
      const col = p.columns[c]!;
      numbers.set(col.numbers!, off);
      if (valid && col.valid) valid.set(col.valid, off);
      off += p.length;
    }
    return { def, numbers, valid };
  });
  return { length, columns, metadata: new Map() };
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

const MASK = (1n << 64n) - 1n;

/**
 * Order-independent checksum of the rows: the sum mod 2^64 of a 64-bit hash (wyhash) of each row's
 * canonical text (every column, nulls marked). Same rows in any order → same checksum; a lost,
 * duplicated or altered row changes it.
 */
export function checksum(t: Decoded): string {
  let sum = 0n;
  const cols = t.columns;
  const parts = new Array<string>(cols.length);
  for (let i = 0; i < t.length; i++) {
    for (let c = 0; c < cols.length; c++) {
      const col = cols[c]!;
      if (col.valid && !col.valid[i]) parts[c] = "\u0000";
      else parts[c] = col.strings ? col.strings[i]! : String(col.numbers![i]!);
    }
    sum = (sum + BigInt(Bun.hash.wyhash(parts.join("\u001f")))) & MASK;
  }
  return sum.toString(16).padStart(16, "0");
}

/** Encode rows (in `order`) with the product's encoder: same columns, types and encodings as the writer. */
export function encode(t: Decoded, order: Uint32Array, stream: FileStream, metadata: Map<string, string>, createdBy: string, maxRowGroupRows: number): Uint8Array {
  const n = t.length;
  const columns: ColumnData[] = t.columns.map((col) => {
    const valid = col.valid ? Uint8Array.from(order, (i) => col.valid![i]!) : undefined;
    if (col.strings) {
      const dictIndex = new Map<string, number>();
      const dict: string[] = [];
      const codes = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const s = col.strings[order[k]!] ?? "";
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
    const numbers = new Float64Array(n);
    for (let k = 0; k < n; k++) numbers[k] = col.numbers![order[k]!]!;
    return { name: col.def.name, type: col.def.type, nullable: col.def.nullable, numbers, valid };
  });
  const batch: ColumnBatch = { stream, length: n, columns };
  return encodeParquet(batch, { metadata, createdBy, maxRowGroupRows });
}
