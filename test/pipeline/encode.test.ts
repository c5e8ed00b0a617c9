/** Scope: rows → Parquet bytes, read back by DuckDB: nulls, int64 range, metadata, a fresh WriterProperties per file. */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ColumnBuilder } from "../../src/pipeline/column-builder.ts";
import type { Row } from "../../src/schema/rows.ts";
import { encodeParquet } from "../../src/pipeline/encode.ts";
import { initParquetWasm } from "../../src/pipeline/wasm-init.ts";
import type { TradeRow, BboRow, OpenInterestRow } from "../../src/schema/rows.ts";

function columns(rows: Row[]) {
  const b = new ColumnBuilder(rows[0]!.stream);
  for (const r of rows) b.append(r, r.ts_recv_us);
  return b.build();
}
import { fileMetadata } from "../../src/schema/v1.ts";
import { query, sqlString } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";

const dir = tmpDir();
beforeAll(() => initParquetWasm());

const base = { exchange: "okx" as const, symbol: "BTCUSDT", exchange_symbol: "BTC-USDT-SWAP", conn_id: "okx-public-abc-1" };
const meta = fileMetadata({ exchange: "okx", stream: "trade", symbol: "BTCUSDT", instanceId: "deadbeef", collectorVersion: "9.9.9" });

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const p = join(dir.path, name);
  await Bun.write(p, bytes);
  return sqlString(p);
}

