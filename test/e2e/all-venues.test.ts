/**
 * Scope: the default run — no EXCHANGES and no SYMBOLS set, so all three venues and the 10 default
 * symbols — against the simulator. /streams lists exactly the streams per venue (Binance has no
 * open_interest), /metrics.events_per_sec has all five stream types, and after SIGTERM the files
 * hold exactly the rows the simulator sent for every (exchange, stream, symbol).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { DEFAULT_SYMBOLS } from "../../src/config.ts";
import { SPORADIC_STREAMS, STREAMS as ALL_STREAMS } from "../../src/schema/rows.ts";
import { DEFAULT_STREAMS as STREAMS } from "../../src/config.ts";
import { simulator, type DisposableSimulator } from "../helpers/sim.ts";
import { suite } from "../helpers/suite.ts";
import { baseEnv, spawnCollector, simVenues } from "../helpers/collector.ts";
import { query, sqlString, streamsRead } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const res = suite();
const dir = res.use(tmpDir());
/** Streams with a cadence; liquidations come at a low, random rate. */
const CADENCED = STREAMS.filter((s) => !SPORADIC_STREAMS.has(s));
let sim: DisposableSimulator;
beforeAll(() => {
  sim = res.use(simulator({ rate: 1500 }));
});

describe("all venues at once, default symbols", () => {
  test("streams, events_per_sec, and every sent row written", async () => {
    await using col = spawnCollector([], baseEnv({ ...simVenues(sim.url), DATA_DIR: dir.path, FLUSH_INTERVAL: "1", MIN_FLUSH_GAP_SECONDS: "0" }));
    await col.waitForLog("status_api_start");
    expect(await col.get("/streams")).toEqual({
      symbols: DEFAULT_SYMBOLS,
      streams: { binance: ["bbo", "trade", "mark_price", "funding", "liquidation"], bybit: [...STREAMS], okx: [...STREAMS] },
    });
    const eps = await waitFor(
      "events_per_sec > 0 for all five cadenced streams",
      async () => {
        const e = (await col.get("/metrics")).events_per_sec as Record<string, number>;
        return CADENCED.every((s) => (e[s] ?? 0) > 0) ? e : null;
      },
      15_000,
    );
    expect(Object.keys(eps).sort()).toEqual([...ALL_STREAMS].sort());

    // 10 symbols × (4 Binance + 5 Bybit + 5 OKX streams) have all been sent at least once.
    await waitFor(
      "every (exchange, stream, symbol) sent",
      () => Object.keys(sim.stats().rows).filter((k) => !k.includes("|liquidation|")).length === 10 * 14,
      15_000,
    );
    sim.pause();
    // OKX's liquidation feed carries every swap the simulator lists: only the configured ones are recorded.
    const want = Object.fromEntries(Object.entries(sim.stats().rows).filter(([k]) => DEFAULT_SYMBOLS.includes(k.split("|")[2]!)));
    expect(Object.keys(want).filter((k) => k.includes("|liquidation|")).length).toBeGreaterThan(0);
    const total = Object.values(want).reduce((a, b) => a + b, 0);
    await waitFor("collector to receive every row", async () => (await col.get("/metrics")).total_events === total, 10_000);
    const m = await col.get("/metrics");
    expect(m).toMatchObject({
      parse_errors_total: 0,
      subscribe_errors_total: 0,
      dropped_events_total: 0,
      ws_reconnect_total: { binance: 0, bybit: 0, okx: 0 },
    });
    expect(m.connections).toEqual({ binance: { open: 2, planned: 2 }, bybit: { open: 1, planned: 1 }, okx: { open: 2, planned: 2 } });
    expect(await col.stop("SIGTERM")).toBe(0);

    // Every (exchange, stream, symbol) has exactly the rows sent.
    const got = await query(
      `select exchange, stream, symbol, count(*) n from ${streamsRead(dir.path)} where stream in (${STREAMS.map(sqlString).join(", ")}) group by all`,
    );
    expect(Object.fromEntries(got.map((r) => [`${r.exchange}|${r.stream}|${r.symbol}`, r.n]))).toEqual(want);
  }, 40_000);
});
