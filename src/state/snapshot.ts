/** @module state/snapshot — the read-only view served by the status API and logged by the heartbeat. */
import type { Stream } from "../schema/rows.ts";
import type { CollectorState } from "./state.ts";
import { emptyLagHistogram, type LagHistogram, type LagStats } from "./lag.ts";
import type { SilentSubscription } from "./first-data.ts";
import { round1, type Metrics, type RejectedSubscription, type WriterCounters } from "./metrics.ts";

export interface HealthBody {
  status: "ok";
  uptime: number;
  last_event_ts: number | null;
  last_write_ts: number | null;
}

export interface StreamsBody {
  symbols: string[];
  streams: Record<string, Stream[]>;
}

export interface MetricsBody {
  queue_size: number;
  queue_maxsize: number;
  queue_utilization_pct: number;
  dropped_events_total: number;
  drops_15m: number;
  silence_intervals_15m: number;
  silence_intervals_total: number;
  ws_reconnect_total: Record<string, number>;
  /** Sockets closed by the per-connection watchdog (dead peer, missing pong), per exchange. */
  ws_watchdog_total: Record<string, number>;
  /** Make-before-break rotations started (Binance max age, OKX notice 64008), per exchange. */
  ws_rotations_total: Record<string, number>;
  reconnects_15m: number;
  /** REST order-book snapshots recorded (Binance book anchoring; 0 unless the book stream is on). */
  snapshot_fetches_total: number;
  snapshot_events_seen: number;
  gap_alignment_corrections: number;
  effective_data_loss_rate_pct: number;
  events_per_sec: Record<Stream, number>;
  events_total_by_stream: Record<Stream, number>;
  /** Events received per exchange and stream (lifetime). */
  events_total_by_exchange: Record<string, Partial<Record<Stream, number>>>;
  total_events: number;
  /** Events for instruments not configured (OKX's all-swaps liquidation feed): not recorded, not errors. */
  filtered_events_total: Record<string, Partial<Record<Stream, number>>>;
  parse_errors_total: number;
  parse_errors_by_reason: Record<string, number>;
  subscribe_errors_total: number;
  /** The latest subscriptions the venue rejected (newest last, at most 50), with the venue's error. */
  rejected_subscriptions: RejectedSubscription[];
  /** Missing trade ids detected on venues with contiguous ids (Binance, OKX). */
  trade_id_gaps_total: number;
  trade_id_gaps_by_exchange: Record<string, number>;
  /** `book` continuity breaks (each one resynced), per exchange with the book stream on. */
  book_gaps_total: Record<string, number>;
  /** Books (connection, symbol) whose recorded rows cannot be rebuilt right now: first snapshot, REST anchor or resync pending, per exchange (a gauge). */
  books_unsynced: Record<string, number>;
  /** REST order-book snapshot requests (Binance anchoring): sent, recorded, failed (rate_limited = 429/418), budget waits, weight spent in the last minute. */
  book_rest: { requests: number; snapshots: number; failures: number; rate_limited: number; waits: number; weight_used_1m: number };
  /** Implausible trade-id moves that re-anchored the sequence instead of counting gaps. */
  trade_id_jumps_total: number;
  trade_id_jumps_by_exchange: Record<string, number>;
  /** Subscriptions with no first event by their deadline, now (an unknown symbol, a wrong route). */
  silent_subscriptions: SilentSubscription[];
  silent_subscriptions_total: number;
  write_errors_total: number;
  connections: Record<string, { open: number; planned: number }>;
  state: CollectorState;
  rss_mb: number;
  /** How late the ingest thread's timers fire (ms) over the last minute: the thread that reads sockets. */
  event_loop_lag_ms: LagStats;
  writer: WriterCounters;
}

export interface StatusBody {
  state: CollectorState;
  since: string;
  reasons: string[];
  metrics: { queue_pct: number; silence_15m: number; drops_15m: number; reconnects_15m: number; rss_mb: number };
}

/** What only the Prometheus text carries (the JSON bodies above are the status API contract). */
export interface ProcessBody {
  cpu_seconds: number;
  rss_bytes: number;
  /** null where /proc is not readable. */
  open_fds: number | null;
  max_fds: number | null;
  start_time_seconds: number;
  lag_histogram: LagHistogram;
  build: { version: string; commit: string; schema_version: string };
}

export interface Snapshot {
  health: HealthBody;
  streams: StreamsBody;
  metrics: MetricsBody;
  status: StatusBody;
  process: ProcessBody;
}

/** What the writer and the storage report about writes (src/run/writes.ts composes it from their stats()). */
export interface WriteFacts {
  writer: Omit<WriterCounters, "spool_oldest_age_seconds">;
  /** When the oldest spooled file entered the spool (ms), null when empty (or no spool). */
  spoolOldestMs: number | null;
  writeErrorsTotal: number;
  /** The last file stored (local) or uploaded (S3), null until the first. */
  lastWriteTsMs: number | null;
}

export const NO_WRITES: WriteFacts = {
  writer: {
    total_written: 0,
    files_written: 0,
    pending_events: 0,
    active_buffers: 0,
    in_flight_uploads: 0,
    upload_failures: 0,
    files_uploaded: 0,
    spool_files: 0,
    spool_bytes: 0,
  },
  spoolOldestMs: null,
  writeErrorsTotal: 0,
  lastWriteTsMs: null,
};

