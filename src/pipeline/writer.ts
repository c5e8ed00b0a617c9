/** @module pipeline/writer — drains the queue into per-(exchange, stream, symbol) buffers and writes files. */
import { partitionOf, type FileStream, type RecordRow } from "../schema/rows.ts";
import { fileMetadata } from "../schema/v1.ts";
import { objectKey, utcDate } from "../storage/paths.ts";
import type { Storage } from "../storage/types.ts";
import type { Metrics } from "../state/metrics.ts";
import type { Logger } from "../log.ts";
import { describeError } from "../errors.ts";
import { backoffDelayMs, type BackoffPolicy } from "../backoff.ts";
import type { ColumnBatch } from "./columns.ts";
import { ColumnBuilder } from "./column-builder.ts";
import { EncodeError, type Encoder } from "./encoder.ts";
import type { BoundedQueue } from "./queue.ts";

export interface WriterOptions {
  bufferSize: number;
  flushIntervalMs: number;
  minFlushGapMs: number;
  maxInflightUploads: number;
  instanceId: string;
  collectorVersion: string;
  /** Failed attempts of one file after which the writer reports itself failing (state ERROR). */
  retryBudget: number;
  retryBackoff: BackoffPolicy;
  /**
   * Rows in flushed files not yet stored (storage failing) beyond which the writer stops draining
   * the queue: the queue then fills and further events are dropped and counted at the socket,
   * instead of memory growing until the process is killed and every buffered row is lost.
   */
  maxBacklogRows: number;
}

interface Partition {
  key: string;
  exchange: string;
  stream: FileStream;
  symbol: string;
  rows: ColumnBuilder;
  date: string;
  oldestMs: number;
  lastFlushMs: number;
  /** Fixed per-partition offset taken off FLUSH_INTERVAL so time flushes do not all land in one tick. */
  staggerMs: number;
}

interface Job {
  key: string;
  exchange: string;
  stream: FileStream;
  symbol: string;
  /** Kept until the file is stored, so a failed attempt is retried from the same bytes' source. */
  batch: ColumnBatch;
  attempts: number;
}

/** A partition holding this many × BUFFER_SIZE rows is flushed even inside MIN_FLUSH_GAP (bounds memory). */
const HARD_CAP_FACTOR = 4;
const DRAIN_EVERY_MS = 10;
const DRAIN_MAX_PER_TICK = 10_000; // ≤ ~3 ms of work per 10 ms tick: bounded event-loop lag (1M rows/s ceiling)
const TICK_EVERY_MS = 50;
const MAX_TIME_FLUSHES_PER_TICK = 2;

export class Writer {
  private readonly partitions = new Map<string, Partition>();
  private readonly waiting: Job[] = [];
  private readonly failing = new Set<Job>();
  private inFlight = 0;
  private jobsOpen = 0;
  private fileSeq = 0;
  /** Market-data rows accepted and not yet stored (connection rows are not events: not counted). */
  private pendingRows = 0;
  /** Rows in jobs (flushed files) not yet stored. */
  private backlogRows = 0;
  private backpressureSinceMs: number | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private idleWaiters: Array<() => void> = [];
  private probeFailed = false;

  constructor(
    private readonly queue: BoundedQueue<RecordRow>,
    private readonly storage: Storage,
    private readonly encoder: Encoder,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: WriterOptions,
  ) {}

  async start(): Promise<void> {
    try {
      await this.storage.probe();
    } catch (err) {
      this.probeFailed = true;
      this.metrics.writeErrorsTotal++;
      this.updateFailing();
      this.log.error("write_error", { storage: this.storage.describe, error: describeError(err), action: "check that the data directory exists and is writable by the collector's user" });
    }
    this.timers.push(setInterval(() => this.drain(), DRAIN_EVERY_MS));
    this.timers.push(setInterval(() => this.tick(Date.now()), TICK_EVERY_MS));
  }

  /** Move queued rows into partition buffers, unless the storage backlog is over its bound (`force`: shutdown). */
  drain(max = DRAIN_MAX_PER_TICK, force = false): void {
    if (!force && this.backpressured()) return;
    this.queue.drain(max, (row) => this.add(row));
    this.updateGauges();
  }

