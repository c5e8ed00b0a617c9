/** Scope: the book stream's bool and list<f64> columns — builder → Parquet → DuckDB, exact values and order. */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ColumnBuilder } from "../../src/pipeline/column-builder.ts";
import { encodeParquet } from "../../src/pipeline/encode.ts";
import { initParquetWasm } from "../../src/pipeline/wasm-init.ts";
import type { BookRow } from "../../src/schema/rows.ts";
import { fileMetadata } from "../../src/schema/v1.ts";
import { query, sqlString } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";

const dir = tmpDir();
beforeAll(() => initParquetWasm());

const base = { exchange: "binance" as const, symbol: "BTCUSDT", exchange_symbol: "BTCUSDT", conn_id: "binance-public-abc-1", ts_event_ms: 1786541222911 };

function book(i: number, over: Partial<BookRow> = {}): BookRow {
  return {
    ...base,
    stream: "book",
    ts_recv_us: 1786541222911000 + i,
    recv_seq: i,
    is_snapshot: false,
    source: "ws",
    update_id: 11270657233937 + i,
    first_update_id: 11270657223998 + i,
    prev_update_id: 11270657223771 + i,
    seq: null,
    ts_tx_ms: 1786541222909,
    bid_px: [13521.7, 13621.7],
    bid_qty: [0.126, 0],
    ask_px: [63924.7],
    ask_qty: [0.001],
    ...over,
  };
}

describe("book columns (bool, list<f64>)", () => {
  test("round-trip exactly through Parquet, including empty lists, nulls and a buffer that grows", async () => {
    const rows: BookRow[] = [
      book(1, { is_snapshot: true, source: "rest", first_update_id: null, prev_update_id: null, ts_tx_ms: null }),
      book(2, { bid_px: [], bid_qty: [], ask_px: [], ask_qty: [] }),
      // 3,000 levels: more than the builder's initial value buffer, which must grow without losing rows.
      book(3, { bid_px: Array.from({ length: 3000 }, (_, k) => 60000 - k / 10), bid_qty: Array.from({ length: 3000 }, (_, k) => k * 0.001) }),
      ...Array.from({ length: 2000 }, (_, k) => book(4 + k, { is_snapshot: k % 3 === 0, ask_px: [1e-8, 123456789.123], ask_qty: [k, 0] })),
    ];
    const b = new ColumnBuilder("book", 4); // tiny capacity: the row arrays grow too
    for (const r of rows) b.append(r, r.ts_recv_us);
    const meta = fileMetadata({ exchange: "binance", stream: "book", symbol: "BTCUSDT", instanceId: "deadbeef", collectorVersion: "9.9.9" });
    const path = join(dir.path, "book.parquet");
    await Bun.write(path, encodeParquet(b.build(), { metadata: meta, createdBy: "test" }));
    const got = await query(`select * from read_parquet(${sqlString(path)}) order by recv_seq`);
    expect(got.length).toBe(rows.length);
    const plainLists = (r: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, v && typeof v === "object" && "items" in (v as object) ? (v as { items: unknown[] }).items : v]),
      );
    expect(got.map(plainLists)).toEqual(rows.map(({ stream: _s, ...r }) => r));
    const described = await query(`describe select * from read_parquet(${sqlString(path)})`);
    expect(Object.fromEntries(described.map((d) => [d.column_name, d.column_type]))).toMatchObject({
      is_snapshot: "BOOLEAN",
      bid_px: "DOUBLE[]",
      ask_qty: "DOUBLE[]",
      source: "VARCHAR",
    });
    // One row per level, tardis incremental_book_L2 shape (README query).
    const levels = await query(`select count(*) n from (select unnest(bid_px) px from read_parquet(${sqlString(path)}))`);
    expect(levels[0]!.n).toBe(rows.reduce((s, r) => s + r.bid_px.length, 0));
    // Level elements (reachable only through the file's defaults) are dictionary-coded and GZIP'd;
    // the other columns keep their own settings (ZSTD; delta int64; dictionary only for strings).
    const cols = await query(`select path_in_schema p, compression c, encodings e from parquet_metadata(${sqlString(path)})`);
    const byPath = Object.fromEntries(cols.map((c) => [String(c.p), { c: c.c, e: String(c.e) }]));
    for (const list of ["bid_px", "bid_qty", "ask_px", "ask_qty"]) {
      expect(byPath[`${list}, list, element`]?.c).toBe("GZIP");
      expect(byPath[`${list}, list, element`]?.e).toContain("RLE_DICTIONARY");
    }
    expect(byPath.update_id).toEqual({ c: "ZSTD", e: expect.stringContaining("DELTA_BINARY_PACKED") });
    expect(byPath.update_id!.e).not.toContain("DICTIONARY");
    expect(byPath.source!.c).toBe("ZSTD");
  });
});
