/**
 * @module state/metrics — the counters and gauges of ingest, connections and books; status reads a snapshot.
 * The writer and the storage count their own (Writer.stats(), Storage.stats()): src/run/writes.ts pulls them.
 */
import { STREAMS, type ExchangeId, type Stream } from "../schema/rows.ts";
import { RollingCounter } from "./rolling.ts";

const EPS_WINDOW_S = 10;

export interface WriterCounters {
  total_written: number;
  files_written: number;
  pending_events: number;
  active_buffers: number;
  in_flight_uploads: number;
  upload_failures: number;
  /** STORAGE_BACKEND=s3: files uploaded to S3 and removed from the spool (0 with local storage). */
  files_uploaded: number;
  /** Files (and their bytes) durable in the local spool, waiting for S3. */
  spool_files: number;
  spool_bytes: number;
  /** Age of the oldest spooled file in seconds (0 when the spool is empty). */
  spool_oldest_age_seconds: number;
}

/** A subscription the venue refused (unknown symbol, bad topic): visible in /metrics, not only in the log. */
export interface RejectedSubscription {
  exchange: string;
  conn_id: string;
  /** Venue topics of the refused request (`tickers.FOOUSDT`, `bbo-tbt:FOO-USDT-SWAP`); empty if the venue names none. */
  topics: string[];
  /** The venue's own error text and code. */
  error: string;
  ts_ms: number;
}

const REJECTED_KEPT = 50;

export class Metrics {
  readonly startedAtMs: number;
  totalEvents = 0;
  readonly eventsByStream: Record<Stream, number>;
  readonly eventsByExchange: Record<string, Partial<Record<Stream, number>>> = {};
  lastEventTsMs: number | null = null;

  droppedTotal = 0;
  readonly drops: RollingCounter;
  silenceTotal = 0;
  readonly silence: RollingCounter;
  readonly reconnectTotal: Record<string, number> = {};
  /** Connections the watchdog declared dead (no frame / no pong in time), per exchange (docs/venues.md §0). */
  readonly watchdogTotal: Record<string, number> = {};
  /** Make-before-break replacements started (max age, venue notice), per exchange. */
  readonly rotationsTotal: Record<string, number> = {};
  readonly reconnects: RollingCounter;
  parseErrorsTotal = 0;
  readonly parseErrorsByReason: Record<string, number> = {};
  subscribeErrorsTotal = 0;
  /** Trade ids the venue skipped on contiguous-id venues: trades that happened and never arrived. */
  tradeIdGapsTotal = 0;
  /** The latest subscriptions the venue rejected, with its words (newest last, at most REJECTED_KEPT). */
  readonly rejectedSubscriptions: RejectedSubscription[] = [];
  /** Subscriptions reported silent (no first event by the deadline), lifetime. */
  silentSubscriptionsTotal = 0;
  readonly tradeIdGapsByExchange: Record<string, number> = {};
  /** `book` continuity breaks seen by the collector, per exchange (issue 11). */
  readonly bookGapsByExchange: Record<string, number> = {};
  /** Gauge: books (connection, symbol) with rows but no valid anchor now (first snapshot, REST anchor or resync pending). */
  readonly booksUnsynced: Record<string, number> = {};
  /** REST order-book snapshots (Binance anchoring): requests sent, snapshots recorded, failures (429/418 among them), budget waits. */
  readonly bookRest = { requests: 0, snapshots: 0, failures: 0, rateLimited: 0, waits: 0, weightUsed1m: 0 };
  /** Implausible trade-id moves (outliers, venue re-basing) that re-anchored the sequence. */
  tradeIdJumpsTotal = 0;
  readonly tradeIdJumpsByExchange: Record<string, number> = {};
  /**
   * Events for instruments not configured, per exchange and stream: not recorded, not errors, not in
   * totalEvents (OKX `liquidation-orders` is one feed for every swap).
   */
  readonly filteredByExchange: Record<string, Partial<Record<Stream, number>>> = {};
  // events_per_sec: per-stream lifetime counts sampled once a second over a 10 s window.
  private readonly epsSamples: Array<Record<Stream, number>> = [];
  private eps: Record<Stream, number>;

  constructor(exchanges: readonly ExchangeId[], windowMs: number, nowMs = Date.now()) {
    this.startedAtMs = nowMs;
    this.eventsByStream = zeroStreams();
    this.eps = zeroStreams();
    this.drops = new RollingCounter(windowMs, 60, nowMs);
    this.silence = new RollingCounter(windowMs, 60, nowMs);
    this.reconnects = new RollingCounter(windowMs, 60, nowMs);
    for (const ex of exchanges) {
      this.reconnectTotal[ex] = 0;
      this.watchdogTotal[ex] = 0;
      this.rotationsTotal[ex] = 0;
    }
  }

