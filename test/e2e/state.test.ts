/**
 * Scope: the state model end to end through the status API of a real collector process:
 * READY → DEGRADED on drops → READY after the window; OFFLINE when the venue goes away;
 * ERROR when the data directory cannot be written.
 */
import { describe, expect, test } from "bun:test";
import { simulator } from "../helpers/sim.ts";
import { baseEnv, spawnCollector, type CollectorProcess } from "../helpers/collector.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { unwritableDataDir } from "../helpers/unwritable.ts";
import { waitFor } from "../helpers/wait.ts";

async function stateOf(col: CollectorProcess): Promise<string> {
  return (await col.get("/status")).state;
}

describe("state transitions", () => {
  test("READY → DEGRADED on queue drops → READY after the window → OFFLINE when the venue disappears", async () => {
    using dir = tmpDir();
    await using sim = simulator({ rate: 40_000, exchanges: ["binance"] });
    sim.pause();
    await using col = spawnCollector(
      [],
      baseEnv({ BINANCE_WS_URL: sim.url, DATA_DIR: dir.path, EXCHANGES: "binance", SYMBOLS: "BTCUSDT,ETHUSDT", QUEUE_SIZE: "5", STATE_WINDOW_SECONDS: "3" }),
    );
    await col.waitForLog("status_api_start");
    await waitFor("READY", async () => (await stateOf(col)) === "READY", 10_000);

    sim.resume();
    await waitFor("drops", async () => (await col.get("/metrics")).dropped_events_total > 0, 10_000);
    sim.pause();
    const degraded = await col.get("/status");
    expect(degraded.state).toBe("DEGRADED");
    expect(degraded.metrics.drops_15m).toBeGreaterThan(0);
    expect(degraded.reasons.join(" ")).toContain("drops");
    // Frames already on the wire still arrive after the pause: wait until every row sent was received
    // (written or dropped), so the lifetime drop count compared below no longer moves.
    const sent = Object.values(sim.stats().rows).reduce((a, b) => a + b, 0);
    await waitFor("every sent row received", async () => (await col.get("/metrics")).total_events === sent, 10_000);
    const m = await col.get("/metrics");
    expect(m.effective_data_loss_rate_pct).toBeGreaterThan(0);
    expect(m.dropped_events_total).toBeLessThanOrEqual(m.total_events);

    await waitFor("READY after the drop window", async () => (await stateOf(col)) === "READY", 10_000);
    expect((await col.get("/status")).metrics.drops_15m).toBe(0);
    expect((await col.get("/metrics")).dropped_events_total).toBe(m.dropped_events_total); // lifetime counter keeps them

    await sim.stop();
    await waitFor("OFFLINE", async () => (await stateOf(col)) === "OFFLINE", 10_000);
    await waitFor("reconnect attempts counted", async () => ((await col.get("/metrics")).ws_reconnect_total.binance ?? 0) > 0, 10_000);
    const changes = col.logs.filter((l) => l.event === "state_change").map((l) => l.to);
    expect(changes).toEqual(expect.arrayContaining(["READY", "DEGRADED", "OFFLINE"]));
    const dropLog = col.logs.find((l) => l.event === "queue_drop");
    expect(dropLog).toBeDefined();

    // Rows accepted before the drops are still written on shutdown: written = received - dropped.
    expect(await col.stop("SIGTERM")).toBe(0);
    const stop = await col.waitForLog("collector_stop");
    expect((stop.writer as { total_written: number }).total_written).toBe((stop.total_events as number) - (stop.dropped_events_total as number));
  }, 60_000);

  test("ERROR when the data directory cannot be written, with an operator hint", async () => {
    using dir = tmpDir();
    await using run = unwritableDataDir(dir.path, { SHUTDOWN_TIMEOUT_SECONDS: "1" });
    const { col } = run;
    const err = await col.waitForLog("write_error");
    expect(String(err.action)).toContain("writable");
    await waitFor("ERROR", async () => (await stateOf(col)) === "ERROR", 10_000);
    const s = await col.get("/status");
    expect(s.reasons).toContain("writer failing");
    await waitFor("failed write attempts counted", async () => (await col.get("/metrics")).writer.upload_failures > 0, 10_000);
    expect(await col.get("/health")).toMatchObject({ status: "ok", last_write_ts: null });
    // SIGTERM cannot write what the storage refuses: exit 1, and every event is written or counted as dropped.
    expect(await col.stop("SIGTERM")).toBe(1);
    const stop = await col.waitForLog("collector_stop");
    expect(stop.unwritten_rows as number).toBeGreaterThan(0);
    expect((stop.writer as { total_written: number }).total_written).toBe(0);
    expect(stop.dropped_events_total).toBe(stop.total_events);
    expect(stop.dropped_events_total).toBe(stop.unwritten_rows);
    expect(col.logs.find((l) => l.event === "shutdown_timeout")).toMatchObject({ unwritten_rows: stop.unwritten_rows });
  }, 30_000);
});
