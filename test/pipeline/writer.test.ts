/**
 * Scope: the writer with the real encoder worker and real local storage — size and age flushes,
 * MIN_FLUSH_GAP, files split at UTC midnight, collision-free names, retries after storage
 * failures (a thin fault wrapper over the real local storage), and a complete flush on close.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createWorkerEncoder } from "../../src/pipeline/encoder.ts";
import { BoundedQueue } from "../../src/pipeline/queue.ts";
import { Writer, type WriterOptions } from "../../src/pipeline/writer.ts";
import type { Row } from "../../src/schema/rows.ts";
import { Metrics } from "../../src/state/metrics.ts";
import { createLocalStorage } from "../../src/storage/local.ts";
import type { Storage } from "../../src/storage/types.ts";
import { createLogger, silentLogger, type Logger } from "../../src/log.ts";
import { query, sqlString } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { testTrade, testWriterOptions } from "../helpers/writer-options.ts";

const encoder = createWorkerEncoder();
afterAll(() => encoder.close());

const opts = testWriterOptions;

const trade = testTrade;

function setup(storage: Storage, o: Partial<WriterOptions> = {}, log: Logger = silentLogger, queueCapacity = 100_000) {
  const queue = new BoundedQueue<Row>(queueCapacity);
  const metrics = new Metrics(["binance"], 60_000);
  const writer = new Writer(queue, storage, encoder, metrics, log, opts(o));
  return { queue, metrics, writer };
}

const files = async (root: string) =>
  (await query(`select file from glob(${sqlString(`${root}/v1/**/*.parquet`)}) order by file`)).map((r) => String(r.file).slice(root.length + 1));

