/** @module app — composition root: the collector as a list of named parts (src/run/), wired once, started in order. */
import { randomBytes } from "node:crypto";
import { systemClock } from "./clock.ts";
import { redact, type Config } from "./config.ts";
import { configuredAdapters } from "./exchanges/index.ts";
import { createIngestHooks, subscribedSymbols } from "./ingest.ts";
import type { Logger } from "./log.ts";
import type { ConnectionRow } from "./schema/rows.ts";
import { Metrics } from "./state/metrics.ts";
import type { Snapshot } from "./state/snapshot.ts";
import { BUILD_COMMIT_ID, COLLECTOR_VERSION, SCHEMA_VERSION } from "./version.ts";
import { createBooks } from "./run/books.ts";
import { Health } from "./run/health.ts";
import { startMonitors } from "./run/monitors.ts";
import { createPipeline } from "./run/pipeline.ts";
import { Shutdown } from "./run/shutdown.ts";
import { handleSignals } from "./run/signals.ts";
import { snapshotOf } from "./run/snapshot.ts";
import { openStatus } from "./run/status.ts";
import { createStorage } from "./run/storage.ts";
import { createTrackers } from "./run/trackers.ts";
import { Venues } from "./run/venues.ts";
import { writeHealth } from "./run/writes.ts";

export interface RunningCollector {
  instanceId: string;
  statusPort: number;
  snapshot(): Snapshot;
  /** Resolves with the exit code once shutdown has finished. */
  done: Promise<number>;
  shutdown(signal: string): Promise<number>;
}

export async function startCollector(config: Readonly<Config>, log: Logger, opts: { handleSignals?: boolean } = {}): Promise<RunningCollector> {
  const clock = systemClock;
  const instanceId = randomBytes(4).toString("hex");
  const metrics = new Metrics(config.EXCHANGES, config.STATE_WINDOW_SECONDS * 1000, clock.nowMs());
  const storage = createStorage(config, log);
  const pipeline = createPipeline(config, storage, metrics, log, instanceId);
  const { queue, writer } = pipeline;
  const record = (row: ConnectionRow) => writer.record(row);
  const adapters = configuredAdapters({ binanceTradeStream: config.BINANCE_TRADE_STREAM, bookDepth: config.BOOK_DEPTH as 50 | 200 | 1000 });
  const venues = new Venues(config, adapters, instanceId);
  const { findConnection } = venues;
  const trackers = createTrackers(venues.list, config.SYMBOLS, metrics, metrics.startedAtMs);
  const writes = { writer, storage };
  const health = new Health(
    {
      metrics,
      writes: () => writeHealth(writes),
      connections: () => venues.totals(),
      queueUtilizationPct: () => queue.utilizationPct(),
      localStorage: config.STORAGE_BACKEND === "local",
    },
    log,
    clock,
  );
  // REST book snapshots are recorded like socket rows: through the ingest hooks below (once rows flow).
  const books = createBooks(config, { log, metrics, adapters, record, findConnection, onRow: (row) => hooks.onRow(row) });
  const subscriptionDeadlineMs = config.SUBSCRIPTION_DEADLINE_SECONDS * 1000;
  const subscribed = subscribedSymbols(config.EXCHANGES, config.SYMBOLS, (ex, sym) => adapters[ex].venueSymbol(sym));
  const hooks = createIngestHooks({
    ...trackers,
    metrics,
    queue,
    record,
    log,
    subscriptionDeadlineMs,
    subscribed,
    findConnection,
    onConnectivityChange: () => health.evaluate(),
    ...(books ? { books: books.tracker } : {}),
  });
  log.info("collector_start", {
    version: COLLECTOR_VERSION,
    commit: BUILD_COMMIT_ID,
    schema_version: SCHEMA_VERSION,
    instance_id: instanceId,
    pid: process.pid,
    storage: storage.describe,
    config: redact(config),
  });

  const snapshot = snapshotOf({ clock, metrics, writes, queue, health, venues, lag: trackers.lag, firstData: trackers.firstData, symbols: config.SYMBOLS });
  const status = await openStatus(config, snapshot, log).catch(async (err: unknown) => {
    await pipeline.encoder.close();
    throw err;
  });
  const restWeightUsed = books ? (now: number) => books.anchor.weightUsed(now) : undefined;
  const heartbeatMs = config.HEARTBEAT_INTERVAL * 1000;
  const stopMonitors = startMonitors({
    clock,
    log,
    metrics,
    ...trackers,
    ...(restWeightUsed ? { restWeightUsed } : {}),
    evaluateState: () => health.evaluate(),
    snapshot,
    heartbeatMs,
  });
  const shutdown = new Shutdown({
    clock,
    log,
    metrics,
    pipeline,
    storage,
    status,
    snapshot,
    timeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS,
    booksOn: books !== null,
    stopMonitoring: () => (health.freeze(), stopMonitors()),
    stopReading: () => (venues.stop(), books?.anchor.stop()),
    openSockets: () => venues.totals().open,
    stopLag: () => trackers.lag.stop(),
  });
  if (opts.handleSignals)
    handleSignals(
      (signal) => void shutdown.run(signal),
      (error) => health.fatal(error),
    );

  await writer.start();
  trackers.lag.start();
  health.evaluate();
  // A signal during start-up has already run the shutdown (venues stopped): this opens nothing then.
  venues.start(hooks, log);
  return { instanceId, statusPort: status.port, snapshot, done: shutdown.done, shutdown: (signal) => shutdown.run(signal) };
}
