/**
 * @module books/anchor — REST snapshots that anchor a diff-only book (Binance `/fapi/v1/depth`,
 * issue 11), paced by a request-weight budget per minute. Venue-agnostic: what to fetch and how to
 * read it come from the adapter's `restBook`, so Bybit/OKX can use the same path if their WebSocket
 * snapshots go away. One pending request per (connection, symbol); 429/418 pause every request for
 * Retry-After (or a backoff); every fetch, failure and wait is logged and counted.
 */
import type { RestBookSource } from "../exchanges/types.ts";
import type { Logger } from "../log.ts";
import type { ExchangeId, Row } from "../schema/rows.ts";
import type { Metrics } from "../state/metrics.ts";
import type { FetchText } from "./rest-fetch.ts";

export interface AnchorRequest {
  exchange: ExchangeId;
  source: RestBookSource;
  baseUrl: string;
  connId: string;
  symbol: string;
  reason: string;
}

export interface AnchorDeps {
  fetchText: FetchText;
  log: Logger;
  metrics: Metrics;
  /** A parsed snapshot row: recorded like any row (queue, files, continuity). */
  onRow(row: Row): void;
  /** The connection the snapshot anchors; a snapshot for a closed connection is discarded. */
  isOpen(connId: string): boolean;
  /** recv_seq of the latest book row of (connection, symbol): the REST row is filed right after it. */
  lastRecvSeq(connId: string, symbol: string): number;
  nowUs(): number;
  weightPerMinute: number;
  /** Concurrent requests (tardis uses 4). */
  concurrency?: number;
  timeoutMs?: number;
}

/** A request's weight counts for a minute plus a second of margin (clock rounding, the venue's own minute boundaries). */
const WINDOW_MS = 61_000;
const BACKOFF_MIN_MS = 5_000;
const BACKOFF_MAX_MS = 120_000;

