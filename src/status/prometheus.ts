/** @module status/prometheus — /metrics as Prometheus text exposition (format 0.0.4). */
import { LAG_BUCKETS_S } from "../state/lag.ts";
import { PARSE_ERROR_CLASSES, parseErrorClass } from "../state/metrics.ts";
import type { Snapshot } from "../state/snapshot.ts";

type Sample = { labels?: Record<string, string>; value: number };

const PREFIX = "quantlab_collector_";
/** The client libraries' standard process metrics carry no prefix, so generic dashboards find them. */
const NO_PREFIX = "";

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels?: Record<string, string>): string {
  return labels && Object.keys(labels).length > 0
    ? `{${Object.entries(labels)
        .map(([k, v]) => `${k}="${esc(v)}"`)
        .join(",")}}`
    : "";
}

function family(out: string[], name: string, type: "counter" | "gauge", help: string, samples: Sample[], prefix = PREFIX): void {
  out.push(`# HELP ${prefix}${name} ${help}`);
  out.push(`# TYPE ${prefix}${name} ${type}`);
  for (const s of samples) out.push(`${prefix}${name}${labelText(s.labels)} ${Number.isFinite(s.value) ? s.value : 0}`);
}

function histogram(out: string[], name: string, help: string, bounds: readonly number[], cumulative: number[], sum: number, count: number): void {
  out.push(`# HELP ${PREFIX}${name} ${help}`);
  out.push(`# TYPE ${PREFIX}${name} histogram`);
  bounds.forEach((le, i) => out.push(`${PREFIX}${name}_bucket{le="${le}"} ${cumulative[i] ?? 0}`));
  out.push(`${PREFIX}${name}_bucket{le="+Inf"} ${count}`);
  out.push(`${PREFIX}${name}_sum ${sum}`);
  out.push(`${PREFIX}${name}_count ${count}`);
}

const one = (value: number | null): Sample[] => [{ value: value ?? 0 }];

/** The process, its build, its state and its last event and write. */
function identity(out: string[], s: Snapshot): void {
  const m = s.metrics;
  const p = s.process;
  family(out, "up", "gauge", "1 while the collector process serves this endpoint.", one(1));
  family(out, "build_info", "gauge", "Always 1; the labels say which build runs.", [
    { labels: { version: p.build.version, commit: p.build.commit, schema_version: p.build.schema_version }, value: 1 },
  ]);
  family(
    out,
    "state",
    "gauge",
    "1 for the current state (READY, DEGRADED, OFFLINE, ERROR), 0 for the others.",
    ["READY", "DEGRADED", "OFFLINE", "ERROR"].map((st) => ({ labels: { state: st }, value: st === m.state ? 1 : 0 })),
  );
  family(out, "uptime_seconds", "gauge", "Seconds since the collector started.", one(s.health.uptime));
  family(
    out,
    "last_event_timestamp_seconds",
    "gauge",
    "Unix time of the last event received (0 before the first).",
    one(s.health.last_event_ts === null ? null : s.health.last_event_ts / 1000),
  );
  family(
    out,
    "last_write_timestamp_seconds",
    "gauge",
    "Unix time of the last file written (0 before the first).",
    one(s.health.last_write_ts === null ? null : s.health.last_write_ts / 1000),
  );
}

/** The ingest queue, drops and silences. */
function queueAndLoss(out: string[], s: Snapshot): void {
  const m = s.metrics;
  family(out, "queue_size", "gauge", "Events waiting in the ingest queue.", one(m.queue_size));
  family(out, "queue_capacity", "gauge", "Capacity of the ingest queue (QUEUE_SIZE).", one(m.queue_maxsize));
  family(
    out,
    "queue_utilization_ratio",
    "gauge",
    "Queue fill level, 0 to 1 (above 0.8 the state is DEGRADED).",
    one(m.queue_maxsize > 0 ? m.queue_size / m.queue_maxsize : 0),
  );
  family(out, "dropped_events_total", "counter", "Events dropped because the queue was full.", one(m.dropped_events_total));
  family(out, "dropped_events_window", "gauge", "Events dropped in the rolling window (15 min by default; /metrics drops_15m).", one(m.drops_15m));
  family(out, "silence_intervals_total", "counter", "Silence intervals opened on mark_price/funding/open_interest streams.", one(m.silence_intervals_total));
  family(out, "silence_intervals_window", "gauge", "Silence intervals opened in the rolling window (15 min by default).", one(m.silence_intervals_15m));
}

