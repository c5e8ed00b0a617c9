/** @module run/snapshot — the status view, pulled on demand from the parts' own stats (status API, heartbeat, collector_stop). */
import type { Clock } from "../clock.ts";
import type { BoundedQueue } from "../pipeline/queue.ts";
import type { RecordRow } from "../schema/rows.ts";
import type { FirstDataTracker } from "../state/first-data.ts";
import type { LagMonitor } from "../state/lag.ts";
import type { Metrics } from "../state/metrics.ts";
import { buildSnapshot, type Snapshot } from "../state/snapshot.ts";
import { processFacts } from "../status/process.ts";
import { BUILD_COMMIT_ID, COLLECTOR_VERSION, SCHEMA_VERSION } from "../version.ts";
import type { Health } from "./health.ts";
import type { Venues } from "./venues.ts";
import { writeFacts, type WriteSources } from "./writes.ts";

export interface SnapshotParts {
  clock: Clock;
  metrics: Metrics;
  /** The writer and the storage: each reports its own counters. */
  writes: WriteSources;
  queue: BoundedQueue<RecordRow>;
  health: Health;
  venues: Venues;
  lag: LagMonitor;
  firstData: FirstDataTracker;
  symbols: string[];
}

export function snapshotOf(p: SnapshotParts): () => Snapshot {
  const build = { version: COLLECTOR_VERSION, commit: BUILD_COMMIT_ID, schema_version: SCHEMA_VERSION };
  return () => {
    const nowMs = p.clock.nowMs();
    const health = p.health.view();
    return buildSnapshot({
      metrics: p.metrics,
      writes: writeFacts(p.writes),
      queueSize: p.queue.size,
      queueCapacity: p.queue.capacity,
      state: health.state,
      stateSinceMs: health.sinceMs,
      stateReasons: health.reasons,
      symbols: p.symbols,
      streams: p.venues.streamsByExchange(),
      connections: p.venues.stats(),
      nowMs,
      rssBytes: process.memoryUsage.rss(),
      lag: p.lag.stats(),
      silentSubscriptions: p.firstData.silent(),
      process: { ...processFacts(), lag_histogram: p.lag.histogram(), build },
    });
  };
}