  /** Stops at maxBacklogRows, resumes below half of it: hysteresis, so a slow storage does not flap (or flood the log). */
  private backpressured(): boolean {
    const limit = this.backpressureSinceMs === null ? this.opts.maxBacklogRows : this.opts.maxBacklogRows / 2;
    const over = this.backlogRows >= limit;
    if (over && this.backpressureSinceMs === null) {
      this.backpressureSinceMs = Date.now();
      this.log.error("writer_backpressure", {
        backlog_rows: this.backlogRows,
        max_backlog_rows: this.opts.maxBacklogRows,
        queue_size: this.queue.size,
        action: "storage is not keeping up or failing (see write_error / spool_full): the queue fills next and further events are dropped and counted",
      });
    } else if (!over && this.backpressureSinceMs !== null) {
      this.log.info("writer_backpressure", { resolved: true, backlog_rows: this.backlogRows, lasted_ms: Date.now() - this.backpressureSinceMs });
      this.backpressureSinceMs = null;
    }
    return over;
  }

  /** File a row now, bypassing the queue (connection events: rare, and never to be dropped). */
  record(row: RecordRow): void {
    this.add(row);
  }

  private add(row: RecordRow): void {
    const part = partitionOf(row);
    const key = `${part.exchange}|${part.stream}|${part.symbol}`;
    const date = utcDate(part.tsUs);
    const now = Date.now();
    let p = this.partitions.get(key);
    if (!p) {
      p = { key, exchange: part.exchange, stream: part.stream, symbol: part.symbol, rows: new ColumnBuilder(part.stream), date, oldestMs: now, lastFlushMs: 0, staggerMs: staggerFor(key, this.opts.flushIntervalMs) };
      this.partitions.set(key, p);
    }
    if (p.rows.length > 0 && p.date !== date) this.flush(p, "utc_midnight", now);
    if (p.rows.length === 0) {
      p.date = date;
      p.oldestMs = now;
    }
    p.rows.append(row, part.tsUs);
    if (row.stream !== "connection") this.pendingRows++;
    const n = p.rows.length;
    if (n >= this.opts.bufferSize && (now - p.lastFlushMs >= this.opts.minFlushGapMs || n >= this.opts.bufferSize * HARD_CAP_FACTOR)) {
      this.flush(p, "size", now);
    }
  }

  /** Time-based flushes, staggered and rate-limited per tick. */
  tick(now: number): void {
    let flushed = 0;
    for (const p of this.partitions.values()) {
      if (flushed >= MAX_TIME_FLUSHES_PER_TICK) break;
      if (p.rows.length === 0) continue;
      // Spread over the last quarter of the interval: no row waits longer than FLUSH_INTERVAL.
      const due = now - p.oldestMs >= this.opts.flushIntervalMs - p.staggerMs;
      const sizeDue = p.rows.length >= this.opts.bufferSize;
      if ((due || sizeDue) && now - p.lastFlushMs >= this.opts.minFlushGapMs) {
        this.flush(p, due ? "interval" : "size", now);
        flushed++;
      }
    }
    this.updateGauges();
  }

