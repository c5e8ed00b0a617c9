/**
 * Scope: Bybit simulator → collector process → SIGTERM → Parquet read back with DuckDB.
 * Every sent event is exactly one row with every mapped field equal (publicTrade: one row per
 * data item; tickers deltas: a row only for streams whose fields are present, absent fields null).
 * One unknown symbol fails its own subscribe request only (a shared request refused as a whole is
 * re-sent one symbol per request): reported, the others keep recording.
 */
import { describe, expect, test } from "bun:test";
import type { Stream } from "../../src/schema/rows.ts";
import { recordedSuite } from "../helpers/recorded-run.ts";
import { query, streamGlob } from "../helpers/duck.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const UNKNOWN = "FOOUSDT";
const FRAMES = 3000;
const STREAMS: Stream[] = ["bbo", "trade", "mark_price", "funding", "open_interest"];
// The unknown symbol's own request goes out after the paced retries (250 ms apart): its refusal is
// awaited before the run stops, whatever the machine's load.
const run = recordedSuite("bybit", [...SYMBOLS, UNKNOWN], FRAMES, {}, (col) => col.waitForLog("subscribe_error"));

const num = (v: unknown) => (v === undefined ? null : Number(v));
const frames = () => run.sim.sent().map((f) => JSON.parse(f.text) as Record<string, any>);

