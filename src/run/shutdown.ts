/**
 * @module run/shutdown — drain once: stop reading, let the sockets report their close, flush every
 * buffer within SHUTDOWN_TIMEOUT_SECONDS (rows not written in time are counted as dropped), close
 * the spool, log `collector_stop` with totals. A second signal waits for the first drain.
 */
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../state/metrics.ts";
import type { Snapshot } from "../state/snapshot.ts";
import type { StatusServer } from "../status/server.ts";
import type { Storage } from "../storage/types.ts";
import type { Pipeline } from "./pipeline.ts";

/** Longest wait for closing sockets to report their close (so the connection stream records the disconnects). */
const CLOSE_WAIT_MS = 2000;

export interface DrainParts {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  timeoutSeconds: number;
  /** Stops state changes, silence and first-data alarms: the collector itself is closing the streams. */
  stopMonitoring(): void;
  /** Stops every socket and REST fetch. */
  stopReading(): void;
  openSockets(): number;
  pipeline: Pipeline;
  storage: Storage;
  status: StatusServer;
  /** Stops the event-loop lag sampler. */
  stopLag(): void;
  snapshot(): Snapshot;
  booksOn: boolean;
}

/** What the collector's drain stops, in order: built by app.ts from its parts. */
export interface CollectorParts {
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  pipeline: Pipeline;
  storage: Storage;
  status: StatusServer;
  snapshot(): Snapshot;
  health: { freeze(): void };
  /** Stops the tick and the heartbeat (run/monitors). */
  stopMonitors(): void;
  venues: { stop(): void; totals(): { open: number } };
  books: { anchor: { stop(): void } } | null;
  lag: { stop(): void };
}

export function createShutdown(config: Readonly<Config>, p: CollectorParts): Shutdown {
  return new Shutdown({
    clock: p.clock,
    log: p.log,
    metrics: p.metrics,
    pipeline: p.pipeline,
    storage: p.storage,
    status: p.status,
    snapshot: p.snapshot,
    timeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    booksOn: p.books !== null,
    stopMonitoring: () => (p.health.freeze(), p.stopMonitors()),
    stopReading: () => (p.venues.stop(), p.books?.anchor.stop()),
    openSockets: () => p.venues.totals().open,
    stopLag: () => p.lag.stop(),
  });
}

export class Shutdown {
  private running: Promise<number> | null = null;
  private resolveDone: (code: number) => void = () => {};
  /** Resolves with the exit code once the drain has finished. */
  readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));

  constructor(private readonly parts: DrainParts) {}

  get started(): boolean {
    return this.running !== null;
  }

  run(signal: string): Promise<number> {
    if (this.running) {
      this.parts.log.warn("shutdown_signal", { signal, note: "shutdown already in progress; flush continues" });
      return this.running;
    }
    this.running = drain(this.parts, signal).then((code) => {
      this.resolveDone(code);
      return code;
    });
    return this.running;
  }
}

async function drain(p: DrainParts, signal: string): Promise<number> {
  const { clock, log } = p;
  const { queue, writer, encoder } = p.pipeline;
  log.info("shutdown_signal", { signal, queue_size: queue.size, pending_events: writer.pendingEvents() });
  // State and silence tracking stop first: a slow final flush must not raise silences or
  // state changes about streams the collector itself is closing.
  p.stopMonitoring();
  p.stopReading();
  const closeDeadline = clock.nowMs() + CLOSE_WAIT_MS;
  while (p.openSockets() > 0 && clock.nowMs() < closeDeadline) await Bun.sleep(20);
  const timeoutMs = p.timeoutSeconds * 1000;
  const shutdownDeadline = clock.nowMs() + timeoutMs;
  const res = await writer.close(timeoutMs);
  if (!res.complete) {
    // Every event is written or counted as dropped: rows the storage did not take in time are lost.
    p.metrics.recordDrop(clock.nowMs(), res.unwrittenRows);
    log.error("shutdown_timeout", { unwritten_rows: res.unwrittenRows, timeout_s: p.timeoutSeconds, note: "counted in dropped_events_total" });
  }
  if (p.storage.close) {
    // Spooled files are durable: whatever is not uploaded now is uploaded by the next start.
    const left = await p.storage.close(Math.max(0, shutdownDeadline - clock.nowMs()));
    if (left.pendingFiles > 0)
      log.warn("spool_pending", { files: left.pendingFiles, bytes: left.pendingBytes, note: "kept in SPOOL_DIR; uploaded first on the next start" });
  }
  p.stopLag();
  const s = p.snapshot();
  log.info("collector_stop", {
    signal,
    uptime_s: s.health.uptime,
    total_events: s.metrics.total_events,
    events_total_by_stream: s.metrics.events_total_by_stream,
    dropped_events_total: s.metrics.dropped_events_total,
    trade_id_gaps_total: s.metrics.trade_id_gaps_total,
    ...(p.booksOn ? { book_gaps_total: s.metrics.book_gaps_total, book_rest: s.metrics.book_rest } : {}),
    effective_data_loss_rate_pct: s.metrics.effective_data_loss_rate_pct,
    parse_errors_total: s.metrics.parse_errors_total,
    ws_reconnect_total: s.metrics.ws_reconnect_total,
    silence_intervals_total: s.metrics.silence_intervals_total,
    writer: s.metrics.writer,
    unwritten_rows: res.unwrittenRows,
  });
  await p.status.stop();
  await encoder.close();
  return res.complete ? 0 : 1;
}
