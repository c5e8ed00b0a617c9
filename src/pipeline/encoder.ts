/** @module pipeline/encoder — runs Parquet encoding in a Bun Worker so the ingest thread never blocks on it. */
import type { ColumnBatch } from "./columns.ts";

export interface EncodeRequest {
  id: number;
  batch: ColumnBatch;
  metadata: [string, string][];
  createdBy: string;
}

export type EncodeResponse = { id: number; bytes: Uint8Array } | { id: number; error: string };

export interface Encoder {
  encode(batch: ColumnBatch, metadata: Map<string, string>, createdBy: string): Promise<Uint8Array>;
  /** Jobs handed over and not yet answered. */
  pending(): number;
  close(): Promise<void>;
}

interface Pending {
  resolve: (b: Uint8Array) => void;
  reject: (e: Error) => void;
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
      else p.reject(new Error(`parquet encode failed: ${res.error}`));
    };
    w.onerror = (ev: ErrorEvent) => {
      // A crashed worker fails its in-flight jobs (the writer retries them) and is replaced.
      const err = new Error(`encoder worker crashed: ${ev.message}`);
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
        // Copied, not transferred: typed arrays clone as a memcpy, and the writer keeps the
        // batch to retry a failed file.
        worker.postMessage(req);
      });
    },
    pending: () => pending.size,
    async close() {
      worker.terminate();
    },
  };
}
