/**
 * Scope: process lifecycle against the simulator — reconnect with backoff after the venue drops
 * every socket, and a graceful shutdown that a second signal cannot abort: exit 0 and every
 * received row in the files.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { simulator, type DisposableSimulator } from "../helpers/sim.ts";
import { suite } from "../helpers/suite.ts";
import { baseEnv, spawnCollector } from "../helpers/collector.ts";
import { query, sqlString } from "../helpers/duck.ts";
import { parquetGlob } from "../helpers/layout.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const res = suite();
const dir = res.use(tmpDir());
let sim: DisposableSimulator;
beforeAll(() => {
  sim = res.use(simulator({ rate: 2000, exchanges: ["binance"] }));
});
describe("lifecycle", () => {
  test("reconnects after the venue drops every socket; SIGTERM then SIGINT still flushes everything and exits 0", async () => {
    // FLUSH_INTERVAL 60 s: nothing is written before the signal, so the shutdown flush does all the work.
    await using col = spawnCollector([], baseEnv({ BINANCE_WS_URL: sim.url, DATA_DIR: dir.path, EXCHANGES: "binance", SYMBOLS: "BTCUSDT,ETHUSDT" }));
    await col.waitForLog("status_api_start");
    await waitFor("connected", async () => (await col.get("/metrics")).connections.binance?.open === 2);
    await waitFor("data", async () => (await col.get("/metrics")).total_events > 200);

    expect(await sim.killConnections("binance")).toBe(2);
    await waitFor(
      "reconnected",
      async () => {
        const m = await col.get("/metrics");
        return (m.ws_reconnect_total.binance ?? 0) >= 2 && m.connections.binance?.open === 2;
      },
      15_000,
    );
    const disconnects = col.logs.filter((l) => l.event === "ws_disconnect");
    expect(disconnects.length).toBeGreaterThanOrEqual(2);
    expect(disconnects[0]!.code).toBe(1006);
    const connIds = new Set(col.logs.filter((l) => l.event === "ws_connect").map((l) => l.conn_id));
    expect(connIds.size).toBe(4); // a new conn_id per connection

    const before = (await col.get("/metrics")).total_events;
    await waitFor("data after reconnect", async () => (await col.get("/metrics")).total_events > before + 200);
    expect((await col.get("/metrics")).writer.files_written).toBe(0);

    col.proc.kill("SIGTERM");
    await Bun.sleep(30);
    col.proc.kill("SIGINT"); // must not abort the flush
    expect(await col.proc.exited).toBe(0);
    const stop = await col.waitForLog("collector_stop");
    expect(col.logs.filter((l) => l.event === "shutdown_signal").map((l) => l.signal)).toEqual(["SIGTERM", "SIGINT"]);
    const rows = await query(
      `select count(*) n, count(distinct conn_id) conns from read_parquet(${sqlString(parquetGlob(dir.path, { stream: "[!c]*" }))}, union_by_name = true)`,
    );
    expect(rows[0]!.n).toBe(stop.total_events as number);
    expect(rows[0]!.conns).toBe(4); // rows from before and after the reconnect, told apart by conn_id

    // The connection stream explains the gap from the data itself.
    const all = await query(
      `select conn_id, event, reason, close_code, ts_us, url, streams from read_parquet(${sqlString(parquetGlob(dir.path, { exchange: "binance", stream: "connection", symbol: "ALL" }))}) order by ts_us`,
    );
    // Each connection also records `subscribed` once every subscription delivered (first-data test).
    expect(
      all
        .filter((e) => e.event === "subscribed")
        .map((e) => e.conn_id)
        .sort(),
    ).toEqual([...new Set(all.map((e) => e.conn_id))].sort());
    const events = all.filter((e) => e.event !== "subscribed");
    expect(events.map((e) => e.event)).toEqual(["connect", "connect", "disconnect", "disconnect", "connect", "connect", "disconnect", "disconnect"]);
    const killed = events.slice(2, 4);
    expect(killed.map((e) => e.close_code)).toEqual([1006, 1006]);
    const shutdown = events.slice(6);
    expect(shutdown.every((e) => e.reason === "shutdown" && e.close_code === 1000)).toBe(true);
    expect(new Set(events.map((e) => e.conn_id)).size).toBe(4);
    expect(String(events[0]!.url)).toStartWith(sim.url);
    expect(String(events.find((e) => String(e.url).includes("/market/"))!.streams)).toBe(
      "mark_price:BTCUSDT,funding:BTCUSDT,liquidation:BTCUSDT,mark_price:ETHUSDT,funding:ETHUSDT,liquidation:ETHUSDT",
    );
  }, 45_000);
});
