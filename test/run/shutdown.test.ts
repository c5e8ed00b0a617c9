/**
 * Scope: src/run/shutdown.ts with real parts (writer, encoder worker, local storage, status server):
 * the drain runs once — a second signal waits for the first and is logged as such — every queued
 * row is written before `collector_stop`, and `done` resolves with exit code 0.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { systemClock } from "../../src/clock.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { createPipeline } from "../../src/run/pipeline.ts";
import { Shutdown } from "../../src/run/shutdown.ts";
import { writeFacts } from "../../src/run/writes.ts";
import { createStorage } from "../../src/run/storage.ts";
import type { TradeRow } from "../../src/schema/rows.ts";
import { Metrics } from "../../src/state/metrics.ts";
import { buildSnapshot } from "../../src/state/snapshot.ts";
import { startStatusServer } from "../../src/status/server.ts";
import { tmpDir } from "../helpers/tmp.ts";

const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : [e.name]));

describe("run/shutdown", () => {
  test("drains once: a second signal waits for the first; queued rows written; done resolves 0", async () => {
    using dir = tmpDir();
    const config = loadConfig({ DATA_DIR: dir.path, EXCHANGES: "binance", SYMBOLS: "BTCUSDT" });
    const logs: Array<Record<string, unknown>> = [];
    const log = createLogger("debug", (l) => logs.push(JSON.parse(l)));
    const metrics = new Metrics(["binance"], 900_000);
    const storage = createStorage(config, log);
    const pipeline = createPipeline(config, storage, metrics, log, "test0001");
    await pipeline.writer.start();
    const snapshot = () =>
      buildSnapshot({
        metrics,
        writes: writeFacts({ writer: pipeline.writer, storage }),
        queueSize: pipeline.queue.size,
        queueCapacity: pipeline.queue.capacity,
        state: "READY",
        stateSinceMs: 0,
        stateReasons: [],
        symbols: config.SYMBOLS,
        streams: {},
        connections: {},
        nowMs: Date.now(),
        rssBytes: 0,
        lag: { p50: 0, p99: 0, max: 0, samples: 0 },
        silentSubscriptions: [],
      });
    const status = startStatusServer("127.0.0.1", 0, snapshot, log);
    const calls: string[] = [];
    const shutdown = new Shutdown({
      clock: systemClock,
      log,
      metrics,
      pipeline,
      storage,
      status,
      snapshot,
      timeoutSeconds: 10,
      booksOn: false,
      stopMonitoring: () => calls.push("monitoring"),
      stopReading: () => calls.push("reading"),
      openSockets: () => 0,
      stopLag: () => calls.push("lag"),
    });
    const trade = (id: number): TradeRow => ({
      exchange: "binance",
      symbol: "BTCUSDT",
      exchange_symbol: "BTCUSDT",
      ts_event_ms: 1,
      ts_recv_us: Date.now() * 1000,
      conn_id: "c",
      recv_seq: id,
      stream: "trade",
      trade_id: String(id),
      price: 1,
      qty: 1,
      side: "buy",
      ts_trade_ms: 1,
    });
    for (let i = 1; i <= 10; i++) pipeline.queue.offer(trade(i));

    expect(shutdown.started).toBe(false);
    const first = shutdown.run("SIGTERM");
    const second = shutdown.run("SIGINT");
    expect(second).toBe(first);
    expect(await first).toBe(0);
    expect(await shutdown.done).toBe(0);
    expect(calls).toEqual(["monitoring", "reading", "lag"]);
    const signals = logs.filter((l) => l.event === "shutdown_signal");
    expect(signals).toEqual([
      expect.objectContaining({ signal: "SIGTERM", queue_size: 10 }),
      expect.objectContaining({ signal: "SIGINT", note: "shutdown already in progress; flush continues" }),
    ]);
    expect(logs.filter((l) => l.event === "collector_stop")).toEqual([
      expect.objectContaining({ signal: "SIGTERM", unwritten_rows: 0, writer: expect.objectContaining({ total_written: 10 }) }),
    ]);
    expect(walk(dir.path).filter((f) => f.endsWith(".parquet")).length).toBe(1);
  }, 20_000);
});
