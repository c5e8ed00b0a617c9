/** @module pipeline/columns — rows → a transferable column batch (runs on the ingest thread, O(rows×cols), no Arrow). */
import type { Row, Stream } from "../schema/rows.ts";
import { columnsFor, type ColumnType } from "../schema/v1.ts";

export interface ColumnData {
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** float64 and int64 columns: numbers (int64 values are safe integers); utf8: strings. */
  numbers?: Float64Array;
  strings?: (string | null)[];
  /** 1 = value present, 0 = null; absent when the column has no nulls. */
  valid?: Uint8Array;
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
      columns.push({ name: key, type: def.type, nullable: def.nullable, strings, valid });
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
    if (c.valid) out.push(c.valid.buffer as ArrayBuffer);
  }
  return out;
}
