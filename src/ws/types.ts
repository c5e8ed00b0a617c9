/** @module ws/types — what a Connection reports to its owner (hooks) and how it is configured (options). */
import type { Row, Stream } from "../schema/rows.ts";
import type { KeepalivePolicy } from "../exchanges/types.ts";
import type { BackoffPolicy } from "../backoff.ts";
import type { Connection } from "./connection.ts";
import type { TimerClock } from "../clock.ts";

export interface ConnectionHooks {
  /** Every row parsed from a frame, in frame order. */
  onRow(row: Row): void;
  onOpen(conn: Connection): void;
  /** After an open socket closed: the close code and the reason logged in ws_disconnect. */
  onClose(conn: Connection, code: number, reason: string): void;
  onReconnectScheduled(conn: Connection): void;
  onSkip(conn: Connection, reason: string, detail?: string): void;
  onSubscribeError(conn: Connection, detail: string, topics: string[]): void;
  /** Items of a frame for instruments the collector never records (ParseResult `filtered`): counted, not errors. */
  onFiltered?(conn: Connection, stream: Stream, count: number): void;
  /**
   * First data arrived on every subscription of the plan (the socket is proven live): signalled by
   * whoever tracks first data (state/first-data via ingest) through `markLive()`.
   */
  onLive?(conn: Connection): void;
  /**
   * The connection should be replaced: it reached its maximum age or the venue announced a drop.
   * Without this hook the transport falls back to a plain reconnect.
   */
  onReplaceWanted?(conn: Connection, reason: string): void;
}

export interface ConnectionOptions {
  instanceId: string;
  backoff: BackoffPolicy;
  /** A connection that stayed open this long resets the backoff (docs/venues.md §0: a stable minute). */
  stableAfterMs: number;
  /** Gap between control messages (Binance ≤ ~4/s per connection). */
  controlGapMs: number;
  /** The venue's keepalive, possibly with a shortened ping interval (WS_PING_INTERVAL_MS). */
  keepalive: KeepalivePolicy;
  /** Caps the data-silence and pong deadlines (WS_WATCHDOG_MAX_MS); undefined = none. */
  watchdogCapMs?: number;
  /** Ask for a replacement this long after open (Binance 24 h cut); 0 = never. */
  maxAgeMs?: number;
  /** A handshake still pending after this long is abandoned and retried (0/absent = Bun's own ~124 s). */
  connectTimeoutMs?: number;
  /**
   * HTTP 418/429 on the handshake: the next reconnect waits at least this long. Bun's client
   * exposes only the status (in the error message), not Retry-After (measured in test/ws/handshake.test.ts).
   */
  rateLimitFloorMs?: number;
  /** Time of the watchdog, keepalive, backoff, max-age and rotation timers (default: real time; tests drive their own). */
  clock?: TimerClock;
}
