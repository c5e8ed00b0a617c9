/** @module pipeline/writer — drains the queue into per-(exchange, stream, symbol) buffers and writes files. */
import type { ExchangeId, RecordRow } from "../schema/rows.ts";
import { objectKey } from "../storage/paths.ts";
import { systemClock, type Clock } from "../clock.ts";
import type { Storage } from "../storage/types.ts";
import type { Logger } from "../log.ts";
import type { BackoffPolicy } from "../backoff.ts";
import { ColumnBuilder } from "./column-builder.ts";
import type { Encoder } from "./encoder.ts";
import type { BoundedQueue } from "./queue.ts";
import { DeadlineHeap } from "./deadline-heap.ts";
import { PartitionTable, type Partition } from "./partitions.ts";
import { raceTimeout, UploadPump, type PumpStats } from "./uploads.ts";

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
  /**
   * The unified symbols subscribed per venue: rows of any other symbol are refused (counted
   * `unknown_symbol`), never a partition or a path. Absent (tests): path-safe names only.
   */
  symbols?: Partial<Record<ExchangeId, readonly string[]>>;
  /** Time of flush deadlines and ages (default: the system clock); tests inject their own. */
  clock?: Clock;
}

/** Where the writer reports rows it lost or refused: the collector's loss counters (state/metrics satisfies it). */
export interface WriterLosses {
  recordDrop(nowMs: number, count?: number): void;
  recordParseError(reason: string): void;
}

/** What the writer counts (pure data), pulled by the status snapshot and the health (src/run/writes.ts). */
export interface WriterStats extends PumpStats {
  /** Market-data rows accepted and not yet stored. */
  pendingRows: number;
  /** Partitions holding a buffer. */
  activeBuffers: number;
}

/** A partition holding this many × BUFFER_SIZE rows is flushed even inside MIN_FLUSH_GAP (bounds memory). */
const HARD_CAP_FACTOR = 4;
const DRAIN_EVERY_MS = 10;
/** Rows a non-timed drain() moves by default (tests, shutdown loops). */
const DRAIN_MAX_PER_CALL = 10_000;
/**
 * A timed drain works in slices of at most this long, then yields to the event loop (sockets are
 * read between slices) and, while a backlog exists, continues on the next turn (setImmediate: after
 * the loop has polled the sockets and run due timers) instead of waiting for the next 10 ms timer:
 * drain capacity does not fall when the loop runs late. Not setTimeout(0): Bun waits ~1.1 ms before
 * running it, and those idle gaps between slices capped the collector near 230–250k frames/s with its
 * thread 20 % idle and the queue filling (bench/limit.ts: 319k with setImmediate in the same run).
 */
const DRAIN_SLICE_MS = 4;
const DRAIN_CHUNK = 256;
const TICK_EVERY_MS = 50;
/** Time flushes per tick stop after this long (the rest, earliest deadline first, in the next tick). */
const FLUSH_SLICE_MS = 8;
const DAY_US = 86_400_000_000;
/** Smallest buffer a partition starts with (its first, or after a file of fewer rows); it grows by half as rows come. */
const MIN_CAPACITY = 16;
/** After a shutdown timeout: how long in-flight writes get to reach their (aborted) end. */
const ABORT_GRACE_MS = 2000;

/** Row admission and size/midnight/time flushes; partitions, deadlines and uploads live in their own modules. */
export class Writer {
  private readonly table: PartitionTable;
  private readonly heap = new DeadlineHeap<Partition>();
  private readonly uploads: UploadPump;
  private activeBuffers = 0;
  private readonly clock: Clock;
  private fileSeq = 0;
  /** Market-data rows accepted and not yet stored (connection rows are not events: not counted). */
  private pendingRows = 0;
  private backpressureSinceMs: number | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private drainScheduled = false;
  private closed = false;
  private readonly addRow = (row: RecordRow) => this.add(row);

  constructor(
    private readonly queue: BoundedQueue<RecordRow>,
    storage: Storage,
    encoder: Encoder,
    losses: WriterLosses,
    private readonly log: Logger,
    private readonly opts: WriterOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.table = new PartitionTable(opts.symbols, opts.flushIntervalMs, losses, log);
    this.uploads = new UploadPump(storage, encoder, losses, log, opts, (stream, rows) => {
      if (stream !== "connection") this.pendingRows -= rows;
    });
  }