describe("Writer", () => {
  test("flushes at BUFFER_SIZE, splits at UTC midnight, names never collide, close flushes the rest", async () => {
    using dir = tmpDir();
    const { queue, metrics, writer } = setup(createLocalStorage(dir.path));
    await writer.start();
    const midnightUs = Date.UTC(2026, 10, 25) * 1000;
    // 250 rows before midnight, 130 after: files of 100, 100, 50 | 100, 30.
    for (let i = 0; i < 380; i++) queue.offer(trade(i + 1, midnightUs + (i < 250 ? -1_000_000 + i : i)));
    writer.drain();
    const res = await writer.close(10_000);
    expect(res).toEqual({ complete: true, unwrittenRows: 0 });
    const names = await files(dir.path);
    expect(names).toHaveLength(5);
    expect(names.filter((n) => n.includes("/date=2026-11-24/"))).toHaveLength(3);
    expect(names.filter((n) => n.includes("/date=2026-11-25/"))).toHaveLength(2);
    for (const n of names) expect(n).toMatch(/^v1\/binance\/trade\/BTCUSDT\/date=\d{4}-\d{2}-\d{2}\/\d{16}-abcd1234-\d+\.parquet$/);
    expect(new Set(names.map((n) => n.split("/").pop())).size).toBe(5);
    const rows = await query(
      `select recv_seq, ts_recv_us, strftime(make_timestamp(ts_recv_us), '%Y-%m-%d') d, filename from read_parquet(${sqlString(`${dir.path}/v1/**/*.parquet`)}, filename = true, hive_partitioning = false) order by recv_seq`,
    );
    expect(rows.map((r) => r.recv_seq)).toEqual(Array.from({ length: 380 }, (_, i) => i + 1));
    for (const r of rows) expect(String(r.filename)).toContain(`/date=${r.d}/`); // no file spans midnight
    expect(writer.stats()).toMatchObject({ rowsWritten: 380, filesWritten: 5, pendingRows: 0, failedAttempts: 0, lostFiles: 0 });
  });

  test("MIN_FLUSH_GAP holds a full buffer back; FLUSH_INTERVAL flushes a quiet one", async () => {
    using dir = tmpDir();
    const { queue, metrics, writer } = setup(createLocalStorage(dir.path), { bufferSize: 10, minFlushGapMs: 60_000, flushIntervalMs: 300 });
    await writer.start();
    const now = Date.now() * 1000;
    for (let i = 0; i < 10; i++) queue.offer(trade(i + 1, now + i));
    await waitFor("first size flush", () => writer.stats().filesWritten === 1, 5000);
    for (let i = 10; i < 25; i++) queue.offer(trade(i + 1, now + i)); // full again, but inside the gap
    await Bun.sleep(600);
    expect(writer.stats().filesWritten).toBe(1);
    expect(writer.stats().pendingRows).toBe(15);
    await writer.close(5000);
    expect(writer.stats().filesWritten).toBe(2); // shutdown ignores the gap

    const q2 = setup(createLocalStorage(dir.path), { bufferSize: 1000, flushIntervalMs: 200, instanceId: "ffff0000" });
    await q2.writer.start();
    q2.queue.offer(trade(1, now, "ETHUSDT"));
    await waitFor("age flush", () => q2.writer.stats().filesWritten === 1, 3000);
    await q2.writer.close(5000);
  });

  test("time flushes are staggered inside FLUSH_INTERVAL: none before 75% of it, every buffer by 100%", async () => {
    using dir = tmpDir();
    const { queue, metrics, writer } = setup(createLocalStorage(dir.path), { flushIntervalMs: 10_000 });
    // No start(): the test drives tick() with its own clock.
    const t0 = Date.now();
    const symbols = Array.from({ length: 12 }, (_, i) => `S${i}USDT`);
    symbols.forEach((sym, i) => queue.offer(trade(i + 1, t0 * 1000, sym)));
    writer.drain();
    for (let i = 0; i < 12; i++) writer.tick(t0 + 7400);
    expect(writer.stats().activeBuffers).toBe(12);
    const flushedAt: number[] = [];
    for (let ms = 7500; ms <= 10_000 + 100; ms += 50) {
      const before = writer.stats().activeBuffers;
      writer.tick(t0 + ms + 50); // + 50: Date.now() moved on since t0 while the rows were added
      for (let k = writer.stats().activeBuffers; k < before; k++) flushedAt.push(ms);
    }
    expect(writer.stats().activeBuffers).toBe(0);
    expect(flushedAt).toHaveLength(12);
    expect(new Set(flushedAt).size).toBeGreaterThan(3); // spread, not one burst
    await writer.close(5000);
    expect(writer.stats().filesWritten).toBe(12);
  });

  test("storage failures are retried with backoff, reported as failing past the budget, and nothing is lost", async () => {
    using dir = tmpDir();
    const real = createLocalStorage(dir.path);
    let failuresLeft = 5;
    const flaky: Storage = {
      describe: real.describe,
      probe: () => real.probe(),
      async put(key, bytes) {
        if (failuresLeft-- > 0) throw Object.assign(new Error("disk on fire"), { code: "EIO" });
        return real.put(key, bytes);
      },
    };
    const { queue, metrics, writer } = setup(flaky, { bufferSize: 50, maxInflightUploads: 1 });
    await writer.start();
    const now = Date.now() * 1000;
    for (let i = 0; i < 100; i++) queue.offer(trade(i + 1, now + i));
    await waitFor("writer failing after the budget", () => writer.stats().failing, 5000);
    await waitFor("recovered", () => writer.stats().filesWritten === 2 && !writer.stats().failing, 10_000);
    expect(writer.stats().failedAttempts).toBe(5);
    await writer.close(5000);
    const n = await query(`select count(*) n, count(distinct recv_seq) d from read_parquet(${sqlString(`${dir.path}/v1/**/*.parquet`)})`);
    expect(n[0]).toEqual({ n: 100, d: 100 });
  });

  test("a stored file's bytes are freed once put resolves; a failed attempt's bytes are kept and retried as they are", async () => {
    using dir = tmpDir();
    const real = createLocalStorage(dir.path);
    const seen: { bytes: Uint8Array; size: number; ok: boolean }[] = [];
    let failFirst = true;
    const storage: Storage = {
      describe: real.describe,
      probe: () => real.probe(),
      async put(key, bytes) {
        const attempt = { bytes, size: bytes.byteLength, ok: false };
        seen.push(attempt);
        if (failFirst) {
          failFirst = false;
          throw Object.assign(new Error("disk on fire"), { code: "EIO" });
        }
        await real.put(key, bytes);
        attempt.ok = true;
      },
    };
    const { queue, writer } = setup(storage, { bufferSize: 50, maxInflightUploads: 1 });
    await writer.start();
    const now = Date.now() * 1000;
    for (let i = 0; i < 100; i++) queue.offer(trade(i + 1, now + i));
    await waitFor("two files stored", () => writer.stats().filesWritten === 2, 10_000);
    expect(seen).toHaveLength(3);
    // The retry got the very same bytes, intact: the failed attempt did not free them.
    expect(seen[1]!.bytes).toBe(seen[0]!.bytes);
    expect(seen[1]!.size).toBe(seen[0]!.size);
    expect(seen[0]!.size).toBeGreaterThan(0);
    // Once stored, each file's buffer is handed back to the allocator (detached), not left to the next GC.
    for (const a of seen.slice(1)) {
      expect(a.ok).toBe(true);
      expect((a.bytes.buffer as ArrayBuffer).detached).toBe(true);
      expect(a.bytes.byteLength).toBe(0);
    }
    expect(await writer.close(5000)).toEqual({ complete: true, unwrittenRows: 0 });
    const n = await query(`select count(*) n, count(distinct recv_seq) d from read_parquet(${sqlString(`${dir.path}/v1/**/*.parquet`)})`);
    expect(n[0]).toEqual({ n: 100, d: 100 });
  });

  test("a failing storage backs up into the queue, not memory: past maxBacklogRows the writer stops draining; recovery writes everything", async () => {
    using dir = tmpDir();
    const real = createLocalStorage(dir.path);
    let down = true;
    const outage: Storage = {
      describe: real.describe,
      probe: () => real.probe(),
      async put(key, bytes) {
        if (down) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
        return real.put(key, bytes);
      },
    };
    const lines: Array<Record<string, unknown>> = [];
    const { queue, metrics, writer } = setup(
      outage,
      { bufferSize: 10, maxBacklogRows: 30 },
      createLogger("info", (l) => lines.push(JSON.parse(l))),
      50,
    );
    await writer.start();
    const now = Date.now() * 1000;
    for (let i = 0; i < 40; i++) expect(queue.offer(trade(i + 1, now + i))).toBe(true);
    await waitFor("four files failing", () => writer.stats().pendingRows === 40 && queue.size === 0, 5000);
    // The backlog (40 rows) is over the bound: the queue is no longer drained, so it fills and refuses.
    let accepted = 0;
    for (let i = 40; i < 100; i++) if (queue.offer(trade(i + 1, now + i))) accepted++;
    expect(accepted).toBe(50);
    await Bun.sleep(200);
    expect(queue.size).toBe(50);
    expect(writer.stats().pendingRows).toBe(40);
    expect(writer.stats().failing).toBe(true);
    expect(lines.filter((l) => l.event === "writer_backpressure")).toEqual([
      expect.objectContaining({ level: "error", backlog_rows: 40, max_backlog_rows: 30, queue_size: 0 }),
    ]);
    down = false;
    await waitFor("everything accepted is written", () => writer.stats().rowsWritten === 90 && queue.size === 0, 10_000);
    // The 50 queued rows may briefly push the backlog over the bound again; the last word is "resolved".
    await waitFor("backpressure resolved", () => lines.filter((l) => l.event === "writer_backpressure").at(-1)?.resolved === true, 2000);
    expect(await writer.close(5000)).toEqual({ complete: true, unwrittenRows: 0 });
    const n = await query(`select count(*) n, count(distinct recv_seq) d, max(recv_seq) m from read_parquet(${sqlString(`${dir.path}/v1/**/*.parquet`)})`);
    expect(n[0]).toEqual({ n: 90, d: 90, m: 90 });
  });

  test("close drains a queue held back by backpressure: what was accepted is still written at shutdown", async () => {
    using dir = tmpDir();
    const real = createLocalStorage(dir.path);
    let down = true;
    const outage: Storage = {
      describe: real.describe,
      probe: () => real.probe(),
      put: (key, bytes) => (down ? Promise.reject(new Error("EIO")) : real.put(key, bytes)),
    };
    const { queue, metrics, writer } = setup(outage, { bufferSize: 10, maxBacklogRows: 10 }, silentLogger, 100);
    await writer.start();
    const now = Date.now() * 1000;
    for (let i = 0; i < 10; i++) queue.offer(trade(i + 1, now + i));
    await waitFor("first file failing", () => writer.stats().failedAttempts > 0, 5000);
    for (let i = 10; i < 35; i++) queue.offer(trade(i + 1, now + i));
    await Bun.sleep(100);
    expect(queue.size).toBe(25);
    down = false;
    expect(await writer.close(5000)).toEqual({ complete: true, unwrittenRows: 0 });
    expect(queue.size).toBe(0);
    const n = await query(`select count(*) n from read_parquet(${sqlString(`${dir.path}/v1/**/*.parquet`)})`);
    expect(n[0]).toEqual({ n: 35 });
  });
});
