/**
 * Scope: `compact`'s table layer on the `book` stream's extra column types (bool `is_snapshot`,
 * list<f64> level columns): a file written by the product's own encoder decodes to exactly its
 * values (lists, empty lists, bools), the row checksum covers list contents and bools, and
 * re-encoding in another order (and in slices) keeps values, checksum and column types.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { checksum, concat, decode, encode, sortOrder, verifyFile, type Decoded } from "../../src/compact/table.ts";
import type { ColumnBatch, ColumnData } from "../../src/pipeline/columns.ts";
import { encodeParquet } from "../../src/pipeline/encode.ts";
import { initParquetWasm } from "../../src/pipeline/wasm-init.ts";
import { columnsFor } from "../../src/schema/v1.ts";

interface BookRow {
  ts: number;
  seq: number;
  snap: boolean;
  bidPx: number[];
  bidQty: number[];
  askPx: number[];
  askQty: number[];
  prev: number | null;
}

const ROWS: BookRow[] = [
  { ts: 3_000, seq: 3, snap: false, bidPx: [100.5], bidQty: [0], askPx: [], askQty: [], prev: 11 },
  { ts: 1_000, seq: 1, snap: true, bidPx: [100.5, 100.25, 100], bidQty: [1, 2.5, 3], askPx: [101, 101.5], askQty: [4, 0.125], prev: null },
  { ts: 2_000, seq: 2, snap: false, bidPx: [], bidQty: [], askPx: [101.25, 102], askQty: [7, 8], prev: 10 },
];

/** A column batch as the collector's builder hands it to the encoder. */
function batch(rows: BookRow[]): ColumnBatch {
  const n = rows.length;
  const list = (f: (r: BookRow) => number[]) => {
    const offsets = new Int32Array(n + 1);
    const values: number[] = [];
    rows.forEach((r, i) => {
      values.push(...f(r));
      offsets[i + 1] = values.length;
    });
    return { offsets, values: Float64Array.from(values) };
  };
  const columns: ColumnData[] = columnsFor("book").map((def) => {
    const base = { name: def.name, type: def.type, nullable: def.nullable };
    switch (def.name) {
      case "exchange":
        return { ...base, utf8: { dict: ["bybit"], codes: new Int32Array(n) } };
      case "symbol":
      case "exchange_symbol":
        return { ...base, utf8: { dict: ["BTCUSDT"], codes: new Int32Array(n) } };
      case "conn_id":
        return { ...base, utf8: { dict: ["bybit-linear-1"], codes: new Int32Array(n) } };
      case "source":
        return { ...base, utf8: { dict: ["ws"], codes: new Int32Array(n) } };
      case "ts_recv_us":
        return { ...base, numbers: Float64Array.from(rows, (r) => r.ts) };
      case "recv_seq":
      case "update_id":
        return { ...base, numbers: Float64Array.from(rows, (r) => r.seq) };
      case "prev_update_id":
        return { ...base, numbers: Float64Array.from(rows, (r) => r.prev ?? 0), valid: Uint8Array.from(rows, (r) => (r.prev === null ? 0 : 1)) };
      case "is_snapshot":
        return { ...base, bools: Uint8Array.from(rows, (r) => (r.snap ? 1 : 0)) };
      case "bid_px":
        return { ...base, list: list((r) => r.bidPx) };
      case "bid_qty":
        return { ...base, list: list((r) => r.bidQty) };
      case "ask_px":
        return { ...base, list: list((r) => r.askPx) };
      case "ask_qty":
        return { ...base, list: list((r) => r.askQty) };
      default: // ts_event_ms, first_update_id, seq, ts_tx_ms: all null
        return { ...base, numbers: new Float64Array(n), valid: new Uint8Array(n) };
    }
  });
  return { stream: "book", length: n, columns };
}

const file = (rows: BookRow[]) => encodeParquet(batch(rows), { metadata: new Map([["stream", "book"]]), createdBy: "test" });

/** Rows back as plain objects (the columns this test sets). */
function rowsOf(t: Decoded): BookRow[] {
  const c = (name: string) => t.columns.find((x) => x.def.name === name)!;
  const list = (name: string, i: number) => {
    const l = c(name).list!;
    return [...l.values.subarray(l.offsets[i]!, l.offsets[i + 1]!)];
  };
  return Array.from({ length: t.length }, (_, i) => ({
    ts: c("ts_recv_us").numbers![i]!,
    seq: c("recv_seq").numbers![i]!,
    snap: c("is_snapshot").bools![i] === 1,
    bidPx: list("bid_px", i),
    bidQty: list("bid_qty", i),
    askPx: list("ask_px", i),
    askQty: list("ask_qty", i),
    prev: c("prev_update_id").valid![i] ? c("prev_update_id").numbers![i]! : null,
  }));
}

beforeAll(async () => {
  await initParquetWasm();
});

describe("compact/table on the book stream (bool, list<f64>)", () => {
  test("a file from the product's encoder decodes to exactly its values", async () => {
    const t = await decode(file(ROWS), "book", "test");
    expect(rowsOf(t)).toEqual(ROWS);
  });

  test("checksum covers bools and list contents (values, lengths, split between rows)", async () => {
    const base = checksum(await decode(file(ROWS), "book", "t"));
    expect(checksum(await decode(file([...ROWS].reverse()), "book", "t"))).toBe(base);
    expect(checksum(concat([await decode(file(ROWS.slice(0, 1)), "book", "t"), await decode(file(ROWS.slice(1)), "book", "t")], "book"))).toBe(base);
    const variants: BookRow[][] = [
      ROWS.map((r, i) => (i === 1 ? { ...r, snap: false } : r)), // bool flipped
      ROWS.map((r, i) => (i === 1 ? { ...r, bidQty: [1, 2.5, 3.0000001] } : r)), // one level's value
      ROWS.map((r, i) => (i === 1 ? { ...r, askPx: [101], askQty: [4] } : r)), // a level removed
      ROWS.map((r, i) => (i === 1 ? { ...r, bidPx: r.askPx, bidQty: r.askQty, askPx: r.bidPx, askQty: r.bidQty } : r)), // sides swapped
      ROWS.map((r, i) => (i === 2 ? { ...r, bidPx: [101.25], askPx: [102] } : r)), // a value moved between lists
    ];
    const sums = await Promise.all(variants.map(async (v) => checksum(await decode(file(v), "book", "t"))));
    for (const s of sums) expect(s).not.toBe(base);
    expect(new Set(sums).size).toBe(sums.length);
  });

  test("re-encoded sorted, in slices of one row: same values, checksum, order, and column types", async () => {
    const t = await decode(file(ROWS), "book", "t");
    const order = sortOrder(t, "book");
    const out = await encode(t, order, "book", new Map([["stream", "book"]]), "test", 2);
    const v = await verifyFile(out, "book", "t"); // also checks the v1 columns and Arrow types
    expect(v).toMatchObject({ rows: 3, checksum: checksum(t), sorted: true });
    expect(rowsOf(await decode(out, "book", "t"))).toEqual([...ROWS].sort((a, b) => a.ts - b.ts));
  });
});
