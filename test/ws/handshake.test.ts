/**
 * Scope: the transport against loopback servers, in process.
 * - What Bun's WebSocket client shows of a refused handshake: the status inside the error message
 *   and nothing else — no headers, so Retry-After is invisible (Bun's error text: "HTTP 403
 *   instead of 101 → error with ...failed: Expected 101 status code: 403"). Measured again here.
 * - HTTP 418/429 on the handshake floors the next backoff (docs/venues.md §1.3 reconnect storms).
 * - After a reconnect the subscribe messages go out again, on the new socket, paced by controlGapMs
 *   (Binance ≤ ~4 control messages/s, docs/venues.md §0, §1.3).
 * Times scaled down: floor 1.5 s instead of 60 s, gap 200 ms as in production (250 ms). The
 * backoff, pacing and connect-timeout tests run on a ManualClock: a timer fires only when the test
 * moves time, so "not before" is checked on the clock, never by waiting.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { binance } from "../../src/exchanges/binance.ts";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/sim/server.ts";
import { handshakeStatus } from "../../src/ws/cause.ts";
import { Connection } from "../../src/ws/connection.ts";
import { ManualClock } from "../helpers/clock.ts";
import { waitFor } from "../helpers/wait.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
const noop = () => {};
const hooks = { onRow: noop, onOpen: noop, onClose: noop, onReconnectScheduled: noop, onSkip: noop, onSubscribeError: noop };

describe("handshake refused with 418/429", () => {
  test("Bun's client exposes the status in the error message only, never Retry-After", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("slow down", { status: 429, headers: { "Retry-After": "7331" } }) });
    cleanups.push(() => server.stop(true));
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/x`);
    const { promise, resolve } = Promise.withResolvers<{ err: ErrorEvent; code: number }>();
    let err: ErrorEvent | null = null;
    ws.onerror = (ev) => (err = ev as ErrorEvent);
    ws.onclose = (ev) => resolve({ err: err!, code: ev.code });
    const got = await promise;
    expect(got.code).toBe(1006);
    expect(got.err.message).toContain("Expected 101 status code: 429");
    expect(handshakeStatus(got.err.message)).toBe(429);
    // Nothing on the event carries the header value.
    const everything = JSON.stringify(
      Object.fromEntries(Object.getOwnPropertyNames(got.err).map((k) => [k, String((got.err as unknown as Record<string, unknown>)[k])])),
    );
    expect(everything).not.toContain("7331");
    expect(handshakeStatus("WebSocket connection to 'ws://x/' failed: Failed to connect")).toBeNull();
  });

  test("429 then 418 from the simulator: each next reconnect waits at least the floor; healed → connects", async () => {
    const sim = startSimulator({ exchanges: ["binance"], symbols: ["BTCUSDT"], rate: 50 });
    cleanups.push(() => sim.stop());
    sim.rejectHandshakes("binance", 429, 30);
    const clock = new ManualClock(1_000_000);
    const logs: Array<Record<string, unknown>> = [];
    const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
    const events = (name: string) => logs.filter((l) => l.event === name);
    const [plan] = binance.connections(sim.url, ["BTCUSDT"], ["bbo"]);
    const conn = new Connection(binance, plan!, hooks, log, {
      instanceId: "t",
      backoff: { baseMs: 100, maxMs: 200 },
      stableAfterMs: 60_000,
      controlGapMs: 10,
      keepalive: binance.keepalive,
      rateLimitFloorMs: 1500,
      clock,
    });
    cleanups.push(() => conn.stop());
    conn.start();
    await waitFor("a rate-limited reconnect", () => events("ws_reconnect_scheduled").length === 1);
    const first = events("ws_reconnect_scheduled")[0]!;
    expect(first).toMatchObject({ rate_limited: 429 });
    expect(first.delay_ms as number).toBeGreaterThanOrEqual(1500);
    expect(events("ws_error")[0]).toMatchObject({ http_status: 429 });
    sim.rejectHandshakes("binance", 418, 120);
    // The reconnect starts synchronously in its timer (a new socket, a new conn_id): not before the floor.
    const firstId = conn.connId;
    clock.advance((first.delay_ms as number) - 1);
    expect(conn.connId).toBe(firstId);
    clock.advance(1);
    expect(conn.connId).not.toBe(firstId);
    await waitFor("a second rate-limited reconnect", () => events("ws_reconnect_scheduled").length === 2);
    const second = events("ws_reconnect_scheduled")[1]!;
    expect(second).toMatchObject({ rate_limited: 418 });
    expect(second.delay_ms as number).toBeGreaterThanOrEqual(1500);
    sim.heal("binance");
    clock.advance(second.delay_ms as number);
    await waitFor("connected after heal", () => events("ws_connect").length === 1);
    expect(sim.stats().control).toMatchObject({ "binance|rejected_429": 1, "binance|rejected_418": 1 });
  });
});

describe("resubscribe on the new connection", () => {
  test("every subscribe message is sent again after a reconnect, paced by controlGapMs", async () => {
    const received: Array<{ socket: number; msg: string }> = [];
    let n = 0;
    const server = Bun.serve<{ id: number }>({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req, srv) => (srv.upgrade(req, { data: { id: ++n } }) ? undefined : new Response("no", { status: 400 })),
      websocket: {
        message(ws, msg) {
          received.push({ socket: ws.data.id, msg: String(msg) });
          // Drop the first connection once its subscriptions arrived.
          if (ws.data.id === 1 && received.length === 3) ws.terminate();
        },
      },
    });
    cleanups.push(() => server.stop(true));
    const clock = new ManualClock(1_000_000);
    // Each subscribe_sent line is logged in the timer that sends the message: stamped with the clock then.
    const sent: Array<{ connId: string; atMs: number }> = [];
    const log = createLogger("debug", (line) => {
      const l = JSON.parse(line) as Record<string, unknown>;
      if (l.event === "subscribe_sent") sent.push({ connId: String(l.conn_id), atMs: clock.nowMs() });
    });
    let opens = 0;
    const plan = { route: "public", url: `ws://127.0.0.1:${server.port}/public/ws`, subscribeMessages: ["s1", "s2", "s3"], streams: [], symbols: [] };
    const conn = new Connection(binance, plan, { ...hooks, onOpen: () => void opens++ }, log, {
      instanceId: "t",
      backoff: { baseMs: 50, maxMs: 100 },
      stableAfterMs: 60_000,
      controlGapMs: 200,
      keepalive: binance.keepalive,
      clock,
    });
    cleanups.push(() => conn.stop());
    /** The three messages of the socket just opened: one now, then exactly one per 200 ms of the clock. */
    const paceOut = () => {
      const before = sent.length;
      clock.advance(0);
      expect(sent.length).toBe(before + 1);
      for (const k of [2, 3]) {
        clock.advance(199);
        expect(sent.length).toBe(before + k - 1);
        clock.advance(1);
        expect(sent.length).toBe(before + k);
      }
    };
    conn.start();
    await waitFor("socket 1 open", () => opens === 1);
    paceOut();
    await waitFor("socket 1 dropped by the server after its subscriptions", () => !conn.open);
    clock.advance(100); // the longest backoff (full jitter up to maxMs)
    await waitFor("socket 2 open", () => opens === 2);
    paceOut();
    await waitFor("three messages on the second socket", () => received.filter((r) => r.socket === 2).length === 3);
    for (const socket of [1, 2]) expect(received.filter((r) => r.socket === socket).map((r) => r.msg)).toEqual(["s1", "s2", "s3"]);
    const [a, b] = [sent.slice(0, 3), sent.slice(3)];
    expect(new Set(a.map((x) => x.connId)).size).toBe(1);
    expect(new Set(b.map((x) => x.connId)).size).toBe(1);
    expect(a[0]!.connId).not.toBe(b[0]!.connId);
  });
});

