/**
 * Scope: a refused multi-symbol subscribe request (Bybit: one bad topic fails the whole request,
 * docs/venues.md §2.2), in process against a loopback Bun.serve acting as the venue. The transport
 * re-requests each of the plan's symbols on its own, once per connection; only the symbol refused
 * again is a subscribe error. A refusal naming symbols outside the plan (the req_id is echoed by the
 * venue) sends nothing for them. Pacing runs on a ManualClock: control messages go out only when the
 * test moves time, so "nothing more goes out" is checked on the clock, not by waiting.
 */
import { afterEach, expect, test } from "bun:test";
import { bybit } from "../../src/exchanges/bybit.ts";
import { createLogger } from "../../src/log.ts";
import { Connection } from "../../src/ws/connection.ts";
import { ManualClock } from "../helpers/clock.ts";
import { waitFor } from "../helpers/wait.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

test("a refused request of several symbols: each plan symbol re-requested once; only the bad one is an error; foreign symbols ignored", async () => {
  const received: Array<{ args: string[]; req_id: string }> = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket: {
      message(ws, msg) {
        const m = JSON.parse(String(msg)) as { op: string; args: string[]; req_id: string };
        if (m.op !== "subscribe") return;
        received.push(m);
        const bad = m.args.find((a) => a.endsWith(".FOOUSDT"));
        ws.send(JSON.stringify({ success: !bad, ret_msg: bad ? `error:handler not found,topic:${bad}` : "", conn_id: "c", req_id: m.req_id, op: "subscribe" }));
        // A forged refusal naming symbols this connection never asked for.
        if (received.length === 1) ws.send(JSON.stringify({ success: false, ret_msg: "error:x", conn_id: "c", req_id: "EVILUSDT,../X:pt", op: "subscribe" }));
      },
    },
  });
  const [plan] = bybit.connections(`ws://127.0.0.1:${server.port}`, ["BTCUSDT", "FOOUSDT", "ETHUSDT"], ["trade"]);
  expect(plan!.subscribeMessages).toHaveLength(1); // one request: 3 topics ≤ 10
  const errors: Array<{ detail: string; topics: string[] }> = [];
  const logs: Array<Record<string, unknown>> = [];
  const noop = () => {};
  const clock = new ManualClock(1_000_000);
  let opens = 0;
  const conn = new Connection(
    bybit,
    plan!,
    {
      onRow: noop,
      onOpen: () => void opens++,
      onClose: noop,
      onReconnectScheduled: noop,
      onSkip: noop,
      onSubscribeError: (_c, detail, topics) => void errors.push({ detail, topics }),
    },
    createLogger("debug", (line) => logs.push(JSON.parse(line))),
    { instanceId: "test", backoff: { baseMs: 5000, maxMs: 5000 }, stableAfterMs: 60_000, controlGapMs: 10, keepalive: bybit.keepalive, clock },
  );
  conn.start();
  cleanups.push(() => {
    conn.stop();
    void server.stop(true);
  });
  const sent = () => logs.filter((l) => l.event === "subscribe_sent").length;
  const refused = () => logs.filter((l) => l.event === "subscribe_batch_refused");
  await waitFor("socket open", () => opens === 1);
  clock.advance(0); // the batch request
  expect(sent()).toBe(1);
  await waitFor("the refusal and the forged one read", () => refused().length === 2);
  expect(refused().map((l) => l.retries)).toEqual([3, 0]);
  clock.advance(30); // the three single requests, 10 ms apart
  expect(sent()).toBe(4);
  await waitFor("the retries answered: two acks, one error", () => errors.length === 1 && logs.filter((l) => l.event === "subscribe_ack").length === 2);
  expect(received.map((m) => m.req_id)).toEqual(["BTCUSDT,FOOUSDT,ETHUSDT:pt", "BTCUSDT:pt", "FOOUSDT:pt", "ETHUSDT:pt"]);
  expect(errors).toEqual([{ detail: "error:handler not found,topic:publicTrade.FOOUSDT", topics: ["publicTrade.FOOUSDT"] }]);
  // Every answer is read: nothing more goes out however long the clock runs (100 pacing gaps; below
  // the 20 s ping). The bad symbol is not retried in a loop, the forged symbols never.
  clock.advance(1000);
  expect(sent()).toBe(4);
  expect(refused()).toHaveLength(2);
});
