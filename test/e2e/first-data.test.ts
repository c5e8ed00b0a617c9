/**
 * Scope: subscriptions are verified by their first data, not by the acknowledgement (docs/venues.md §0).
 * Binance acknowledges an unknown symbol and then sends nothing: the collector must report it as
 * silent while every other symbol records, and record `subscribed` only for fully live connections.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { simulator, type DisposableSimulator } from "../helpers/sim.ts";
import { suite } from "../helpers/suite.ts";
import { baseEnv, spawnCollector } from "../helpers/collector.ts";
import { query, sqlString, streamGlob } from "../helpers/duck.ts";
import { parquetGlob } from "../helpers/layout.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const res = suite();
const dir = res.use(tmpDir());
let sim: DisposableSimulator;
beforeAll(() => {
  sim = res.use(simulator({ rate: 1000, exchanges: ["binance"] }));
});
describe("first-data verification", () => {
  test("an acknowledged but never-delivering symbol is reported silent; the others record", async () => {
    await using col = spawnCollector(
      [],
      baseEnv({ BINANCE_WS_URL: sim.url, DATA_DIR: dir.path, EXCHANGES: "binance", SYMBOLS: "BTCUSDT,FAKEUSDT", SUBSCRIPTION_DEADLINE_SECONDS: "2" }),
    );
    await col.waitForLog("status_api_start");
    // bbo/trade after the 2 s deadline; mark_price/funding after their own 10 s silence bound.
    await waitFor("two fast silent subscriptions", async () => (await col.get("/metrics")).silent_subscriptions.length === 2, 8_000);
    await waitFor("four silent subscriptions", async () => (await col.get("/metrics")).silent_subscriptions.length === 4, 15_000);
    const m = await col.get("/metrics");
    expect(m.silent_subscriptions.map((s: { stream: string; symbol: string }) => `${s.stream}:${s.symbol}`).sort()).toEqual([
      "bbo:FAKEUSDT",
      "funding:FAKEUSDT",
      "mark_price:FAKEUSDT",
      "trade:FAKEUSDT",
    ]);
    expect(m.silent_subscriptions_total).toBe(4);
    const logged = col.logs.filter((l) => l.event === "subscription_silent");
    expect(logged.map((l) => l.symbol)).toEqual(["FAKEUSDT", "FAKEUSDT", "FAKEUSDT", "FAKEUSDT"]);
    expect((await col.get("/metrics/prometheus")) as string).toContain('quantlab_collector_silent_subscriptions{exchange="binance"} 4');
    expect(await col.stop("SIGTERM")).toBe(0);

    const btc = await query(`select count(*) n from ${streamGlob(dir.path, "binance", "bbo")} where symbol = 'BTCUSDT'`);
    expect(btc[0]!.n as number).toBeGreaterThan(0);
    const events = await query(`select event from read_parquet(${sqlString(parquetGlob(dir.path, { exchange: "binance", stream: "connection" }))})`);
    expect(events.filter((e) => e.event === "subscribed")).toHaveLength(0); // never fully live
  }, 40_000);

  test("a fully live connection records `subscribed` after first data on every subscription", async () => {
    using d = tmpDir();
    await using col = spawnCollector(
      [],
      baseEnv({ BINANCE_WS_URL: sim.url, DATA_DIR: d.path, EXCHANGES: "binance", SYMBOLS: "BTCUSDT,ETHUSDT", SUBSCRIPTION_DEADLINE_SECONDS: "5" }),
    );
    await col.waitForLog("status_api_start");
    // 20+ events per stream: the simulator serves its subscriptions round-robin, so every (stream,
    // symbol) has had its first event, and `subscribed` is recorded as that event is ingested.
    await waitFor(
      "data on all streams",
      async () => Object.values((await col.get("/metrics")).events_total_by_stream as Record<string, number>).filter((n) => n >= 20).length === 4,
      20_000,
    );
    expect(await col.stop("SIGTERM")).toBe(0);
    const events = await query(
      `select conn_id, event from read_parquet(${sqlString(parquetGlob(d.path, { exchange: "binance", stream: "connection" }))}) order by ts_us`,
    );
    for (const conn of new Set(events.map((e) => e.conn_id))) {
      expect(events.filter((e) => e.conn_id === conn).map((e) => e.event)).toEqual(["connect", "subscribed", "disconnect"]);
    }
    expect(col.logs.filter((l) => l.event === "subscription_silent")).toHaveLength(0);
  }, 30_000);
});
