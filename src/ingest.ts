/**
 * @module ingest — what every parsed row and connection event does on the socket-reading thread:
 * metrics, silence, first-data and trade-id tracking, the bounded queue (a full queue is a counted
 * drop, never a wait), and the persisted `connection` stream. Venue-agnostic.
 */
import { nowUs } from "./clock.ts";
import type { Logger } from "./log.ts";
import type { BoundedQueue } from "./pipeline/queue.ts";
import {
  SPORADIC_STREAMS,
  type BookRow,
  type ConnectionEventKind,
  type ConnectionRow,
  type ExchangeId,
  type RecordRow,
  type Row,
  type Stream,
  type TradeRow,
} from "./schema/rows.ts";
import type { FirstDataTracker } from "./state/first-data.ts";
import type { Metrics } from "./state/metrics.ts";
import { SILENCE_MONITORED, type SilenceTracker } from "./state/silence.ts";
import type { TradeIdGapTracker } from "./state/trade-gaps.ts";
import type { Connection } from "./ws/connection.ts";
import type { SupervisorHooks } from "./ws/supervisor.ts";

export interface IngestDeps {
  metrics: Metrics;
  queue: BoundedQueue<RecordRow>;
  /** Where `connection` rows go (the writer: they bypass the queue, so they are never dropped). */
  record(row: ConnectionRow): void;
  log: Logger;
  silence: SilenceTracker;
  firstData: FirstDataTracker;
  tradeGaps: TradeIdGapTracker;
  /** Venues whose trade ids are consecutive per symbol: a jump is a measured loss. */
  contiguousIds: ReadonlySet<ExchangeId>;
  subscriptionDeadlineMs: number;
  findConnection(connId: string): Connection | undefined;
  /** A socket opened or closed: re-derive the collector state. */
  onConnectivityChange(): void;
  /** The `book` stream's continuity check and resync (books/tracker); absent when no book is recorded. */
  books?: { onRow(row: BookRow): void; onDropped(row: BookRow): void; onClose(connId: string): void };
  /**
   * What the collector subscribed, per venue: venue symbol (through the adapter's own mapping) →
   * unified symbol. A row whose symbols are not in here is a counted `unknown_symbol` skip: it never
   * reaches the queue, a partition or a path (docs/operations.md: parse errors).
   */
  subscribed: SubscribedSymbols;
}

/** Per venue: venue symbol → the symbols the collector configured and mapped (the collector's own strings). */
export type SubscribedSymbols = Partial<Record<ExchangeId, ReadonlyMap<string, { readonly symbol: string; readonly exchangeSymbol: string }>>>;

/** Builds the table from the configured symbols and each venue's own symbol mapping. */
export function subscribedSymbols(
  exchanges: readonly ExchangeId[],
  symbols: readonly string[],
  venueSymbol: (ex: ExchangeId, unified: string) => string,
): SubscribedSymbols {
  const out: SubscribedSymbols = {};
  for (const ex of exchanges) out[ex] = new Map(symbols.map((s) => [venueSymbol(ex, s), { symbol: s, exchangeSymbol: venueSymbol(ex, s) }]));
  return out;
}

/**
 * Skip reasons become metric labels (`parse_errors_by_reason`, Prometheus `reason`): their set must
 * stay bounded whatever a venue sends. Reasons that embed venue text (`unknown_event:<e>`,
 * `unknown_topic:<t>`) are cut to their fixed head; anything outside a safe shape or past
 * MAX_SKIP_REASONS distinct labels is `other`. The venue's raw text goes to the log line only.
 */
const MAX_SKIP_REASONS = 100;
const COLLAPSED_REASONS = new Set(["unknown_event", "unknown_topic", "unknown_channel"]);
const SAFE_REASON = /^[A-Za-z0-9_.@-]{1,40}(?::[A-Za-z0-9_.@-]{1,40}){0,3}$/;
export const UNKNOWN_SYMBOL = "unknown_symbol";

export function boundedSkipReason(reason: string, known: ReadonlySet<string>): string {
  const head = reason.split(":", 1)[0]!;
  const label = COLLAPSED_REASONS.has(head) ? head : SAFE_REASON.test(reason) ? reason : "other";
  return known.has(label) || known.size < MAX_SKIP_REASONS ? label : "other";
}

/** Queue drops are counted one by one but logged at most every 5 s. */
const DROP_LOG_EVERY_MS = 5000;

