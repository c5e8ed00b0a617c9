/**
 * Scope: the transport's pong deadline, in process against a loopback Bun.serve, on a ManualClock.
 * A Bybit-style connection that keeps receiving data but gets no pong is dead (docs/venues.md §2.4:
 * a missing pong is a dead connection); one whose pings are answered stays up. Time moves only
 * when the test says so: pings go out and deadlines expire at exact clock times, whatever the load.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { bybit } from "../../src/exchanges/bybit.ts";
import type { ExchangeAdapter } from "../../src/exchanges/types.ts";
import { createLogger } from "../../src/log.ts";
import { Connection } from "../../src/ws/connection.ts";
import { ManualClock } from "../helpers/clock.ts";
import { waitFor } from "../helpers/wait.ts";

const PING_MS = 100;
const PONG_TIMEOUT_MS = 400;
/** Bybit's keepalive with a fast ping and a short pong deadline (its watchdog tick is 25 ms). */
const adapter: ExchangeAdapter = { ...bybit, keepalive: { ...bybit.keepalive, pingIntervalMs: PING_MS, pongTimeoutMs: PONG_TIMEOUT_MS } };
// A tickers delta carrying a mark price: one row per frame, so the test can count the data that flowed.
const DATA = JSON.stringify({ topic: "tickers.BTCUSDT", type: "delta", data: { symbol: "BTCUSDT", markPrice: "1.0" }, cs: 1, ts: 1 });
const PONG = JSON.stringify({ success: true, ret_msg: "pong", conn_id: "c", req_id: "", op: "ping" });

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A venue that answers every ping with a data frame, preceded by a pong when `answerPings`. */
function run(answerPings: boolean) {
  const clock = new ManualClock(1_000_000);
  let pings = 0;
  let rows = 0;
  let opens = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket: {
      message(ws, msg) {
        if (!String(msg).includes('"ping"')) return;
        pings++;
        if (answerPings) ws.send(PONG);
        ws.send(DATA); // after the pong: once this row arrived, the pong was read
      },
    },
  });
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
  const plan = { route: "linear", url: `ws://127.0.0.1:${server.port}/v5/public/linear`, subscribeMessages: [], streams: [], symbols: [] };
  const noop = () => {};
  const hooks = { onRow: () => void rows++, onOpen: () => void opens++, onClose: noop, onReconnectScheduled: noop, onSkip: noop, onSubscribeError: noop };
  const conn = new Connection(adapter, plan, hooks, log, {
    instanceId: "test",
    backoff: { baseMs: 5000, maxMs: 5000 },
    stableAfterMs: 60_000,
    controlGapMs: 10,
    keepalive: adapter.keepalive,
    clock,
  });
  conn.start();
  cleanups.push(() => {
    conn.stop();
    server.stop(true);
  });
  const events = (name: string) => logs.filter((l) => l.event === name);
  return { clock, events, pings: () => pings, rows: () => rows, opens: () => opens };
}

describe("pong deadline", () => {
  test("data keeps flowing but no pong: dead at the first watchdog tick past the deadline", async () => {
    const r = run(false);
    await waitFor("socket open", () => r.opens() === 1);
    r.clock.advance(PING_MS); // the first ping: the pong deadline runs from here
    await waitFor("the ping answered with data (no pong)", () => r.pings() === 1 && r.rows() === 1);
    // Up to exactly the deadline (400 ms after the ping) the socket lives: more pings go out and the
    // data they draw still arrives (a terminated socket would read nothing more).
    r.clock.advance(PONG_TIMEOUT_MS);
    await waitFor("the later pings answered with data", () => r.pings() === 5 && r.rows() === 5);
    expect(r.events("ws_disconnect")).toEqual([]);
    r.clock.advance(25); // the next watchdog tick: 425 ms without a pong
    await waitFor("ws_disconnect", () => r.events("ws_disconnect").length === 1);
    const [d] = r.events("ws_disconnect");
    // The pong deadline closed it (not Bybit's 45 s idle watchdog: data kept arriving), at that tick.
    expect(d).toMatchObject({ reason: `watchdog: no pong within ${PONG_TIMEOUT_MS} ms`, open_for_ms: PING_MS + PONG_TIMEOUT_MS + 25 });
  });

  test("pongs answered: the connection stays up far past the pong deadline", async () => {
    const r = run(true);
    await waitFor("socket open", () => r.opens() === 1);
    // 30 pings 100 ms apart span 3 s of the clock, 7.5 times the 400 ms deadline: a watchdog that
    // ignored pongs would have terminated the socket, and the data of the later pings never arrived.
    for (let i = 1; i <= 30; i++) {
      r.clock.advance(PING_MS);
      await waitFor(`ping ${i} answered`, () => r.pings() === i && r.rows() === i, 15_000, 5);
    }
    expect(r.events("ws_disconnect")).toEqual([]);
    expect(r.events("ws_connect")).toHaveLength(1);
  }, 60_000); // 30 round trips on loopback: a safety net for a loaded machine, not a measure
});
