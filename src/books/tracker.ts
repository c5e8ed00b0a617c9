/**
 * @module books/tracker — what a `book` row does on the socket thread (issue 11): the continuity
 * check per (connection, symbol); on a break: count (`book_gaps_total`), log `book_gap`, record a
 * `book_gap` event in the `connection` stream, and resync — a REST snapshot for REST-anchored venues
 * (Binance), else the adapter's resubscribe messages within the venue's subscribe budget (OKX 480
 * ops/hour per connection), else a reconnect. Also asks for the first anchor of each connection.
 */
import type { ExchangeAdapter } from "../exchanges/types.ts";
import type { Logger } from "../log.ts";
import type { BookRow, ConnectionRow, ExchangeId } from "../schema/rows.ts";
import type { Metrics } from "../state/metrics.ts";
import type { Connection } from "../ws/connection.ts";
import type { BookAnchor } from "./anchor.ts";
import { BookContinuity } from "./continuity.ts";

export interface BookTrackerDeps {
  metrics: Metrics;
  log: Logger;
  adapters: Readonly<Record<ExchangeId, ExchangeAdapter>>;
  /** Where `connection` rows go (never dropped). */
  record(row: ConnectionRow): void;
  findConnection(connId: string): Connection | undefined;
  anchor: BookAnchor | null;
  /** REST base URL per venue (BINANCE_REST_URL). */
  restBaseUrl(exchange: ExchangeId): string | undefined;
  nowUs(): number;
}

const HOUR_MS = 3_600_000;
/** Subscribe requests kept in reserve per connection (its own initial subscribe, a rotation). */
const OPS_RESERVE = 20;
/**
 * Venues without a published subscribe cap (Bybit) still get one per connection: if a rule ever
 * misfires on every message, the collector reconnects (with backoff) instead of resubscribing in a loop.
 */
const DEFAULT_OPS_PER_HOUR = 480;

export class BookTracker {
  private readonly continuity = new BookContinuity();
  private readonly lastSeq = new Map<string, number>();
  private readonly opsAt = new Map<string, number[]>();
  /** (connection, symbol) whose dropped row already asked for a resync (cleared by the next snapshot). */
  private readonly dropResyncing = new Set<string>();

  constructor(private readonly d: BookTrackerDeps) {}

  onRow(row: BookRow): void {
    const adapter = this.d.adapters[row.exchange];
    if (!adapter?.bookContinuity) return;
    const key = `${row.conn_id}|${row.symbol}`;
    if (row.source === "ws") this.lastSeq.set(key, row.recv_seq);
    const v = this.continuity.check(adapter.bookContinuity, adapter.restBook !== undefined, row);
    this.d.metrics.booksUnsynced[row.exchange] = this.continuity.unsynced(row.exchange);
    switch (v.kind) {
      case "ok":
        return;
      case "snapshot":
        this.dropResyncing.delete(key);
        if (v.venueReset)
          this.d.log.warn("book_resync", {
            exchange: row.exchange,
            conn_id: row.conn_id,
            symbol: row.symbol,
            method: "venue_reset",
            detail: "snapshot with u=1: the venue restarted its book",
          });
        return;
      case "needs_anchor":
        this.requestAnchor(adapter, row, "first diff on this connection");
        return;
      case "stale_anchor":
        this.d.log.warn("book_rest_stale", {
          exchange: row.exchange,
          conn_id: row.conn_id,
          symbol: row.symbol,
          snapshot_update_id: v.anchor,
          chain_start: v.chainStart,
          detail: "snapshot older than the diffs received: fetching another",
        });
        this.requestAnchor(adapter, row, "snapshot older than the diff chain");
        return;
      case "gap":
        this.gap(adapter, row, v.detail);
        return;
    }
  }