export function connectionEvent(conn: Connection, event: ConnectionEventKind, reason: string | null, closeCode: number | null): ConnectionRow {
  return {
    stream: "connection",
    exchange: conn.adapter.id,
    conn_id: conn.connId,
    event,
    reason,
    close_code: closeCode,
    ts_us: nowUs(),
    url: conn.plan.url,
    streams: conn.plan.symbols.flatMap((sym) => conn.plan.streams.map((st) => `${st}:${sym}`)).join(","),
  };
}

/** Counted every time, logged once per (exchange, reason) like every other parse error. */
type SkipReporter = (exchange: ExchangeId, connId: string, reason: string, detail: string | undefined) => void;

function skipReporter(metrics: Metrics, log: Logger): SkipReporter {
  const seenSkipReasons = new Set<string>();
  const reasonLabels = new Set<string>();
  return (exchange, connId, reason, detail) => {
    const label = boundedSkipReason(reason, reasonLabels);
    reasonLabels.add(label);
    metrics.recordParseError(label);
    const kind = `${exchange}:${label}`;
    if (!seenSkipReasons.has(kind)) {
      seenSkipReasons.add(kind);
      log.warn("parse_error", {
        exchange,
        conn_id: connId,
        reason: label,
        ...(label !== reason ? { venue_reason: reason.slice(0, 100) } : {}),
        sample: detail?.slice(0, 200),
      });
    }
  };
}

/**
 * Validated, never trusted: only a symbol the collector subscribed, mapped back through the adapter,
 * is filed; the row then carries the collector's own strings (what paths are built from). False:
 * the row goes no further (counted as filtered or as an `unknown_symbol` skip).
 */
function fileAsSubscribed(d: IngestDeps, skip: SkipReporter, row: Row): boolean {
  const sub = d.subscribed[row.exchange]?.get(row.exchange_symbol);
  if (sub === undefined && row.stream === "liquidation") {
    // A liquidation feed may carry every instrument of the venue (OKX `liquidation-orders` is one
    // subscription for all swaps): rows of instruments not configured are counted in
    // filtered_events_total, not recorded and not errors.
    d.metrics.recordFiltered(row.exchange, row.stream, 1);
    return false;
  }
  if (sub === undefined || sub.symbol !== row.symbol) {
    skip(
      row.exchange,
      row.conn_id,
      UNKNOWN_SYMBOL,
      JSON.stringify({ symbol: String(row.symbol).slice(0, 64), exchange_symbol: String(row.exchange_symbol).slice(0, 64), stream: row.stream }),
    );
    return false;
  }
  row.symbol = sub.symbol;
  row.exchange_symbol = sub.exchangeSymbol;
  return true;
}

/** First data on a subscription: a late one is logged live; the last of a socket marks it live (a `subscribed` connection row). */
function observeFirstData(d: IngestDeps, row: Row, now: number): void {
  const live = d.firstData.seen(row.conn_id, row.stream, row.symbol);
  if (!live) return;
  if (live.late)
    d.log.info("subscription_live", {
      exchange: row.exchange,
      conn_id: row.conn_id,
      stream: row.stream,
      symbol: row.symbol,
      silent_ms: now - live.late.since_ms,
    });
  if (live.complete) {
    const conn = d.findConnection(row.conn_id);
    if (conn) d.record(connectionEvent(conn, "subscribed", "first data on every subscription", null));
    // First data is tracked here only: the socket learns it is live (a make-before-break replacement may finish).
    conn?.markLive();
  }
}

/** Trade-id continuity on venues with consecutive ids: a gap is measured loss, a jump re-anchors. */
function observeTradeId(d: IngestDeps, row: TradeRow, now: number): void {
  const gap = d.tradeGaps.observe(row.exchange, row.symbol, row.trade_id, now);
  if (gap?.kind === "gap") {
    d.metrics.recordTradeIdGap(gap.exchange, gap.missing);
    d.log.warn("trade_id_gap", {
      exchange: gap.exchange,
      symbol: gap.symbol,
      after_id: gap.afterId,
      next_id: gap.nextId,
      missing: gap.missing,
      conn_id: row.conn_id,
    });
  } else if (gap?.kind === "jump") {
    d.metrics.recordTradeIdJump(gap.exchange);
    d.log.warn("trade_id_jump", {
      exchange: gap.exchange,
      symbol: gap.symbol,
      after_id: gap.afterId,
      next_id: gap.nextId,
      bound: gap.bound,
      conn_id: row.conn_id,
      note: "implausible id move: not counted as missing trades; the sequence re-anchors on the new id",
    });
  }
}

