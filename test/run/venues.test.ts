/**
 * Scope: src/run/venues.ts against the simulator — plans and streams per venue from the
 * configuration, connection counts it owns (planned from the start, open pulled from the
 * supervisors), the lookup by conn_id, and nothing opened after stop() (a signal during start-up).
 * The sockets' timers run on a ManualClock that never moves: no watchdog, keepalive, backoff or
 * rotation fires, only the sockets' own open and close events drive the tests.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { configuredAdapters } from "../../src/exchanges/index.ts";
import { createLogger } from "../../src/log.ts";
import { Venues } from "../../src/run/venues.ts";
import { startSimulator } from "../../src/sim/server.ts";
import type { Connection } from "../../src/ws/connection.ts";
import type { SupervisorHooks } from "../../src/ws/supervisor.ts";
import { ManualClock } from "../helpers/clock.ts";
import { waitFor } from "../helpers/wait.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const adapters = configuredAdapters({ binanceTradeStream: "trade", bookDepth: 200 });
const noop = () => {};

function hooks(opened: Connection[]): SupervisorHooks {
  return { onRow: noop, onReconnectScheduled: noop, onSkip: noop, onSubscribeError: noop, onRotate: noop, onClose: noop, onOpen: (c) => opened.push(c) };
}

describe("run/venues", () => {
  test("counts: planned from the configuration, open pulled from the supervisors; lookup by conn_id", async () => {
    const sim = startSimulator({ exchanges: ["binance", "okx"], symbols: ["BTCUSDT"], rate: 20 });
    cleanups.push(() => sim.stop());
    const config = loadConfig({ EXCHANGES: "binance,okx", SYMBOLS: "BTCUSDT", STREAMS: "bbo,trade,funding", BINANCE_WS_URL: sim.url, OKX_WS_URL: sim.url });
    const clock = new ManualClock(1_000_000);
    const venues = new Venues(config, adapters, "t", clock);
    cleanups.push(() => venues.stop());
    expect(venues.streamsByExchange()).toEqual({ binance: ["bbo", "trade", "funding"], okx: ["bbo", "trade", "funding"] });
    const planned = venues.stats();
    expect(planned.binance!.open + planned.okx!.open).toBe(0);
    expect(planned.binance!.planned).toBeGreaterThan(0);
    expect(venues.findConnection("binance-public-t-1")).toBeUndefined();

    const opened: Connection[] = [];
    venues.start(hooks(opened), createLogger("error"));
    const total = venues.totals().planned;
    await waitFor("every planned socket open", () => venues.totals().open === total);
    expect(opened.length).toBe(total);
    expect(clock.pending).toBeGreaterThan(0); // the sockets' timers (watchdog, keepalive…) are on the injected clock
    for (const c of opened) expect(venues.findConnection(c.connId)).toBe(c);
    venues.stop();
    await waitFor("every socket closed", () => venues.totals().open === 0);
  });

  test("stop() before start(): nothing is opened", async () => {
    const sim = startSimulator({ exchanges: ["binance"], symbols: ["BTCUSDT"], rate: 20 });
    cleanups.push(() => sim.stop());
    const config = loadConfig({ EXCHANGES: "binance", SYMBOLS: "BTCUSDT", BINANCE_WS_URL: sim.url });
    const venues = new Venues(config, adapters, "t", new ManualClock(1_000_000));
    venues.stop();
    const opened: Connection[] = [];
    venues.start(hooks(opened), createLogger("error"));
    // A control started at the same time against the same simulator: once it is open, a socket
    // the stopped one had started would be open too.
    const control = new Venues(config, adapters, "c", new ManualClock(1_000_000));
    cleanups.push(() => control.stop());
    const controlOpened: Connection[] = [];
    control.start(hooks(controlOpened), createLogger("error"));
    await waitFor("the control's sockets open", () => control.totals().open === control.totals().planned);
    expect(controlOpened.length).toBeGreaterThan(0);
    expect(opened).toEqual([]);
    expect(venues.totals().open).toBe(0);
  });
});
