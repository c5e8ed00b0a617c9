/** @module pipeline/writer — drains the queue into per-(exchange, stream, symbol) buffers and writes files. */
import { CONNECTION_SYMBOL, EXCHANGES, STREAMS, type ExchangeId, type FileStream, type RecordRow } from "../schema/rows.ts";
import { fileMetadata } from "../schema/v1.ts";
import { objectKey } from "../storage/paths.ts";
import { systemClock, type Clock } from "../clock.ts";
import type { Storage } from "../storage/types.ts";
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
export interface WriterStats {
  /** Market-data rows in stored files (comparable with total_events; connection rows are not counted). */
  rowsWritten: number;
  filesWritten: number;
  /** Market-data rows accepted and not yet stored. */
  pendingRows: number;
  /** Partitions holding a buffer. */
  activeBuffers: number;
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

const FILE_STREAMS: readonly FileStream[] = [...STREAMS, "connection"];

interface Partition {
  key: string;
  exchange: string;
  stream: FileStream;
  /** The collector's own string (a subscribed symbol, or ALL): what the path is built from. */
  symbol: string;
  /** Null while empty: an idle partition holds no buffer. */
  rows: ColumnBuilder | null;
  /** The UTC day [start, end) of the buffered rows, in µs: a row outside it starts a new file. */
  dayStartUs: number;
  dayEndUs: number;
  oldestMs: number;
  lastFlushMs: number;
  /** Rows in the last file: sizes the next buffer (capped at the hard cap, 4 × BUFFER_SIZE). */
  lastRows: number;
  /** Fixed per-partition offset taken off FLUSH_INTERVAL so time flushes do not all land in one tick. */
  staggerMs: number;
  /** When tick() must look at it next (age deadline, or the end of MIN_FLUSH_GAP for a full buffer). */
  dueMs: number;
  /** Position in the deadline heap; -1 when not scheduled (no rows). */
  heapIndex: number;
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
/** Rows a non-timed drain() moves by default (tests, shutdown loops). */
const DRAIN_MAX_PER_CALL = 10_000;
/**
 * A timed drain works in slices of at most this long, then yields to the event loop (sockets are
 * read between slices) and, while a backlog exists, continues on the next turn instead of waiting
 * for the next 10 ms timer: drain capacity does not fall when the loop runs late.
 */
const DRAIN_SLICE_MS = 4;
const DRAIN_CHUNK = 256;
const TICK_EVERY_MS = 50;
/** Time flushes per tick stop after this long (the rest, earliest deadline first, in the next tick). */
const FLUSH_SLICE_MS = 8;
const DAY_US = 86_400_000_000;
/** Smallest buffer a partition starts with; it grows by doubling past the size of its last file. */
const MIN_CAPACITY = 16;
/** Symbols the writer files under when no subscription list is given (tests): path-safe names only. */
const SAFE_SYMBOL = /^[A-Z0-9][A-Z0-9_-]{0,63}$/;
/** After a shutdown timeout: how long in-flight writes get to reach their (aborted) end. */
const ABORT_GRACE_MS = 2000;

/**
 * Time flushes are kept in a min-heap of deadlines, taken earliest first: every partition is
 * flushed within FLUSH_INTERVAL of its oldest row plus the tick period (50 ms) plus, when more
 * partitions fall due at once than FLUSH_SLICE_MS of flushing covers, the ticks needed to reach
 * it in deadline order (docs: README "Performance"). A full buffer held back by MIN_FLUSH_GAP gets
 * the gap's end as its deadline.
 */
class DeadlineHeap {
  private readonly items: Partition[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Partition | undefined {
    return this.items[0];
  }
  push(p: Partition): void {
    p.heapIndex = this.items.length;
    this.items.push(p);
    this.up(p.heapIndex);
  }
  pop(): Partition | undefined {
    const top = this.items[0];
    if (top) this.remove(top);
    return top;
  }
  remove(p: Partition): void {
    const i = p.heapIndex;
    if (i < 0) return;
    const last = this.items.pop()!;
    p.heapIndex = -1;
    if (last !== p) {
      this.items[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
  }
  /** p.dueMs changed. */
  update(p: Partition): void {
    if (p.heapIndex < 0) return this.push(p);
    this.up(p.heapIndex);
    this.down(p.heapIndex);
  }
  private swap(i: number, j: number): void {
    const a = this.items[i]!;
    const b = this.items[j]!;
    this.items[i] = b;
    this.items[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }
  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.items[parent]!.dueMs <= this.items[i]!.dueMs) return;
      this.swap(i, parent);
      i = parent;
    }
  }
  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.items[l]!.dueMs < this.items[m]!.dueMs) m = l;
      if (r < n && this.items[r]!.dueMs < this.items[m]!.dueMs) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

export class Writer {
  /** exchange → symbol → stream → partition: resolved by three lookups of the row's own fields, no key string per row. */
  private readonly index = new Map<string, Map<string, Map<FileStream, Partition>>>();
  private readonly partitions: Partition[] = [];
  private readonly heap = new DeadlineHeap();
  private last: Partition | null = null;
  private activeBuffers = 0;
  private readonly allowed: ReadonlyMap<string, ReadonlyMap<string, string>> | null;
  private readonly rejectedLogged = new Set<string>();
  private readonly clock: Clock;
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
  private rowsWritten = 0;
  private filesWritten = 0;
  private putsInFlight = 0;
  private failedAttempts = 0;
  private lostFiles = 0;
  private writeErrors = 0;
  private lastStoredMs: number | null = null;
  private drainScheduled = false;
  private closed = false;
  /** Aborted when a shutdown times out: no file becomes visible after that, no job retries. */
  private readonly abort = new AbortController();
  private readonly puts = new Set<Promise<unknown>>();
  private readonly addRow = (row: RecordRow) => this.add(row);

