/**
 * @module run/ingest — what the sockets feed: the ingest hooks (src/ingest.ts) and, when STREAMS
 * includes `book`, the books they check (run/books.ts), built together because they need each other.
 */
import type { Config } from "../config.ts";
import { createIngestHooks, subscribedSymbols } from "../ingest.ts";
import type { Logger } from "../log.ts";
import type { BoundedQueue } from "../pipeline/queue.ts";
import type { ConnectionRow, RecordRow, Row } from "../schema/rows.ts";
import type { Metrics } from "../state/metrics.ts";
import type { SupervisorHooks } from "../ws/supervisor.ts";
import { createBooks, type Books } from "./books.ts";
import type { Trackers } from "./trackers.ts";
import type { Venues } from "./venues.ts";

export interface IngestParts {
  log: Logger;
  metrics: Metrics;
  trackers: Trackers;
  queue: BoundedQueue<RecordRow>;
  /** Where `connection` rows go: they bypass the queue, so they are never dropped. */
  writer: { record(row: ConnectionRow): void };
  venues: Pick<Venues, "adapters" | "findConnection">;
  /** A socket opened or closed: re-derive the collector state (run/health). */
  onConnectivityChange(): void;
}

export interface Ingest {
  /** Given to the venues' supervisors (run/venues start()). */
  hooks: SupervisorHooks;
  /** null when STREAMS does not include `book`. */
  books: Books | null;
}

/**
 * A row sink bound once, after it is created: the one cycle of the root, named. The book anchor's
 * REST snapshot rows are recorded like socket rows, through the ingest hooks; the hooks check every
 * book row with the book tracker, which needs the anchor. The anchor fetches only after the hooks
 * passed it a book row, so it never pushes before `bind`; if it did, that is a bug, said loudly.
 */
export class LateRowSink {
  private target: ((row: Row) => void) | null = null;

  bind(target: (row: Row) => void): void {
    if (this.target) throw new Error("LateRowSink bound twice");
    this.target = target;
  }

  readonly push = (row: Row): void => {
    if (!this.target) throw new Error(`LateRowSink: a ${row.stream} row arrived before the ingest hooks were bound`);
    this.target(row);
  };
}

export function createIngest(config: Readonly<Config>, p: IngestParts): Ingest {
  const { log, metrics, venues } = p;
  const record = (row: ConnectionRow) => p.writer.record(row);
  const { adapters, findConnection } = venues;
  const snapshotRows = new LateRowSink();
  const books = createBooks(config, { log, metrics, adapters, record, findConnection, onRow: snapshotRows.push });
  const hooks = createIngestHooks({
    ...p.trackers,
    metrics,
    queue: p.queue,
    record,
    log,
    subscriptionDeadlineMs: config.SUBSCRIPTION_DEADLINE_SECONDS * 1000,
    subscribed: subscribedSymbols(config.EXCHANGES, config.SYMBOLS, (ex, sym) => adapters[ex].venueSymbol(sym)),
    findConnection,
    onConnectivityChange: p.onConnectivityChange,
    ...(books ? { books: books.tracker } : {}),
  });
  snapshotRows.bind((row) => hooks.onRow(row));
  return { hooks, books };
}
