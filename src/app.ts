/** @module app — composition root: the collector as a list of named parts (src/run/), each built from parts that exist, started in order. */
import { randomBytes } from "node:crypto";
import { systemClock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./state/metrics.ts";
import type { Snapshot } from "./state/snapshot.ts";
import { announceStart } from "./run/announce.ts";
import { createHealth } from "./run/health.ts";
import { createIngest } from "./run/ingest.ts";
import { startCollectorMonitors } from "./run/monitors.ts";
import { createPipeline } from "./run/pipeline.ts";
import { createShutdown } from "./run/shutdown.ts";
import { handleSignals } from "./run/signals.ts";
import { snapshotOf } from "./run/snapshot.ts";
import { openStatus } from "./run/status.ts";
import { createStorage } from "./run/storage.ts";
import { createTrackers } from "./run/trackers.ts";
import { createVenues } from "./run/venues.ts";

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
  const writes = { writer, storage };
  const venues = createVenues(config, instanceId, clock);
  const trackers = createTrackers(venues.list, config.SYMBOLS, metrics, metrics.startedAtMs);
  const { firstData, silence, lag } = trackers;
  const health = createHealth(config, { metrics, writes, venues, queue }, log, clock);
  const evaluateState = () => health.evaluate();
  const { hooks, books } = createIngest(config, { log, metrics, trackers, queue, writer, venues, onConnectivityChange: evaluateState });
  announceStart(log, config, instanceId, storage.describe);

  const snapshot = snapshotOf({ clock, metrics, writes, queue, health, venues, lag, firstData, symbols: config.SYMBOLS });
  const status = await openStatus(config, snapshot, log).catch(async (err: unknown) => {
    await pipeline.encoder.close();
    throw err;
  });
  const stopMonitors = startCollectorMonitors(config, { clock, log, metrics, firstData, silence, books, evaluateState, snapshot });
  const shutdown = createShutdown(config, { clock, log, metrics, pipeline, storage, status, snapshot, health, stopMonitors, venues, books, lag });
  if (opts.handleSignals)
    handleSignals(
      (signal) => void shutdown.run(signal),
      (error) => health.fatal(error),
    );

  await writer.start();
  lag.start();
  evaluateState();
  // A signal during start-up has already run the shutdown (venues stopped): this opens nothing then.
  venues.start(hooks, log);
  return { instanceId, statusPort: status.port, snapshot, done: shutdown.done, shutdown: (signal) => shutdown.run(signal) };
}
