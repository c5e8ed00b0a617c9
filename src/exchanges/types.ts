/** @module exchanges/types — the small interface every venue implements; no I/O, no clock, no state. */
import type { ExchangeId, Row, Stream } from "../schema/rows.ts";

/** Transport metadata stamped on a frame before it is parsed. */
export interface RecvMeta {
  connId: string;
  recvSeq: number;
  tsRecvUs: number;
}

/** One socket to open: its URL, what to send after open, and what it carries. */
export interface ConnectionPlan {
  /** Short route name used in conn_id and logs (e.g. "public", "market"). */
  route: string;
  url: string;
  subscribeMessages: string[];
  streams: Stream[];
  symbols: string[];
  /**
   * Data-silence deadline for this socket, from what it carries (e.g. Binance markPrice@1s and
   * bookTicker deliver every second); absent = the venue keepalive's `idleTimeoutMs`.
   */
  idleTimeoutMs?: number;
  /**
   * Streams of this socket with no delivery cadence (schema SPORADIC_STREAMS: liquidations): no
   * first-data deadline and no make-before-break wait for them, and they never set the data-silence
   * deadline. Absent = none.
   */
  sporadicStreams?: Stream[];
}

export interface KeepalivePolicy {
  /** Send `ping()` this often (0 = the venue pings us; nothing to send). */
  pingIntervalMs: number;
  /**
   * "interval" (default): ping every pingIntervalMs whatever arrives (Bybit).
   * "idle": ping only once nothing has arrived for pingIntervalMs (OKX).
   */
  pingMode?: "interval" | "idle";
  ping(): string | null;
  /** A ping not answered (ParseResult "pong") within this long means a dead connection; 0/absent = unchecked. */
  pongTimeoutMs?: number;
  /** A connection with no frame (data, pong or server ping) for this long is dead. */
  idleTimeoutMs: number;
}

/** What one frame is: rows, or a control message, or a counted skip. Never thrown. */
export type ParseResult =
  /**
   * `filtered`: items of this frame for instruments the collector never records (OKX's
   * all-swaps liquidation feed also carries coin- and USDC-margined swaps): counted, not errors.
   */
  | { kind: "rows"; rows: Row[]; filtered?: { stream: Stream; count: number } }
  | { kind: "ack"; detail?: string }
  | { kind: "pong" }
  /**
   * `retry`: the request carried several symbols and the venue refused it as a whole (Bybit: one bad
   * topic fails the request): one message per symbol re-requests it on its own, so the refusal is not
   * final and one bad symbol cannot fail the others; only a refused single-symbol request is an error.
   * The transport sends only those of its own plan's symbols, each at most once per connection.
   */
  | { kind: "subscribe_error"; detail: string; topics: string[]; retry?: { symbol: string; message: string }[] }
  /** `reconnect`: the venue announced it will drop this connection; the transport replaces it (make-before-break). */
  | { kind: "notice"; code: string; detail: string; reconnect?: boolean }
  | { kind: "skip"; reason: string; detail?: string };

/**
 * How a venue's book rows chain (issue 11), checked per (connection, symbol) by books/continuity:
 * "prev_id": each non-snapshot row's prev_update_id equals the previous row's update_id (Binance
 * `pu`, OKX `prevSeqId`); "consecutive": a delta's update_id is the previous one + 1 (Bybit `u`).
 */
export type BookContinuity = "prev_id" | "consecutive";

/**
 * A REST order-book snapshot that anchors a diff-only WebSocket book (Binance today; Bybit/OKX
 * could use the same path if their WebSocket snapshots go away). Pure: the HTTP call is made by
 * books/rest-fetch, the answer is turned into a `book` row (source "rest") here.
 */
export interface RestBookSource {
  /** Full URL of the snapshot for a unified symbol, from the configured REST base URL. */
  url(baseUrl: string, symbol: string): string;
  /** The request's weight against the venue's per-minute budget. */
  weight: number;
  parse(text: string, symbol: string, recv: RecvMeta): ParseResult;
}

export interface ExchangeAdapter {
  readonly id: ExchangeId;
  /** Streams this venue can deliver over WebSocket (Binance: no open_interest). */
  readonly streams: readonly Stream[];
  venueSymbol(unified: string): string;
  connections(baseUrl: string, symbols: readonly string[], streams: readonly Stream[]): ConnectionPlan[];
  readonly keepalive: KeepalivePolicy;
  /** The venue cuts every connection at this age (Binance 24 h, docs/venues.md §1.4): rotate before it. */
  readonly maxConnectionAgeMs?: number;
  /** Trade ids are consecutive per symbol, so a jump is a measured loss (docs/venues.md §4). */
  readonly contiguousTradeIds: boolean;
  /** Longest normal gap between events of a silence-monitored stream. */
  silenceThresholdMs(stream: Stream): number;
  parse(text: string, recv: RecvMeta): ParseResult;
  /** The `book` stream's sequence rule (absent: the venue has no book stream). */
  readonly bookContinuity?: BookContinuity;
  /** Control messages that make the venue send a fresh book snapshot of one symbol on this connection. */
  bookResync?(symbol: string): string[];
  /** Subscribe/unsubscribe requests allowed per connection per hour (OKX 480, docs/venues.md §3.3); absent = no cap. */
  readonly subscribeOpsPerHour?: number;
  /** The book is anchored by a REST snapshot, fetched after a connection's first diff and after every break. */
  readonly restBook?: RestBookSource;
}
