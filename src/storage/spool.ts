/**
 * @module storage/spool — STORAGE_BACKEND=s3: every file is first made durable in a local spool
 * (temp + fsync + rename, same hive key), then uploaded in the background, and deleted only after
 * S3 confirmed the PUT. A long outage costs disk, not RAM; files left by an earlier run (kill -9,
 * power loss, shutdown during an outage) are uploaded first on the next start (docs/s3.md).
 *
 * Parts: spool-files (what waits, gauges), spool-admission (SPOOL_MAX_BYTES, disk full),
 * upload-queue (concurrency, deadlines, retries), spool-recovery (an earlier run's files).
 */
import type { BackoffPolicy } from "../backoff.ts";
import { systemClock, type TimerClock, withDeadline } from "../clock.ts";
import type { Logger } from "../log.ts";
import { createLocalStorage } from "./local.ts";
import type { ObjectStore } from "./s3.ts";
import { SpoolAdmission } from "./spool-admission.ts";
import { SpoolFiles } from "./spool-files.ts";
import { SpoolRecovery } from "./spool-recovery.ts";
import type { Storage, UploadStats } from "./types.ts";
import { UploadQueue } from "./upload-queue.ts";

export interface SpoolOptions {
  dir: string;
  /** S3_PREFIX as configured ("", "raw", "raw/"): object key = normalised prefix + hive key. */
  prefix: string;
  store: ObjectStore;
  /** MAX_INFLIGHT_UPLOADS. */
  maxInflight: number;
  /** SPOOL_MAX_BYTES: above it new files are refused (state ERROR). */
  maxBytes: number;
  /** Per-attempt deadline; a request without an answer by then is abandoned and retried. */
  uploadTimeoutMs: number;
  backoff: BackoffPolicy;
  log: Logger;
  /** Time of backoff pauses, deadlines and file ages; default real time (tests drive their own). */
  clock?: TimerClock;
}

export interface SpoolingStorage extends Storage {
  stats(): UploadStats;
  close(timeoutMs: number): Promise<{ pendingFiles: number; pendingBytes: number }>;
}

export function normalisePrefix(prefix: string): string {
  const p = prefix.trim().replace(/^\/+/, "").replace(/\/+$/, "");
  return p === "" ? "" : `${p}/`;
}

export function createSpoolingStorage(o: SpoolOptions): SpoolingStorage {
  const { dir, store, maxInflight, maxBytes, uploadTimeoutMs, backoff, log } = o;
  const clock = o.clock ?? systemClock;
  const local = createLocalStorage(dir);
  const prefix = normalisePrefix(o.prefix);
  const files = new SpoolFiles(dir);
  const admission = new SpoolAdmission({ local, files, dir, maxBytes, log });
  const uploads = new UploadQueue({ prefix, store, files, maxInflight, uploadTimeoutMs, backoff, clock, log });
  const recovery = new SpoolRecovery({
    dir,
    files,
    enqueue: (e) => uploads.add(e),
    onRecovered: () => uploads.pump(),
    storage: store.describe,
    clock,
    log,
  });
  return {
    describe: `${store.describe}/${prefix} via spool ${dir}`,
    stats() {
      return { ...uploads.stats(), spoolFiles: files.count, spoolBytes: files.bytes, spoolOldestMs: files.oldestMs, spoolFull: admission.isFull };
    },
    async probe() {
      await local.probe();
      await recovery.ensure();
    },
    async put(key, bytes, signal) {
      await admission.admit(key, bytes, signal);
      uploads.add({ key, size: bytes.length, sinceMs: clock.nowMs(), attempts: 0 });
      uploads.pump();
      await recovery.retry();
    },
    async close(timeoutMs) {
      // Wait while uploads make progress; with S3 failing the files are safe on disk: stop at once.
      if (timeoutMs > 0) await withDeadline(clock, timeoutMs, uploads.settled(), () => "shutdown timeout").catch(() => {});
      uploads.close();
      return { pendingFiles: files.count, pendingBytes: files.bytes };
    },
  };
}