describe("encodeParquet", () => {
  test("trade rows round-trip exactly, including a null ts and large ids", async () => {
    const rows: TradeRow[] = [
      {
        ...base,
        stream: "trade",
        ts_event_ms: 1786540291675,
        ts_recv_us: 1786540291675123,
        recv_seq: 1,
        trade_id: "7967419777",
        price: 64042.1,
        qty: 0.038,
        side: "sell",
        ts_trade_ms: 1786540291675,
      },
      {
        ...base,
        stream: "trade",
        ts_event_ms: null,
        ts_recv_us: 2 ** 53 - 1,
        recv_seq: 2,
        trade_id: "x-2",
        price: 1e-8,
        qty: 123456789.123,
        side: "buy",
        ts_trade_ms: null,
      },
    ];
    const f = await write("t.parquet", encodeParquet(columns(rows), { metadata: meta, createdBy: "test" }));
    const got = await query(`select * from read_parquet(${f}, hive_partitioning=false) order by recv_seq`);
    expect(got).toEqual(rows.map(({ stream: _s, ...r }) => r));
    const kv = await query(`select decode(key) k, decode(value) v from parquet_kv_metadata(${f})`);
    expect(Object.fromEntries(kv.map((x) => [x.k, x.v]))).toMatchObject({
      schema_version: "v1",
      instance_id: "deadbeef",
      collector_version: "9.9.9",
      stream: "trade",
    });
  });

  test("every file gets the chosen codecs and delta int64 columns, not just the first (fresh properties each time)", async () => {
    const rows: BboRow[] = Array.from({ length: 1000 }, (_, i) => ({
      ...base,
      stream: "bbo" as const,
      ts_event_ms: 1_700_000_000_000 + i,
      ts_recv_us: 1_700_000_000_000_000 + i,
      recv_seq: i + 1,
      bid_px: 100 + i,
      bid_qty: null,
      ask_px: 101 + i,
      ask_qty: 2,
      update_id: i,
      ts_tx_ms: null,
    }));
    for (const name of ["a.parquet", "b.parquet", "c.parquet"]) {
      const f = await write(name, encodeParquet(columns(rows), { metadata: meta, createdBy: "test" }));
      const cols = await query(`select path_in_schema p, compression c, encodings e from parquet_metadata(${f})`);
      // Prices new every row (100 + i) are plain + GZIP; everything else ZSTD.
      const gzip = cols.filter((c) => c.c === "GZIP").map((c) => c.p);
      expect(gzip.sort()).toEqual(["ask_px", "bid_px"]);
      expect(cols.filter((c) => c.c !== "GZIP").every((c) => c.c === "ZSTD")).toBe(true);
      expect(cols.find((c) => c.p === "ts_recv_us")!.e).toContain("DELTA_BINARY_PACKED");
      expect(cols.find((c) => c.p === "bid_qty")).toBeDefined();
      const nulls = await query(`select count(*) n, count(bid_qty) q, count(ts_tx_ms) t, sum(update_id) s from read_parquet(${f})`);
      expect(nulls[0]).toEqual({ n: 1000, q: 0, t: 0, s: (999 * 1000) / 2 });
    }
  });

  test("a float column whose values repeat is dictionary-coded; one whose values hardly repeat is plain", async () => {
    // bid_px on a grid of 5 prices (repeats); ask_px new every row (open-interest-like); both read back exactly.
    const rows: BboRow[] = Array.from({ length: 3000 }, (_, i) => ({
      ...base,
      stream: "bbo" as const,
      ts_event_ms: 1_700_000_000_000 + i,
      ts_recv_us: 1_700_000_000_000_000 + i,
      recv_seq: i + 1,
      bid_px: 64_000 + (i % 5) * 0.1,
      bid_qty: 1,
      ask_px: 2_216_113.01 + i * 0.37,
      ask_qty: 2,
      update_id: i,
      ts_tx_ms: null,
    }));
    const f = await write("dict.parquet", encodeParquet(columns(rows), { metadata: meta, createdBy: "test" }));
    const cols = await query(`select path_in_schema p, encodings e, compression c from parquet_metadata(${f})`);
    const enc = Object.fromEntries(cols.map((c) => [c.p, String(c.e)]));
    const codec = Object.fromEntries(cols.map((c) => [c.p, c.c]));
    expect(enc.bid_px).toContain("RLE_DICTIONARY");
    expect(enc.ask_px).not.toContain("DICTIONARY");
    expect([codec.bid_px, codec.ask_px]).toEqual(["ZSTD", "GZIP"]);
    const back = await query(`select bid_px, ask_px from read_parquet(${f}) order by recv_seq`);
    expect(back.map((r) => [r.bid_px, r.ask_px])).toEqual(rows.map((r) => [r.bid_px, r.ask_px]));
  });

  test("a float column of whole numbers that hardly repeats (contracts) is BYTE_STREAM_SPLIT + GZIP; other floats are not split", async () => {
    const rows: OpenInterestRow[] = Array.from({ length: 3000 }, (_, i) => ({
      ...base,
      stream: "open_interest" as const,
      ts_event_ms: 1_700_000_000_000 + i * 3000,
      ts_recv_us: 1_700_000_000_000_000 + i * 3_000_017,
      recv_seq: i + 1,
      open_interest: 4_155_300 + i * 37 + ((i * 7919) % 29), // contracts: whole, every value new
      open_interest_ccy: (4_155_300 + i) * 0.01,
      open_interest_usd: i % 10 === 0 ? null : (4_155_300 + i) * 0.01 * 96_512.3,
    }));
    const f = await write("oi.parquet", encodeParquet(columns(rows), { metadata: meta, createdBy: "test" }));
    const cols = await query(`select path_in_schema p, encodings e, compression c from parquet_metadata(${f})`);
    const by = Object.fromEntries(cols.map((c) => [c.p, { e: String(c.e), c: c.c }]));
    expect(by.open_interest).toEqual({ e: expect.stringContaining("BYTE_STREAM_SPLIT"), c: "GZIP" });
    expect(by.open_interest_ccy!.e).not.toContain("BYTE_STREAM_SPLIT");
    expect(by.open_interest_usd!.e).not.toContain("BYTE_STREAM_SPLIT");
    expect([by.open_interest_ccy!.c, by.open_interest_usd!.c]).toEqual(["GZIP", "GZIP"]);
    const back = await query(`select open_interest, open_interest_ccy, open_interest_usd from read_parquet(${f}) order by recv_seq`);
    expect(back).toEqual(rows.map((r) => ({ open_interest: r.open_interest, open_interest_ccy: r.open_interest_ccy, open_interest_usd: r.open_interest_usd })));
  });

  test("the Arrow copies and the IPC stream are freed at once, never the caller's batch: the same batch encodes again to the same rows", async () => {
    const rows: TradeRow[] = Array.from({ length: 500 }, (_, i) => ({
      ...base,
      stream: "trade" as const,
      ts_event_ms: i % 3 ? 1_700_000_000_000 + i : null,
      ts_recv_us: 1_700_000_000_000_000 + i,
      recv_seq: i,
      trade_id: String(9_000_000_000 + i),
      price: 100 + i,
      qty: 1,
      side: i % 2 ? "buy" : "sell",
      ts_trade_ms: null,
    }));
    const batch = columns(rows);
    const a = await write("again-a.parquet", encodeParquet(batch, { metadata: meta, createdBy: "test" }));
    for (const c of batch.columns) {
      if (c.numbers) expect(c.numbers.byteLength).toBeGreaterThan(0);
      if (c.valid) expect(c.valid.byteLength).toBeGreaterThan(0);
    }
    const b = await write("again-b.parquet", encodeParquet(batch, { metadata: meta, createdBy: "test" }));
    const got = await query(`select * from read_parquet(${b}) order by recv_seq`);
    expect(got).toEqual(await query(`select * from read_parquet(${a}) order by recv_seq`));
    expect(got).toEqual(rows.map(({ stream: _s, ...r }) => r));
  });
});
