/** @module pipeline/encode-lists — Arrow data for the `bool` and `list_f64` columns (worker side of pipeline/list-columns). */
import { Bool, Field, Float64, List, makeData, type Data, type DataType } from "apache-arrow";
import type { ColumnData } from "./columns.ts";

function packBits(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (bytes[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

/** Field + data for a bool or list_f64 column, or null for the base types (encode.ts handles those). */
export function extraArrowColumn(c: ColumnData, n: number, bitmap: Uint8Array | undefined, nullCount: number): { field: Field; data: Data<DataType> } | null {
  if (c.type === "bool") {
    const type = new Bool();
    const data = makeData({ type, length: n, nullCount, nullBitmap: bitmap, data: packBits(c.bools ?? new Uint8Array(n), n) });
    return { field: new Field(c.name, type, c.nullable), data: data as Data<DataType> };
  }
  if (c.type === "list_f64") {
    const offsets = c.list?.offsets ?? new Int32Array(n + 1);
    const values = c.list?.values ?? new Float64Array(0);
    const item = new Field("element", new Float64(), false);
    const type = new List(item);
    const child = makeData({ type: new Float64(), length: values.length, nullCount: 0, data: values });
    const data = makeData({ type, length: n, nullCount, nullBitmap: bitmap, valueOffsets: offsets, child });
    return { field: new Field(c.name, type, c.nullable), data: data as Data<DataType> };
  }
  return null;
}
