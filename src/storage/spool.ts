/**
 * @module storage/spool — STORAGE_BACKEND=s3: every file is first made durable in a local spool
 * (temp + fsync + rename, same hive key), then uploaded in the background, and deleted only after
 * S3 confirmed the PUT. A long outage costs disk, not RAM; files left by an earlier run (kill -9,
 * power loss, shutdown during an outage) are uploaded first on the next start.
 */
import { readdir, rm, rmdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { describeError, StorageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { backoffDelayMs, type BackoffPolicy } from "../backoff.ts";
import type { Metrics } from "../state/metrics.ts";
import { createLocalStorage } from "./local.ts";
import type { ObjectStore } from "./s3.ts";
import type { Storage } from "./types.ts";

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
  metrics: Metrics;
  log: Logger;
}

export interface SpoolingStorage extends Storage {
  readonly countsUploads: true;
  close(timeoutMs: number): Promise<{ pendingFiles: number; pendingBytes: number }>;
}

interface Entry {
  key: string;
  size: number;
  /** When the file entered the spool (mtime for files recovered from an earlier run). */
  sinceMs: number;
  attempts: number;
}

/** Temp files of a writer that died mid-write are removed after this long (a live writer renames within ms). */
const STALE_TMP_MS = 10 * 60_000;

export function normalisePrefix(prefix: string): string {
  const p = prefix.trim().replace(/^\/+/, "").replace(/\/+$/, "");
  return p === "" ? "" : `${p}/`;
}

export function createSpoolingStorage(o: SpoolOptions): SpoolingStorage {
  const local = createLocalStorage(o.dir);
  const prefix = normalisePrefix(o.prefix);
  const entries = new Map<string, Entry>(); // insertion order = oldest first
  const ready: Entry[] = [];
  const w = o.metrics.writer;
  let bytesTotal = 0;
  let reserved = 0;
  let inflight = 0;
  /** Requests abandoned at their deadline and still open (each holds a socket and its bytes). */
  let abandoned = 0;
  let backoffStep = 0;
  let pausedUntil = 0;
  let wakeTimer: ReturnType<typeof setTimeout> | null = null;
  let full = false;
  let blockedLogged = false;
  let closed = false;

  const gauges = () => {
    w.spool_files = entries.size;
    w.spool_bytes = bytesTotal;
    const first = entries.values().next();
    o.metrics.spoolOldestMs = first.done ? null : first.value.sinceMs;
  };

  const add = (e: Entry) => {
    if (entries.has(e.key)) return;
    entries.set(e.key, e);
    bytesTotal += e.size;
    ready.push(e);
    gauges();
  };

  const remove = (e: Entry) => {
    if (!entries.delete(e.key)) return;
    bytesTotal -= e.size;
    gauges();
  };

  function pump(): void {
    if (closed) return;
    const now = Date.now();
    if (now < pausedUntil) {
      if (!wakeTimer && ready.length > 0) {
        wakeTimer = setTimeout(() => {
          wakeTimer = null;
          pump();
        }, pausedUntil - now);
      }
      return;
    }
    // After a failure one upload probes the endpoint; full concurrency returns with the first success.
    const limit = backoffStep > 0 ? 1 : o.maxInflight;
    while (inflight < limit && ready.length > 0) {
      // Abandoned requests still hold sockets until Bun's HTTP idle timeout ends them; cap them.
      if (inflight + abandoned >= 2 * o.maxInflight) {
        if (!blockedLogged) {
          blockedLogged = true;
          o.log.warn("upload_error", { code: "ABANDONED_REQUESTS", abandoned, storage: o.store.describe, action: "uploads wait until abandoned requests close (Bun ends them after its HTTP idle timeout: BUN_CONFIG_HTTP_IDLE_TIMEOUT in the service environment shortens it); files stay in the spool" });
        }
        return;
      }
      blockedLogged = false;
      void upload(ready.shift()!);
    }
  }

  function withDeadline(p: Promise<void>, key: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let expired = false;
      const timer = setTimeout(() => {
        expired = true;
        abandoned++;
        // Bun's S3 calls take no AbortSignal: stop waiting, keep counting the open request.
        p.then(
          () => {},
          () => {},
        ).finally(() => {
          abandoned--;
          pump();
        });
        reject(new StorageError("UPLOAD_TIMEOUT", `PUT ${key}: no answer within ${o.uploadTimeoutMs} ms, abandoned; the retry writes the same key with the same bytes`));
      }, o.uploadTimeoutMs);
      p.then(
        () => {
          if (expired) return;
          clearTimeout(timer);
          resolve();
        },
        (err) => {
          if (expired) return;
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  async function upload(e: Entry): Promise<void> {
    inflight++;
    w.in_flight_uploads++;
    e.attempts++;
    const objectKey = prefix + e.key;
    const path = join(o.dir, e.key);
    try {
      let bytes: Uint8Array;
      try {
        // Read back from disk for every attempt: waiting files cost no RAM.
        bytes = await Bun.file(path).bytes();
      } catch (err) {
        if ((err as { code?: string }).code === "ENOENT") {
          remove(e);
          o.log.error("upload_error", { key: e.key, code: "SPOOL_FILE_MISSING", error: "the spooled file disappeared before it was uploaded", action: "do not remove files from SPOOL_DIR by hand; check that no other process cleans it" });
          return;
        }
        throw err;
      }
      await withDeadline(o.store.write(objectKey, bytes), objectKey);
      await rm(path, { force: true });
      remove(e);
      w.files_uploaded++;
      // /health last_write_ts means "last S3 write" here: a stale value is how an outage shows.
      o.metrics.lastWriteTsMs = Date.now();
      backoffStep = 0;
      pausedUntil = 0;
      if (o.metrics.uploadsFailing) {
        o.metrics.uploadsFailing = false;
        o.log.info("upload_recovered", { key: objectKey, attempts: e.attempts, spool_files: entries.size, spool_bytes: bytesTotal });
      }
    } catch (err) {
      w.upload_failures++;
      o.metrics.writeErrorsTotal++;
      o.metrics.uploadsFailing = true;
      const now = Date.now();
      // One backoff step per failing round, not per parallel failure: 16 uploads failing together
      // must not jump straight to the maximum delay.
      if (now >= pausedUntil) {
        backoffStep++;
        pausedUntil = now + backoffDelayMs(o.backoff, backoffStep);
      }
      ready.unshift(e); // oldest first again
      const code = (err as { code?: unknown }).code;
      o.log.warn("upload_error", {
        key: objectKey,
        attempt: e.attempts,
        retry_in_ms: Math.max(0, pausedUntil - now),
        spool_files: entries.size,
        spool_bytes: bytesTotal,
        storage: o.store.describe,
        error: describeError(err),
        action: actionFor(typeof code === "string" ? code : ""),
      });
    } finally {
      inflight--;
      w.in_flight_uploads--;
      pump();
    }
  }

  function markFull(reason: string, err: string): void {
    o.metrics.spoolFull = true;
    if (full) return;
    full = true;
    o.log.error("spool_full", {
      reason,
      spool_dir: o.dir,
      spool_files: entries.size,
      spool_bytes: bytesTotal,
      spool_max_bytes: o.maxBytes,
      error: err,
      action: "files are not reaching S3 fast enough: fix S3 access first (see upload_error), then free disk space or raise SPOOL_MAX_BYTES; until then new rows wait in memory and are dropped once the queue is full",
    });
  }

  async function recover(): Promise<void> {
    const found: Array<{ key: string; size: number; mtimeMs: number }> = [];
    const now = Date.now();
    const walk = async (dir: string): Promise<boolean> => {
      let empty = true;
      for (const d of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, d.name);
        if (d.isDirectory()) {
          if (await walk(p)) await rmdir(p).catch(() => {});
          else empty = false;
        } else if (d.name.endsWith(".parquet") && !d.name.startsWith(".")) {
          const st = await stat(p);
          found.push({ key: relative(o.dir, p).split(sep).join("/"), size: st.size, mtimeMs: st.mtimeMs });
          empty = false;
        } else if (d.name.endsWith(".tmp") && now - (await stat(p)).mtimeMs > STALE_TMP_MS) {
          await rm(p, { force: true }); // a partial file of a writer that died mid-write
        } else {
          empty = false;
        }
      }
      return empty;
    };
    await walk(o.dir);
    found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.key < b.key ? -1 : 1));
    // A late scan (after a failed start-up probe) also sees this run's files: those are queued already.
    for (let i = found.length - 1; i >= 0; i--) if (entries.has(found[i]!.key)) found.splice(i, 1);
    for (const f of found) add({ key: f.key, size: f.size, sinceMs: f.mtimeMs, attempts: 0 });
    if (found.length > 0) {
      o.log.info("spool_recovered", { files: found.length, bytes: found.reduce((a, f) => a + f.size, 0), oldest_age_s: Math.round((now - found[0]!.mtimeMs) / 1000), spool_dir: o.dir, note: "files left by an earlier run are uploaded first" });
    }
  }

  /**
   * Files of an earlier run are queued once the spool has been scanned successfully. A start-up
   * probe that fails (directory missing or not writable yet) leaves it to the first put that
   * succeeds, so those files are not stranded until the next restart.
   */
  let recovered = false;
  let recovering: Promise<void> | null = null;
  let recoverErrorLogged = false;
  const ensureRecovered = (): Promise<void> => {
    if (recovered) return Promise.resolve();
    recovering ??= recover()
      .then(() => {
        recovered = true;
        pump();
      })
      .catch((err: unknown) => {
        throw new StorageError("SPOOL_UNREADABLE", `cannot scan spool ${o.dir}: ${describeError(err)}`);
      })
      .finally(() => {
        recovering = null;
      });
    return recovering;
  };
  return {
    describe: `${o.store.describe}/${prefix} via spool ${o.dir}`,
    countsUploads: true,
    async probe() {
      await local.probe();
      await ensureRecovered();
    },
    async put(key, bytes, signal) {
      if (bytesTotal + reserved + bytes.length > o.maxBytes) {
        const msg = `spool holds ${bytesTotal} B in ${entries.size} files; SPOOL_MAX_BYTES=${o.maxBytes}: file refused (the writer keeps its rows and retries)`;
        markFull("SPOOL_MAX_BYTES", msg);
        throw new StorageError("SPOOL_FULL", msg);
      }
      reserved += bytes.length;
      try {
        await local.put(key, bytes, signal);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "ENOSPC" || code === "EDQUOT") markFull("disk full", describeError(err));
        throw err;
      } finally {
        reserved -= bytes.length;
      }
      if (full) {
        full = false;
        o.metrics.spoolFull = false;
        o.log.info("spool_full", { resolved: true, spool_files: entries.size, spool_bytes: bytesTotal });
      }
      add({ key, size: bytes.length, sinceMs: Date.now(), attempts: 0 });
      pump();
      if (!recovered) {
        await ensureRecovered().catch((err: unknown) => {
          if (recoverErrorLogged) return;
          recoverErrorLogged = true; // once per process: every put retries, the log need not repeat it
          o.log.error("write_error", { storage: o.store.describe, error: describeError(err), action: `files of an earlier run in ${o.dir} are not queued for upload: make the spool directory readable by the collector's user; retried with the next file` });
        });
      }
    },
    async close(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      // Wait while uploads make progress; with S3 failing the files are safe on disk: stop at once.
      while (entries.size > 0 && Date.now() < deadline) {
        if (o.metrics.uploadsFailing && inflight === 0) break;
        await Bun.sleep(25);
      }
      closed = true;
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = null;
      return { pendingFiles: entries.size, pendingBytes: bytesTotal };
    },
  };
}

function actionFor(code: string): string {
  switch (code) {
    case "AccessDenied":
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
    case "ERR_S3_MISSING_CREDENTIALS":
      return "check S3_ACCESS_KEY / S3_SECRET_KEY and the bucket policy; files wait in the spool and are retried";
    case "NoSuchBucket":
      return "create the bucket or fix S3_BUCKET; files wait in the spool and are retried";
    case "ConnectionRefused":
    case "DNSResolveFailed":
    case "Timeout":
    case "UPLOAD_TIMEOUT":
    case "ConnectionClosed":
      return "check that S3_ENDPOINT is reachable from this host; files wait in the spool and are retried";
    default:
      return "files wait in the spool and are retried with backoff; nothing is lost while the spool has room";
  }
}
