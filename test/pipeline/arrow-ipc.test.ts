/**
 * Scope: the encoder's own Arrow IPC stream (pipeline/arrow-ipc), checked against apache-arrow on
 * both sides: apache-arrow's reader decodes it to exactly the table apache-arrow builds from the same
 * batch (types, names, nullability, every value and null), and parquet-wasm accepts it and writes the
 * same rows. Every column type and string form of a batch, untrimmed builder buffers, empty lists.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { tableFromIPC, tableToIPC, type Table } from "apache-arrow";
import { readParquet, Table as WasmTable, writeParquet } from "parquet-wasm/esm";
import { arrowColumns } from "../../src/pipeline/arrow-buffers.ts";
import { ipcStream } from "../../src/pipeline/arrow-ipc.ts";
import { batchToArrow } from "../../src/pipeline/arrow-table.ts";
import { writerProperties } from "../../src/pipeline/encode.ts";
import type { ColumnBatch, ColumnData } from "../../src/pipeline/columns.ts";
import { initParquetWasm } from "../../src/pipeline/wasm-init.ts";

beforeAll(() => initParquetWasm());

/** A deterministic generator (no Math.random: a failure reproduces). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function batchOf(n: number, seed: number): ColumnBatch {
  const r = rng(seed);
  const valid = (p: number) => Uint8Array.from({ length: n }, () => (r() < p ? 0 : 1));
  const words = ["", "a", "ü€", "BTC-USDT-SWAP", "x".repeat(40), "日本"];
  const strings = Array.from({ length: n }, () => words[Math.floor(r() * words.length)]!);
  const offsets = new Int32Array(n + 4); // untrimmed, as the builder hands it over: rows past n are not read
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(r() * 4); // empty lists too
    for (let j = 0; j < k; j++) values.push(Math.round(r() * 1e6) / 100);
    offsets[i + 1] = values.length;
  }
  const columns: ColumnData[] = [
    { name: "exchange", type: "utf8", nullable: false, utf8: { dict: ["okx"] } },
    { name: "conn_id", type: "utf8", nullable: false, utf8: { dict: ["c-1", "c-2"], codes: Uint8Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1)) } },
    {
      name: "ascii",
      type: "utf8",
      nullable: false,
      utf8: { joined: strings.map((s) => s.replace(/[^ -~]/g, "q")).join(""), lengths: Int32Array.from(strings, (s) => s.replace(/[^ -~]/g, "q").length) },
    },
    { name: "text", type: "utf8", nullable: true, utf8: { joined: strings.join(""), lengths: Int32Array.from(strings, (s) => s.length) }, valid: valid(0.2) },
    { name: "ids", type: "utf8", nullable: true, utf8: { ints: Float64Array.from({ length: n }, () => Math.floor(r() * 1e15)) }, valid: valid(0.1) },
    // Builders hand over untrimmed buffers: capacity beyond `n` must not leak into the stream.
    {
      name: "ts",
      type: "int64",
      nullable: true,
      numbers: Float64Array.from({ length: n + 5 }, (_, i) => (i % 7 === 3 ? -i : 1_786_540_291_675_123 + i)),
      valid: valid(0.15),
    },
    { name: "px", type: "float64", nullable: false, numbers: Float64Array.from({ length: n + 3 }, () => r() * 1e5) },
    { name: "qty", type: "float64", nullable: true, numbers: Float64Array.from({ length: n }, () => r()), valid: valid(0.3) },
    { name: "flag", type: "bool", nullable: true, bools: Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), valid: valid(0.1) },
    { name: "blank", type: "utf8", nullable: true, valid: valid(0.5) }, // a column with no values at all
    { name: "bid_px", type: "list_f64", nullable: true, list: { offsets, values: Float64Array.from([...values, 7, 8, 9]) }, valid: valid(0.1) },
  ];
  return { stream: "trade", length: n, columns };
}

function rowsOf(t: Table): unknown[][] {
  return t.toArray().map((row) =>
    t.schema.fields.map((f) => {
      const v = row[f.name];
      return v && typeof v === "object" && "toArray" in v ? [...v.toArray()] : v;
    }),
  );
}

describe("arrow-ipc: the encoder's IPC stream", () => {
  for (const [n, seed] of [
    [1, 1],
    [7, 2],
    [64, 3],
    [1000, 4],
  ] as const) {
    test(`${n} rows: apache-arrow reads it back as the table it builds itself`, () => {
      const batch = batchOf(n, seed);
      const ours = ipcStream(arrowColumns(batch), n);
      const reference = batchToArrow(batch);
      const read = tableFromIPC(ours);
      expect(read.numRows).toBe(n);
      expect(read.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`)).toEqual(
        reference.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`),
      );
      expect(rowsOf(read)).toEqual(rowsOf(reference));
      // Nulls are nulls (not "" or 0): a row with a null in `qty` is null on both sides.
      const nulls = (t: Table) => t.schema.fields.map((f) => t.getChild(f.name)!.nullCount);
      expect(nulls(read)).toEqual(nulls(reference));
      if (n >= 64) expect(nulls(read).some((x) => x > 0)).toBe(true);
      // apache-arrow's own stream of the same table decodes to the same rows (ours is not byte-identical: its flatbuffers lay tables out differently).
      expect(rowsOf(tableFromIPC(tableToIPC(reference, "stream")))).toEqual(rowsOf(read));
    });
  }

  test("the Parquet file is byte for byte the one written from apache-arrow's own stream of the same batch", () => {
    const batch = batchOf(700, 11);
    const props = () => writerProperties(batch, { metadata: new Map([["k", "v"]]), createdBy: "test" });
    const ours = writeParquet(WasmTable.fromIPCStream(ipcStream(arrowColumns(batch), 700)), props());
    const theirs = writeParquet(WasmTable.fromIPCStream(tableToIPC(batchToArrow(batch), "stream")), props());
    expect(ours.length).toBeGreaterThan(1000);
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
  });

  test("parquet-wasm reads the stream, and its Parquet file holds the same rows", () => {
    const batch = batchOf(500, 9);
    const wasm = WasmTable.fromIPCStream(ipcStream(arrowColumns(batch), 500));
    const file = writeParquet(wasm);
    const back = tableFromIPC(readParquet(file).intoIPCStream());
    expect(rowsOf(back)).toEqual(rowsOf(batchToArrow(batch)));
  });
});
