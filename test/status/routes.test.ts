/** Scope: the status API as a pure handler — documented fields and types, 404/405, Prometheus text. */
import { describe, expect, test } from "bun:test";
import { Metrics } from "../../src/state/metrics.ts";
import { buildSnapshot } from "../../src/state/snapshot.ts";
import { handle } from "../../src/status/routes.ts";

function snapshot() {
  const now = Date.now();
  const m = new Metrics(["binance", "okx"], 900_000, now - 5000);
  m.recordEvent("binance", "bbo", now - 10);
  m.recordDrop(now);
  m.recordReconnect("okx", now);
  return buildSnapshot({
    metrics: m,
    queueSize: 25,
    queueCapacity: 1000,
    state: "DEGRADED",
    stateSinceMs: now - 1000,
    stateReasons: ["1 drops in window"],
    symbols: ["BTCUSDT"],
    streams: { binance: ["bbo", "trade", "mark_price", "funding"] },
    nowMs: now,
    rssBytes: 100 * 1048576,
    lag: { p50: 0.5, p99: 3, max: 4, samples: 10 },
    silentSubscriptions: [],
    connections: { binance: { open: 2, planned: 2 }, okx: { open: 0, planned: 0 } },
  });
}

const get = async (path: string, method = "GET") => handle(new Request(`http://x${path}`, { method }), snapshot);

describe("status routes", () => {
  test("/health has the prototype's fields", async () => {
    const b = (await (await get("/health")).json()) as any;
    expect(b.status).toBe("ok");
    expect(typeof b.uptime).toBe("number");
    expect(b.uptime).toBeGreaterThanOrEqual(5);
    expect(typeof b.last_event_ts).toBe("number");
    expect(b.last_write_ts).toBeNull(); // nothing written yet: null, never an invented time
  });

  test("/streams lists symbols and streams per exchange", async () => {
    expect(await (await get("/streams")).json()).toEqual({ symbols: ["BTCUSDT"], streams: { binance: ["bbo", "trade", "mark_price", "funding"] } });
  });

  test("/metrics has every documented field with the right type", async () => {
    const b = (await (await get("/metrics")).json()) as any;
    const numbers = [
      "queue_size",
      "queue_maxsize",
      "queue_utilization_pct",
      "dropped_events_total",
      "silence_intervals_15m",
      "silence_intervals_total",
      "snapshot_fetches_total",
      "snapshot_events_seen",
      "gap_alignment_corrections",
      "effective_data_loss_rate_pct",
      "total_events",
    ];
    for (const k of numbers) expect(typeof b[k]).toBe("number");
    expect(b.queue_size).toBe(25);
    expect(b.queue_maxsize).toBe(1000);
    expect(b.queue_utilization_pct).toBe(2.5);
    expect(b.dropped_events_total).toBe(1);
    expect(b.ws_reconnect_total).toEqual({ binance: 0, okx: 1 });
    expect(Object.keys(b.events_per_sec).sort()).toEqual(["bbo", "book", "funding", "liquidation", "mark_price", "open_interest", "trade"]);
    for (const k of ["total_written", "files_written", "pending_events", "active_buffers", "in_flight_uploads", "upload_failures"])
      expect(typeof b.writer[k]).toBe("number");
    expect(b.effective_data_loss_rate_pct).toBe(100); // 1 dropped of 1 received
    expect(typeof b.filtered_events_total).toBe("object"); // per exchange and stream
  });

  test("/status has state, ISO since and the concise metrics", async () => {
    const b = (await (await get("/status")).json()) as any;
    expect(b.state).toBe("DEGRADED");
    expect(new Date(b.since).toISOString()).toBe(b.since);
    expect(b.metrics).toEqual({ queue_pct: 2.5, silence_15m: 0, drops_15m: 1, reconnects_15m: 1, rss_mb: 100 });
  });

  test("unknown paths are 404 JSON; other methods 405", async () => {
    const nf = await get("/nope");
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as any).error).toBe("not found");
    for (const m of ["POST", "PUT", "DELETE", "PATCH"]) {
      const r = await get("/health", m);
      expect(r.status).toBe(405);
      expect(r.headers.get("allow")).toContain("GET");
    }
  });

  test("/metrics/prometheus is text exposition with HELP and TYPE per family", async () => {
    const r = await get("/metrics/prometheus");
    expect(r.headers.get("content-type")).toContain("text/plain");
    const text = await r.text();
    expect(text).toContain("# TYPE quantlab_collector_dropped_events_total counter");
    expect(text).toContain('quantlab_collector_ws_reconnect_total{exchange="okx"} 1');
    expect(text).toContain('quantlab_collector_state{state="DEGRADED"} 1');
    const families = text.split("\n").filter((l) => l.startsWith("# TYPE ")).length;
    const helps = text.split("\n").filter((l) => l.startsWith("# HELP ")).length;
    expect(families).toBe(helps);
    expect(families).toBeGreaterThan(15);
  });
});
