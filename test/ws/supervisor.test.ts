/**
 * Scope: the supervisor's bounded make-before-break wait, in process against the simulator.
 * A Binance plan with one symbol the venue never delivers (FAKEUSDT: acknowledged, silent,
 * docs/venues.md §1.2) can never be "live on every subscription": the replacement's wait is
 * bounded, and the old socket is closed only after the new one is open. Scaled: max age 800 ms,
 * deadline 600 ms (production: 23 h and 30 s). Both run on a ManualClock: the rotation starts and
 * ends when the test moves time, so the overlap is exact however slow the machine is.
 */
import { describe, expect, test } from "bun:test";
import { binance } from "../../src/exchanges/binance.ts";
import { createLogger } from "../../src/log.ts";
import type { Connection } from "../../src/ws/connection.ts";
import { Supervisor } from "../../src/ws/supervisor.ts";
import { ManualClock } from "../helpers/clock.ts";
import { simulator } from "../helpers/sim.ts";
import { waitFor } from "../helpers/wait.ts";

describe("supervisor", () => {
  test("a replacement that never delivers on every subscription: old closed at the deadline, once the new one is open", async () => {
    await using sim = simulator({ exchanges: ["binance"], symbols: ["BTCUSDT"], rate: 100 });
    const clock = new ManualClock();
    const logs: Array<Record<string, unknown>> = [];
    const events: string[] = [];
    const noop = () => {};
    const plans = binance.connections(sim.url, ["BTCUSDT", "FAKEUSDT"], ["bbo"]);
    const sup = new Supervisor(
      binance,
      plans,
      {
        onRow: noop,
        onReconnectScheduled: noop,
        onSkip: noop,
        onSubscribeError: noop,
        onOpen: (c: Connection) => events.push(`open ${c.connId}`),
        onClose: (c: Connection, code: number, reason: string) => events.push(`close ${c.connId} ${code} ${reason}`),
        onRotate: (c: Connection, reason: string) => events.push(`rotate ${c.connId} ${reason}`),
      },
      createLogger("debug", (l) => logs.push(JSON.parse(l))),
      { instanceId: "t", backoff: { baseMs: 100, maxMs: 200 }, stableAfterMs: 60_000, controlGapMs: 10, keepalive: binance.keepalive, maxAgeMs: 800, clock },
      600,
    );
    using _stop = { [Symbol.dispose]: () => sup.stop() };
    sup.start();
    const opens = () => events.filter((e) => e.startsWith("open")).length;
    await waitFor("first socket open", () => opens() === 1, 5000);
    clock.advance(0); // the subscribe requests (paced on the clock)
    clock.advance(799);
    expect(events.some((e) => e.startsWith("rotate"))).toBe(false);
    clock.advance(1); // max age: the replacement opens while the old one keeps reading
    await waitFor("replacement open", () => opens() === 2, 5000);
    clock.advance(0);
    clock.advance(599);
    expect(logs.some((l) => l.event === "ws_rotate" && l.phase === "done")).toBe(false); // FAKEUSDT never delivers
    clock.advance(1);
    const done = logs.find((l) => l.event === "ws_rotate" && l.phase === "done");
    expect(String(done?.why)).toStartWith("deadline 600 ms");
    expect(done?.overlap_ms).toBe(600);
    const [first, second] = events.filter((e) => e.startsWith("open")).map((e) => e.slice(5));
    // The old socket's close event follows the "done" log asynchronously.
    await waitFor("old socket closed", () => events.some((e) => e.startsWith(`close ${first}`)), 5000);
    expect(events.slice(0, 4)).toEqual([`open ${first}`, `rotate ${first} max age 800 ms`, `open ${second}`, `close ${first} 1000 rotate`]);
    expect(sup.openSlots()).toBe(1);
    expect(sup.connections().map((c) => c.connId)).toEqual([second!]);
  }, 10_000);
});