  constructor(
    private readonly queue: BoundedQueue<RecordRow>,
    private readonly storage: Storage,
    private readonly encoder: Encoder,
    private readonly losses: WriterLosses,
    private readonly log: Logger,
    private readonly opts: WriterOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.allowed = opts.symbols ? new Map(Object.entries(opts.symbols).map(([ex, syms]) => [ex, new Map(syms.map((s) => [s, s]))])) : null;
  }

  async start(): Promise<void> {
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
    if (this.storage.removeLeftovers) {
      // In the background: a long-lived data directory is a large tree, and start-up must not wait on it.
      this.leftovers = this.storage.removeLeftovers().then(
        (r) => this.log.info("tmp_cleanup", { storage: this.storage.describe, removed: r.removed, kept_live: r.kept }),
        (err: unknown) => this.log.warn("tmp_cleanup", { storage: this.storage.describe, error: describeError(err) }),
      );
    }
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
      setTimeout(() => this.drainSlice(), 0);
    }
  }

  /** Stops at maxBacklogRows, resumes below half of it: hysteresis, so a slow storage does not flap (or flood the log). */
  private backpressured(): boolean {
    const limit = this.backpressureSinceMs === null ? this.opts.maxBacklogRows : this.opts.maxBacklogRows / 2;
    const over = this.backlogRows >= limit;
    if (over && this.backpressureSinceMs === null) {
      this.backpressureSinceMs = this.clock.nowMs();
      this.log.error("writer_backpressure", {
        backlog_rows: this.backlogRows,
        max_backlog_rows: this.opts.maxBacklogRows,
        queue_size: this.queue.size,
        action: "storage is not keeping up or failing (see write_error / spool_full): the queue fills next and further events are dropped and counted",
      });
    } else if (!over && this.backpressureSinceMs !== null) {
      this.log.info("writer_backpressure", { resolved: true, backlog_rows: this.backlogRows, lasted_ms: this.clock.nowMs() - this.backpressureSinceMs });
      this.backpressureSinceMs = null;
    }
    return over;
  }

  /** File a row now, bypassing the queue (connection events: rare, and never to be dropped). */
  record(row: RecordRow): void {
    this.add(row);
  }

