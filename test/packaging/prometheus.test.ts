/**
 * Scope: GET /metrics/prometheus against /metrics. Parsed with a real exposition-format parser;
 * every numeric field of /metrics is exported with the same value under a Prometheus name; the
 * metric list documented in docs/operations.md is exactly what the endpoint serves.
 */
import { describe, expect, test } from "bun:test";
import { handle } from "../../src/status/routes.ts";
import { adapters } from "../../src/exchanges/index.ts";
import { EXCHANGES } from "../../src/schema/rows.ts";
import { Metrics, PARSE_ERROR_CLASSES, parseErrorClass } from "../../src/state/metrics.ts";
import { buildSnapshot } from "../../src/state/snapshot.ts";
import { renderPrometheus } from "../../src/status/prometheus.ts";
import { documentedMetrics, parseExposition, PREFIX, PROCESS_PREFIX, richSnapshot } from "./prom.ts";

/** Fields of /metrics that are deliberately not exported, and why. */
const NOT_EXPORTED: Record<string, string> = {
  snapshot_fetches_total: "always 0: REST snapshots are never fetched (kept in /metrics for the prototype's dashboards)",
  snapshot_events_seen: "always 0, as above",
  gap_alignment_corrections: "always 0, as above",
  "event_loop_lag_ms.samples": "size of the lag sample window, not a measurement",
  ...Object.fromEntries(
    ["p50", "p99", "max"].map((q) => [
      `event_loop_lag_ms.${q}`,
      "percentiles of the last minute; Prometheus gets the lifetime histogram event_loop_lag_seconds (histogram_quantile over any range)",
    ]),
  ),
  "silent_subscriptions.0.since_ms": "a timestamp per listed subscription; exported as a count per exchange (silent_subscriptions)",
  "silent_subscriptions.1.since_ms": "as above",
  ...Object.fromEntries(
    [0, 1, 2, 3].map((i) => [`rejected_subscriptions.${i}.ts_ms`, "a timestamp per rejected subscription; the count is subscribe_errors_total"]),
  ),
};

