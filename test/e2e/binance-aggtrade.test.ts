/**
 * Scope: BINANCE_TRADE_STREAM=aggTrade (docs/schema-v1.md §2; docs/venues.md §1.1): trades
 * come from `<sym>@aggTrade` on the /market connection, not `@trade` on /public; rows equal the sent
 * aggTrade frames (trade_id = aggregate id `a`); aggregate ids are checked for gaps like trade ids.
 */
import { describe, expect, test } from "bun:test";
import { query, streamGlob } from "../helpers/duck.ts";
import { recordedSuite } from "../helpers/recorded-run.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const run = recordedSuite("binance", SYMBOLS, 2000, { BINANCE_TRADE_STREAM: "aggTrade" });

describe("binance with BINANCE_TRADE_STREAM=aggTrade", () => {
  test("subscribes @aggTrade on /market and nothing trade-like on /public", async () => {
    expect(run.exitCode).toBe(0);
    const start = await run.col.waitForLog("collector_start");
    expect((start.config as Record<string, unknown>).BINANCE_TRADE_STREAM).toBe("aggTrade");
    const connects = run.col.logs.filter((l) => l.event === "ws_connect").map((l) => String(l.url));
    expect(connects).toHaveLength(2);
    const market = connects.find((u) => u.includes("/market/"))!;
    const pub = connects.find((u) => u.includes("/public/"))!;
    for (const s of SYMBOLS) expect(market).toContain(`${s.toLowerCase()}@aggTrade`);
    expect(pub).not.toContain("@trade");
    expect(pub).not.toContain("@aggTrade");
    const sent = run.sim.sent().map((f) => JSON.parse(f.text).data as Record<string, any>);
    expect(sent.some((d) => d.e === "aggTrade")).toBe(true);
    expect(sent.some((d) => d.e === "trade")).toBe(false);
  });

  test("trade rows equal the sent aggTrade frames, on the market connection; no gaps, no silent subscriptions", async () => {
    const sent = run.sim.sent().map((f) => JSON.parse(f.text).data as Record<string, any>);
    for (const s of SYMBOLS) {
      const rows = await query(`select * from ${streamGlob(run.dir, "binance", "trade")} where symbol = '${s}' order by recv_seq`);
      const want = sent.filter((d) => d.e === "aggTrade" && d.s === s);
      expect(want.length).toBeGreaterThan(10);
      expect(rows.map((r) => [r.ts_event_ms, r.trade_id, r.price, r.qty, r.side, r.ts_trade_ms])).toEqual(
        want.map((d) => [d.E, String(d.a), Number(d.p), Number(d.q), d.m ? "sell" : "buy", d.T]),
      );
      for (const r of rows) expect(String(r.conn_id)).toContain("binance-market-");
    }
    expect(run.metricsBeforeStop.trade_id_gaps_total).toBe(0);
    expect(run.metricsBeforeStop.silent_subscriptions).toEqual([]);
    expect(run.metricsBeforeStop.parse_errors_total).toBe(0);
  });
});
