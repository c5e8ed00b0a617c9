/** @module pipeline/encode-worker — Bun Worker entry: Parquet encoding off the socket-reading thread. */
import { encodeParquet } from "./encode.ts";
import { releaseBuffers } from "./release.ts";
import { initParquetWasm } from "./wasm-init.ts";
import type { EncodeRequest, EncodeResponse } from "./encoder.ts";
import { transferablesOf } from "./columns.ts";

declare const self: Worker;

const ready = initParquetWasm();

/**
 * The worker's heap grows in bursts of short-lived Arrow buffers that lazy GC leaves for long;
 * a full collection every few files keeps the process RSS flat (measured, README.md "Performance
 * (measured)": ~105 MB vs 210–330 MB sawtooth). It runs on this thread, never on the socket reader's.
 * One collection costs ~9 ms here: every 20 files that was ~0.4 ms per file, a third of the cost of
 * a small (20-row) file, so with thousands of small partitions (FLUSH_INTERVAL=10) the worker spent
 * a third of its time collecting little. Hence at most one collection per second for small files;
 * 100,000 rows (20 full files) still collect at once.
 */
const GC_EVERY_FILES = 20;
const GC_EVERY_ROWS = 100_000;
const GC_MIN_GAP_MS = 1000;
let filesSinceGc = 0;
let rowsSinceGc = 0;
let lastGcMs = 0;

self.onmessage = async (ev: MessageEvent<EncodeRequest>) => {
  const req = ev.data;
  let res: EncodeResponse;
  try {
    await ready;
    const bytes = encodeParquet(req.batch, { metadata: new Map(req.metadata), createdBy: req.createdBy });
    res = { id: req.id, bytes };
    self.postMessage(res, [bytes.buffer as ArrayBuffer]);
    // The file exists: the batch's buffers (transferred here, read by nobody else) are freed now.
    releaseBuffers(transferablesOf(req.batch));
    rowsSinceGc += req.batch.length;
    const now = performance.now();
    if (rowsSinceGc >= GC_EVERY_ROWS || (++filesSinceGc >= GC_EVERY_FILES && now - lastGcMs >= GC_MIN_GAP_MS)) {
      rowsSinceGc = 0;
      filesSinceGc = 0;
      lastGcMs = now;
      Bun.gc(true);
    }
  } catch (err) {
    res = { id: req.id, error: err instanceof Error ? err.message : String(err), batch: req.batch };
    self.postMessage(res, transferablesOf(req.batch));
  }
};