describe("handshake that never completes", () => {
  test("a peer that accepts TCP and never answers: abandoned at the connect timeout, logged, retried with backoff", async () => {
    const { createServer } = await import("node:net");
    const held: import("node:net").Socket[] = [];
    const server = createServer((sock) => held.push(sock)); // reads the upgrade request, never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => {
      for (const s of held) s.destroy();
      server.close();
    });
    const port = (server.address() as import("node:net").AddressInfo).port;
    const logs: Array<Record<string, unknown>> = [];
    const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
    const [plan] = binance.connections(`ws://127.0.0.1:${port}`, ["BTCUSDT"], ["bbo"]);
    let reconnects = 0;
    const clock = new ManualClock(1_000_000);
    const conn = new Connection(binance, plan!, { ...hooks, onReconnectScheduled: () => reconnects++ }, log, {
      instanceId: "t",
      backoff: { baseMs: 100, maxMs: 200 },
      stableAfterMs: 60_000,
      controlGapMs: 10,
      keepalive: binance.keepalive,
      connectTimeoutMs: 500,
      clock,
    });
    cleanups.push(() => conn.stop());
    // The timeout abandons the socket synchronously in its timer: its ws_disconnect is logged then.
    const disc = () => logs.filter((l) => l.event === "ws_disconnect");
    conn.start();
    for (const attempt of [1, 2]) {
      await waitFor(`handshake ${attempt} reached the peer`, () => held.length === attempt);
      clock.advance(499);
      expect(disc()).toHaveLength(attempt - 1);
      clock.advance(1);
      expect(disc()).toHaveLength(attempt);
      expect(reconnects).toBe(attempt);
      clock.advance(logs.filter((l) => l.event === "ws_reconnect_scheduled")[attempt - 1]!.delay_ms as number); // the next attempt starts
    }
    expect(disc()[0]).toMatchObject({
      exchange: "binance",
      code: 1006,
      reason: "connect failed: timeout (no handshake within 500 ms)",
      open_for_ms: 0,
      frames: 0,
    });
    expect(disc()[0]!.conn_id).not.toBe(disc()[1]!.conn_id);
    expect(conn.open).toBe(false);
  });
});

