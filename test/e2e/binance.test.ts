/**
 * Scope: simulator → collector process (from source) → SIGTERM → Parquet read back with DuckDB.
 * Row counts per (stream, symbol) equal what the simulator sent; values equal field by field;
 * the files' schema equals v1.
 */
import { describe, expect, test } from "bun:test";
import { columnsFor } from "../../src/schema/v1.ts";
import type { Stream } from "../../src/schema/rows.ts";
import { recordedSuite } from "../helpers/recorded-run.ts";
import { query, sqlString, streamGlob } from "../helpers/duck.ts";
import { parquetGlob } from "../helpers/layout.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const FRAMES = 3000;
const run = recordedSuite("binance", SYMBOLS, FRAMES);
const t0Us = Date.now() * 1000;

const duckType = { utf8: "VARCHAR", int64: "BIGINT", float64: "DOUBLE", bool: "BOOLEAN", list_f64: "DOUBLE[]" } as const;

describe("binance end to end", () => {
  test("exits 0 on SIGTERM and logs collector_stop with totals", async () => {
    expect(run.exitCode).toBe(0);
    const stop = await run.col.waitForLog("collector_stop");
    expect(stop.unwritten_rows).toBe(0);
    expect((stop.writer as { total_written: number }).total_written).toBe(stop.total_events as number);
  });

  test("row counts per stream and symbol equal what the simulator sent", async () => {
    const rows = run.sim.stats().rows;
    for (const stream of ["bbo", "trade", "mark_price", "funding"] as Stream[]) {
      const got = await query(`select symbol, count(*) as n from ${streamGlob(run.dir, "binance", stream)} group by symbol order by symbol`);
      const want = SYMBOLS.filter((s) => rows[`binance|${stream}|${s}`])
        .sort()
        .map((s) => ({ symbol: s, n: rows[`binance|${stream}|${s}`] }));
      expect(got).toEqual(want);
    }
    const oi = await query(`select count(*) as n from glob(${sqlString(parquetGlob(run.dir, { exchange: "binance", stream: "open_interest" }))})`);
    expect(oi[0]!.n).toBe(0); // Binance has no OI WebSocket stream and REST is never used for rows
  });

  test("values equal the sent frames field by field", async () => {
    const sent = run.sim.sent().map((f) => JSON.parse(f.text).data as Record<string, any>);
    const bySym = (e: string) => (s: string) => sent.filter((d) => d.e === e && d.s === s);
    for (const s of SYMBOLS) {
      const bbo = await query(`select * from ${streamGlob(run.dir, "binance", "bbo")} where symbol = '${s}' order by recv_seq`);
      expect(bbo.map((r) => [r.exchange, r.exchange_symbol, r.ts_event_ms, r.bid_px, r.bid_qty, r.ask_px, r.ask_qty, r.update_id, r.ts_tx_ms])).toEqual(
        bySym("bookTicker")(s).map((d) => ["binance", s, d.E, Number(d.b), Number(d.B), Number(d.a), Number(d.A), d.u, d.T]),
      );
      const trades = await query(`select * from ${streamGlob(run.dir, "binance", "trade")} where symbol = '${s}' order by recv_seq`);
      expect(trades.map((r) => [r.ts_event_ms, r.trade_id, r.price, r.qty, r.side, r.ts_trade_ms])).toEqual(
        bySym("trade")(s).map((d) => [d.E, String(d.t), Number(d.p), Number(d.q), d.m ? "sell" : "buy", d.T]),
      );
      const mark = await query(`select * from ${streamGlob(run.dir, "binance", "mark_price")} where symbol = '${s}' order by recv_seq`);
      const marks = bySym("markPriceUpdate")(s);
      expect(mark.map((r) => [r.ts_event_ms, r.mark_price, r.index_price])).toEqual(marks.map((d) => [d.E, Number(d.p), Number(d.i)]));
      const funding = await query(`select * from ${streamGlob(run.dir, "binance", "funding")} where symbol = '${s}' order by recv_seq`);
      expect(funding.map((r) => [r.ts_event_ms, r.funding_rate, r.funding_time_ms])).toEqual(marks.map((d) => [d.E, Number(d.r), d.T]));
    }
  });

  test("transport columns: conn_id per route, recv_seq increasing, ts_recv_us is wall-clock µs", async () => {
    const r = await query(
      `select conn_id, count(*) n, count(distinct recv_seq) d, min(ts_recv_us) lo, max(ts_recv_us) hi from ${streamGlob(run.dir, "binance", "bbo")} group by conn_id`,
    );
    expect(r).toHaveLength(1);
    expect(r[0]!.conn_id).toMatch(/^binance-public-[0-9a-f]{8}-\d+$/);
    expect(r[0]!.d).toBe(r[0]!.n);
    expect(r[0]!.lo as number).toBeGreaterThan(t0Us);
    expect(r[0]!.hi as number).toBeLessThan(Date.now() * 1000);
  });

  test("every file has exactly the v1 schema, nullability and key-value metadata", async () => {
    for (const stream of ["bbo", "trade", "mark_price", "funding"] as Stream[]) {
      const files = await query(`select file from glob(${sqlString(parquetGlob(run.dir, { exchange: "binance", stream }))})`);
      expect(files.length).toBeGreaterThan(0);
      const f = sqlString(files[0]!.file as string);
      const described = await query(`describe select * from read_parquet(${f}, hive_partitioning = false)`);
      expect(described.map((d) => [d.column_name, d.column_type])).toEqual(columnsFor(stream).map((c) => [c.name, duckType[c.type]]));
      const schema = await query(`select name, repetition_type from parquet_schema(${f}) where name <> 'arrow_schema'`);
      expect(schema.map((x) => [x.name, x.repetition_type])).toEqual(columnsFor(stream).map((c) => [c.name, c.nullable ? "OPTIONAL" : "REQUIRED"]));
      const kv = await query(`select decode(key) k, decode(value) v from parquet_kv_metadata(${f}) where decode(key) <> 'ARROW:schema'`);
      const meta = Object.fromEntries(kv.map((x) => [x.k, x.v]));
      expect(meta).toMatchObject({
        schema_version: "v1",
        exchange: "binance",
        stream,
        collector_version: expect.any(String),
        instance_id: expect.stringMatching(/^[0-9a-f]{8}$/),
      });
      expect(SYMBOLS).toContain(meta.symbol);
      expect(files[0]!.file as string).toContain(`/${meta.symbol}/date=`);
    }
  });
});