describe("GET /metrics/prometheus", () => {
  const snap = richSnapshot();
  const res = handle(new Request("http://x/metrics/prometheus"), () => snap);

  test("is text exposition 0.0.4 that a real parser reads, with HELP/TYPE and conventional names", async () => {
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const exp = parseExposition(await res.clone().text()); // throws listing every violation
    expect(exp.families.size).toBeGreaterThan(25);
    for (const name of exp.families.keys()) expect(name.startsWith(PREFIX) || name.startsWith(PROCESS_PREFIX)).toBe(true);
  });

  test("every numeric field of /metrics is exported with the same value", async () => {
    const exp = parseExposition(await res.clone().text());
    const json = snap.metrics as unknown as Record<string, unknown>;
    const v = (name: string, labels?: Record<string, string>) => exp.value(PREFIX + name, labels);
    const sum = (name: string) => exp.families.get(PREFIX + name)!.metrics.reduce((a, s) => a + Number(s.value), 0);
    const leaves: Array<[string, number]> = [];
    const walk = (o: Record<string, unknown>, path: string) => {
      for (const [k, val] of Object.entries(o)) {
        const p = path ? `${path}.${k}` : k;
        if (typeof val === "number") leaves.push([p, val]);
        else if (val && typeof val === "object") walk(val as Record<string, unknown>, p);
      }
    };
    walk(json, "");
    const scalar: Record<string, string> = {
      queue_size: "queue_size",
      queue_maxsize: "queue_capacity",
      dropped_events_total: "dropped_events_total",
      drops_15m: "dropped_events_window",
      silence_intervals_15m: "silence_intervals_window",
      silence_intervals_total: "silence_intervals_total",
      reconnects_15m: "ws_reconnects_window",
      subscribe_errors_total: "subscribe_errors_total",
      write_errors_total: "write_errors_total",
      "writer.total_written": "written_events_total",
      "writer.files_written": "files_written_total",
      "writer.pending_events": "pending_events",
      "writer.active_buffers": "active_buffers",
      "writer.in_flight_uploads": "in_flight_uploads",
      "writer.upload_failures": "upload_failures_total",
      "writer.files_uploaded": "files_uploaded_total",
      "writer.spool_files": "spool_files",
      "writer.spool_bytes": "spool_bytes",
      "writer.spool_oldest_age_seconds": "spool_oldest_age_seconds",
      "book_rest.requests": "book_rest_requests_total",
      "book_rest.snapshots": "book_rest_snapshots_total",
      "book_rest.failures": "book_rest_failures_total",
      "book_rest.rate_limited": "book_rest_rate_limited_total",
      "book_rest.waits": "book_rest_waits_total",
      "book_rest.weight_used_1m": "book_rest_weight_used",
    };
    const unmapped: string[] = [];
    for (const [path, want] of leaves) {
      if (path in NOT_EXPORTED) continue;
      const [head, key, sub] = path.split(".");
      let got: number | undefined;
      if (path in scalar) got = v(scalar[path]!);
      else if (head === "ws_reconnect_total") got = v("ws_reconnect_total", { exchange: key! });
      else if (head === "ws_watchdog_total") got = v("ws_watchdog_total", { exchange: key! });
      else if (head === "ws_rotations_total") got = v("ws_rotations_total", { exchange: key! });
      else if (head === "connections") got = v(sub === "open" ? "ws_connections_open" : "ws_connections_planned", { exchange: key! });
      else if (head === "events_total_by_stream")
        got = exp.families
          .get(PREFIX + "events_total")!
          .metrics.filter((x) => x.labels?.stream === key)
          .reduce((a, x) => a + Number(x.value), 0);
      else if (head === "events_total_by_exchange") got = v("events_total", { exchange: key!, stream: sub! });
      else if (head === "filtered_events_total") got = v("filtered_events_total", { exchange: key!, stream: sub! });
      else if (path === "queue_utilization_pct") got = Math.round(v("queue_utilization_ratio")! * 10000) / 100;
      else if (path === "effective_data_loss_rate_pct") got = Math.round(v("effective_data_loss_ratio")! * 1_000_000) / 10000;
      else if (head === "events_per_sec") got = v("events_per_second", { stream: key! });
      else if (head === "parse_errors_by_reason") {
        // Reasons are grouped into bounded classes: the class series is the sum of its reasons.
        const cls = parseErrorClass(key!);
        got = Object.entries(snap.metrics.parse_errors_by_reason)
          .filter(([r]) => parseErrorClass(r) === cls)
          .reduce((a, [, n]) => a + n, 0);
        expect({ path, cls, value: v("parse_errors_total", { reason: cls }) }).toEqual({ path, cls, value: got });
        continue;
      } else if (path === "total_events") got = sum("events_total");
      else if (path === "parse_errors_total") got = sum("parse_errors_total");
      else if (head === "trade_id_gaps_by_exchange") got = v("trade_id_gaps_total", { exchange: key! });
      else if (head === "book_gaps_total") got = v("book_gaps_total", { exchange: key! });
      else if (head === "books_unsynced") got = v("books_unsynced", { exchange: key! });
      else if (path === "trade_id_gaps_total") got = sum("trade_id_gaps_total");
      else if (head === "trade_id_jumps_by_exchange") got = v("trade_id_jumps_total", { exchange: key! });
      else if (path === "trade_id_jumps_total") got = sum("trade_id_jumps_total");
      else if (path === "silent_subscriptions_total") got = v("silent_subscriptions_total");
      else if (path === "rss_mb") got = Math.round((exp.value("process_resident_memory_bytes")! / 1048576) * 10) / 10;
      else {
        unmapped.push(path);
        continue;
      }
      expect({ path, value: got }).toEqual({ path, value: want });
    }
    // A new /metrics field must be exported in src/status/prometheus.ts and mapped above.
    expect(unmapped).toEqual([]);
    expect(leaves.length).toBeGreaterThan(35);
    // The state is a string in /metrics: one series per state, 1 for the current one.
    expect(["READY", "DEGRADED", "OFFLINE", "ERROR"].map((s) => v("state", { state: s }))).toEqual([0, 1, 0, 0]);
    expect(v("last_write_timestamp_seconds")).toBe(snap.health.last_write_ts! / 1000);
    expect(v("up")).toBe(1);
    expect(v("build_info", { version: "0.1.0", commit: "abc123", schema_version: "v1" })).toBe(1);
    for (const f of ["process_cpu_seconds_total", "process_open_fds", "process_max_fds", "process_start_time_seconds"]) expect(exp.value(f)).toBeGreaterThan(0);
    const lag = exp.families.get(PREFIX + "event_loop_lag_seconds")!.metrics[0] as unknown as { buckets: Record<string, string>; count: string; sum: string };
    expect(lag.buckets["+Inf"]).toBe(lag.count);
    expect(Number(lag.buckets["0.001"])).toBe(300);
    expect(v("silent_subscriptions", { exchange: "binance" })).toBe(snap.metrics.silent_subscriptions.length);
  });

  test("the metric table in docs/operations.md lists exactly the exported families", async () => {
    const exp = parseExposition(await res.clone().text());
    const documented = documentedMetrics();
    expect(documented.length).toBeGreaterThan(25);
    expect(new Set(documented).size).toBe(documented.length);
    // An undocumented family means: add a row to the table in docs/operations.md.
    expect([...exp.families.keys()].sort()).toEqual([...documented].sort());
  });

  test("a fresh process exports its per-exchange series at 0, so increase() sees the first event, gap or silent subscription", () => {
    const exp = parseExposition(renderPrometheus(freshSnapshot()));
    for (const ex of EXCHANGES) {
      for (const st of adapters[ex].streams) expect({ ex, st, v: exp.value(`${PREFIX}events_total`, { exchange: ex, stream: st }) }).toEqual({ ex, st, v: 0 });
      expect({ ex, v: exp.value(`${PREFIX}silent_subscriptions`, { exchange: ex }) }).toEqual({ ex, v: 0 });
      expect({ ex, v: exp.value(`${PREFIX}filtered_events_total`, { exchange: ex, stream: "liquidation" }) }).toEqual({ ex, v: 0 });
      for (const f of ["ws_reconnect_total", "ws_watchdog_total", "ws_rotations_total"])
        expect({ ex, f, v: exp.value(PREFIX + f, { exchange: ex }) }).toEqual({ ex, f, v: 0 });
      // Gaps are measured only where ids are contiguous: no series (not a misleading 0) elsewhere.
      expect({ ex, v: exp.value(`${PREFIX}trade_id_gaps_total`, { exchange: ex }) }).toEqual({ ex, v: adapters[ex].contiguousTradeIds ? 0 : undefined });
    }
    // Binance has no open-interest stream: no series claims one.
    expect(exp.value(`${PREFIX}events_total`, { exchange: "binance", stream: "open_interest" })).toBeUndefined();
    // Every parse-error class is there at 0 before the first error.
    for (const c of PARSE_ERROR_CLASSES) expect({ c, v: exp.value(`${PREFIX}parse_errors_total`, { reason: c }) }).toEqual({ c, v: 0 });
  });

  test("promtool check metrics accepts it (Debian package prometheus; skipped where not installed)", async () => {
    const promtool = Bun.which("promtool");
    if (!promtool) {
      console.log("SKIP promtool check metrics: promtool not installed (apt-get install prometheus)");
      return;
    }
    for (const text of [await res.clone().text(), renderPrometheus(freshSnapshot())]) {
      const p = Bun.spawnSync([promtool, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
      expect({ code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() }).toEqual({ code: 0, out: "" });
    }
  });
});

function freshSnapshot() {
  const now = Date.now();
  const m = new Metrics([...EXCHANGES], 900_000, now);
  for (const ex of EXCHANGES) m.declareExchange(ex, adapters[ex].streams, adapters[ex].contiguousTradeIds);
  return buildSnapshot({
    metrics: m,
    queueSize: 0,
    queueCapacity: 10,
    state: "OFFLINE",
    stateSinceMs: now,
    stateReasons: [],
    symbols: ["BTCUSDT"],
    streams: {},
    nowMs: now,
    rssBytes: 1,
    lag: { p50: 0, p99: 0, max: 0, samples: 0 },
    silentSubscriptions: [],
    connections: Object.fromEntries(EXCHANGES.map((ex) => [ex, { open: 0, planned: 0 }])),
  });
}