export class BookAnchor {
  private readonly queue: AnchorRequest[] = [];
  private readonly pendingKeys = new Set<string>();
  /** Weight spent, by time (ms), over the last minute. */
  private readonly spent: { atMs: number; weight: number }[] = [];
  private inFlight = 0;
  private pausedUntilMs = 0;
  private backoffMs = BACKOFF_MIN_MS;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly d: AnchorDeps) {}

  /** Ask for a snapshot of (connection, symbol); a request already waiting for it is not repeated. */
  request(r: AnchorRequest): void {
    const key = `${r.connId}|${r.symbol}`;
    if (this.stopped || this.pendingKeys.has(key)) return;
    this.pendingKeys.add(key);
    this.queue.push(r);
    this.d.log.info("book_rest_queued", { exchange: r.exchange, conn_id: r.connId, symbol: r.symbol, reason: r.reason, queued: this.queue.length });
    this.pump();
  }

  /** Weight spent in the last minute (gauge). */
  weightUsed(nowMs = Date.now()): number {
    for (let oldest = this.spent[0]; oldest !== undefined && nowMs - oldest.atMs >= WINDOW_MS; oldest = this.spent[0]) this.spent.shift();
    return this.spent.reduce((s, x) => s + x.weight, 0);
  }

  queued(): number {
    return this.queue.length;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.pendingKeys.clear();
  }

  private pump(): void {
    if (this.stopped || this.timer) return;
    const concurrency = this.d.concurrency ?? 4;
    for (let next = this.queue[0]; next !== undefined && this.inFlight < concurrency; next = this.queue[0]) {
      const now = Date.now();
      if (now < this.pausedUntilMs) return this.wait(this.pausedUntilMs - now, "rate_limited");
      // Requests for connections that closed meanwhile are dropped: the new connection asks anew.
      if (!this.d.isOpen(next.connId)) {
        this.queue.shift();
        this.pendingKeys.delete(`${next.connId}|${next.symbol}`);
        this.d.log.info("book_rest_dropped", { exchange: next.exchange, conn_id: next.connId, symbol: next.symbol, reason: "connection closed" });
        continue;
      }
      const used = this.weightUsed(now);
      // Over budget: wait until the oldest weight leaves the window. With nothing spent (a request
      // heavier than the whole budget, which config bounds exclude) it goes alone.
      const oldest = this.spent[0];
      if (oldest && used + next.source.weight > this.d.weightPerMinute) return this.wait(oldest.atMs + WINDOW_MS - now, "weight_budget", used);
      this.queue.shift();
      this.spent.push({ atMs: now, weight: next.source.weight });
      this.inFlight++;
      void this.run(next);
    }
  }

  private wait(ms: number, why: string, used?: number): void {
    const m = this.d.metrics.bookRest;
    m.waits++;
    this.d.log.info("book_rest_wait", {
      why,
      wait_ms: Math.max(0, Math.ceil(ms)),
      queued: this.queue.length,
      ...(used !== undefined ? { weight_used_1m: used, weight_per_minute: this.d.weightPerMinute } : {}),
    });
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.pump();
      },
      Math.max(1, Math.ceil(ms)),
    );
  }

  private async run(r: AnchorRequest): Promise<void> {
    const key = `${r.connId}|${r.symbol}`;
    const m = this.d.metrics.bookRest;
    const url = r.source.url(r.baseUrl, r.symbol);
    const started = Date.now();
    m.requests++;
    let retry = false;
    let done = false;
    try {
      const res = await this.d.fetchText(url, this.d.timeoutMs ?? 10_000);
      if (res.status === 429 || res.status === 418) {
        // 429: too many requests; 418: the IP is banned after ignoring 429s (docs/venues.md §1.3).
        m.failures++;
        m.rateLimited++;
        const waitMs = Math.max((res.retryAfterS ?? 0) * 1000, this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
        this.pausedUntilMs = Math.max(this.pausedUntilMs, Date.now() + waitMs);
        this.d.log.warn("book_rest_rate_limited", {
          exchange: r.exchange,
          symbol: r.symbol,
          http_status: res.status,
          retry_after_s: res.retryAfterS,
          pause_ms: waitMs,
        });
        retry = true;
      } else if (res.status !== 200) {
        m.failures++;
        this.d.log.warn("book_rest_error", { exchange: r.exchange, symbol: r.symbol, http_status: res.status, body: res.text.slice(0, 200) });
        retry = res.status >= 500;
        if (retry) this.pause();
      } else {
        this.backoffMs = BACKOFF_MIN_MS;
        // Settled before delivery: the row may show the snapshot is stale and ask for another at once.
        this.pendingKeys.delete(key);
        done = true;
        this.deliver(r, res.text, Date.now() - started);
      }
    } catch (err) {
      m.failures++;
      retry = true;
      this.pause();
      this.d.log.warn("book_rest_error", { exchange: r.exchange, symbol: r.symbol, error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.inFlight--;
      if (retry && !this.stopped && this.d.isOpen(r.connId))
        this.queue.unshift(r); // still pending
      else if (!done) this.pendingKeys.delete(key);
      this.pump();
    }
  }

  /** A failed request (timeout, network error, 5xx) pauses every request: 5 s doubling to 120 s, reset by a success. */
  private pause(): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, Date.now() + this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
  }

  private deliver(r: AnchorRequest, text: string, tookMs: number): void {
    if (!this.d.isOpen(r.connId)) {
      this.d.log.info("book_rest_dropped", { exchange: r.exchange, conn_id: r.connId, symbol: r.symbol, reason: "connection closed before the answer" });
      return;
    }
    const res = r.source.parse(text, r.symbol, { connId: r.connId, recvSeq: this.d.lastRecvSeq(r.connId, r.symbol), tsRecvUs: this.d.nowUs() });
    if (res.kind !== "rows") {
      this.d.metrics.bookRest.failures++;
      this.d.metrics.recordParseError(res.kind === "skip" ? res.reason : `rest_depth:${res.kind}`);
      this.d.log.warn("book_rest_error", {
        exchange: r.exchange,
        symbol: r.symbol,
        error: res.kind === "skip" ? res.reason : res.kind,
        body: text.slice(0, 200),
      });
      return;
    }
    this.d.metrics.bookRest.snapshots++;
    for (const row of res.rows) {
      this.d.log.info("book_rest_snapshot", {
        exchange: r.exchange,
        conn_id: r.connId,
        symbol: r.symbol,
        reason: r.reason,
        update_id: row.stream === "book" ? row.update_id : null,
        took_ms: tookMs,
        weight_used_1m: this.weightUsed(),
      });
      this.d.onRow(row);
    }
  }
}
