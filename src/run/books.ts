/** @module run/books — the opt-in `book` stream: continuity per (connection, symbol), resync, Binance REST anchoring. */
import { BookAnchor } from "../books/anchor.ts";
import { fetchText } from "../books/rest-fetch.ts";
import { BookTracker } from "../books/tracker.ts";
import { nowUs } from "../clock.ts";
import type { Config } from "../config.ts";
import type { ExchangeAdapter } from "../exchanges/types.ts";
import type { Logger } from "../log.ts";
import type { ConnectionRow, ExchangeId, Row } from "../schema/rows.ts";
import type { Metrics } from "../state/metrics.ts";
import type { Connection } from "../ws/connection.ts";

export interface BooksDeps {
  log: Logger;
  metrics: Metrics;
  adapters: Readonly<Record<ExchangeId, ExchangeAdapter>>;
  /** Where `connection` rows go (never dropped). */
  record(row: ConnectionRow): void;
  findConnection(connId: string): Connection | undefined;
  /** Where the REST snapshot rows go: recorded like any row (ingest: queue, files, continuity). */
  onRow(row: Row): void;
}

export interface Books {
  tracker: BookTracker;
  anchor: BookAnchor;
}

/** null when STREAMS does not include `book`. */
export function createBooks(config: Readonly<Config>, d: BooksDeps): Books | null {
  if (!config.STREAMS.includes("book")) return null;
  const anchor: BookAnchor = new BookAnchor({
    fetchText,
    log: d.log,
    metrics: d.metrics,
    onRow: (row) => d.onRow(row),
    isOpen: (connId) => d.findConnection(connId)?.open === true,
    // The tracker below exists before the anchor fetches anything (fetches start from its rows).
    lastRecvSeq: (connId, symbol) => tracker.lastRecvSeq(connId, symbol),
    nowUs,
    weightPerMinute: config.BINANCE_REST_WEIGHT_PER_MINUTE,
  });
  const tracker = new BookTracker({
    metrics: d.metrics,
    log: d.log,
    adapters: d.adapters,
    record: d.record,
    findConnection: d.findConnection,
    anchor,
    restBaseUrl: (ex) => (ex === "binance" ? config.BINANCE_REST_URL : undefined),
    nowUs,
  });
  return { tracker, anchor };
}
