/** @module run/pipeline — queue → partitions → encoder → storage: the writer as configured. */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { createWorkerEncoder, type Encoder } from "../pipeline/encoder.ts";
import { BoundedQueue } from "../pipeline/queue.ts";
import { Writer } from "../pipeline/writer.ts";
import type { RecordRow } from "../schema/rows.ts";
import type { Metrics } from "../state/metrics.ts";
import type { Storage } from "../storage/types.ts";
import { COLLECTOR_VERSION } from "../version.ts";

export interface Pipeline {
  queue: BoundedQueue<RecordRow>;
  writer: Writer;
  encoder: Encoder;
}

export function createPipeline(config: Readonly<Config>, storage: Storage, metrics: Metrics, log: Logger, instanceId: string): Pipeline {
  const queue = new BoundedQueue<RecordRow>(config.QUEUE_SIZE);
  const encoder = createWorkerEncoder();
  const writer = new Writer(queue, storage, encoder, metrics, log, {
    bufferSize: config.BUFFER_SIZE,
    flushIntervalMs: config.FLUSH_INTERVAL * 1000,
    minFlushGapMs: config.MIN_FLUSH_GAP_SECONDS * 1000,
    maxInflightUploads: config.MAX_INFLIGHT_UPLOADS,
    instanceId,
    collectorVersion: COLLECTOR_VERSION,
    retryBudget: 3,
    retryBackoff: { baseMs: 500, maxMs: 30_000 },
    // Files waiting for storage may hold as many rows as the queue (and never less than a healthy
    // pipeline has in flight: every upload slot with a hard-capped buffer); past that the queue fills
    // and drops are counted.
    maxBacklogRows: Math.max(config.QUEUE_SIZE, 4 * config.BUFFER_SIZE * config.MAX_INFLIGHT_UPLOADS),
    // Only what was subscribed becomes a partition (ingest refuses anything else first).
    symbols: Object.fromEntries(config.EXCHANGES.map((ex) => [ex, config.SYMBOLS])),
  });
  return { queue, writer, encoder };
}
