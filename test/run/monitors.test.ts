/**
 * Scope: src/run/monitors.ts on a manual clock — the 1 s tick reports a silent subscription and a
 * stream silence once each (counted), samples rates and re-derives the state every tick; the
 * heartbeat logs at its own interval; stopping cancels every timer.
 */
import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/log.ts";
import { every, startMonitors, TICK_MS } from "../../src/run/monitors.ts";
import { FirstDataTracker } from "../../src/state/first-data.ts";
import { Metrics } from "../../src/state/metrics.ts";
import { SilenceTracker } from "../../src/state/silence.ts";
import { buildSnapshot } from "../../src/state/snapshot.ts";
import { ManualClock } from "../helpers/clock.ts";

describe("run/monitors", () => {
  test("every(): fires at each interval, in order, until stopped", () => {
    const clock = new ManualClock(0);
    const at: number[] = [];
    const stop = every(clock, 250, () => at.push(clock.nowMs()));
    clock.advance(1000);
    expect(at).toEqual([250, 500, 750, 1000]);
    stop();
    clock.advance(1000);
    expect(at.length).toBe(4);
    expect(clock.pending).toBe(0);
  });

  test("tick: silent subscription and silence reported once each; heartbeat at its interval; stop cancels", () => {
    const clock = new ManualClock(1_000_000);
    const t0 = clock.nowMs();
    const metrics = new Metrics(["okx"], 900_000, t0);
    const logs: Array<Record<string, unknown>> = [];
    const log = createLogger("debug", (l) => logs.push(JSON.parse(l)));
    const firstData = new FirstDataTracker();
    firstData.open("okx", "okx-public-x-1", [{ stream: "bbo", symbol: "FOOUSDT", deadlineMs: 5000 }], t0);
    const silence = new SilenceTracker();
    silence.watch("okx", "funding", "BTCUSDT", 3000, t0);
    silence.onEvent("okx", "funding", "BTCUSDT", t0);
    let evaluations = 0;
    const snapshot = () =>
      buildSnapshot({
        metrics,
        queueSize: 0,
        queueCapacity: 10,
        state: "READY",
        stateSinceMs: t0,
        stateReasons: [],
        symbols: ["BTCUSDT"],
        streams: {},
        connections: {},
        nowMs: clock.nowMs(),
        rssBytes: 0,
        lag: { p50: 0, p99: 0, max: 0, samples: 0 },
        silentSubscriptions: firstData.silent(),
      });
    const stop = startMonitors({
      clock,
      log,
      metrics,
      firstData,
      silence,
      restWeightUsed: () => 40,
      evaluateState: () => evaluations++,
      snapshot,
      heartbeatMs: 10_000,
    });
    const events = (name: string) => logs.filter((l) => l.event === name);

    clock.advance(4 * TICK_MS);
    expect(evaluations).toBe(4);
    expect(metrics.bookRest.weightUsed1m).toBe(40);
    expect(events("silence_start")).toEqual([expect.objectContaining({ exchange: "okx", stream: "funding", symbol: "BTCUSDT", silent_ms: 4000 })]);
    expect(events("subscription_silent")).toEqual([]);
    clock.advance(6 * TICK_MS);
    expect(events("subscription_silent")).toEqual([
      expect.objectContaining({ exchange: "okx", conn_id: "okx-public-x-1", stream: "bbo", symbol: "FOOUSDT", waited_ms: 5000 }),
    ]);
    expect(metrics.silentSubscriptionsTotal).toBe(1);
    expect(metrics.silenceTotal).toBe(1);
    expect(events("heartbeat")).toEqual([expect.objectContaining({ state: "READY", total_events: 0 })]);
    clock.advance(10_000);
    expect(events("silence_start").length).toBe(1);
    expect(events("subscription_silent").length).toBe(1);
    expect(events("heartbeat").length).toBe(2);
    stop();
    expect(clock.pending).toBe(0);
  });
});
