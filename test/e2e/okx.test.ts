/**
 * Scope: OKX simulator → collector process (public + business sockets) → SIGTERM → Parquet read
 * back with DuckDB. Every sent event is exactly one row with every mapped field equal; sizes stay
 * in contracts; BTCUSDT ↔ BTC-USDT-SWAP. One unknown instrument gets a 60018 per arg: each is
 * reported, every other arg keeps recording.
 */
import { describe, expect, test } from "bun:test";
import type { Stream } from "../../src/schema/rows.ts";
import { recordedSuite } from "../helpers/recorded-run.ts";
import { query, streamGlob, streamsRead } from "../helpers/duck.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const UNKNOWN = "FOOUSDT";
const FRAMES = 3000;
const STREAMS: Stream[] = ["bbo", "trade", "mark_price", "funding", "open_interest"];
const run = recordedSuite("okx", [...SYMBOLS, UNKNOWN], FRAMES);

const frames = (channel: string, instId: string) =>
  run.sim
    .sent()
    .map((f) => JSON.parse(f.text) as Record<string, any>)
    .filter((f) => f.arg.channel === channel && f.arg.instId === instId)
    .map((f) => {
      expect(f.data).toHaveLength(1);
      return f.data[0] as Record<string, string>;
    });
const inst = (s: string) => `${s.slice(0, -4)}-USDT-SWAP`;

describe("okx end to end", () => {
  test("exits 0 on SIGTERM; two sockets (public, business); no parse errors, no reconnects", async () => {
    expect(run.exitCode).toBe(0);
    expect((await run.col.waitForLog("collector_stop")).unwritten_rows).toBe(0);
    expect(run.metricsBeforeStop.parse_errors_total).toBe(0);
    expect(run.metricsBeforeStop.ws_reconnect_total).toEqual({ okx: 0 });
    expect(run.metricsBeforeStop.connections).toEqual({ okx: { open: 2, planned: 2 } });
    const urls = run.col.logs
      .filter((l) => l.event === "ws_connect")
      .map((l) => l.url as string)
      .sort();
    expect(urls).toEqual([`${run.sim.url}/ws/v5/business`, `${run.sim.url}/ws/v5/public`]);
  });

  test("unknown instrument: one 60018 per arg, each logged and counted; other args unaffected", async () => {
    await run.col.waitForLog("subscribe_error");
    const errs = run.col.logs.filter((l) => l.event === "subscribe_error");
    expect(errs.map((e) => (e.topics as string[])[0]).sort()).toEqual(
      ["bbo-tbt", "funding-rate", "mark-price", "open-interest", "trades-all"].map((c) => `${c}:${inst(UNKNOWN)}`),
    );
    for (const e of errs) expect(e.error as string).toStartWith("60018: Wrong URL or channel:");
    expect(run.metricsBeforeStop.subscribe_errors_total).toBe(5);
    expect(run.metricsBeforeStop.rejected_subscriptions.map((r: { topics: string[] }) => r.topics[0]).sort()).toEqual(
      errs.map((e) => (e.topics as string[])[0]).sort(),
    );
    for (const r of run.metricsBeforeStop.rejected_subscriptions) expect(r).toMatchObject({ exchange: "okx", error: expect.stringMatching(/^60018: /) });
  });

  test("row counts per stream and symbol equal what the simulator sent", async () => {
    const rows = run.sim.stats().rows;
    for (const stream of STREAMS) {
      const got = await query(`select symbol, exchange_symbol, count(*) as n from ${streamGlob(run.dir, "okx", stream)} group by all order by symbol`);
      const want = [...SYMBOLS].sort().map((s) => ({ symbol: s, exchange_symbol: inst(s), n: rows[`okx|${stream}|${s}`] }));
      expect(want.every((w) => (w.n ?? 0) > 0)).toBe(true);
      expect(got).toEqual(want);
    }
  });

  test("every stream equals the sent frames field by field", async () => {
    for (const s of SYMBOLS) {
      const sel = (stream: Stream) => query(`select * from ${streamGlob(run.dir, "okx", stream)} where symbol = '${s}' order by recv_seq`);
      expect((await sel("bbo")).map((r) => [r.ts_event_ms, r.bid_px, r.bid_qty, r.ask_px, r.ask_qty, r.update_id, r.ts_tx_ms])).toEqual(
        frames("bbo-tbt", inst(s)).map((d: any) => [
          Number(d.ts),
          Number(d.bids[0][0]),
          Number(d.bids[0][1]),
          Number(d.asks[0][0]),
          Number(d.asks[0][1]),
          d.seqId,
          null,
        ]),
      );
      expect((await sel("trade")).map((r) => [r.ts_event_ms, r.trade_id, r.price, r.qty, r.side, r.ts_trade_ms])).toEqual(
        frames("trades-all", inst(s)).map((d) => [Number(d.ts), d.tradeId, Number(d.px), Number(d.sz), d.side, Number(d.ts)]),
      );
      expect((await sel("mark_price")).map((r) => [r.ts_event_ms, r.mark_price, r.index_price])).toEqual(
        frames("mark-price", inst(s)).map((d) => [Number(d.ts), Number(d.markPx), null]),
      );
      expect((await sel("funding")).map((r) => [r.ts_event_ms, r.funding_rate, r.funding_time_ms])).toEqual(
        frames("funding-rate", inst(s)).map((d) => [Number(d.ts), Number(d.fundingRate), Number(d.fundingTime)]),
      );
      expect((await sel("open_interest")).map((r) => [r.ts_event_ms, r.open_interest, r.open_interest_ccy, r.open_interest_usd])).toEqual(
        frames("open-interest", inst(s)).map((d) => [Number(d.ts), Number(d.oi), Number(d.oiCcy), Number(d.oiUsd)]),
      );
    }
  });

  test("trades arrive on the business socket, everything else on the public one", async () => {
    const r = await query(
      `select stream, conn_id from ${streamsRead(run.dir, { exchange: "okx" })} where stream in ('bbo', 'trade', 'mark_price', 'funding', 'open_interest') group by all`,
    );
    expect(r.map((x) => x.stream).sort()).toEqual(["bbo", "funding", "mark_price", "open_interest", "trade"]);
    for (const row of r) expect(row.conn_id as string).toMatch(row.stream === "trade" ? /^okx-business-/ : /^okx-public-/);
  });
});
