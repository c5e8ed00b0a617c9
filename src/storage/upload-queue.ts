/**
 * @module storage/upload-queue — PUTs the spooled files, oldest first: at most MAX_INFLIGHT_UPLOADS
 * at once, a deadline per attempt, retries with backoff, a bound on abandoned requests. A file is
 * deleted from the spool only after the store confirmed it; a retry writes the same key and bytes.
 */
import { type TimerClock, withDeadline } from "../clock.ts";
import { describeError, StorageError } from "../errors.ts";
import type { BackoffPolicy } from "../backoff.ts";
import type { Logger } from "../log.ts";
import type { ObjectStore } from "./s3.ts";
import type { SpoolEntry, SpoolFiles } from "./spool-files.ts";
import { actionFor } from "./upload-actions.ts";
import { UploadBackoff } from "./upload-backoff.ts";

export interface UploadQueueOptions {
  /** Normalised S3_PREFIX: object key = prefix + hive key. */
  prefix: string;
  store: ObjectStore;
  files: SpoolFiles;
  maxInflight: number;
  /** Per-attempt deadline; a request without an answer by then is abandoned and retried. */
  uploadTimeoutMs: number;
  backoff: BackoffPolicy;
  clock: TimerClock;
  log: Logger;
}

export class UploadQueue {
  private readonly ready: SpoolEntry[] = [];
  private readonly pacing: UploadBackoff;
  private inflight = 0;
  /** Requests abandoned at their deadline and still open (each holds a socket and its bytes). */
  private abandoned = 0;
  private failing = false;
  private failures = 0;
  private uploaded = 0;
  private lastUploadMs: number | null = null;
  private blockedLogged = false;
  private closed = false;
  private cancelWake: (() => void) | null = null;
  private settledWaiters: Array<() => void> = [];

  constructor(private readonly o: UploadQueueOptions) {
    this.pacing = new UploadBackoff(o.backoff, o.maxInflight);
  }

  /** The queue's counters (UploadStats without the spool's contents). */
  stats(): { uploadsInFlight: number; uploadFailures: number; filesUploaded: number; lastUploadMs: number | null; uploadsFailing: boolean } {
    return {
      uploadsInFlight: this.inflight,
      uploadFailures: this.failures,
      filesUploaded: this.uploaded,
      lastUploadMs: this.lastUploadMs,
      uploadsFailing: this.failing,
    };
  }

  /** A file now in the spool; queued behind the others (the caller pumps). */
  add(e: SpoolEntry): void {
    if (this.o.files.add(e)) this.ready.push(e);
  }

  /** Start as many uploads as the pacing and the bounds allow. */
  pump(): void {
    if (this.closed) return;
    const waitMs = this.pacing.waitMs(this.o.clock.nowMs());
    if (waitMs > 0) {
      if (!this.cancelWake && this.ready.length > 0) {
        this.cancelWake = this.o.clock.after(waitMs, () => {
          this.cancelWake = null;
          this.pump();
        });
      }
      return;
    }
    while (this.inflight < this.pacing.concurrency) {
      const next = this.ready[0];
      if (!next) return;
      // Abandoned requests still hold sockets until Bun's HTTP idle timeout ends them; cap them.
      if (this.inflight + this.abandoned >= 2 * this.o.maxInflight) {
        this.logBlocked();
        return;
      }
      this.blockedLogged = false;
      this.ready.shift();
      void this.upload(next);
    }
  }

  /** Resolves once the spool is empty or, with uploads failing, none is running (the files are safe on disk). */
  settled(): Promise<void> {
    if (this.isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** No new attempt starts after this; running ones finish on their own. */
  close(): void {
    this.closed = true;
    this.cancelWake?.();
    this.cancelWake = null;
  }

  private async upload(e: SpoolEntry): Promise<void> {
    this.inflight++;
    e.attempts++;
    const objectKey = this.o.prefix + e.key;
    try {
      const bytes = await this.o.files.read(e);
      if (bytes === null) return this.missing(e);
      await this.put(objectKey, bytes);
      await this.o.files.discard(e);
      this.succeeded(e, objectKey);
    } catch (err) {
      this.failed(e, objectKey, err);
    } finally {
      this.inflight--;
      this.pump();
      if (this.isSettled()) for (const resolve of this.settledWaiters.splice(0)) resolve();
    }
  }

  /** One PUT with the per-attempt deadline. Bun's S3 calls take no AbortSignal: an expired request is counted until it ends. */
  private put(objectKey: string, bytes: Uint8Array): Promise<void> {
    const request = this.o.store.write(objectKey, bytes);
    return withDeadline(this.o.clock, this.o.uploadTimeoutMs, request, () => {
      this.abandoned++;
      request
        .then(
          () => {},
          () => {},
        )
        .finally(() => {
          this.abandoned--;
          this.pump();
        });
      return new StorageError(
        "UPLOAD_TIMEOUT",
        `PUT ${objectKey}: no answer within ${this.o.uploadTimeoutMs} ms, abandoned; the retry writes the same key with the same bytes`,
      );
    });
  }

  private succeeded(e: SpoolEntry, objectKey: string): void {
    const { files } = this.o;
    this.uploaded++;
    // /health last_write_ts means "last S3 write" here: a stale value is how an outage shows.
    this.lastUploadMs = this.o.clock.nowMs();
    this.pacing.succeeded();
    if (this.failing) {
      this.failing = false;
      this.o.log.info("upload_recovered", { key: objectKey, attempts: e.attempts, spool_files: files.count, spool_bytes: files.bytes });
    }
  }

  private failed(e: SpoolEntry, objectKey: string, err: unknown): void {
    const { files } = this.o;
    this.failures++;
    this.failing = true;
    const retryInMs = this.pacing.failed(this.o.clock.nowMs());
    this.ready.unshift(e); // oldest first again
    const code = (err as { code?: unknown }).code;
    this.o.log.warn("upload_error", {
      key: objectKey,
      attempt: e.attempts,
      retry_in_ms: retryInMs,
      spool_files: files.count,
      spool_bytes: files.bytes,
      storage: this.o.store.describe,
      error: describeError(err),
      action: actionFor(typeof code === "string" ? code : ""),
    });
  }

  private missing(e: SpoolEntry): void {
    this.o.files.remove(e);
    this.o.log.error("upload_error", {
      key: e.key,
      code: "SPOOL_FILE_MISSING",
      error: "the spooled file disappeared before it was uploaded",
      action: "do not remove files from SPOOL_DIR by hand; check that no other process cleans it",
    });
  }

  private logBlocked(): void {
    if (this.blockedLogged) return;
    this.blockedLogged = true;
    this.o.log.warn("upload_error", {
      code: "ABANDONED_REQUESTS",
      abandoned: this.abandoned,
      storage: this.o.store.describe,
      action:
        "uploads wait until abandoned requests close (Bun ends them after its HTTP idle timeout: BUN_CONFIG_HTTP_IDLE_TIMEOUT in the service environment shortens it); files stay in the spool",
    });
  }

  private isSettled(): boolean {
    return this.o.files.count === 0 || (this.failing && this.inflight === 0);
  }
}