  private flush(p: Partition, reason: string, now: number): void {
    const rows = p.rows;
    p.rows = new ColumnBuilder(p.stream, Math.max(1024, rows.length));
    p.lastFlushMs = now;
    const key = objectKey({
      exchange: p.exchange,
      stream: p.stream,
      symbol: p.symbol,
      firstTsRecvUs: rows.firstTsUs,
      instanceId: this.opts.instanceId,
      seq: ++this.fileSeq,
    });
    this.log.debug("flush", { key, rows: rows.length, reason });
    this.jobsOpen++;
    this.backlogRows += rows.length;
    this.waiting.push({ key, exchange: p.exchange, stream: p.stream, symbol: p.symbol, batch: rows.build(), attempts: 0 });
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInflightUploads && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.inFlight++;
      void this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
    const meta = fileMetadata({ exchange: job.exchange, stream: job.stream, symbol: job.symbol, instanceId: this.opts.instanceId, collectorVersion: this.opts.collectorVersion });
    let bytes: Uint8Array | null = null;
    for (;;) {
      job.attempts++;
      try {
        // Encode once; a failed store is retried with the same bytes under the same key.
        if (!bytes) bytes = await this.encoder.encode(job.batch, meta, `quantlab-collector ${this.opts.collectorVersion}`);
        // A storage that uploads in the background (S3 spool) counts its own uploads.
        const counts = !this.storage.countsUploads;
        if (counts) this.metrics.writer.in_flight_uploads++;
        try {
          await this.storage.put(job.key, bytes);
        } finally {
          if (counts) this.metrics.writer.in_flight_uploads--;
        }
        break;
      } catch (err) {
        if (err instanceof EncodeError) {
          if (!err.batch) {
            // The worker died holding the only copy: count the rows as lost, loudly, never silently.
            this.lose(job, err);
            return;
          }
          job.batch = err.batch;
        }
        if (!this.storage.countsUploads) this.metrics.writer.upload_failures++;
        this.metrics.writeErrorsTotal++;
        if (job.attempts >= this.opts.retryBudget) this.failing.add(job);
        this.updateFailing();
        const delayMs = backoffDelayMs(this.opts.retryBackoff, job.attempts);
        this.log.error("write_error", { key: job.key, rows: job.batch.length, attempt: job.attempts, retry_in_ms: delayMs, storage: this.storage.describe, error: describeError(err) });
        await Bun.sleep(delayMs);
      }
    }
    if (job.attempts > 1) this.log.info("write_recovered", { key: job.key, attempts: job.attempts });
    this.probeFailed = false;
    // total_written counts market-data events (comparable with total_events), not connection rows.
    if (job.stream !== "connection") this.metrics.writer.total_written += job.batch.length;
    this.metrics.writer.files_written++;
    // A spooling storage stamps last_write_ts when the upload lands, not when the spool has the file.
    if (!this.storage.countsUploads) this.metrics.lastWriteTsMs = Date.now();
    this.finish(job);
  }

  private lose(job: Job, err: Error): void {
    this.metrics.writer.upload_failures++;
    this.metrics.writeErrorsTotal++;
    this.metrics.recordDrop(Date.now(), job.batch.length);
    this.log.error("write_error", { key: job.key, rows: job.batch.length, lost: true, error: describeError(err), action: "rows counted in dropped_events_total; check memory limits (MemoryMax) and the encoder worker logs" });
    this.finish(job);
  }

  private finish(job: Job): void {
    this.failing.delete(job);
    this.updateFailing();
    if (job.stream !== "connection") this.pendingRows -= job.batch.length;
    this.backlogRows -= job.batch.length;
    this.inFlight--;
    this.jobsOpen--;
    this.updateGauges();
    this.pump();
    if (this.jobsOpen === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private updateFailing(): void {
    this.metrics.writerFailing = this.probeFailed || this.failing.size > 0;
  }

  private updateGauges(): void {
    let active = 0;
    for (const p of this.partitions.values()) if (p.rows.length > 0) active++;
    this.metrics.writer.active_buffers = active;
    this.metrics.writer.pending_events = this.pendingRows;
  }

  /** Rows accepted by the writer and not yet durably written. */
  pendingEvents(): number {
    return this.pendingRows;
  }

  /** Drain the queue, flush every buffer (ignoring MIN_FLUSH_GAP) and wait for all files, up to `timeoutMs`. */
  async close(timeoutMs: number): Promise<{ complete: boolean; unwrittenRows: number }> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    while (this.queue.size > 0) this.drain(DRAIN_MAX_PER_TICK, true);
    const now = Date.now();
    for (const p of this.partitions.values()) if (p.rows.length > 0) this.flush(p, "shutdown", now);
    this.updateGauges();
    if (this.jobsOpen > 0) {
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await Promise.race([idle, Bun.sleep(timeoutMs)]);
    }
    return { complete: this.jobsOpen === 0, unwrittenRows: this.pendingRows };
  }
}

function staggerFor(key: string, flushIntervalMs: number): number {
  // Deterministic spread over [0, 25%) of the interval.
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return ((h >>> 0) % 1000) / 1000 * flushIntervalMs * 0.25;
}
