/**
 * Scope: the transport's pong deadline, in process against a loopback Bun.serve. A Bybit-style
 * connection that keeps receiving data but gets no pong is dead (exchanges.md §2.4: "a missing
 * pong is a dead connection"); one whose pings are answered stays up.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { bybit } from "../../src/exchanges/bybit.ts";
import type { ExchangeAdapter } from "../../src/exchanges/types.ts";
import { createLogger } from "../../src/log.ts";
import { Connection } from "../../src/ws/connection.ts";
import { waitFor } from "../helpers/wait.ts";

const adapter: ExchangeAdapter = { ...bybit, keepalive: { ...bybit.keepalive, pingIntervalMs: 100, pongTimeoutMs: 400 } };
// A valid tickers delta that yields no row: traffic that keeps the idle watchdog quiet.
const DATA = JSON.stringify({ topic: "tickers.BTCUSDT", type: "delta", data: { symbol: "BTCUSDT", lastPrice: "1.0" }, cs: 1, ts: 1 });

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function run(answerPings: boolean) {
  let pings = 0;
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
  const conn = new Connection(adapter, plan, { onRow: noop, onOpen: noop, onClose: noop, onReconnectScheduled: noop, onSkip: noop, onSubscribeError: noop }, log, {
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
  return { logs, pings: () => pings };
}

describe("pong deadline", () => {
  test("data keeps flowing but no pong: the connection is declared dead and closed", async () => {
    const r = run(false);
    const d = await waitFor("ws_disconnect", () => r.logs.find((l) => l.event === "ws_disconnect"), 3000);
    expect(d.reason).toBe("watchdog: no pong within 400 ms");
    expect(r.pings()).toBeGreaterThanOrEqual(3);
  });

  test("pongs answered: the connection stays up", async () => {
    const r = run(true);
    await Bun.sleep(1200);
    expect(r.pings()).toBeGreaterThanOrEqual(8);
    expect(r.logs.filter((l) => l.event === "ws_disconnect")).toEqual([]);
    expect(r.logs.filter((l) => l.event === "ws_connect")).toHaveLength(1);
  });
});
