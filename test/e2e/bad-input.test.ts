/**
 * Scope: hostile frames from a venue — malformed JSON, unknown events, missing fields, wrong types,
 * a 1 MB garbage frame. Each is counted in parse_errors_total and logged once per kind; the
 * collector keeps running and writes no row with invented values.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { simulator, type DisposableSimulator } from "../helpers/sim.ts";
import { suite } from "../helpers/suite.ts";
import { baseEnv, spawnCollector, type CollectorProcess } from "../helpers/collector.ts";
import { query, streamGlob } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const res = suite();
const dir = res.use(tmpDir());
let sim: DisposableSimulator;
let col: CollectorProcess;

const bt = (d: Record<string, unknown>) =>
  JSON.stringify({
    stream: "btcusdt@bookTicker",
    data: { e: "bookTicker", u: 1, E: 1786540291675, T: 1786540291674, s: "BTCUSDT", b: "1.0", B: "2", a: "1.1", A: "3", ...d },
  });

const BAD: Array<[string, string]> = [
  ["invalid_json", "{not json"],
  ["invalid_json", "x".repeat(1 << 20)], // 1 MB of garbage
  ["not_an_object", "[1,2,3]"],
  ["not_an_object", "null"],
  ["unknown_event", JSON.stringify({ stream: "btcusdt@kline_1m", data: { e: "kline", s: "BTCUSDT", E: 1 } })],
  ["unknown_message", JSON.stringify({ hello: "world" })],
  ["bookTicker:missing:b", bt({ b: undefined })],
  ["bookTicker:bad_number:a", bt({ a: "1.1.1" })],
  ["bookTicker:bad_number:B", bt({ B: true })],
  ["bookTicker:bad_integer:E", bt({ E: "soon" })],
  ["bookTicker:missing:s", bt({ s: undefined })],
  ["trade:bad_bool:m", JSON.stringify({ stream: "btcusdt@trade", data: { e: "trade", E: 1, T: 1, s: "BTCUSDT", t: 5, p: "1", q: "1", m: "yes" } })],
  ["trade:missing:p", JSON.stringify({ stream: "btcusdt@trade", data: { e: "trade", E: 1, T: 1, s: "BTCUSDT", t: 5, q: "1", m: true } })],
  ["bad_envelope", JSON.stringify({ stream: "btcusdt@trade", data: "oops" })],
  ["bookTicker:bad_number:b", bt({ b: "1e400" })],
  ["bookTicker:bad_number:a", bt({ a: "NaN" })],
  // Symbols are validated against what was subscribed: never a partition, never a path.
  ["unknown_symbol", bt({ s: "../../../../tmp/x" })],
  ["unknown_symbol", bt({ s: "BTC/USDT" })],
  ["unknown_symbol", bt({ s: "B".repeat(300) })],
  ["unknown_symbol", bt({ s: "BTC\u0000USDT" })],
  ["unknown_symbol", bt({ s: "BTCUSDT\u200b" })],
  ["unknown_symbol", bt({ s: "ETHUSDT" })], // a real symbol, not subscribed
];

beforeAll(async () => {
  sim = res.use(simulator({ rate: 300, exchanges: ["binance"] }));
  col = spawnCollector(
    [],
    baseEnv({ BINANCE_WS_URL: sim.url, DATA_DIR: dir.path, EXCHANGES: "binance", SYMBOLS: "BTCUSDT", FLUSH_INTERVAL: "1", MIN_FLUSH_GAP_SECONDS: "0" }),
  );
  res.use(col);
  await col.waitForLog("status_api_start");
  await waitFor("both connections", async () => (await col.get("/metrics")).connections.binance?.open === 2);
  await waitFor("some data", async () => (await col.get("/metrics")).total_events > 50);
});

/** With the simulator paused: every row it sent has been received (no fixed wait for frames in flight). */
async function caughtUp(): Promise<void> {
  const sent = () => Object.values(sim.stats().rows).reduce((a, b) => a + b, 0);
  await waitFor("collector caught up", async () => (await col.get("/metrics")).total_events === sent(), 10_000);
}

describe("bad input", () => {
  test("every bad frame is counted by reason, logged once per kind, and the collector keeps recording", async () => {
    sim.pause();
    await caughtUp();
    const before = await col.get("/metrics");
    let sentTo = 0;
    for (const [, frame] of BAD) sentTo = sim.inject("binance", frame);
    for (const [, frame] of BAD) sim.inject("binance", frame); // twice: still one log line per kind
    expect(sentTo).toBe(2);
    const expectedErrors = BAD.length * 2 * sentTo;
    await waitFor("all bad frames counted", async () => (await col.get("/metrics")).parse_errors_total === expectedErrors, 10_000);
    const m = await col.get("/metrics");
    const want: Record<string, number> = {};
    for (const [reason] of BAD) want[reason] = (want[reason] ?? 0) + 2 * sentTo;
    expect(m.parse_errors_by_reason).toEqual(want);
    expect(m.total_events).toBe(before.total_events); // no row came out of a bad frame

    const logged = col.logs.filter((l) => l.event === "parse_error").map((l) => l.reason as string);
    expect(new Set(logged).size).toBe(logged.length / 1); // each (exchange, reason) once…
    expect(logged.length).toBe(new Set(BAD.map(([r]) => r)).size); // …and every kind appears
    for (const l of col.logs.filter((x) => x.event === "parse_error")) expect(String(l.sample ?? "").length).toBeLessThanOrEqual(200);

    sim.resume();
    await waitFor("recording continues", async () => (await col.get("/metrics")).total_events > before.total_events + 50, 10_000);
    expect((await col.get("/status")).state).toBe("READY");
    expect(m.parse_errors_by_reason.unknown_symbol).toBe(6 * 2 * sentTo);
  });

  test("files hold exactly the valid events — nothing invented from bad frames", async () => {
    sim.pause();
    await caughtUp();
    const expected = sim.stats().rows;
    expect(await col.stop("SIGTERM")).toBe(0);
    const bbo = await query(`select count(*) n, count(*) filter (where bid_px = 1.0 and ask_px = 1.1) injected from ${streamGlob(dir.path, "binance", "bbo")}`);
    expect(bbo[0]).toEqual({ n: expected["binance|bbo|BTCUSDT"], injected: 0 });
    const trades = await query(`select count(*) n from ${streamGlob(dir.path, "binance", "trade")}`);
    expect(trades[0]!.n).toBe(expected["binance|trade|BTCUSDT"]);
    // Every file is where the collector's own names put it: nothing outside DATA_DIR/v1/binance/<stream>/BTCUSDT.
    const all = [...new Bun.Glob("**/*").scanSync({ cwd: dir.path, dot: true, onlyFiles: true })];
    expect(all.length).toBeGreaterThan(0);
    for (const f of all)
      expect(f).toMatch(
        /^v1\/binance\/(bbo|trade|mark_price|funding|liquidation|connection)\/(BTCUSDT|ALL)\/date=\d{4}-\d{2}-\d{2}\/\d+-[0-9a-f]+-\d+\.parquet$/,
      );
  });
});