export interface SnapshotInputs {
  metrics: Metrics;
  /** Writer and storage counters (tests may leave them out: zeros). */
  writes?: WriteFacts;
  queueSize: number;
  queueCapacity: number;
  state: CollectorState;
  stateSinceMs: number;
  stateReasons: string[];
  symbols: string[];
  streams: Record<string, Stream[]>;
  nowMs: number;
  rssBytes: number;
  lag: LagStats;
  silentSubscriptions: SilentSubscription[];
  /** Per exchange: open sockets (plans with one open) and sockets planned, as the venues count them. */
  connections: Record<string, { open: number; planned: number }>;
  /** Process and build facts for the Prometheus text (tests may leave them out: zeros). */
  process?: Partial<Omit<ProcessBody, "rss_bytes">>;
}

export function buildSnapshot(i: SnapshotInputs): Snapshot {
  const m = i.metrics;
  const w = i.writes ?? NO_WRITES;
  const queuePct = Math.round((i.queueSize / i.queueCapacity) * 10000) / 100;
  const drops15m = m.drops.sum(i.nowMs);
  const silence15m = m.silence.sum(i.nowMs);
  const reconnects15m = m.reconnects.sum(i.nowMs);
  const rssMb = round1(i.rssBytes / 1048576);
  // Known losses over events that existed: received events plus trades known to be missing.
  const lost = m.droppedTotal + m.tradeIdGapsTotal;
  const existed = m.totalEvents + m.tradeIdGapsTotal;
  const lossPct = existed === 0 ? 0 : Math.round((lost / existed) * 100 * 10000) / 10000;
  return {
    health: {
      status: "ok",
      uptime: Math.round((i.nowMs - m.startedAtMs) / 10) / 100,
      last_event_ts: m.lastEventTsMs,
      last_write_ts: w.lastWriteTsMs,
    },
    streams: { symbols: [...i.symbols], streams: structuredClone(i.streams) },
    metrics: {
      queue_size: i.queueSize,
      queue_maxsize: i.queueCapacity,
      queue_utilization_pct: queuePct,
      dropped_events_total: m.droppedTotal,
      drops_15m: drops15m,
      silence_intervals_15m: silence15m,
      silence_intervals_total: m.silenceTotal,
      ws_reconnect_total: { ...m.reconnectTotal },
      ws_watchdog_total: { ...m.watchdogTotal },
      ws_rotations_total: { ...m.rotationsTotal },
      reconnects_15m: reconnects15m,
      snapshot_fetches_total: m.bookRest.snapshots,
      snapshot_events_seen: 0,
      gap_alignment_corrections: 0,
      effective_data_loss_rate_pct: lossPct,
      events_per_sec: m.eventsPerSec(),
      events_total_by_stream: { ...m.eventsByStream },
      events_total_by_exchange: structuredClone(m.eventsByExchange),
      total_events: m.totalEvents,
      filtered_events_total: structuredClone(m.filteredByExchange),
      parse_errors_total: m.parseErrorsTotal,
      parse_errors_by_reason: { ...m.parseErrorsByReason },
      subscribe_errors_total: m.subscribeErrorsTotal,
      rejected_subscriptions: structuredClone(m.rejectedSubscriptions),
      trade_id_gaps_total: m.tradeIdGapsTotal,
      trade_id_gaps_by_exchange: { ...m.tradeIdGapsByExchange },
      book_gaps_total: { ...m.bookGapsByExchange },
      books_unsynced: { ...m.booksUnsynced },
      book_rest: {
        requests: m.bookRest.requests,
        snapshots: m.bookRest.snapshots,
        failures: m.bookRest.failures,
        rate_limited: m.bookRest.rateLimited,
        waits: m.bookRest.waits,
        weight_used_1m: m.bookRest.weightUsed1m,
      },
      trade_id_jumps_total: m.tradeIdJumpsTotal,
      trade_id_jumps_by_exchange: { ...m.tradeIdJumpsByExchange },
      silent_subscriptions: i.silentSubscriptions,
      silent_subscriptions_total: m.silentSubscriptionsTotal,
      write_errors_total: w.writeErrorsTotal,
      connections: structuredClone(i.connections),
      state: i.state,
      rss_mb: rssMb,
      event_loop_lag_ms: i.lag,
      writer: { ...w.writer, spool_oldest_age_seconds: w.spoolOldestMs === null ? 0 : Math.max(0, Math.round((i.nowMs - w.spoolOldestMs) / 100) / 10) },
    },
    status: {
      state: i.state,
      since: new Date(i.stateSinceMs).toISOString(),
      reasons: i.stateReasons,
      metrics: { queue_pct: queuePct, silence_15m: silence15m, drops_15m: drops15m, reconnects_15m: reconnects15m, rss_mb: rssMb },
    },
    process: {
      cpu_seconds: i.process?.cpu_seconds ?? 0,
      rss_bytes: i.rssBytes,
      open_fds: i.process?.open_fds ?? null,
      max_fds: i.process?.max_fds ?? null,
      start_time_seconds: i.process?.start_time_seconds ?? m.startedAtMs / 1000,
      lag_histogram: i.process?.lag_histogram ?? emptyLagHistogram(),
      build: i.process?.build ?? { version: "", commit: "", schema_version: "" },
    },
  };
}
