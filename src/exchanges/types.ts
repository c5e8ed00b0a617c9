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
  | { kind: "subscribe_error"; detail: string; topics: string[] }
  /** `reconnect`: the venue announced it will drop this connection; the transport replaces it (make-before-break). */
  | { kind: "notice"; code: string; detail: string; reconnect?: boolean }
  | { kind: "skip"; reason: string; detail?: string };

export interface ExchangeAdapter {
  readonly id: ExchangeId;
  /** Streams this venue can deliver over WebSocket (Binance: no open_interest). */
  readonly streams: readonly Stream[];
  venueSymbol(unified: string): string;
  connections(baseUrl: string, symbols: readonly string[], streams: readonly Stream[]): ConnectionPlan[];
  readonly keepalive: KeepalivePolicy;
  /** The venue cuts every connection at this age (Binance 24 h, exchanges.md §1.4): rotate before it. */
  readonly maxConnectionAgeMs?: number;
  /** Trade ids are consecutive per symbol, so a jump is a measured loss (exchanges.md §5 "General"). */
  readonly contiguousTradeIds: boolean;
  /** Longest normal gap between events of a silence-monitored stream. */
  silenceThresholdMs(stream: Stream): number;
  parse(text: string, recv: RecvMeta): ParseResult;
}
