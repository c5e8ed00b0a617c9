/**
 * Scope: the writer at scale and at its edges — fair flush scheduling over 3,000 partitions with an
 * injected clock, symbols that are not the collector's never becoming partitions or paths, exact
 * drop accounting when a shutdown times out, and the removal of temp files a killed process left.
 *
 * The fairness test is about *when* the writer flushes, so it runs the writer with an encoder that
 * returns empty bytes and an in-memory storage (3,000 real Parquet encodes would only add minutes);
 * every other test uses the real encoder worker and the real local storage.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../../src/clock.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { createWorkerEncoder, type Encoder } from "../../src/pipeline/encoder.ts";
import { BoundedQueue } from "../../src/pipeline/queue.ts";
import { Writer, type WriterOptions } from "../../src/pipeline/writer.ts";
import type { ExchangeId, RecordRow, Row, Stream } from "../../src/schema/rows.ts";
import { Metrics } from "../../src/state/metrics.ts";
import { createLocalStorage } from "../../src/storage/local.ts";
import type { Storage } from "../../src/storage/types.ts";
import { query, sqlString } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { testTrade, testWriterOptions } from "../helpers/writer-options.ts";

const encoder = createWorkerEncoder();
afterAll(() => encoder.close());

const opts = (o: Partial<WriterOptions> = {}): WriterOptions => testWriterOptions({ maxBacklogRows: 10_000_000, ...o });

const trade = testTrade;

function rowOf(stream: Stream, exchange: ExchangeId, symbol: string, seq: number, tsUs: number): Row {
  const c = { exchange, symbol, exchange_symbol: symbol, ts_event_ms: null, ts_recv_us: tsUs, conn_id: "c1", recv_seq: seq };
  switch (stream) {
    case "bbo":
      return { ...c, stream, bid_px: 1, bid_qty: 1, ask_px: 2, ask_qty: 1, update_id: seq, ts_tx_ms: null };
    case "trade":
      return { ...c, stream, trade_id: String(seq), price: 1, qty: 1, side: "buy", ts_trade_ms: null };
    case "mark_price":
      return { ...c, stream, mark_price: 1, index_price: 1 };
    case "funding":
      return { ...c, stream, funding_rate: 0.0001, funding_time_ms: 1 };
    case "open_interest":
      return { ...c, stream, open_interest: 1, open_interest_ccy: null, open_interest_usd: null };
    case "liquidation":
      return {
        ...c,
        stream,
        side: "sell",
        price: 1,
        avg_price: null,
        qty: 1,
        orig_qty: null,
        status: null,
        ts_trade_ms: null,
        last_qty: null,
        pos_side: null,
        bankruptcy_loss: null,
      };
    case "book":
      return {
        ...c,
        stream,
        is_snapshot: false,
        source: "ws",
        update_id: seq,
        first_update_id: null,
        prev_update_id: null,
        seq: null,
        ts_tx_ms: null,
        bid_px: [1],
        bid_qty: [1],
        ask_px: [2],
        ask_qty: [1],
      };
  }
}

const parquetFiles = (root: string) => [...new Bun.Glob("**/*").scanSync({ cwd: root, dot: true, onlyFiles: true })].sort();

