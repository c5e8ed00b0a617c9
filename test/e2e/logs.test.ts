/**
 * Scope: what an operator reads in the log of a real collector process.
 * - Offline start (every venue refuses): OFFLINE is logged as soon as every planned socket failed
 *   once (not at the first heartbeat), each failed connect names its cause, and streams that never
 *   connected raise no silence.
 * - Clean stop: after `shutdown_signal` no state change, no silence, and the sockets the collector
 *   closes itself are logged at info, not as warnings.
 * - ERROR (storage failing) clears with the first file written once storage works again, not when
 *   the writer's backed-off retries of the failed files come round.
 */
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { simulator } from "../helpers/sim.ts";
import { baseEnv, spawnCollector, simVenues } from "../helpers/collector.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { unwritableDataDir } from "../helpers/unwritable.ts";
import { waitFor } from "../helpers/wait.ts";

describe("operator-facing logs", () => {
  test("offline start: OFFLINE logged when it happens, causes named, no silence for never-connected streams", async () => {
    using dir = tmpDir();
    const refused = "ws://127.0.0.1:1";
    await using col = spawnCollector(
      [],
      baseEnv({
        ...simVenues(refused),
        DATA_DIR: dir.path,
        SYMBOLS: "BTCUSDT",
        HEARTBEAT_INTERVAL: "3600",
        SUBSCRIPTION_DEADLINE_SECONDS: "1",
      }),
    );
    const offline = await col.waitForLog("state_change", (l) => l.to === "OFFLINE", 15_000);
    expect(offline).toMatchObject({ level: "warn", from: "STARTING", to: "OFFLINE" });
    expect(col.logs.some((l) => l.event === "heartbeat")).toBe(false); // logged before any heartbeat
    const disc = col.logs.filter((l) => l.event === "ws_disconnect");
    expect(disc.length).toBeGreaterThan(0);
    for (const d of disc) expect(String(d.reason)).toStartWith("connect failed: refused");
    // Past Binance's mark_price/funding silence threshold (10 s) with nothing ever connected: no silence_start.
    await waitFor("the collector's uptime past the 10 s silence threshold", async () => (await col.get("/health")).uptime > 12, 40_000, 500);
    expect(col.logs.filter((l) => l.event === "silence_start")).toEqual([]);
    expect((await col.get("/metrics")).silence_intervals_total).toBe(0);
    expect((await col.get("/status")).state).toBe("OFFLINE");
    expect(await col.stop("SIGTERM")).toBe(0);
  }, 60_000);

  test("clean stop: no state change, no silence, own disconnects at info", async () => {
    using dir = tmpDir();
    await using sim = simulator({ rate: 200 });
    await using col = spawnCollector([], baseEnv({ ...simVenues(sim.url), DATA_DIR: dir.path, SYMBOLS: "BTCUSDT,ETHUSDT" }));
    await col.waitForLog("state_change", (l) => l.to === "READY", 20_000);
    await waitFor(
      "every exchange delivering",
      async () => {
        const m = await col.get("/metrics");
        return Object.values(m.events_total_by_exchange as Record<string, Record<string, number>>).every((by) => (by.bbo ?? 0) > 0);
      },
      20_000,
    );
    expect(await col.stop("SIGTERM")).toBe(0);
    const i = col.logs.findIndex((l) => l.event === "shutdown_signal");
    expect(i).toBeGreaterThan(0);
    const after = col.logs.slice(i);
    expect(after.filter((l) => l.event === "state_change" || l.event === "silence_start")).toEqual([]);
    const disc = after.filter((l) => l.event === "ws_disconnect");
    expect(disc.length).toBeGreaterThanOrEqual(3);
    for (const d of disc) expect({ level: d.level, reason: d.reason }).toEqual({ level: "info", reason: "shutdown" });
    expect(after.filter((l) => l.level === "warn" || l.level === "error")).toEqual([]);
  }, 60_000);

  test("ERROR clears as soon as a write succeeds, before the failed files' backed-off retries", async () => {
    using dir = tmpDir();
    await using run = unwritableDataDir(dir.path);
    const { blocker, col } = run;
    await col.waitForLog("state_change", (l) => l.to === "ERROR", 20_000);
    // A failed file whose next retry is far off (backoff with full jitter, growing per attempt).
    const slow = await col.waitForLog("write_error", (l) => (l.retry_in_ms as number) >= 6000, 60_000);
    rmSync(blocker); // storage works again: the next flush can create the data directory
    const cleared = await col.waitForLog("state_change", (l) => l.from === "ERROR", 20_000);
    expect(Date.parse(cleared.ts)).toBeLessThan(Date.parse(slow.ts) + (slow.retry_in_ms as number));
    const recoveredBefore = col.logs.slice(0, col.logs.indexOf(cleared)).filter((l) => l.event === "write_recovered" && l.key === slow.key);
    expect(recoveredBefore).toEqual([]); // that file was still waiting for its retry
    expect((await col.get("/status")).state).not.toBe("ERROR");
    await col.waitForLog("write_recovered", (l) => l.key === slow.key, 40_000); // and it is written in the end
    expect(await col.stop("SIGTERM")).toBe(0);
  }, 120_000);
});