/** WebSocket reconnects, watchdog closes, rotations, open and planned sockets. */
function connections(out: string[], s: Snapshot): void {
  const m = s.metrics;
  family(
    out,
    "ws_reconnect_total",
    "counter",
    "WebSocket reconnects per exchange.",
    Object.entries(m.ws_reconnect_total).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })),
  );
  family(
    out,
    "ws_watchdog_total",
    "counter",
    "Sockets the per-connection watchdog closed (no frame or no pong in time), per exchange.",
    Object.entries(m.ws_watchdog_total).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })),
  );
  family(
    out,
    "ws_rotations_total",
    "counter",
    "Make-before-break connection rotations started (max age, venue notice), per exchange.",
    Object.entries(m.ws_rotations_total).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })),
  );
  family(
    out,
    "ws_reconnects_window",
    "gauge",
    "WebSocket reconnects in the rolling window, all exchanges (15 min by default; /metrics reconnects_15m).",
    one(m.reconnects_15m),
  );
  family(
    out,
    "ws_connections_open",
    "gauge",
    "Open WebSocket connections per exchange.",
    Object.entries(m.connections).map(([ex, c]) => ({ labels: { exchange: ex }, value: c.open })),
  );
  family(
    out,
    "ws_connections_planned",
    "gauge",
    "WebSocket connections the configuration needs per exchange.",
    Object.entries(m.connections).map(([ex, c]) => ({ labels: { exchange: ex }, value: c.planned })),
  );
}

/** Events received, filtered, their rate and the lifetime loss ratio. */
function events(out: string[], s: Snapshot): void {
  const m = s.metrics;
  family(
    out,
    "events_total",
    "counter",
    "Events received, per exchange and stream (every stream the exchange delivers, from 0).",
    Object.entries(m.events_total_by_exchange).flatMap(([ex, by]) => Object.entries(by).map(([st, v]) => ({ labels: { exchange: ex, stream: st }, value: v }))),
  );
  family(
    out,
    "filtered_events_total",
    "counter",
    "Events for instruments not configured (OKX liquidation-orders carries every swap): not recorded and not errors, per exchange and stream.",
    Object.entries(m.filtered_events_total).flatMap(([ex, by]) => Object.entries(by).map(([st, v]) => ({ labels: { exchange: ex, stream: st }, value: v }))),
  );
  family(
    out,
    "events_per_second",
    "gauge",
    "Events per second over the last 10 s, per stream.",
    Object.entries(m.events_per_sec).map(([st, v]) => ({ labels: { stream: st }, value: v })),
  );
  const existed = m.total_events + m.trade_id_gaps_total;
  family(
    out,
    "effective_data_loss_ratio",
    "gauge",
    "(dropped events + missing trade ids) / (events received + missing trade ids), 0 to 1, lifetime.",
    one(existed === 0 ? 0 : (m.dropped_events_total + m.trade_id_gaps_total) / existed),
  );
}

/** Trade-id and order-book continuity, Binance REST book anchoring. */
function continuity(out: string[], s: Snapshot): void {
  const m = s.metrics;
  family(
    out,
    "trade_id_gaps_total",
    "counter",
    "Trade ids skipped on venues with contiguous ids (trades that happened and never arrived), per exchange.",
    Object.entries(m.trade_id_gaps_by_exchange).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })),
  );
  family(
    out,
    "book_gaps_total",
    "counter",
    "Order-book continuity breaks (each resynced), per exchange with the book stream on.",
    Object.entries(m.book_gaps_total).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })),
  );
  family(
    out,
    "books_unsynced",
    "gauge",
    "Order books (connection, symbol) whose recorded rows cannot be rebuilt now: first snapshot, REST anchor or resync pending.",
    Object.entries(m.books_unsynced).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })),
  );
  family(out, "book_rest_requests_total", "counter", "REST order-book snapshot requests sent (Binance book anchoring).", one(m.book_rest.requests));
  family(out, "book_rest_snapshots_total", "counter", "REST order-book snapshots recorded as book rows with source=rest.", one(m.book_rest.snapshots));
  family(
    out,
    "book_rest_failures_total",
    "counter",
    "REST order-book snapshot requests that failed (HTTP error, timeout, bad body), 429/418 included.",
    one(m.book_rest.failures),
  );
  family(out, "book_rest_rate_limited_total", "counter", "REST order-book snapshot requests answered 429 or 418.", one(m.book_rest.rate_limited));
  family(
    out,
    "book_rest_waits_total",
    "counter",
    "Times REST order-book snapshots waited for the weight budget or a rate-limit pause.",
    one(m.book_rest.waits),
  );
  family(
    out,
    "book_rest_weight_used",
    "gauge",
    "REST request weight spent in the last minute (budget BINANCE_REST_WEIGHT_PER_MINUTE).",
    one(m.book_rest.weight_used_1m),
  );
  family(
    out,
    "trade_id_jumps_total",
    "counter",
    "Implausible trade-id moves (outliers) that re-anchored the sequence instead of counting missing trades, per exchange.",
    Object.entries(m.trade_id_jumps_by_exchange).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })),
  );
}

