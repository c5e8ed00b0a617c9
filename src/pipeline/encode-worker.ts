/** @module pipeline/encode-worker — Bun Worker entry: Parquet encoding off the socket-reading thread. */
import { encodeParquet } from "./encode.ts";
import { initParquetWasm } from "./wasm-init.ts";
import type { EncodeRequest, EncodeResponse } from "./encoder.ts";
import { transferablesOf } from "./columns.ts";

declare const self: Worker;

const ready = initParquetWasm();

self.onmessage = async (ev: MessageEvent<EncodeRequest>) => {
  const req = ev.data;
  let res: EncodeResponse;
  try {
    await ready;
    const bytes = encodeParquet(req.batch, { metadata: new Map(req.metadata), createdBy: req.createdBy });
    res = { id: req.id, bytes };
    self.postMessage(res, [bytes.buffer as ArrayBuffer]);
  } catch (err) {
    res = { id: req.id, error: err instanceof Error ? err.message : String(err), batch: req.batch };
    self.postMessage(res, transferablesOf(req.batch));
  }
};
