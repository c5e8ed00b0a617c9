/**
 * Scope: src/run/health.ts — the state machine over the parts' stats, driven by a manual clock:
 * OFFLINE until settled, transitions logged once each with reasons, `since` from the clock, the
 * local-storage ERROR that clears on the first file written after the last failed write, fatal
 * errors, and a frozen state during shutdown.
 */
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log.ts";
import { Health } from "../../src/run/health.ts";
import type { WriteHealth } from "../../src/run/writes.ts";
import { Metrics } from "../../src/state/metrics.ts";
import { ManualClock } from "../helpers/clock.ts";

function setup(localStorage = true) {
  const clock = new ManualClock(1_000_000);
  const metrics = new Metrics(["binance"], 60_000, clock.nowMs());
  const conns = { open: 0, planned: 2 };
  const writes: WriteHealth = { writerFailing: false, uploadsFailing: false, spoolFull: false, writeErrorsTotal: 0, lastWriteTsMs: null };
  let queuePct = 0;
  const logs: Array<Record<string, unknown>> = [];
  const health = new Health(
    { metrics, writes: () => ({ ...writes }), connections: () => ({ ...conns }), queueUtilizationPct: () => queuePct, localStorage },
    createLogger("debug", (l) => logs.push(JSON.parse(l))),
    clock,
  );
  const changes = () => logs.filter((l) => l.event === "state_change").map((l) => `${l.from}→${l.to}`);
  return { clock, metrics, writes, conns, setQueue: (p: number) => (queuePct = p), logs, health, changes };
}

describe("run/health", () => {
  test("OFFLINE is logged only once settled; then each transition once, with the clock's time as `since`", () => {
    const { clock, metrics, conns, health, changes, setQueue } = setup();
    health.evaluate();
    expect(changes()).toEqual([]); // nothing settled yet: no socket open, none failed
    metrics.recordReconnect("binance", clock.nowMs());
    metrics.recordReconnect("binance", clock.nowMs());
    health.evaluate();
    expect(changes()).toEqual(["STARTING→OFFLINE"]);
    clock.advance(5000);
    conns.open = 1;
    health.evaluate();
    conns.open = 2;
    clock.advance(1000);
    health.evaluate();
    health.evaluate();
    expect(changes()).toEqual(["STARTING→OFFLINE", "OFFLINE→DEGRADED", "DEGRADED→READY"]);
    expect(health.view()).toEqual({ state: "READY", sinceMs: 1_006_000, reasons: [] });
    setQueue(95);
    expect(health.view().reasons).toEqual(["queue 95.0% full"]);
    expect(changes().at(-1)).toBe("READY→DEGRADED");
  });

  test("drops keep the state DEGRADED for the window, then it recovers as time passes", () => {
    const { clock, metrics, conns, health } = setup();
    conns.open = 2;
    metrics.recordDrop(clock.nowMs(), 3);
    expect(health.view()).toMatchObject({ state: "DEGRADED", reasons: ["3 drops in window"] });
    clock.advance(61_000);
    expect(health.view()).toMatchObject({ state: "READY", sinceMs: clock.nowMs() });
  });

  test("local storage: ERROR while the writer fails, cleared by the first file written after the last failed write", () => {
    const { clock, writes, conns, health } = setup(true);
    conns.open = 2;
    writes.writerFailing = true;
    writes.writeErrorsTotal = 1;
    expect(health.view().state).toBe("ERROR");
    clock.advance(100);
    writes.lastWriteTsMs = clock.nowMs(); // a newer file was written; the failed ones still wait for their retry
    expect(health.view().state).toBe("READY");
    clock.advance(100);
    writes.writeErrorsTotal = 2; // failed again, later than that write
    expect(health.view().state).toBe("ERROR");
  });

  test("S3: the spool's last upload does not clear a failing writer; uploads failing = DEGRADED, spool full = ERROR", () => {
    const { clock, writes, conns, health } = setup(false);
    conns.open = 2;
    writes.writerFailing = true;
    writes.writeErrorsTotal = 1;
    health.evaluate();
    clock.advance(100);
    writes.lastWriteTsMs = clock.nowMs();
    expect(health.view().state).toBe("ERROR");
    writes.writerFailing = false;
    writes.uploadsFailing = true;
    expect(health.view()).toMatchObject({ state: "DEGRADED", reasons: ["S3 uploads failing, retrying from the spool"] });
    writes.spoolFull = true;
    expect(health.view().state).toBe("ERROR");
  });

  test("a fatal error is logged and is ERROR; a frozen state no longer changes (shutdown)", () => {
    const { conns, health, logs, changes } = setup();
    conns.open = 2;
    health.evaluate();
    health.fatal("boom");
    expect(logs.find((l) => l.event === "fatal_error")).toMatchObject({ level: "error", error: "boom" });
    expect(health.view()).toMatchObject({ state: "ERROR", reasons: ["fatal: boom"] });
    const before = changes().length;
    health.freeze();
    conns.open = 0;
    health.evaluate();
    expect(changes().length).toBe(before);
  });
});