/** Offers a row to the queue; a full queue is a counted drop (logged at most every DROP_LOG_EVERY_MS), never a wait. */
function queueOrDrop(d: IngestDeps): (row: Row, now: number) => void {
  let dropsSinceLog = 0;
  let lastDropLogMs = 0;
  return (row, now) => {
    if (d.queue.offer(row)) return;
    d.metrics.recordDrop(now);
    // A dropped book row breaks the recorded book: resync it so the files recover at the next snapshot.
    if (row.stream === "book") d.books?.onDropped(row);
    dropsSinceLog++;
    if (now - lastDropLogMs >= DROP_LOG_EVERY_MS) {
      d.log.warn("queue_drop", { dropped: dropsSinceLog, dropped_total: d.metrics.droppedTotal, queue_size: d.queue.size });
      dropsSinceLog = 0;
      lastDropLogMs = now;
    }
  };
}

/** The first-data deadline of every subscription of a socket just opened. */
function firstDataSubscriptions(conn: Connection, subscriptionDeadlineMs: number): Array<{ stream: Stream; symbol: string; deadlineMs: number }> {
  // A rarely pushed stream gets at least its normal silence bound (OKX funding-rate: 30–90 s).
  const deadlineFor = (stream: Stream) => Math.max(subscriptionDeadlineMs, SILENCE_MONITORED.has(stream) ? conn.adapter.silenceThresholdMs(stream) : 0);
  // No first-data deadline for liquidations: a quiet market has none for hours (still, a refused subscription is an error).
  const streams = conn.plan.streams.filter((stream) => !SPORADIC_STREAMS.has(stream));
  return conn.plan.symbols.flatMap((symbol) => streams.map((stream) => ({ stream, symbol, deadlineMs: deadlineFor(stream) })));
}

export function createIngestHooks(d: IngestDeps): SupervisorHooks {
  const { metrics, log } = d;
  const skip = skipReporter(metrics, log);
  const enqueue = queueOrDrop(d);
  return {
    onRow(row) {
      if (!fileAsSubscribed(d, skip, row)) return;
      const now = Date.now();
      metrics.recordEvent(row.exchange, row.stream, now);
      const ended = d.silence.onEvent(row.exchange, row.stream, row.symbol, now);
      if (ended) log.info("silence_end", { exchange: ended.exchange, stream: ended.stream, symbol: ended.symbol, silent_ms: ended.silentMs });
      observeFirstData(d, row, now);
      if (row.stream === "trade" && d.contiguousIds.has(row.exchange)) observeTradeId(d, row, now);
      // Checked before the queue: a break the venue caused is seen even if the row is then dropped.
      if (row.stream === "book") d.books?.onRow(row);
      enqueue(row, now);
    },
    onOpen(conn) {
      d.record(connectionEvent(conn, "connect", null, null));
      d.firstData.open(conn.adapter.id, conn.connId, firstDataSubscriptions(conn, d.subscriptionDeadlineMs), Date.now());
      d.onConnectivityChange();
    },
    onClose(conn, code, reason) {
      if (reason.startsWith("watchdog")) metrics.watchdogTotal[conn.adapter.id] = (metrics.watchdogTotal[conn.adapter.id] ?? 0) + 1;
      d.firstData.close(conn.connId);
      d.books?.onClose(conn.connId);
      d.record(connectionEvent(conn, "disconnect", reason, code));
      d.onConnectivityChange();
    },
    onRotate(conn, reason) {
      // Persisted before the old socket's disconnect (reason "rotate"): the overlap is explained by the data.
      metrics.rotationsTotal[conn.adapter.id] = (metrics.rotationsTotal[conn.adapter.id] ?? 0) + 1;
      d.record(connectionEvent(conn, "rotate", reason, null));
    },
    onReconnectScheduled(conn) {
      metrics.recordReconnect(conn.adapter.id, Date.now());
    },
    onSkip(conn, reason, detail) {
      skip(conn.adapter.id, conn.connId, reason, detail);
    },
    onFiltered(conn, stream, count) {
      metrics.recordFiltered(conn.adapter.id, stream, count);
    },
    onSubscribeError(conn, detail, topics) {
      metrics.recordSubscribeError({ exchange: conn.adapter.id, conn_id: conn.connId, topics, error: detail, ts_ms: Date.now() });
      log.error("subscribe_error", { exchange: conn.adapter.id, conn_id: conn.connId, error: detail, topics });
    },
  };
}