  async start(): Promise<void> {
    await this.uploads.probe();
    // In the background: a long-lived data directory is a large tree, and start-up must not wait on it.
    this.leftovers = this.uploads.removeLeftovers();
    this.timers.push(setInterval(() => this.drainSlice(), DRAIN_EVERY_MS));
    this.timers.push(setInterval(() => this.tick(this.clock.nowMs()), TICK_EVERY_MS));
  }

  /** Resolves once the start-up removal of leftover temp files is done (tests, tools). */
  leftovers: Promise<void> = Promise.resolve();

  /** Move up to `max` queued rows into partition buffers, unless the storage backlog is over its bound (`force`: shutdown). */
  drain(max = DRAIN_MAX_PER_CALL, force = false): void {
    if (!force && this.backpressured()) return;
    this.queue.drain(max, this.addRow);
  }

  /** The timer's drain: time-budgeted slices, continued on the next loop turn while a backlog exists. */
  private drainSlice(): void {
    this.drainScheduled = false;
    if (this.closed || this.backpressured()) return;
    const end = performance.now() + DRAIN_SLICE_MS;
    do this.queue.drain(DRAIN_CHUNK, this.addRow);
    while (this.queue.size > 0 && performance.now() < end);
    if (this.queue.size > 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drainSlice());
    }
  }

  /** Stops at maxBacklogRows, resumes below half of it: hysteresis, so a slow storage does not flap (or flood the log). */
  private backpressured(): boolean {
    const limit = this.backpressureSinceMs === null ? this.opts.maxBacklogRows : this.opts.maxBacklogRows / 2;
    const backlog = this.uploads.backlogRows;
    const over = backlog >= limit;
    if (over && this.backpressureSinceMs === null) {
      this.backpressureSinceMs = this.clock.nowMs();
      this.log.error("writer_backpressure", {
        backlog_rows: backlog,
        max_backlog_rows: this.opts.maxBacklogRows,
        queue_size: this.queue.size,
        action: "storage is not keeping up or failing (see write_error / spool_full): the queue fills next and further events are dropped and counted",
      });
    } else if (!over && this.backpressureSinceMs !== null) {
      this.log.info("writer_backpressure", { resolved: true, backlog_rows: backlog, lasted_ms: this.clock.nowMs() - this.backpressureSinceMs });
      this.backpressureSinceMs = null;
    }
    return over;
  }

  /** File a row now, bypassing the queue (connection events: rare, and never to be dropped). */
  record(row: RecordRow): void {
    this.add(row);
  }

  private add(row: RecordRow): void {
    const p = this.table.partitionFor(row);
    if (!p) return;
    const tsUs = row.stream === "connection" ? row.ts_us : row.ts_recv_us;
    let rows = p.rows;
    if (rows !== null && (tsUs < p.dayStartUs || tsUs >= p.dayEndUs)) {
      // A file never spans a UTC midnight (also when the clock steps back over one).
      this.flush(p, "utc_midnight", this.clock.nowMs());
      rows = null;
    }
    // The clock is read only when a buffer starts or fills, not for every row.
    if (rows === null) {
      const now = this.clock.nowMs();
      rows = new ColumnBuilder(p.stream, this.initialCapacity(p.lastRows));
      p.rows = rows;
      p.dayStartUs = Math.floor(tsUs / DAY_US) * DAY_US;
      p.dayEndUs = p.dayStartUs + DAY_US;
      p.oldestMs = now;
      p.dueMs = now + this.opts.flushIntervalMs - p.staggerMs;
      this.heap.push(p);
      this.activeBuffers++;
    }
    rows.append(row, tsUs);
    if (row.stream !== "connection") this.pendingRows++;
    const n = rows.length;
    if (n >= this.opts.bufferSize) {
      const now = this.clock.nowMs();
      if (now - p.lastFlushMs >= this.opts.minFlushGapMs || n >= this.opts.bufferSize * HARD_CAP_FACTOR) this.flush(p, "size", now);
      else if (n === this.opts.bufferSize) {
        // Held back by MIN_FLUSH_GAP: due when the gap ends (unless its age deadline comes first).
        const gapEnd = p.lastFlushMs + this.opts.minFlushGapMs;
        if (gapEnd < p.dueMs) {
          p.dueMs = gapEnd;
          this.heap.update(p);
        }
      }
    }
  }

  /**
   * A new buffer's size, from the partition's last file. A buffer's arrays are resident from the
   * start, so one sized for a whole slow file (a time flush) holds a full interval of rows' memory all
   * interval long: those start at half the last file and grow by half as rows come (RSS median at the
   * default load 119–120 → 115–116 MB, bench/memory.ts). A partition whose last file filled
   * BUFFER_SIZE (a hot one: its buffer lives seconds) is sized for the whole file again, with no copy
   * on the ingest thread (growing those cost 0.07 µs of writer drain per frame, bench/pipeline-micro.ts);
   * one held by MIN_FLUSH_GAP fills up to the hard cap.
   */
  private initialCapacity(lastRows: number): number {
    const hot = lastRows >= this.opts.bufferSize;
    return Math.min(this.opts.bufferSize * HARD_CAP_FACTOR, Math.max(MIN_CAPACITY, Math.ceil(lastRows * (hot ? 1.25 : 0.5))));
  }

  /** Time-based flushes: earliest deadline first, for at most FLUSH_SLICE_MS per tick. */
  tick(now: number): void {
    const end = this.clock.nowMs() + FLUSH_SLICE_MS;
    let top = this.heap.peek();
    while (top && top.dueMs <= now && this.clock.nowMs() <= end) {
      const p = top;
      if (!p.rows || p.rows.length === 0) this.heap.remove(p);
      else if (now - p.lastFlushMs >= this.opts.minFlushGapMs) {
        // Spread over the last quarter of the interval: no row waits longer than FLUSH_INTERVAL.
        const aged = now - p.oldestMs >= this.opts.flushIntervalMs - p.staggerMs;
        this.flush(p, aged ? "interval" : "size", now);
      } else {
        p.dueMs = p.lastFlushMs + this.opts.minFlushGapMs;
        this.heap.update(p);
      }
      top = this.heap.peek();
    }
  }

  private flush(p: Partition, reason: string, now: number): void {
    const rows = p.rows;
    if (!rows || rows.length === 0) return;
    p.rows = null;
    p.lastRows = rows.length;
    p.lastFlushMs = now;
    this.heap.remove(p);
    this.activeBuffers--;
    const key = objectKey({
      exchange: p.exchange,
      stream: p.stream,
      symbol: p.symbol,
      firstTsRecvUs: rows.firstTsUs,
      instanceId: this.opts.instanceId,
      seq: ++this.fileSeq,
    });
    this.log.debug("flush", { key, rows: rows.length, reason });
    this.uploads.submit(key, p, rows);
  }

  stats(): WriterStats {
    const u = this.uploads.stats();
    return {
      rowsWritten: u.rowsWritten,
      filesWritten: u.filesWritten,
      pendingRows: this.pendingRows,
      activeBuffers: this.activeBuffers,
      putsInFlight: u.putsInFlight,
      failedAttempts: u.failedAttempts,
      lostFiles: u.lostFiles,
      writeErrors: u.writeErrors,
      failing: u.failing,
      lastStoredMs: u.lastStoredMs,
    };
  }

  /** Rows accepted by the writer and not yet durably written. */
  pendingEvents(): number {
    return this.pendingRows;
  }

  /**
   * Drain the queue, flush every buffer (ignoring MIN_FLUSH_GAP) and wait for all files, up to
   * `timeoutMs`. Past it, writing stops (no file becomes visible any more, in-flight writes get
   * ABORT_GRACE_MS to reach their end) and `unwrittenRows` is exactly the rows in no completed file.
   */
  async close(timeoutMs: number): Promise<{ complete: boolean; unwrittenRows: number }> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.closed = true;
    while (this.queue.size > 0) this.drain(DRAIN_MAX_PER_CALL, true);
    const now = this.clock.nowMs();
    for (const p of this.table.all) this.flush(p, "shutdown", now);
    if (this.uploads.open > 0) await raceTimeout(this.uploads.idle(), timeoutMs);
    if (this.uploads.open > 0) {
      const inFlight = this.uploads.stop();
      if (inFlight) await raceTimeout(inFlight, ABORT_GRACE_MS);
    }
    return { complete: this.uploads.open === 0, unwrittenRows: this.pendingRows };
  }
}
