/**
 * Scope: the transport's pong deadline, in process against a loopback Bun.serve. A Bybit-style
 * connection that keeps receiving data but gets no pong is dead (docs/venues.md §2.4: a missing
 * pong is a dead connection); one whose pings are answered stays up.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { bybit } from "../../src/exchanges/bybit.ts";
import type { ExchangeAdapter } from "../../src/exchanges/types.ts";
import { createLogger } from "../../src/log.ts";
import { Connection } from "../../src/ws/connection.ts";
import { waitFor } from "../helpers/wait.ts";

/** Bybit's keepalive with a fast ping; the pong deadline is chosen per test. */
const adapterWith = (pongTimeoutMs: number): ExchangeAdapter => ({ ...bybit, keepalive: { ...bybit.keepalive, pingIntervalMs: 100, pongTimeoutMs } });
// A tickers delta carrying a mark price: one row per frame, so the test can count the data that flowed.
const DATA = JSON.stringify({ topic: "tickers.BTCUSDT", type: "delta", data: { symbol: "BTCUSDT", markPrice: "1.0" }, cs: 1, ts: 1 });

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function run(answerPings: boolean, pongTimeoutMs: number) {
  const adapter = adapterWith(pongTimeoutMs);
  let pings = 0;
  let rows = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket: {
      open(ws) {
        const t = setInterval(() => ws.send(DATA), 50);
        (ws as unknown as { t: typeof t }).t = t;
      },
      message(ws, msg) {
        if (String(msg).includes('"ping"')) {
          pings++;
          if (answerPings) ws.send(JSON.stringify({ success: true, ret_msg: "pong", conn_id: "c", req_id: "", op: "ping" }));
        }
      },
      close(ws) {
        clearInterval((ws as unknown as { t: ReturnType<typeof setInterval> }).t);
      },
    },
  });
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
  const plan = { route: "linear", url: `ws://127.0.0.1:${server.port}/v5/public/linear`, subscribeMessages: [], streams: [], symbols: [] };
  const noop = () => {};
  const onRow = () => void rows++;
  const conn = new Connection(adapter, plan, { onRow, onOpen: noop, onClose: noop, onReconnectScheduled: noop, onSkip: noop, onSubscribeError: noop }, log, {
    instanceId: "test",
    backoff: { baseMs: 5000, maxMs: 5000 },
    stableAfterMs: 60_000,
    controlGapMs: 10,
    keepalive: adapter.keepalive,
  });
  conn.start();
  cleanups.push(() => {
    conn.stop();
    server.stop(true);
  });
  return { logs, pings: () => pings, rows: () => rows };
}

describe("pong deadline", () => {
  test("data keeps flowing but no pong: the connection is declared dead and closed", async () => {
    const r = run(false, 400);
    // Event-driven: the deadline is a safety net against a hang, not a measure of speed.
    const d = await waitFor("ws_disconnect", () => r.logs.find((l) => l.event === "ws_disconnect"), 30_000);
    // The pong deadline closed it (Bybit's idle watchdog is 45 s), while pings went out and data arrived.
    expect(d.reason).toBe("watchdog: no pong within 400 ms");
    expect(r.pings()).toBeGreaterThanOrEqual(1);
    expect(r.rows()).toBeGreaterThanOrEqual(1);
  });

  test("pongs answered: the connection stays up", async () => {
    // 30 pings at 100 ms span ≥ 2.9 s, longer than the 2 s pong deadline: a watchdog that ignored
    // pongs would have closed the connection before the 30th ping. (A ping interval never fires
    // early, so load only stretches the span; 2 s leaves room for a stalled event loop.)
    const r = run(true, 2000);
    await waitFor("30 answered pings or a disconnect", () => r.pings() >= 30 || r.logs.some((l) => l.event === "ws_disconnect"), 60_000);
    expect(r.logs.filter((l) => l.event === "ws_disconnect")).toEqual([]);
    expect(r.pings()).toBeGreaterThanOrEqual(30);
    expect(r.logs.filter((l) => l.event === "ws_connect")).toHaveLength(1);
  });
});
