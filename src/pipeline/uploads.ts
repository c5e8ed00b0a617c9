/** @module pipeline/uploads — the writer's upload pump: flushed files → encode → store, with retries, backoff and losses. */
import type { FileStream } from "../schema/rows.ts";
import { fileMetadata } from "../schema/v1.ts";
import type { Storage } from "../storage/types.ts";
import type { Logger } from "../log.ts";
import { describeError } from "../errors.ts";
import { backoffDelayMs, type BackoffPolicy } from "../backoff.ts";
import type { ColumnBatch } from "./columns.ts";
import type { ColumnBuilder } from "./column-builder.ts";
import { EncodeError, type Encoder } from "./encoder.ts";
import type { Partition } from "./partitions.ts";
import { freeBytes } from "./release.ts";

interface Job {
  key: string;
  exchange: string;
  stream: FileStream;
  symbol: string;
  /** Kept until the file is stored, so a failed attempt is retried from the same bytes' source. */
  batch: ColumnBatch;
  attempts: number;
}

/** The writer's options the pump uses (WriterOptions satisfies it). */
export interface UploadOptions {
  maxInflightUploads: number;
  instanceId: string;
  collectorVersion: string;
  retryBudget: number;
  retryBackoff: BackoffPolicy;
}

/** Where the pump reports files whose rows were lost (the writer's WriterLosses). */
interface Drops {
  recordDrop(nowMs: number, count?: number): void;
}

/** What the pump counts: the writer's stats (WriterStats) without its buffers. */
export interface PumpStats {
  /** Market-data rows in stored files (comparable with total_events; connection rows are not counted). */
  rowsWritten: number;
  filesWritten: number;
  /** storage.put calls in progress. */
  putsInFlight: number;
  /** Failed attempts to encode or store a file (each retried with backoff). */
  failedAttempts: number;
  /** Files whose rows were lost (the encoder died holding the only copy): counted as drops too. */
  lostFiles: number;
  /** Failed start-up probes, failed attempts and lost files. */
  writeErrors: number;
  /** Storage failing beyond the retry budget, or the start-up probe failed and nothing was written since. */
  failing: boolean;
  /** When storage.put last succeeded (ms), null until the first. */
  lastStoredMs: number | null;
}

/** Files stored since the last collection before the pump's idle moment triggers one (collectAfterWave). */
const GC_AFTER_FILES = 20;
const GC_MIN_GAP_MS = 5000;

export class UploadPump {
  private readonly waiting: Job[] = [];
  private readonly failing = new Set<Job>();
  private inFlight = 0;
  private jobsOpen = 0;
  /** Rows in jobs (flushed files) not yet stored. */
  backlogRows = 0;
  private idleWaiters: Array<() => void> = [];
  private probeFailed = false;
  private rowsWritten = 0;
  private filesWritten = 0;
  private putsInFlight = 0;
  private failedAttempts = 0;
  private lostFiles = 0;
  private writeErrors = 0;
  private lastStoredMs: number | null = null;
  /** Aborted when a shutdown times out: no file becomes visible after that, no job retries. */
  private readonly abort = new AbortController();
  private readonly puts = new Set<Promise<unknown>>();
  private filesSinceGc = 0;
  private lastGcMs = 0;

  /** `settled`: a job's rows left the writer (stored, or lost and counted as dropped). */
  constructor(
    private readonly storage: Storage,
    private readonly encoder: Encoder,
    private readonly losses: Drops,
    private readonly log: Logger,
    private readonly opts: UploadOptions,
    private readonly settled: (stream: FileStream, rows: number) => void,
  ) {}

  /** The start-up probe: a failure is logged and reported as failing until a file is stored. */
  async probe(): Promise<void> {
    try {
      await this.storage.probe();
    } catch (err) {
      this.probeFailed = true;
      this.writeErrors++;
      this.log.error("write_error", {
        storage: this.storage.describe,
        error: describeError(err),
        action: "check that the data directory exists and is writable by the collector's user",
      });
    }
  }

  /** Remove the temp files an earlier run left (if the storage has any); logged, never thrown. */
  removeLeftovers(): Promise<void> {
    if (!this.storage.removeLeftovers) return Promise.resolve();
    return this.storage.removeLeftovers().then(
      (r) => this.log.info("tmp_cleanup", { storage: this.storage.describe, removed: r.removed, kept_live: r.kept }),
      (err: unknown) => this.log.warn("tmp_cleanup", { storage: this.storage.describe, error: describeError(err) }),
    );
  }

