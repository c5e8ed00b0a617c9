/**
 * @module pipeline/arrow-table — a column batch as an apache-arrow Table, for the offline tools
 * (compact) and the benches. The collector's encoder does not use it: it frames the same buffers
 * itself (pipeline/arrow-ipc) and never loads apache-arrow.
 */
import { Bool, Field, Float64, Int64, List, makeData, RecordBatch, Schema, Struct, Table, Utf8, type Data, type DataType } from "apache-arrow";
import { arrowColumns, type ArrowColumn } from "./arrow-buffers.ts";
import type { ColumnBatch } from "./columns.ts";

function columnData(c: ArrowColumn): { field: Field; data: Data<DataType> } {
  const common = { length: c.length, nullCount: c.nullCount, nullBitmap: c.validity };
  let data: Data<DataType>;
  switch (c.type) {
    case "utf8":
      data = makeData({ ...common, type: new Utf8(), valueOffsets: c.offsets!, data: c.values as Uint8Array }) as Data<DataType>;
      break;
    case "int64":
      data = makeData({ ...common, type: new Int64(), data: c.values as BigInt64Array }) as Data<DataType>;
      break;
    case "float64":
      data = makeData({ ...common, type: new Float64(), data: c.values as Float64Array }) as Data<DataType>;
      break;
    case "bool":
      data = makeData({ ...common, type: new Bool(), data: c.values as Uint8Array }) as Data<DataType>;
      break;
    case "list_f64": {
      const child = makeData({ type: new Float64(), length: c.values.length, nullCount: 0, data: c.values as Float64Array });
      const type = new List(new Field("element", new Float64(), false));
      data = makeData({ ...common, type, valueOffsets: c.offsets!, child }) as Data<DataType>;
      break;
    }
  }
  return { field: new Field(c.name, data.type, c.nullable), data };
}

export function batchToArrow(batch: ColumnBatch): Table {
  const parts = arrowColumns(batch).map(columnData);
  const schema = new Schema(parts.map((p) => p.field));
  const struct = makeData({
    type: new Struct(schema.fields),
    length: batch.length,
    nullCount: 0,
    children: parts.map((p) => p.data),
  });
  return new Table([new RecordBatch(schema, struct)]);
}
