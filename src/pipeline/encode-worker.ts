/** @module pipeline/encode-worker — Bun Worker entry: Parquet encoding off the socket-reading thread. */
import { encodeParquet } from "./encode.ts";
import { initParquetWasm } from "./wasm-init.ts";
import type { EncodeRequest, EncodeResponse } from "./encoder.ts";
import { transferablesOf } from "./columns.ts";

declare const self: Worker;

const ready = initParquetWasm();

/**
 * The worker's heap grows in bursts of short-lived Arrow buffers that lazy GC leaves for long;
 * a full collection every few files keeps the process RSS flat (measured, README.md "Performance (measured)": ~105 MB vs 210–330
 * MB sawtooth). It runs on this thread, never on the socket reader's.
 */
const GC_EVERY_FILES = 20;
let sinceGc = 0;

self.onmessage = async (ev: MessageEvent<EncodeRequest>) => {
  const req = ev.data;
  let res: EncodeResponse;
  try {
    await ready;
    const bytes = encodeParquet(req.batch, { metadata: new Map(req.metadata), createdBy: req.createdBy });
    res = { id: req.id, bytes };
    self.postMessage(res, [bytes.buffer as ArrayBuffer]);
    if (++sinceGc >= GC_EVERY_FILES) {
      sinceGc = 0;
      Bun.gc(true);
    }
  } catch (err) {
    res = { id: req.id, error: err instanceof Error ? err.message : String(err), batch: req.batch };
    self.postMessage(res, transferablesOf(req.batch));
  }
};
