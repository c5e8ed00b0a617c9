/**
 * Scope: venue keepalive and planned disconnects, collector process against the simulator with
 * deadlines scaled down (docs/venues.md §2.4 Bybit ping, §3.4 OKX 30 s idle close and notice 64008):
 * the simulator enforces them on a client that does not ping; the collector, which pings
 * (WS_PING_INTERVAL_MS shortens the venues' 20 s), stays connected through a quiet period of
 * several deadlines, and replaces both OKX sockets make-before-break on `notice` 64008. Malformed Bybit/OKX frames
 * on the same live sockets are counted skips.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { simulator, type DisposableSimulator } from "../helpers/sim.ts";
import { suite } from "../helpers/suite.ts";
import { baseEnv, spawnCollector, type CollectorProcess } from "../helpers/collector.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

/** Stands for Bybit's ping deadline and OKX's 30 s no-traffic close. */
const DEADLINE_MS = 1500;
const res = suite();
const dir = res.use(tmpDir());
let sim: DisposableSimulator;
let col: CollectorProcess | undefined;

beforeAll(() => {
  sim = res.use(simulator({ exchanges: ["bybit", "okx"], rate: 200, bybitPingTimeoutMs: DEADLINE_MS, okxIdleCloseMs: DEADLINE_MS, okxNoticeCloseMs: 10_000 }));
  sim.pause(); // quiet market: no data frames until a test resumes it
});

/** A raw client that subscribes and never pings; resolves with the close code and when it came. */
function silentClient(path: string, subscribe: unknown): Promise<{ code: number; reason: string; afterMs: number }> {
  const t0 = Date.now();
  const { promise, resolve } = Promise.withResolvers<{ code: number; reason: string; afterMs: number }>();
  const ws = new WebSocket(`${sim.url}${path}`);
  ws.onopen = () => ws.send(JSON.stringify(subscribe));
  ws.onclose = (ev) => resolve({ code: ev.code, reason: ev.reason, afterMs: Date.now() - t0 });
  return promise;
}

const okxConnects = () => col!.logs.filter((l) => l.event === "ws_connect" && l.exchange === "okx");

