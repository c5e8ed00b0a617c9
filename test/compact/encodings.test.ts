/**
 * Scope: a compacted file keeps the writer's per-column encodings. The writer decides some of them
 * from the rows it encodes (a float64 column is dictionary-coded only where its values repeat), so
 * compact must hand that decision real rows, not a one-row sample: same rows in, same encodings
 * per column out as the collector's own file.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { ParquetFile } from "parquet-wasm/esm";
import { decode, encode } from "../../src/compact/table.ts";
import type { ColumnBatch, ColumnData } from "../../src/pipeline/columns.ts";
import { encodeParquet } from "../../src/pipeline/encode.ts";
import { initParquetWasm } from "../../src/pipeline/wasm-init.ts";
import { columnsFor } from "../../src/schema/v1.ts";

const N = 3_000;

/** Trades whose price sits on a few ticks (repeats) and whose size never repeats. */
function trades(): ColumnBatch {
  const columns: ColumnData[] = columnsFor("trade").map((def) => {
    const base = { name: def.name, type: def.type, nullable: def.nullable };
    if (def.type === "utf8") return { ...base, utf8: { dict: [def.name === "conn_id" ? "binance-public-1" : "x"], codes: new Int32Array(N) } };
    if (def.name === "price") return { ...base, numbers: Float64Array.from({ length: N }, (_, i) => 100 + (i % 7) * 0.1) };
    if (def.name === "qty") return { ...base, numbers: Float64Array.from({ length: N }, (_, i) => 0.001 * i + 1 / (i + 3)) };
    return { ...base, numbers: Float64Array.from({ length: N }, (_, i) => 1_000_000 + i) };
  });
  return { stream: "trade", length: N, columns };
}

async function encodingsByColumn(bytes: Uint8Array): Promise<Record<string, number[]>> {
  const file = await ParquetFile.fromFile(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  const rg = file.metadata().rowGroup(0);
  const out: Record<string, number[]> = {};
  for (let i = 0; i < rg.numColumns(); i++) {
    const c = rg.column(i);
    out[c.columnPath().join(".")] = [...c.encodings()].sort();
  }
  file.free();
  return out;
}

beforeAll(async () => {
  await initParquetWasm();
});

describe("compact encode", () => {
  test("per-column encodings equal the writer's for the same rows (repeating prices dictionary-coded, unique sizes not)", async () => {
    const opts = { metadata: new Map([["stream", "trade"]]), createdBy: "test" };
    const written = encodeParquet(trades(), opts);
    const t = await decode(written, "trade", "written");
    const compacted = await encode(
      t,
      Uint32Array.from({ length: N }, (_, i) => i),
      "trade",
      opts.metadata,
      "test",
      1_000_000,
    );
    const want = await encodingsByColumn(written);
    const got = await encodingsByColumn(compacted);
    expect(want.price).not.toEqual(want.qty); // the rows do exercise both decisions
    expect(got).toEqual(want);
  });
});
