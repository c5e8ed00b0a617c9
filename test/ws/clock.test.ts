/**
 * Scope: src/ws/connection.ts on an injected clock, against a loopback Bun.serve that accepts and
 * never sends. The watchdog, its reason and the reconnect backoff run on a ManualClock: the socket
 * is declared dead exactly when the test moves time past the deadline (never because the machine
 * was slow), the reason names the exact silence, and no reconnect starts until the announced
 * backoff has passed on the clock.
 */
import { describe, expect, test } from "bun:test";
import { bybit } from "../../src/exchanges/bybit.ts";
import type { ExchangeAdapter } from "../../src/exchanges/types.ts";
import { createLogger } from "../../src/log.ts";
import { Connection } from "../../src/ws/connection.ts";
import { ManualClock } from "../helpers/clock.ts";
import { waitFor } from "../helpers/wait.ts";

// No client pings: only the data-silence watchdog is armed (1 s; its tick is 250 ms).
const adapter: ExchangeAdapter = { ...bybit, keepalive: { ...bybit.keepalive, pingIntervalMs: 0, pongTimeoutMs: 0 } };

describe("ws/connection on an injected clock", () => {
  test("silent peer: dead at the first watchdog tick past the deadline, exact reason; reconnect only after the announced backoff", async () => {
    let accepted = 0;
    using server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("no", { status: 400 })),
      websocket: { open: () => void accepted++, message() {} },
    });
    const clock = new ManualClock(1_000_000);
    const logs: Array<Record<string, unknown>> = [];
    const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
    const plan = {
      route: "linear",
      url: `ws://127.0.0.1:${server.port}/v5/public/linear`,
      subscribeMessages: [],
      streams: [],
      symbols: [],
      idleTimeoutMs: 1000,
    };
    const noop = () => {};
    let opens = 0;
    const hooks = { onRow: noop, onOpen: () => void opens++, onClose: noop, onReconnectScheduled: noop, onSkip: noop, onSubscribeError: noop };
    const conn = new Connection(adapter, plan, hooks, log, {
      instanceId: "test",
      backoff: { baseMs: 500, maxMs: 500 },
      stableAfterMs: 60_000,
      controlGapMs: 10,
      keepalive: adapter.keepalive,
      clock,
    });
    try {
      conn.start();
      await waitFor("socket open", () => opens === 1);
      const events = (name: string) => logs.filter((l) => l.event === name);
      clock.advance(1000); // ticks at 250…1000 ms: silent for exactly 1000 ms, not more than the deadline
      expect(events("ws_disconnect")).toHaveLength(0);
      clock.advance(250);
      await waitFor("watchdog disconnect", () => events("ws_disconnect").length === 1);
      expect(events("ws_disconnect")[0]).toMatchObject({ reason: "watchdog: no frame for 1250 ms", open_for_ms: 1250 });
      const delay = events("ws_reconnect_scheduled")[0]?.delay_ms as number;
      expect(delay).toBeGreaterThanOrEqual(250); // full jitter over [base/2, base]
      expect(delay).toBeLessThanOrEqual(500);
      // A reconnect starts synchronously in its timer (a new socket, a new conn_id): none before the backoff.
      const firstId = conn.connId;
      clock.advance(delay - 1);
      expect(conn.connId).toBe(firstId);
      clock.advance(1);
      expect(conn.connId).not.toBe(firstId);
      await waitFor("reconnected", () => opens === 2 && accepted === 2);
    } finally {
      conn.stop();
    }
  });
});
