/** Writer options for unit tests: small buffers, no flush gap, fast retries; override what a test is about. */
import type { WriterOptions } from "../../src/pipeline/writer.ts";

export const testWriterOptions = (o: Partial<WriterOptions> = {}): WriterOptions => ({
  bufferSize: 100,
  flushIntervalMs: 60_000,
  minFlushGapMs: 0,
  maxInflightUploads: 4,
  instanceId: "abcd1234",
  collectorVersion: "0.0.0-test",
  retryBudget: 2,
  retryBackoff: { baseMs: 20, maxMs: 50 },
  maxBacklogRows: 1_000_000,
  ...o,
});