describe("bybit end to end", () => {
  test("exits 0 on SIGTERM with nothing unwritten, no parse errors, no reconnects", async () => {
    expect(run.exitCode).toBe(0);
    const stop = await run.col.waitForLog("collector_stop");
    expect(stop.unwritten_rows).toBe(0);
    expect(run.metricsBeforeStop.parse_errors_total).toBe(0);
    expect(run.metricsBeforeStop.ws_reconnect_total).toEqual({ bybit: 0 });
  });

  test("unknown symbol: its request fails batch-wide, is logged with the venue's ret_msg and counted; the rest records", async () => {
    const err = await run.col.waitForLog("subscribe_error");
    expect(err.error).toBe(`error:handler not found,topic:orderbook.1.${UNKNOWN}`);
    expect(err.topics).toEqual([`orderbook.1.${UNKNOWN}`, `publicTrade.${UNKNOWN}`, `tickers.${UNKNOWN}`, `allLiquidation.${UNKNOWN}`]);
    expect(run.col.logs.filter((l) => l.event === "subscribe_error")).toHaveLength(1);
    expect(run.metricsBeforeStop.subscribe_errors_total).toBe(1);
    // Visible in /metrics too, with the venue's words: which topics, which error.
    expect(run.metricsBeforeStop.rejected_subscriptions).toEqual([
      { exchange: "bybit", conn_id: err.conn_id as string, topics: err.topics as string[], error: err.error as string, ts_ms: expect.any(Number) },
    ]);
    // It shared a request with SOLUSDT: that request was refused as a whole, then each symbol was
    // requested on its own; SOLUSDT's went through (it records, below), FOOUSDT's was refused again.
    const batch = run.col.logs.filter((l) => l.event === "subscribe_batch_refused");
    expect(batch).toHaveLength(1);
    expect(batch[0]!.topics).toEqual(["SOLUSDT", UNKNOWN].flatMap((s) => [`orderbook.1.${s}`, `publicTrade.${s}`, `tickers.${s}`, `allLiquidation.${s}`]));
    expect(run.sim.stats().control["bybit|subscribe_error"]).toBe(2);
  });

  test("row counts per stream and symbol equal what the simulator sent", async () => {
    const rows = run.sim.stats().rows;
    for (const stream of STREAMS) {
      const got = await query(`select symbol, count(*) as n from ${streamGlob(run.dir, "bybit", stream)} group by symbol order by symbol`);
      const want = SYMBOLS.filter((s) => rows[`bybit|${stream}|${s}`])
        .sort()
        .map((s) => ({ symbol: s, n: rows[`bybit|${stream}|${s}`] }));
      expect(want).toHaveLength(SYMBOLS.length);
      expect(got).toEqual(want);
    }
  });

  test("bbo and trades equal the sent frames field by field (one row per publicTrade item)", async () => {
    for (const s of SYMBOLS) {
      const bbo = await query(`select * from ${streamGlob(run.dir, "bybit", "bbo")} where symbol = '${s}' order by recv_seq`);
      const books = frames().filter((f) => f.topic === `orderbook.1.${s}`);
      expect(bbo.map((r) => [r.exchange, r.exchange_symbol, r.ts_event_ms, r.bid_px, r.bid_qty, r.ask_px, r.ask_qty, r.update_id, r.ts_tx_ms])).toEqual(
        books.map((f) => ["bybit", s, f.ts, Number(f.data.b[0][0]), Number(f.data.b[0][1]), Number(f.data.a[0][0]), Number(f.data.a[0][1]), f.data.u, f.cts]),
      );
      // Trade ids are UUIDs: compare as sets ordered by id (items of one frame share recv_seq).
      const trades = await query(`select * from ${streamGlob(run.dir, "bybit", "trade")} where symbol = '${s}' order by trade_id`);
      const items = frames()
        .filter((f) => f.topic === `publicTrade.${s}`)
        .flatMap((f) => f.data.map((t: any) => [f.ts, t.i, Number(t.p), Number(t.v), t.S.toLowerCase(), t.T]))
        .sort((a, b) => (a[1] < b[1] ? -1 : 1));
      expect(trades.map((r) => [r.ts_event_ms, r.trade_id, r.price, r.qty, r.side, r.ts_trade_ms])).toEqual(items);
      expect(items.length).toBeGreaterThan(frames().filter((f) => f.topic === `publicTrade.${s}`).length); // multi-item frames occurred
    }
  });

  test("tickers: snapshot then deltas; a row per stream present, absent fields null, nothing carried forward", async () => {
    let nullsSeen = 0;
    for (const s of SYMBOLS) {
      const msgs = frames().filter((f) => f.topic === `tickers.${s}`);
      expect(msgs[0]!.type).toBe("snapshot");
      expect(msgs.slice(1).every((f) => f.type === "delta")).toBe(true);
      const pick = (keys: string[]) => msgs.filter((f) => keys.some((k) => k in f.data));
      const mark = await query(`select * from ${streamGlob(run.dir, "bybit", "mark_price")} where symbol = '${s}' order by recv_seq`);
      expect(mark.map((r) => [r.ts_event_ms, r.mark_price, r.index_price])).toEqual(
        pick(["markPrice", "indexPrice"]).map((f) => [f.ts, num(f.data.markPrice), num(f.data.indexPrice)]),
      );
      const funding = await query(`select * from ${streamGlob(run.dir, "bybit", "funding")} where symbol = '${s}' order by recv_seq`);
      expect(funding.map((r) => [r.ts_event_ms, r.funding_rate, r.funding_time_ms])).toEqual(
        pick(["fundingRate", "nextFundingTime"]).map((f) => [f.ts, num(f.data.fundingRate), num(f.data.nextFundingTime)]),
      );
      const oi = await query(`select * from ${streamGlob(run.dir, "bybit", "open_interest")} where symbol = '${s}' order by recv_seq`);
      expect(oi.map((r) => [r.ts_event_ms, r.open_interest, r.open_interest_ccy, r.open_interest_usd])).toEqual(
        pick(["openInterest", "openInterestValue"]).map((f) => [f.ts, num(f.data.openInterest), null, num(f.data.openInterestValue)]),
      );
      nullsSeen += mark.filter((r) => r.mark_price === null || r.index_price === null).length + funding.filter((r) => r.funding_rate === null).length;
      // Deltas without any stream field were sent and produced no row.
      expect(
        msgs.some((f) => !["markPrice", "indexPrice", "fundingRate", "nextFundingTime", "openInterest", "openInterestValue"].some((k) => k in f.data)),
      ).toBe(true);
    }
    expect(nullsSeen).toBeGreaterThan(0);
  });
});