  /**
   * The row was checked but dropped by the full queue: the files miss it, so it is a break of the
   * recorded book like any other (counted, logged, `book_gap` event, resync), once per resync.
   */
  onDropped(row: BookRow): void {
    const adapter = this.d.adapters[row.exchange];
    if (!adapter?.bookContinuity) return;
    const key = `${row.conn_id}|${row.symbol}`;
    if (this.dropResyncing.has(key)) return;
    this.dropResyncing.add(key);
    this.continuity.markLost(row);
    this.d.metrics.booksUnsynced[row.exchange] = this.continuity.unsynced(row.exchange);
    this.gap(adapter, row, "row dropped (queue full) before it reached the files");
  }

  /** recv_seq of the latest WebSocket book row of (connection, symbol) (the REST row's position). */
  lastRecvSeq(connId: string, symbol: string): number {
    return this.lastSeq.get(`${connId}|${symbol}`) ?? 0;
  }

  onClose(connId: string): void {
    this.continuity.forgetConnection(connId);
    for (const ex of Object.keys(this.d.metrics.booksUnsynced)) this.d.metrics.booksUnsynced[ex] = this.continuity.unsynced(ex);
    this.opsAt.delete(connId);
    for (const k of this.dropResyncing) if (k.startsWith(`${connId}|`)) this.dropResyncing.delete(k);
    for (const k of this.lastSeq.keys()) if (k.startsWith(`${connId}|`)) this.lastSeq.delete(k);
  }

  private gap(adapter: ExchangeAdapter, row: BookRow, detail: string): void {
    this.d.metrics.recordBookGap(row.exchange);
    const conn = this.d.findConnection(row.conn_id);
    this.d.log.warn("book_gap", {
      exchange: row.exchange,
      conn_id: row.conn_id,
      symbol: row.symbol,
      update_id: row.update_id,
      prev_update_id: row.prev_update_id,
      detail,
    });
    this.d.record({
      stream: "connection",
      exchange: row.exchange,
      conn_id: row.conn_id,
      event: "book_gap",
      reason: `${row.symbol}: ${detail} at update_id ${row.update_id}`,
      close_code: null,
      ts_us: this.d.nowUs(),
      url: conn?.plan.url ?? null,
      streams: `book:${row.symbol}`,
    });
    if (adapter.restBook) return this.requestAnchor(adapter, row, `gap: ${detail}`);
    if (!conn) return;
    const msgs = adapter.bookResync?.(row.symbol) ?? [];
    if (msgs.length > 0 && this.spendOps(conn, adapter, msgs.length)) {
      for (const m of msgs) conn.send(m);
      this.d.log.info("book_resync", { exchange: row.exchange, conn_id: row.conn_id, symbol: row.symbol, method: "resubscribe", ops: msgs.length });
    } else {
      this.d.log.warn("book_resync", {
        exchange: row.exchange,
        conn_id: row.conn_id,
        symbol: row.symbol,
        method: "reconnect",
        detail: msgs.length > 0 ? "subscribe budget of this connection spent" : "no resubscribe for this venue",
      });
      conn.reconnect(`book resync ${row.symbol}`);
    }
  }

  /** Count `n` subscribe ops against the venue's hourly cap for this connection; false when it would exceed it. */
  private spendOps(conn: Connection, adapter: ExchangeAdapter, n: number): boolean {
    const cap = adapter.subscribeOpsPerHour ?? DEFAULT_OPS_PER_HOUR;
    const now = Date.now();
    const at = (this.opsAt.get(conn.connId) ?? []).filter((t) => now - t < HOUR_MS);
    const budget = cap - conn.plan.subscribeMessages.length - OPS_RESERVE;
    if (at.length + n > budget) {
      this.opsAt.set(conn.connId, at);
      return false;
    }
    for (let i = 0; i < n; i++) at.push(now);
    this.opsAt.set(conn.connId, at);
    return true;
  }

  private requestAnchor(adapter: ExchangeAdapter, row: BookRow, reason: string): void {
    const base = this.d.restBaseUrl(row.exchange);
    if (!this.d.anchor || !adapter.restBook || base === undefined) return;
    this.d.anchor.request({ exchange: row.exchange, source: adapter.restBook, baseUrl: base, connId: row.conn_id, symbol: row.symbol, reason });
  }
}