  /** Queue a flushed buffer's file under `key` and start it if an upload slot is free. */
  submit(key: string, p: Partition, rows: ColumnBuilder): void {
    this.jobsOpen++;
    this.backlogRows += rows.length;
    this.waiting.push({ key, exchange: p.exchange, stream: p.stream, symbol: p.symbol, batch: rows.build(), attempts: 0 });
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInflightUploads && this.waiting.length > 0 && !this.abort.signal.aborted) {
      const job = this.waiting.shift()!;
      this.inFlight++;
      void this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
    const meta = fileMetadata({
      exchange: job.exchange,
      stream: job.stream,
      symbol: job.symbol,
      instanceId: this.opts.instanceId,
      collectorVersion: this.opts.collectorVersion,
    });
    const signal = this.abort.signal;
    let bytes: Uint8Array | null = null;
    for (;;) {
      // After a shutdown timeout nothing more is written: the job's rows stay counted as unwritten.
      if (signal.aborted) return;
      job.attempts++;
      try {
        // Encode once; a failed store is retried with the same bytes under the same key.
        if (!bytes) bytes = await this.encoder.encode(job.batch, meta, `quantlab-collector ${this.opts.collectorVersion}`);
        if (signal.aborted) return;
        this.putsInFlight++;
        const put = this.storage.put(job.key, bytes, signal);
        this.puts.add(put);
        try {
          await put;
        } finally {
          this.puts.delete(put);
          this.putsInFlight--;
        }
        // Stored: nobody reads these bytes any more (Storage.put keeps no reference once it resolves).
        // Freed now, not at the ingest thread's next GC: between two collections a flush wave's files
        // (~10–15 MB at the default load) were all still resident (bench/memory.ts).
        freeBytes(bytes);
        bytes = null;
        break;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof EncodeError) {
          if (!err.batch) {
            // The worker died holding the only copy: count the rows as lost, loudly, never silently.
            this.lose(job, err);
            return;
          }
          job.batch = err.batch;
        }
        this.failedAttempts++;
        this.writeErrors++;
        if (job.attempts >= this.opts.retryBudget) this.failing.add(job);
        const delayMs = backoffDelayMs(this.opts.retryBackoff, job.attempts);
        this.log.error("write_error", {
          key: job.key,
          rows: job.batch.length,
          attempt: job.attempts,
          retry_in_ms: delayMs,
          storage: this.storage.describe,
          error: describeError(err),
        });
        await Bun.sleep(delayMs);
      }
    }
    if (job.attempts > 1) this.log.info("write_recovered", { key: job.key, attempts: job.attempts });
    this.probeFailed = false;
    // total_written counts market-data events (comparable with total_events), not connection rows.
    if (job.stream !== "connection") this.rowsWritten += job.batch.length;
    this.filesWritten++;
    this.lastStoredMs = Date.now();
    this.finish(job);
  }

  private lose(job: Job, err: Error): void {
    this.lostFiles++;
    this.writeErrors++;
    this.losses.recordDrop(Date.now(), job.batch.length);
    this.log.error("write_error", {
      key: job.key,
      rows: job.batch.length,
      lost: true,
      error: describeError(err),
      action: "rows counted in dropped_events_total; check memory limits (MemoryMax) and the encoder worker logs",
    });
    // Counted as dropped here: not again as unwritten at shutdown.
    this.finish(job);
  }

  private finish(job: Job): void {
    this.failing.delete(job);
    this.settled(job.stream, job.batch.length);
    this.backlogRows -= job.batch.length;
    this.inFlight--;
    this.jobsOpen--;
    this.filesSinceGc++;
    this.pump();
    if (this.jobsOpen === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
      this.collectAfterWave();
    }
  }

  /**
   * Flushes come in waves (every partition's FLUSH_INTERVAL, spread over its last quarter): during a
   * wave this thread's heap grew by 12–15 MB (parsed rows, batch and file wrappers) until the
   * engine's own next collection, which gave back 8–10 MB of RSS when it came (bench/memory.ts).
   * One synchronous collection when the pump falls idle after GC_AFTER_FILES stored files, at most
   * every GC_MIN_GAP_MS: never per row, never per file (event-loop lag p99 at the default load stayed
   * 1.9–6.1 ms with it, 4.2–8.2 without; bench/memory.ts).
   */
  private collectAfterWave(): void {
    if (this.filesSinceGc < GC_AFTER_FILES) return;
    const now = performance.now();
    if (now - this.lastGcMs < GC_MIN_GAP_MS) return;
    this.filesSinceGc = 0;
    this.lastGcMs = now;
    Bun.gc(true);
  }

  stats(): PumpStats {
    return {
      rowsWritten: this.rowsWritten,
      filesWritten: this.filesWritten,
      putsInFlight: this.putsInFlight,
      failedAttempts: this.failedAttempts,
      lostFiles: this.lostFiles,
      writeErrors: this.writeErrors,
      failing: this.probeFailed || this.failing.size > 0,
      lastStoredMs: this.lastStoredMs,
    };
  }

  /** Files flushed and not yet stored or lost. */
  get open(): number {
    return this.jobsOpen;
  }

  /** Resolves when no file is open any more. */
  idle(): Promise<void> {
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop writing (shutdown timeout): no file becomes visible after this, no job retries. The in-flight stores, if any. */
  stop(): Promise<unknown> | null {
    this.abort.abort();
    return this.puts.size > 0 ? Promise.allSettled([...this.puts]) : null;
  }
}

/** Waits for `work` or `ms`, whichever ends first; the timer is cleared so it never holds the process open. */
export async function raceTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