describe("Writer at scale", () => {
  test("3,000 partitions, FLUSH_INTERVAL=10 s, MIN_FLUSH_GAP=5 s: every row is in a flushed file by its oldest row + interval + one tick", async () => {
    let now = Date.UTC(2026, 10, 25, 10);
    const clock: Clock = { nowMs: () => now };
    const flushes: Array<{ key: string; at: number; rows: number }> = [];
    const log = createLogger("debug", (l) => {
      const j = JSON.parse(l);
      if (j.event === "flush") flushes.push({ key: j.key, at: now, rows: j.rows });
    });
    const nullEncoder: Encoder = { encode: async () => new Uint8Array(0), pending: () => 0, close: async () => {} };
    const stored: string[] = [];
    const memory: Storage = { describe: "memory", probe: async () => {}, put: async (key) => void stored.push(key) };
    const symbols = Array.from({ length: 200 }, (_, i) => `S${i}USDT`);
    const exchanges: ExchangeId[] = ["binance", "bybit", "okx"];
    const streams: Stream[] = ["bbo", "trade", "mark_price", "funding", "open_interest"];
    const queue = new BoundedQueue<RecordRow>(1_000_000);
    const metrics = new Metrics(exchanges, 60_000);
    const FLUSH = 10_000;
    const writer = new Writer(
      queue,
      memory,
      nullEncoder,
      metrics,
      log,
      opts({
        bufferSize: 5000,
        flushIntervalMs: FLUSH,
        minFlushGapMs: 5000,
        maxInflightUploads: 16,
        clock,
        symbols: Object.fromEntries(exchanges.map((e) => [e, symbols])),
      }),
    );

    // Partition p receives a row every 200–1400 ms of fake time; the test keeps, per partition,
    // the fake time of its oldest row not yet in a flushed file.
    const parts = exchanges.flatMap((ex) =>
      symbols.flatMap((sym) =>
        streams.map((st) => ({ ex, sym, st, key: `v1/${ex}/${st}/${sym}/`, every: 4 * (1 + ((symbols.indexOf(sym) + streams.indexOf(st)) % 7)) })),
      ),
    );
    expect(parts).toHaveLength(3000);
    const oldest = new Map<string, number>();
    const keyOf = (flushKey: string) => flushKey.slice(0, flushKey.indexOf("/date="));
    let seq = 0;
    let worst = 0;
    let worstWaiting = 0;
    let seen = 0;
    for (let step = 0; step < 1200; step++) {
      // 60 s of 50 ms ticks
      now += 50;
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]!;
        if ((step + i) % p.every !== 0) continue;
        queue.offer(rowOf(p.st, p.ex, p.sym, ++seq, now * 1000));
        const k = p.key.slice(0, -1);
        if (!oldest.has(k)) oldest.set(k, now);
      }
      writer.drain(1_000_000);
      writer.tick(now);
      for (; seen < flushes.length; seen++) {
        const f = flushes[seen]!;
        const k = keyOf(f.key);
        worst = Math.max(worst, f.at - oldest.get(k)!);
        oldest.delete(k);
      }
      // Nothing waits unflushed longer than the interval plus one tick.
      for (const since of oldest.values()) worstWaiting = Math.max(worstWaiting, now - since);
    }
    expect(worstWaiting).toBeLessThanOrEqual(FLUSH + 50);
    expect(worst).toBeLessThanOrEqual(FLUSH + 50);
    expect(new Set(flushes.map((f) => keyOf(f.key))).size).toBe(3000); // no partition starved
    // MIN_FLUSH_GAP holds: no partition flushed twice within 5 s.
    const lastAt = new Map<string, number>();
    let minGap = Infinity;
    for (const f of flushes) {
      const k = keyOf(f.key);
      const prev = lastAt.get(k);
      if (prev !== undefined) minGap = Math.min(minGap, f.at - prev);
      lastAt.set(k, f.at);
    }
    expect(minGap).toBeGreaterThanOrEqual(5000);
    expect(flushes.length).toBeGreaterThan(3000 * 5); // every partition flushed about every 7.5–10 s
    await writer.close(5000);
    expect(writer.stats().rowsWritten).toBe(seq);
    expect(writer.stats().activeBuffers).toBe(0);
  }, 60_000);

  test("rows of symbols that are not the collector's never become a partition or a path, and never wedge the writer", async () => {
    using dir = tmpDir();
    const data = join(dir.path, "data");
    const queue = new BoundedQueue<RecordRow>(10_000);
    const metrics = new Metrics(["binance"], 60_000);
    const lines: Array<Record<string, unknown>> = [];
    const writer = new Writer(
      queue,
      createLocalStorage(data),
      encoder,
      metrics,
      createLogger("info", (l) => lines.push(JSON.parse(l))),
      opts({ bufferSize: 5, symbols: { binance: ["BTCUSDT"] } }),
    );
    await writer.start();
    const t = Date.now() * 1000;
    const bad = ["../../../../tmp/x", "BTC/USDT", "B".repeat(300), "BTC\u0000USDT", "BTCUSDT\u200b", "ÉTHUSDT", "ETHUSDT", "..", ""];
    let i = 0;
    for (let round = 0; round < 3; round++) {
      for (const sym of bad) queue.offer(trade(++i, t + i, sym));
      for (let k = 0; k < 5; k++) queue.offer(trade(++i, t + i));
    }
    writer.drain();
    expect(await writer.close(10_000)).toEqual({ complete: true, unwrittenRows: 0 });
    expect(metrics.parseErrorsByReason).toEqual({ unknown_symbol: bad.length * 3 });
    expect(lines.filter((l) => l.event === "parse_error")).toHaveLength(1);
    expect(writer.stats().rowsWritten).toBe(15);
    for (const f of parquetFiles(data)) expect(f).toMatch(/^v1\/binance\/trade\/BTCUSDT\/date=[\d-]+\/\d+-abcd1234-\d+\.parquet$/);
    expect(parquetFiles(data)).toHaveLength(3);
    expect(readdirSync(dir.path)).toEqual(["data"]); // nothing beside DATA_DIR either

    // Without a subscription list (tests only), path-safe names are still the only ones filed.
    const q2 = new BoundedQueue<RecordRow>(100);
    const m2 = new Metrics(["binance"], 60_000);
    const w2 = new Writer(q2, createLocalStorage(data), encoder, m2, silentLogger, opts({ bufferSize: 5 }));
    for (const sym of bad) q2.offer(trade(++i, t + i, sym));
    q2.offer(trade(++i, t + i, "SOLUSDT"));
    w2.drain();
    expect(await w2.close(10_000)).toEqual({ complete: true, unwrittenRows: 0 });
    expect(m2.parseErrorsByReason).toEqual({ unknown_symbol: bad.length - 1 }); // ETHUSDT is a safe name
    expect(parquetFiles(data).filter((f) => f.includes("SOLUSDT") || f.includes("ETHUSDT"))).toHaveLength(2);
  });

  test("a shutdown that times out counts as dropped exactly the rows in no completed file", async () => {
    // (3 s: the shutdown waits its whole timeout, since one storage write never answers.)
    using dir = tmpDir();
    const real = createLocalStorage(dir.path);
    const hang: Storage = {
      describe: real.describe,
      probe: () => real.probe(),
      async put(key, bytes, signal) {
        if (key.includes("/ETHUSDT/")) {
          // Storage never answers: only the abort ends it.
          await new Promise<void>((_, reject) => signal?.addEventListener("abort", () => reject(new Error("aborted"))));
        }
        if (key.includes("/SOLUSDT/")) {
          // Slow: still writing when the timeout passes, so it must not appear afterwards.
          await new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve()));
          return real.put(key, bytes, signal);
        }
        if (key.includes("/XRPUSDT/")) {
          // The file is complete (renamed) but the answer comes after the timeout: written, not dropped.
          await real.put(key, bytes, signal);
          await new Promise<void>((resolve) => signal?.addEventListener("abort", () => setTimeout(resolve, 50)));
          return;
        }
        return real.put(key, bytes, signal);
      },
    };
    const queue = new BoundedQueue<RecordRow>(10_000);
    const metrics = new Metrics(["binance"], 60_000);
    const writer = new Writer(queue, hang, encoder, metrics, silentLogger, opts({ bufferSize: 40, maxInflightUploads: 8 }));
    await writer.start();
    const t = Date.now() * 1000;
    let i = 0;
    // BTCUSDT fills its buffer (40) and is written before the shutdown starts…
    for (let k = 0; k < 40; k++) queue.offer(trade(++i, t + i, "BTCUSDT"));
    await waitFor("BTCUSDT written", () => writer.stats().filesWritten === 1, 30_000);
    // …the others are flushed by the shutdown itself.
    const counts: Record<string, number> = { ETHUSDT: 30, SOLUSDT: 20, XRPUSDT: 10 };
    for (const [sym, n] of Object.entries(counts)) for (let k = 0; k < n; k++) queue.offer(trade(++i, t + i, sym));
    const res = await writer.close(3000);
    expect(res).toEqual({ complete: false, unwrittenRows: 30 + 20 });
    const inFiles = await query(`select symbol, count(*) n from read_parquet(${sqlString(`${dir.path}/v1/**/*.parquet`)}) group by symbol order by symbol`);
    expect(inFiles).toEqual([
      { symbol: "BTCUSDT", n: 40 },
      { symbol: "XRPUSDT", n: 10 },
    ]);
    expect(writer.stats().rowsWritten).toBe(50);
    // written + unwritten = every row accepted: none in both, none in neither.
    expect(writer.stats().rowsWritten + res.unwrittenRows).toBe(i);
    await Bun.sleep(100);
    expect(parquetFiles(dir.path).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  }, 60_000);

  test("temp files a killed process left under DATA_DIR are removed at start (logged with the count); live ones and data are kept", async () => {
    using dir = tmpDir();
    const deep = join(dir.path, "v1/binance/trade/BTCUSDT/date=2026-11-25");
    mkdirSync(deep, { recursive: true });
    const dead = 2 ** 22 + 12345; // above Linux's pid_max: never a live process
    writeFileSync(join(deep, `.${dead}-1.tmp`), "partial");
    writeFileSync(join(deep, `.${dead}-2.tmp`), "partial");
    writeFileSync(join(dir.path, `.probe-${dead}.tmp`), "x");
    writeFileSync(join(deep, `.${process.pid}-999.tmp`), "being written by a live collector");
    writeFileSync(join(deep, "1-abcd-1.parquet"), "data");
    const lines: Array<Record<string, unknown>> = [];
    const writer = new Writer(
      new BoundedQueue<RecordRow>(10),
      createLocalStorage(dir.path),
      encoder,
      new Metrics(["binance"], 60_000),
      createLogger("info", (l) => lines.push(JSON.parse(l))),
      opts(),
    );
    await writer.start();
    await writer.leftovers;
    await writer.close(1000);
    expect(lines.filter((l) => l.event === "tmp_cleanup")).toEqual([expect.objectContaining({ level: "info", removed: 3, kept_live: 1 })]);
    expect(readdirSync(deep).sort()).toEqual([`.${process.pid}-999.tmp`, "1-abcd-1.parquet"]);
    expect(existsSync(join(dir.path, `.probe-${dead}.tmp`))).toBe(false);
  });
});