describe("keepalive", () => {
  test("simulator control: clients that never ping are disconnected (Bybit cut, OKX close 4004)", async () => {
    const [bybit, okx] = await Promise.all([
      silentClient("/v5/public/linear", { op: "subscribe", args: ["tickers.BTCUSDT"], req_id: "x" }),
      silentClient("/ws/v5/public", { op: "subscribe", args: [{ channel: "funding-rate", instId: "BTC-USDT-SWAP" }] }),
    ]);
    // Not before the deadline; how long after depends on the machine's load, so it is not asserted:
    // the simulator's own idle-close counters below say its deadline (not something else) closed them.
    expect(bybit.afterMs).toBeGreaterThanOrEqual(DEADLINE_MS);
    expect(okx).toMatchObject({ code: 4004, reason: "No data received in 30s." });
    expect(okx.afterMs).toBeGreaterThanOrEqual(DEADLINE_MS);
    expect(sim.stats().control).toMatchObject({ "bybit|idle_close": 1, "okx|idle_close": 1 });
  }, 20_000);

  test("the collector pings: 0 reconnects through a quiet period of 4 deadlines on Bybit and OKX", async () => {
    col = spawnCollector(
      [],
      baseEnv({
        BYBIT_WS_URL: sim.url,
        OKX_WS_URL: sim.url,
        EXCHANGES: "bybit,okx",
        SYMBOLS: "BTCUSDT",
        DATA_DIR: dir.path,
        WS_PING_INTERVAL_MS: "300",
        FLUSH_INTERVAL: "1",
        MIN_FLUSH_GAP_SECONDS: "0",
      }),
    );
    res.use(col);
    await col.waitForLog("status_api_start");
    await waitFor("all sockets open", async () => {
      const c = (await col!.get("/metrics")).connections;
      return c.bybit?.open === 1 && c.okx?.open === 2;
    });
    const before = sim.stats().control;
    const t0 = Date.now();
    const pings = (venue: string) => (sim.stats().control[`${venue}|ping`] ?? 0) - (before[`${venue}|ping`] ?? 0);
    // At least 4 deadlines of quiet, and the pings that keep the sockets up through it (a loaded
    // machine only makes the wait longer; a socket cut in the meantime fails the checks below).
    await waitFor("4 quiet deadlines with pings", () => Date.now() - t0 >= 4 * DEADLINE_MS && pings("bybit") >= 10 && pings("okx") >= 2 * 8, 30_000);
    const m = await col.get("/metrics");
    expect(m.ws_reconnect_total).toEqual({ bybit: 0, okx: 0 });
    expect(m.connections).toEqual({ bybit: { open: 1, planned: 1 }, okx: { open: 2, planned: 2 } });
    expect(m.total_events).toBe(0); // really quiet: only acks and pongs arrived
    const after = sim.stats().control;
    expect(after["bybit|idle_close"]).toBe(before["bybit|idle_close"]!);
    expect(after["okx|idle_close"]).toBe(before["okx|idle_close"]!);
    expect(col.logs.filter((l) => l.event === "ws_disconnect")).toEqual([]);
    expect(m.parse_errors_total).toBe(0);
  }, 45_000);

  test("OKX pings only when idle: none while data flows", async () => {
    sim.resume();
    await waitFor("data to flow", async () => (await col!.get("/metrics")).events_total_by_stream.bbo > 0);
    await Bun.sleep(300);
    const before = sim.stats().control["okx|ping"] ?? 0;
    await Bun.sleep(1500);
    expect((sim.stats().control["okx|ping"] ?? 0) - before).toBe(0);
  }, 20_000);

  test("malformed venue frames are counted skips with a reason, never a crash or a row", async () => {
    const m0 = await col!.get("/metrics");
    expect(sim.inject("bybit", '{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"1.2.3"},"cs":1,"ts":1}')).toBe(1);
    expect(sim.inject("okx", '{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT-SWAP"},"data":[{"asks":"?","ts":"1"}]}')).toBe(2); // public + business socket
    sim.inject("bybit", "not json");
    sim.inject("okx", "not json");
    await waitFor("skips counted", async () => (await col!.get("/metrics")).parse_errors_total === m0.parse_errors_total + 6, 5000);
    const m = await col!.get("/metrics");
    expect(m.parse_errors_by_reason).toMatchObject({ "tickers:bad_number:markPrice": 1, "bbo-tbt:bad_level:asks": 2, invalid_json: 3 });
    expect(m.connections).toEqual({ bybit: { open: 1, planned: 1 }, okx: { open: 2, planned: 2 } });
    expect(
      col!.logs
        .filter((l) => l.event === "parse_error")
        .map((l) => `${l.exchange}:${l.reason}`)
        .sort(),
    ).toEqual(["bybit:invalid_json", "bybit:tickers:bad_number:markPrice", "okx:bbo-tbt:bad_level:asks", "okx:invalid_json"]);
  }, 20_000);

  test("OKX notice 64008: logged as a notice (not an error), both sockets replaced make-before-break, data continues", async () => {
    expect(okxConnects()).toHaveLength(2);
    expect(sim.notice("okx")).toBe(2);
    await waitFor("both OKX sockets replaced", () => col!.logs.filter((l) => l.event === "ws_disconnect").length === 2, 10_000);
    expect(okxConnects()).toHaveLength(4);
    const notices = col!.logs.filter((l) => l.event === "venue_notice");
    expect(notices).toHaveLength(2);
    for (const n of notices) expect(n).toMatchObject({ level: "warn", exchange: "okx", code: "64008", reconnect: true });
    // The old sockets close only once the new ones delivered (rotate, not a reconnect: no backoff, no gap).
    expect(col!.logs.filter((l) => l.event === "ws_disconnect").map((l) => l.reason)).toEqual(["rotate", "rotate"]);
    expect(col!.logs.filter((l) => l.event === "ws_rotate" && l.phase === "start").map((l) => l.reason)).toEqual(["venue notice 64008", "venue notice 64008"]);
    expect(col!.logs.filter((l) => l.event === "subscribe_error")).toEqual([]);
    const m = await col!.get("/metrics");
    expect(m.ws_reconnect_total).toEqual({ bybit: 0, okx: 0 });
    // The collector closed the announced sockets itself, long before the server's drop.
    await waitFor("old OKX sockets closed", () => sim.stats().openConnections.okx === 2, 5000);
    const newConns = okxConnects()
      .slice(2)
      .map((l) => l.conn_id);
    const e0 = m.events_total_by_stream.trade as number;
    await waitFor("trades on the new business socket", async () => (await col!.get("/metrics")).events_total_by_stream.trade > e0 + 5, 5000);
    expect(newConns).toHaveLength(2);
    expect(await col!.stop("SIGTERM")).toBe(0);
  }, 20_000);
});
