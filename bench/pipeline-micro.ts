/**
 * Socket-thread cost per row, without sockets: realistic Binance frames (bench/series.ts) → the real
 * adapter parse → the real ingest hooks (metrics, trackers, queue) → the real writer's drain and
 * ticks (real encoder worker, real local storage in a temp dir). Prints µs per frame for
 * parse + ingest and for the writer's drain, as CPU time of this thread (Linux /proc; the encoder
 * worker runs on its own thread and is not counted), so a busy machine skews it less than wall time. Use it to compare two versions of the pipeline.
 *
 *   npx bun bench/pipeline-micro.ts [--frames 2000000]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binance } from "../src/exchanges/binance.ts";
import { createIngestHooks, subscribedSymbols } from "../src/ingest.ts";
import { silentLogger } from "../src/log.ts";
import { createWorkerEncoder } from "../src/pipeline/encoder.ts";
import { BoundedQueue } from "../src/pipeline/queue.ts";
import { Writer } from "../src/pipeline/writer.ts";
import type { RecordRow } from "../src/schema/rows.ts";
import { FirstDataTracker } from "../src/state/first-data.ts";
import { Metrics } from "../src/state/metrics.ts";
import { SilenceTracker } from "../src/state/silence.ts";
import { TradeIdGapTracker } from "../src/state/trade-gaps.ts";
import { createLocalStorage } from "../src/storage/local.ts";
import { BENCH_SYMBOLS, SeriesGenerator } from "./series.ts";

const args = process.argv.slice(2);
const fi = args.indexOf("--frames");
const total = fi >= 0 ? Number(args[fi + 1]) : 2_000_000;
const symbols = BENCH_SYMBOLS.map((s) => s.symbol);
const ring = new SeriesGenerator(3).frames(200_000).map((f) => f.text);

const dir = mkdtempSync(join(tmpdir(), "qlc-micro-"));
const metrics = new Metrics(["binance"], 900_000);
const queue = new BoundedQueue<RecordRow>(1_000_000);
const encoder = createWorkerEncoder();
const writer = new Writer(queue, createLocalStorage(dir), encoder, metrics, silentLogger, {
  bufferSize: 5000,
  flushIntervalMs: 60_000,
  minFlushGapMs: 5000,
  maxInflightUploads: 16,
  instanceId: "bench000",
  collectorVersion: "bench",
  retryBudget: 3,
  retryBackoff: { baseMs: 500, maxMs: 30_000 },
  maxBacklogRows: 50_000_000,
  symbols: { binance: symbols },
});
const hooks = createIngestHooks({
  metrics,
  queue,
  record: (r) => writer.record(r),
  log: silentLogger,
  silence: new SilenceTracker(),
  firstData: new FirstDataTracker(),
  tradeGaps: new TradeIdGapTracker(),
  contiguousIds: new Set(["binance"] as const),
  subscriptionDeadlineMs: 60_000,
  findConnection: () => undefined,
  onConnectivityChange: () => {},
  subscribed: subscribedSymbols(["binance"], symbols, (_ex, s) => binance.venueSymbol(s)),
});
await writer.start();

/** CPU ms of this (the socket-reading) thread only: the encoder worker's work is not counted. */
function threadCpuMs(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) * 10; // utime + stime, USER_HZ = 100
}

let parseMs = 0;
let drainMs = 0;
let seq = 0;
const CHUNK = 250_000; // all parsed first, then all drained: each phase long enough for 10 ms CPU ticks
for (let done = 0; done < total; done += CHUNK) {
  const c0 = threadCpuMs();
  for (let i = 0; i < CHUNK; i++) {
    const text = ring[(done + i) % ring.length]!;
    const res = binance.parse(text, { connId: "binance-public-bench000-1", recvSeq: ++seq, tsRecvUs: Date.now() * 1000 });
    if (res.kind === "rows") for (const r of res.rows) hooks.onRow(r);
  }
  const c1 = threadCpuMs();
  while (queue.size > 0) {
    writer.drain(5000);
    writer.tick(Date.now());
  }
  const c2 = threadCpuMs();
  parseMs += c1 - c0;
  drainMs += c2 - c1;
  await Bun.sleep(50); // let the worker's answers in
}
await writer.close(60_000);
await encoder.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  `${total} frames: parse + ingest ${((parseMs * 1000) / total).toFixed(2)} µs/frame, writer drain + ticks ${((drainMs * 1000) / total).toFixed(2)} µs/frame; rows written ${writer.stats().rowsWritten}, drops ${metrics.droppedTotal}, files ${writer.stats().filesWritten}`,
);
