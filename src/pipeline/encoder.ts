/** @module pipeline/encoder — runs Parquet encoding in a Bun Worker so the ingest thread never blocks on it. */
import { transferablesOf, type ColumnBatch } from "./columns.ts";

export interface EncodeRequest {
  id: number;
  batch: ColumnBatch;
  metadata: [string, string][];
  createdBy: string;
}

/** A failed encode hands the batch back (transferred) so the writer can retry without losing rows. */
export type EncodeResponse = { id: number; bytes: Uint8Array } | { id: number; error: string; batch: ColumnBatch };

export class EncodeError extends Error {
  readonly code = "ENCODE_FAILED";
  /** The batch, when it survived the failure; absent when the worker died holding it. */
  constructor(
    message: string,
    readonly batch?: ColumnBatch,
  ) {
    super(message);
    this.name = "EncodeError";
  }
}

export interface Encoder {
  /** The file's bytes, owned by the caller alone (the writer frees them once they are stored). */
  encode(batch: ColumnBatch, metadata: Map<string, string>, createdBy: string): Promise<Uint8Array>;
  /** Jobs handed over and not yet answered. */
  pending(): number;
  close(): Promise<void>;
}

interface Pending {
  resolve: (b: Uint8Array) => void;
  reject: (e: EncodeError) => void;
}

/**
 * From source the worker sits beside this file. In the compiled binary it is a second entrypoint of
 * `bun build --compile` (scripts/build.ts), embedded under the entrypoints' common root: measured
 * here, `new URL(…, import.meta.url)` does not resolve there, the embedded path does.
 */
function workerUrl(): string {
  return import.meta.url.startsWith("file:///$bunfs/") ? "/$bunfs/root/src/pipeline/encode-worker.js" : new URL("./encode-worker.ts", import.meta.url).href;
}

export function createWorkerEncoder(): Encoder {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let worker = spawn();

  function spawn(): Worker {
    const w = new Worker(workerUrl());
    w.onmessage = (ev: MessageEvent<EncodeResponse>) => {
      const res = ev.data;
      const p = pending.get(res.id);
      if (!p) return;
      pending.delete(res.id);
      if ("bytes" in res) p.resolve(res.bytes);
      else p.reject(new EncodeError(`parquet encode failed: ${res.error}`, res.batch));
    };
    w.onerror = (ev: ErrorEvent) => {
      // A crashed worker fails its in-flight jobs (the writer retries them) and is replaced.
      const err = new EncodeError(`encoder worker crashed: ${ev.message}`);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      w.terminate();
      worker = spawn();
    };
    return w;
  }

  return {
    encode(batch, metadata, createdBy) {
      const id = nextId++;
      const req: EncodeRequest = { id, batch, metadata: [...metadata], createdBy };
      return new Promise<Uint8Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // Transferred, not copied: cloning a 16k-row batch cost 1–6 ms on the ingest thread.
        worker.postMessage(req, transferablesOf(batch));
      });
    },
    pending: () => pending.size,
    async close() {
      worker.terminate();
    },
  };
}
