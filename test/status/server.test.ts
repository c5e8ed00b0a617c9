/** Scope: the status server over a real socket — requests Bun cannot turn into a URL get 400, unexpected errors are logged once. */
import { afterAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { createLogger } from "../../src/log.ts";
import { Metrics } from "../../src/state/metrics.ts";
import { buildSnapshot } from "../../src/state/snapshot.ts";
import { startStatusServer } from "../../src/status/server.ts";

const logged: string[] = [];
let fail = false;
const snapshot = () => {
  if (fail) throw new Error("snapshot exploded");
  const now = Date.now();
  return buildSnapshot({
    metrics: new Metrics(["binance"], 900_000, now),
    queueSize: 0,
    queueCapacity: 10,
    state: "READY",
    stateSinceMs: now,
    stateReasons: [],
    symbols: ["BTCUSDT"],
    streams: { binance: ["bbo"] },
    nowMs: now,
    rssBytes: 0,
    lag: { p50: 0, p99: 0, max: 0, samples: 0 },
    silentSubscriptions: [],
    connections: { binance: { open: 0, planned: 0 } },
  });
};
const server = startStatusServer(
  "127.0.0.1",
  0,
  snapshot,
  createLogger("info", (l) => logged.push(l)),
);
afterAll(() => server.stop());

/** Send raw bytes, read until the server closes (HTTP/1.0 or Connection: close). */
function raw(request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(server.port, "127.0.0.1", () => sock.write(request));
    let buf = "";
    sock.on("data", (d) => (buf += d));
    sock.on("error", reject);
    sock.on("close", () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf)?.[1] ?? 0), body: buf.slice(buf.indexOf("\r\n\r\n") + 4) }));
  });
}

describe("status server", () => {
  test.each([
    ["HTTP/1.0 without Host", "GET /health HTTP/1.0\r\n\r\n"],
    ["a Host with a space", "GET /health HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"],
    ["a broken IPv6 Host", "GET /health HTTP/1.1\r\nHost: [zz\r\nConnection: close\r\n\r\n"],
  ])("%s → 400 with a JSON reason, nothing logged as an error", async (_, req) => {
    const before = logged.length;
    const r = await raw(req);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toContain("Host");
    expect(logged.length).toBe(before);
  });

  test("a normal HTTP/1.0 request with Host still works", async () => {
    const r = await raw("GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).status).toBe("ok");
  });

  test("an unexpected error is one log line and a 500 without stack or paths", async () => {
    fail = true;
    try {
      const r = await raw("GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(r.status).toBe(500);
      expect(JSON.parse(r.body)).toEqual({ error: "internal error" });
      const errs = logged.map((l) => JSON.parse(l)).filter((l) => l.event === "status_api_error");
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ level: "error", error: "snapshot exploded" });
      expect(errs[0].stack).toBeUndefined();
    } finally {
      fail = false;
    }
  });
});