  /** The row's partition: the last one again (runs of one symbol/stream), else three map lookups; null = refused. */
  private partitionFor(row: RecordRow): Partition | null {
    const symbol = row.stream === "connection" ? CONNECTION_SYMBOL : row.symbol;
    const last = this.last;
    if (last && last.stream === row.stream && last.symbol === symbol && last.exchange === row.exchange) return last;
    let bySymbol = this.index.get(row.exchange);
    if (!bySymbol) {
      if (!(EXCHANGES as readonly string[]).includes(row.exchange)) return this.refuse(row);
      bySymbol = new Map();
      this.index.set(row.exchange, bySymbol);
    }
    let byStream = bySymbol.get(symbol);
    if (!byStream) {
      if (!this.admits(row.exchange, row.stream, symbol)) return this.refuse(row);
      byStream = new Map();
      bySymbol.set(symbol, byStream);
    }
    let p = byStream.get(row.stream);
    if (!p) {
      if (!(FILE_STREAMS as readonly string[]).includes(row.stream)) return this.refuse(row);
      const key = `${row.exchange}|${row.stream}|${symbol}`;
      p = {
        key,
        exchange: row.exchange,
        stream: row.stream,
        // The collector's own string, never the row's: from the subscription list when there is one.
        symbol: row.stream === "connection" ? CONNECTION_SYMBOL : (this.allowed?.get(row.exchange)?.get(symbol) ?? symbol),
        rows: null,
        dayStartUs: 0,
        dayEndUs: 0,
        oldestMs: 0,
        lastFlushMs: 0,
        lastRows: 0,
        staggerMs: staggerFor(key, this.opts.flushIntervalMs),
        dueMs: 0,
        heapIndex: -1,
      };
      byStream.set(row.stream, p);
      this.partitions.push(p);
    }
    this.last = p;
    return p;
  }

  /** Path components come only from values the collector chose: a subscribed symbol (or ALL), a known venue and stream. */
  private admits(exchange: string, stream: string, symbol: string): boolean {
    if (stream === "connection") return true;
    if (this.allowed) return this.allowed.get(exchange)?.has(symbol) ?? false;
    return SAFE_SYMBOL.test(symbol);
  }

  /** A row the ingest layer should have refused: counted, logged once per venue, never a partition. */
  private refuse(row: RecordRow): null {
    this.losses.recordParseError("unknown_symbol");
    const exchange = String(row.exchange).slice(0, 20);
    if (!this.rejectedLogged.has(exchange)) {
      this.rejectedLogged.add(exchange);
      const symbol = row.stream === "connection" ? CONNECTION_SYMBOL : row.symbol;
      this.log.warn("parse_error", {
        exchange,
        reason: "unknown_symbol",
        sample: JSON.stringify({ stream: String(row.stream).slice(0, 40), symbol: String(symbol).slice(0, 64) }),
        note: "refused by the writer: not a subscribed symbol",
      });
    }
    return null;
  }

  private add(row: RecordRow): void {
    const p = this.partitionFor(row);
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
      // Sized from the last file (a hot partition held by MIN_FLUSH_GAP fills up to the hard cap):
      // no doubling-and-copying on the ingest thread in the steady state.
      rows = new ColumnBuilder(p.stream, Math.min(this.opts.bufferSize * HARD_CAP_FACTOR, Math.max(MIN_CAPACITY, Math.ceil(p.lastRows * 1.25))));
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
    if (job.stream !== "connection") this.pendingRows -= job.batch.length;
    this.finish(job, false);
  }

  private finish(job: Job, written = true): void {
    this.failing.delete(job);
    if (written && job.stream !== "connection") this.pendingRows -= job.batch.length;
    this.backlogRows -= job.batch.length;
    this.inFlight--;
    this.jobsOpen--;
    this.pump();
    if (this.jobsOpen === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  stats(): WriterStats {
    return {
      rowsWritten: this.rowsWritten,
      filesWritten: this.filesWritten,
      pendingRows: this.pendingRows,
      activeBuffers: this.activeBuffers,
      putsInFlight: this.putsInFlight,
      failedAttempts: this.failedAttempts,
      lostFiles: this.lostFiles,
      writeErrors: this.writeErrors,
      failing: this.probeFailed || this.failing.size > 0,
      lastStoredMs: this.lastStoredMs,
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
    for (const p of this.partitions) this.flush(p, "shutdown", now);
    if (this.jobsOpen > 0) {
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await raceTimeout(idle, timeoutMs);
    }
    if (this.jobsOpen > 0) {
      this.abort.abort();
      if (this.puts.size > 0) await raceTimeout(Promise.allSettled([...this.puts]), ABORT_GRACE_MS);
    }
    return { complete: this.jobsOpen === 0, unwrittenRows: this.pendingRows };
  }
}

/** Waits for `work` or `ms`, whichever ends first; the timer is cleared so it never holds the process open. */
async function raceTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function staggerFor(key: string, flushIntervalMs: number): number {
  // Deterministic spread over [0, 25%) of the interval.
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (((h >>> 0) % 1000) / 1000) * flushIntervalMs * 0.25;
}
