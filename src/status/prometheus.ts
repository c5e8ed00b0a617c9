/** @module status/prometheus — /metrics as Prometheus text exposition (format 0.0.4). */
import type { Snapshot } from "../state/snapshot.ts";

type Sample = { labels?: Record<string, string>; value: number };

const PREFIX = "quantlab_collector_";

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function family(out: string[], name: string, type: "counter" | "gauge", help: string, samples: Sample[]): void {
  out.push(`# HELP ${PREFIX}${name} ${help}`);
  out.push(`# TYPE ${PREFIX}${name} ${type}`);
  for (const s of samples) {
    const labels = s.labels && Object.keys(s.labels).length > 0 ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${esc(v)}"`).join(",")}}` : "";
    out.push(`${PREFIX}${name}${labels} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
}

const one = (value: number | null): Sample[] => [{ value: value ?? 0 }];

export function renderPrometheus(s: Snapshot): string {
  const m = s.metrics;
  const out: string[] = [];
  family(out, "up", "gauge", "1 while the collector process serves this endpoint.", one(1));
  family(out, "state", "gauge", "1 for the current state (READY, DEGRADED, OFFLINE, ERROR), 0 for the others.", ["READY", "DEGRADED", "OFFLINE", "ERROR"].map((st) => ({ labels: { state: st }, value: st === m.state ? 1 : 0 })));
  family(out, "uptime_seconds", "gauge", "Seconds since the collector started.", one(s.health.uptime));
  family(out, "last_event_timestamp_seconds", "gauge", "Unix time of the last event received (0 before the first).", one(s.health.last_event_ts === null ? null : s.health.last_event_ts / 1000));
  family(out, "last_write_timestamp_seconds", "gauge", "Unix time of the last file written (0 before the first).", one(s.health.last_write_ts === null ? null : s.health.last_write_ts / 1000));
  family(out, "queue_size", "gauge", "Events waiting in the ingest queue.", one(m.queue_size));
  family(out, "queue_capacity", "gauge", "Capacity of the ingest queue (QUEUE_SIZE).", one(m.queue_maxsize));
  family(out, "queue_utilization_percent", "gauge", "Queue fill level in percent.", one(m.queue_utilization_pct));
  family(out, "dropped_events_total", "counter", "Events dropped because the queue was full.", one(m.dropped_events_total));
  family(out, "dropped_events_window", "gauge", "Events dropped in the rolling window (15 min by default; /metrics drops_15m).", one(m.drops_15m));
  family(out, "silence_intervals_total", "counter", "Silence intervals opened on mark_price/funding/open_interest streams.", one(m.silence_intervals_total));
  family(out, "silence_intervals_window", "gauge", "Silence intervals opened in the rolling window (15 min by default).", one(m.silence_intervals_15m));
  family(out, "ws_reconnect_total", "counter", "WebSocket reconnects per exchange.", Object.entries(m.ws_reconnect_total).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })));
  family(out, "ws_watchdog_total", "counter", "Sockets the per-connection watchdog closed (no frame or no pong in time), per exchange.", Object.entries(m.ws_watchdog_total).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })));
  family(out, "ws_rotations_total", "counter", "Make-before-break connection rotations started (max age, venue notice), per exchange.", Object.entries(m.ws_rotations_total).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })));
  family(out, "ws_reconnects_window", "gauge", "WebSocket reconnects in the rolling window, all exchanges (15 min by default; /metrics reconnects_15m).", one(m.reconnects_15m));
  family(out, "ws_connections_open", "gauge", "Open WebSocket connections per exchange.", Object.entries(m.connections).map(([ex, c]) => ({ labels: { exchange: ex }, value: c.open })));
  family(out, "ws_connections_planned", "gauge", "WebSocket connections the configuration needs per exchange.", Object.entries(m.connections).map(([ex, c]) => ({ labels: { exchange: ex }, value: c.planned })));
  family(out, "events_total", "counter", "Events received, per stream.", Object.entries(m.events_total_by_stream).map(([st, v]) => ({ labels: { stream: st }, value: v })));
  family(out, "exchange_events_total", "counter", "Events received, per exchange and stream.", Object.entries(m.events_total_by_exchange).flatMap(([ex, by]) => Object.entries(by).map(([st, v]) => ({ labels: { exchange: ex, stream: st }, value: v }))));
  family(out, "filtered_events_total", "counter", "Events for instruments not configured (OKX liquidation-orders carries every swap): not recorded and not errors, per exchange and stream.", Object.entries(m.filtered_events_total).flatMap(([ex, by]) => Object.entries(by).map(([st, v]) => ({ labels: { exchange: ex, stream: st }, value: v }))));
  family(out, "events_per_second", "gauge", "Events per second over the last 10 s, per stream.", Object.entries(m.events_per_sec).map(([st, v]) => ({ labels: { stream: st }, value: v })));
  family(out, "effective_data_loss_rate_percent", "gauge", "(dropped events + missing trade ids) / (events received + missing trade ids), in percent.", one(m.effective_data_loss_rate_pct));
  family(out, "trade_id_gaps_total", "counter", "Trade ids skipped on venues with contiguous ids (trades that happened and never arrived), per exchange.", Object.entries(m.trade_id_gaps_by_exchange).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })));
  family(out, "book_gaps_total", "counter", "Order-book continuity breaks (each resynced), per exchange with the book stream on.", Object.entries(m.book_gaps_total).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })));
  family(out, "book_rest_requests_total", "counter", "REST order-book snapshot requests sent (Binance book anchoring).", one(m.book_rest.requests));
  family(out, "book_rest_snapshots_total", "counter", "REST order-book snapshots recorded as book rows with source=rest.", one(m.book_rest.snapshots));
  family(out, "book_rest_failures_total", "counter", "REST order-book snapshot requests that failed (HTTP error, timeout, bad body), 429/418 included.", one(m.book_rest.failures));
  family(out, "book_rest_rate_limited_total", "counter", "REST order-book snapshot requests answered 429 or 418.", one(m.book_rest.rate_limited));
  family(out, "book_rest_waits_total", "counter", "Times REST order-book snapshots waited for the weight budget or a rate-limit pause.", one(m.book_rest.waits));
  family(out, "book_rest_weight_used", "gauge", "REST request weight spent in the last minute (budget BINANCE_REST_WEIGHT_PER_MINUTE).", one(m.book_rest.weight_used_1m));
  family(out, "parse_errors_total", "counter", "Frames skipped because they could not be parsed into valid rows, per reason.", Object.entries(m.parse_errors_by_reason).map(([r, v]) => ({ labels: { reason: r }, value: v })));
  const silentBy: Record<string, number> = Object.fromEntries(Object.keys(m.connections).map((ex) => [ex, 0]));
  for (const sub of m.silent_subscriptions) silentBy[sub.exchange] = (silentBy[sub.exchange] ?? 0) + 1;
  family(out, "silent_subscriptions", "gauge", "Subscriptions with no first event by their deadline, now, per exchange.", Object.entries(silentBy).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })));
  family(out, "silent_subscriptions_total", "counter", "Subscriptions reported silent, lifetime.", one(m.silent_subscriptions_total));
  family(out, "subscribe_errors_total", "counter", "Subscriptions the venue rejected.", one(m.subscribe_errors_total));
  family(out, "written_events_total", "counter", "Rows written to storage.", one(m.writer.total_written));
  family(out, "files_written_total", "counter", "Parquet files written to storage.", one(m.writer.files_written));
  family(out, "pending_events", "gauge", "Rows buffered or being written, not yet durable.", one(m.writer.pending_events));
  family(out, "active_buffers", "gauge", "Partitions with buffered rows.", one(m.writer.active_buffers));
  family(out, "in_flight_uploads", "gauge", "Storage writes in progress (S3 uploads with STORAGE_BACKEND=s3).", one(m.writer.in_flight_uploads));
  family(out, "upload_failures_total", "counter", "Failed storage write attempts, S3 upload attempts with STORAGE_BACKEND=s3 (each is retried).", one(m.writer.upload_failures));
  family(out, "files_uploaded_total", "counter", "Files uploaded to S3 and removed from the spool (STORAGE_BACKEND=s3).", one(m.writer.files_uploaded));
  family(out, "spool_files", "gauge", "Files in the local spool waiting for S3.", one(m.writer.spool_files));
  family(out, "spool_bytes", "gauge", "Bytes in the local spool waiting for S3.", one(m.writer.spool_bytes));
  family(out, "spool_oldest_age_seconds", "gauge", "Age of the oldest file waiting in the spool (0 when empty).", one(m.writer.spool_oldest_age_seconds));
  family(out, "write_errors_total", "counter", "Storage errors of any kind: failed writes plus failed start-up probes of the storage.", one(m.write_errors_total));
  family(out, "event_loop_lag_milliseconds", "gauge", "Ingest-thread event-loop lag over the last minute, by quantile.", [
    { labels: { quantile: "0.5" }, value: m.event_loop_lag_ms.p50 },
    { labels: { quantile: "0.99" }, value: m.event_loop_lag_ms.p99 },
    { labels: { quantile: "1" }, value: m.event_loop_lag_ms.max },
  ]);
  family(out, "rss_bytes", "gauge", "Resident set size of the process.", one(Math.round(m.rss_mb * 1048576)));
  return out.join("\n") + "\n";
}