describe("a failed connect names its cause", () => {
  /** One failed attempt of a real Connection to `baseUrl`: the ws_error and ws_disconnect lines it logs. */
  async function failOnce(baseUrl: string) {
    const logs: Array<Record<string, unknown>> = [];
    const log = createLogger("debug", (line) => logs.push(JSON.parse(line)));
    const [plan] = binance.connections(baseUrl, ["BTCUSDT"], ["bbo"]);
    const conn = new Connection(binance, plan!, hooks, log, {
      instanceId: "t",
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      stableAfterMs: 60_000,
      controlGapMs: 10,
      keepalive: binance.keepalive,
      connectTimeoutMs: 20_000,
    });
    cleanups.push(() => conn.stop());
    conn.start();
    const disc = await waitFor("the failed attempt's ws_disconnect", () => logs.find((l) => l.event === "ws_disconnect"), 15_000);
    return { err: logs.find((l) => l.event === "ws_error")!, disc };
  }

  test.each([
    ["refused", () => "ws://127.0.0.1:1", "refused", /^connect failed: refused/],
    ["DNS", () => "ws://no-such-host.invalid", "dns", /^connect failed: dns: host not found \(ENOTFOUND|EAI_AGAIN\)/],
  ] as Array<[string, () => string, string, RegExp]>)("%s", async (_, url, kind, reason) => {
    const { err, disc } = await failOnce(url());
    expect(err).toMatchObject({ level: "debug", cause_kind: kind }); // the disconnect line carries the cause
    expect(String(disc.reason)).toMatch(reason);
    expect(disc.level).toBe("warn");
  });

  test("TLS to a plain-HTTP port, and an HTTP status instead of 101", async () => {
    const plain = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("not a websocket", { status: 404 }) });
    cleanups.push(() => plain.stop(true));
    const tls = await failOnce(`wss://127.0.0.1:${plain.port}`);
    expect(tls.err).toMatchObject({ cause_kind: "tls" });
    expect(String(tls.disc.reason)).toStartWith("connect failed: tls: ");
    const http = await failOnce(`ws://127.0.0.1:${plain.port}`);
    expect(http.err).toMatchObject({ cause_kind: "http", http_status: 404 });
    expect(http.disc.reason).toBe("connect failed: http 404");
  });

  test("classifier: timeouts, rate limits and unknown errors stay one line", async () => {
    const { connectCause } = await import("../../src/ws/cause.ts");
    expect(connectCause("WebSocket connection to 'ws://x/' failed: Expected 101 status code: 429", undefined)).toEqual({
      kind: "http",
      text: "http 429 (rate limited)",
    });
    expect(connectCause("connect ETIMEDOUT", "ETIMEDOUT").kind).toBe("timeout");
    expect(connectCause("WebSocket connection to 'ws://x/' failed: something\nodd", "EWHAT").text).toBe("EWHAT: something odd");
  });
});