  /**
   * What a configured venue can deliver, so its per-exchange series exist (at 0) from the start:
   * a Prometheus `increase()` then sees the first event, gap or silence instead of a new series.
   */
  declareExchange(exchange: ExchangeId, streams: readonly Stream[], contiguousTradeIds: boolean): void {
    const by = (this.eventsByExchange[exchange] ??= {});
    for (const st of streams) by[st] ??= 0;
    if (contiguousTradeIds) {
      this.tradeIdGapsByExchange[exchange] ??= 0;
      this.tradeIdJumpsByExchange[exchange] ??= 0;
    }
    if (streams.includes("book")) {
      this.bookGapsByExchange[exchange] ??= 0;
      this.booksUnsynced[exchange] ??= 0;
    }
    // The liquidation feeds are where unconfigured instruments arrive (OKX: every swap).
    if (streams.includes("liquidation")) (this.filteredByExchange[exchange] ??= {}).liquidation ??= 0;
  }

  recordBookGap(exchange: string): void {
    this.bookGapsByExchange[exchange] = (this.bookGapsByExchange[exchange] ?? 0) + 1;
  }

  recordFiltered(exchange: string, stream: Stream, count: number): void {
    const by = (this.filteredByExchange[exchange] ??= {});
    by[stream] = (by[stream] ?? 0) + count;
  }

  recordEvent(exchange: string, stream: Stream, nowMs: number): void {
    this.totalEvents++;
    this.eventsByStream[stream]++;
    const by = (this.eventsByExchange[exchange] ??= {});
    by[stream] = (by[stream] ?? 0) + 1;
    this.lastEventTsMs = nowMs;
  }

  /** Events lost: a full queue (one at a time), or rows a failed shutdown or a dead encoder could not write. */
  recordDrop(nowMs: number, count = 1): void {
    this.droppedTotal += count;
    this.drops.add(count, nowMs);
  }

  recordTradeIdGap(exchange: string, missing: number): void {
    this.tradeIdGapsTotal += missing;
    this.tradeIdGapsByExchange[exchange] = (this.tradeIdGapsByExchange[exchange] ?? 0) + missing;
  }

  /** An implausible trade-id move (state/trade-gaps.ts): re-anchored, not counted as missing trades. */
  recordTradeIdJump(exchange: string): void {
    this.tradeIdJumpsTotal++;
    this.tradeIdJumpsByExchange[exchange] = (this.tradeIdJumpsByExchange[exchange] ?? 0) + 1;
  }

  recordSubscribeError(rejected: RejectedSubscription): void {
    this.subscribeErrorsTotal++;
    this.rejectedSubscriptions.push(rejected);
    if (this.rejectedSubscriptions.length > REJECTED_KEPT) this.rejectedSubscriptions.shift();
  }

  recordSilence(nowMs: number): void {
    this.silenceTotal++;
    this.silence.add(1, nowMs);
  }

  recordReconnect(exchange: string, nowMs: number): void {
    this.reconnectTotal[exchange] = (this.reconnectTotal[exchange] ?? 0) + 1;
    this.reconnects.add(1, nowMs);
  }

  recordParseError(reason: string): void {
    this.parseErrorsTotal++;
    this.parseErrorsByReason[reason] = (this.parseErrorsByReason[reason] ?? 0) + 1;
  }

  /** Called once a second. */
  sampleRates(): void {
    this.epsSamples.push({ ...this.eventsByStream });
    if (this.epsSamples.length > EPS_WINDOW_S + 1) this.epsSamples.shift();
    const first = this.epsSamples[0]!;
    const span = this.epsSamples.length - 1;
    const eps = zeroStreams();
    if (span > 0) for (const s of STREAMS) eps[s] = round1((this.eventsByStream[s] - first[s]) / span);
    this.eps = eps;
  }

  eventsPerSec(): Record<Stream, number> {
    return { ...this.eps };
  }
}

/**
 * Parse-error classes: the bounded label values of `parse_errors_total` in Prometheus (the venue
 * adapters' reasons carry venue strings, e.g. `unknown_event:<event>` or `<channel>:missing:<field>`;
 * /metrics keeps them verbatim in `parse_errors_by_reason`). Every class is exported from the start.
 */
export const PARSE_ERROR_CLASSES = [
  "invalid_json",
  "not_an_object",
  "bad_envelope",
  "unknown_message",
  "unknown_event",
  "unknown_topic",
  "empty_event",
  "parser_exception",
  "invalid_field",
  "other",
] as const;
export type ParseErrorClass = (typeof PARSE_ERROR_CLASSES)[number];

export function parseErrorClass(reason: string): ParseErrorClass {
  const head = reason.split(":")[0]!;
  if ((PARSE_ERROR_CLASSES as readonly string[]).includes(head) && head !== "invalid_field" && head !== "other") return head as ParseErrorClass;
  // `<event or channel>:<missing|bad_number|bad_integer|bad_string|bad_id|bad_bool>:<field>` (exchanges/fields.ts)
  if (/:(missing|bad_[a-z]+):/.test(reason)) return "invalid_field";
  return "other";
}

function zeroStreams(): Record<Stream, number> {
  return { bbo: 0, trade: 0, mark_price: 0, funding: 0, open_interest: 0, liquidation: 0, book: 0 };
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
