/** @module pipeline/columns — rows → a transferable column batch (runs on the ingest thread, O(rows×cols), no Arrow). */
import type { Row, Stream } from "../schema/rows.ts";
import { columnsFor, type ColumnType } from "../schema/v1.ts";

/**
 * utf8 columns cross to the worker without a per-string structured clone (which cost tens of ms
 * for 16k-row flushes on the ingest thread): few distinct values → dictionary + Int32 codes;
 * otherwise one concatenated string + Int32 lengths. Both forms are exact.
 */
export type Utf8Data = { dict: string[]; codes: Int32Array } | { joined: string; lengths: Int32Array };

export interface ColumnData {
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** float64 and int64 columns: numbers (int64 values are safe integers). */
  numbers?: Float64Array;
  utf8?: Utf8Data;
  /** 1 = value present, 0 = null; absent when the column has no nulls. */
  valid?: Uint8Array;
}

const MAX_DICT = 64;

function packUtf8(values: (string | null)[]): Utf8Data {
  const index = new Map<string, number>();
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? "";
    let c = index.get(v);
    if (c === undefined) {
      if (index.size >= MAX_DICT) return joinUtf8(values);
      c = index.size;
      index.set(v, c);
    }
    codes[i] = c;
  }
  return { dict: [...index.keys()], codes };
}

function joinUtf8(values: (string | null)[]): Utf8Data {
  const lengths = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) lengths[i] = values[i]?.length ?? 0;
  return { joined: values.join(""), lengths };
}

/** The strings back from their packed form (worker side). */
export function unpackUtf8(u: Utf8Data, n: number): string[] {
  const out = new Array<string>(n);
  if ("dict" in u) {
    for (let i = 0; i < n; i++) out[i] = u.dict[u.codes[i]!]!;
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
  stream: Stream;
  length: number;
  columns: ColumnData[];
}

export function rowsToColumns(stream: Stream, rows: readonly Row[]): ColumnBatch {
  const n = rows.length;
  const columns: ColumnData[] = [];
  for (const def of columnsFor(stream)) {
    const key = def.name;
    let valid: Uint8Array | undefined;
    const markNull = (i: number): void => {
      if (!valid) valid = new Uint8Array(n).fill(1);
      valid[i] = 0;
    };
    if (def.type === "utf8") {
      const strings = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const v = (rows[i] as unknown as Record<string, unknown>)[key];
        if (typeof v === "string") strings[i] = v;
        else {
          strings[i] = null;
          markNull(i);
        }
      }
      columns.push({ name: key, type: def.type, nullable: def.nullable, utf8: packUtf8(strings), valid });
    } else {
      const numbers = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = (rows[i] as unknown as Record<string, unknown>)[key];
        if (typeof v === "number") numbers[i] = v;
        else markNull(i);
      }
      columns.push({ name: key, type: def.type, nullable: def.nullable, numbers, valid });
    }
  }
  return { stream, length: n, columns };
}

/** ArrayBuffers that can be moved (not copied) to the encoder worker. */
export function transferablesOf(batch: ColumnBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of batch.columns) {
    if (c.numbers) out.push(c.numbers.buffer as ArrayBuffer);
    if (c.utf8) out.push(("codes" in c.utf8 ? c.utf8.codes : c.utf8.lengths).buffer as ArrayBuffer);
    if (c.valid) out.push(c.valid.buffer as ArrayBuffer);
  }
  return out;
}