/** Parse errors by class, silent and refused subscriptions. */
function parseAndSubscriptions(out: string[], s: Snapshot): void {
  const m = s.metrics;
  const parseBy: Record<string, number> = Object.fromEntries(PARSE_ERROR_CLASSES.map((c) => [c, 0]));
  for (const [r, v] of Object.entries(m.parse_errors_by_reason)) parseBy[parseErrorClass(r)]! += v;
  family(
    out,
    "parse_errors_total",
    "counter",
    "Frames skipped because they could not be parsed into valid rows, per reason class (verbatim reasons: /metrics parse_errors_by_reason).",
    Object.entries(parseBy).map(([r, v]) => ({ labels: { reason: r }, value: v })),
  );
  const silentBy: Record<string, number> = Object.fromEntries(Object.keys(m.connections).map((ex) => [ex, 0]));
  for (const sub of m.silent_subscriptions) silentBy[sub.exchange] = (silentBy[sub.exchange] ?? 0) + 1;
  family(
    out,
    "silent_subscriptions",
    "gauge",
    "Subscriptions with no first event by their deadline, now, per exchange.",
    Object.entries(silentBy).map(([ex, v]) => ({ labels: { exchange: ex }, value: v })),
  );
  family(out, "silent_subscriptions_total", "counter", "Subscriptions reported silent, lifetime.", one(m.silent_subscriptions_total));
  family(out, "subscribe_errors_total", "counter", "Subscriptions the venue rejected.", one(m.subscribe_errors_total));
}

/** Rows and files written, uploads, the spool, storage errors. */
function writes(out: string[], s: Snapshot): void {
  const m = s.metrics;
  family(out, "written_events_total", "counter", "Rows written to storage.", one(m.writer.total_written));
  family(out, "files_written_total", "counter", "Parquet files written to storage.", one(m.writer.files_written));
  family(out, "pending_events", "gauge", "Rows buffered or being written, not yet durable.", one(m.writer.pending_events));
  family(out, "active_buffers", "gauge", "Partitions with buffered rows.", one(m.writer.active_buffers));
  family(out, "in_flight_uploads", "gauge", "Storage writes in progress (S3 uploads with STORAGE_BACKEND=s3).", one(m.writer.in_flight_uploads));
  family(
    out,
    "upload_failures_total",
    "counter",
    "Failed storage write attempts, S3 upload attempts with STORAGE_BACKEND=s3 (each is retried).",
    one(m.writer.upload_failures),
  );
  family(out, "files_uploaded_total", "counter", "Files uploaded to S3 and removed from the spool (STORAGE_BACKEND=s3).", one(m.writer.files_uploaded));
  family(out, "spool_files", "gauge", "Files in the local spool waiting for S3.", one(m.writer.spool_files));
  family(out, "spool_bytes", "gauge", "Bytes in the local spool waiting for S3.", one(m.writer.spool_bytes));
  family(out, "spool_oldest_age_seconds", "gauge", "Age of the oldest file waiting in the spool (0 when empty).", one(m.writer.spool_oldest_age_seconds));
  family(
    out,
    "write_errors_total",
    "counter",
    "Storage errors of any kind: failed writes plus failed start-up probes of the storage.",
    one(m.write_errors_total),
  );
}

/** Event-loop lag and the standard (unprefixed) process metrics. */
function runtime(out: string[], s: Snapshot): void {
  const p = s.process;
  const h = p.lag_histogram;
  histogram(
    out,
    "event_loop_lag_seconds",
    "How late a 20 ms timer fires on the ingest (socket-reading) thread, lifetime.",
    LAG_BUCKETS_S,
    h.buckets,
    h.sumSeconds,
    h.count,
  );
  family(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", one(p.cpu_seconds), NO_PREFIX);
  family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", one(p.rss_bytes), NO_PREFIX);
  if (p.open_fds !== null) family(out, "process_open_fds", "gauge", "Number of open file descriptors.", one(p.open_fds), NO_PREFIX);
  if (p.max_fds !== null) family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors (LimitNOFILE).", one(p.max_fds), NO_PREFIX);
  family(out, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.", one(p.start_time_seconds), NO_PREFIX);
}

const SECTIONS: ReadonlyArray<(out: string[], s: Snapshot) => void> = [
  identity,
  queueAndLoss,
  connections,
  events,
  continuity,
  parseAndSubscriptions,
  writes,
  runtime,
];

/** Every family in a fixed order: the sections above, each a group of related families. */
export function renderPrometheus(s: Snapshot): string {
  const out: string[] = [];
  for (const section of SECTIONS) section(out, s);
  return out.join("\n") + "\n";
}
