/**
 * Where is the limit? One run measures, on this machine, side by side:
 *   1. the bare Bun WebSocket client (JSON.parse only, bench/bare-client.ts) fed as fast as it reads;
 *   2. the collector (child process, from source) at a ladder of paced rates, each for --seconds:
 *      drops, rows verified in the Parquet files with DuckDB (= received − dropped), RSS max,
 *      event-loop lag p99 (the collector's own /metrics, 60 s window), CPU of the collector process;
 * then prints the highest 0-drop rate and its ratio to the bare client's limit.
 * Frames come from bench/raw-sender.ts (pre-serialized realistic Binance frames, bench/series.ts,
 * framed once and written in slices; `--sender ws`: bench/replay-sender.ts, Bun's WebSocket server).
 *
 *   npx bun bench/limit.ts [--rates 50000,100000,150000,200000,250000] [--seconds 30] [--bare-seconds 10] [--all] [--sender raw|ws]
 *
 * Rates are frames/s on the /public socket (bookTicker + trade, 1 row each) for 10 symbols; the
 * /market socket adds 10 markPrice frames/s (20 rows/s). Without --all the ladder stops at the
 * first rate with drops. Numbers depend on the machine and on what else runs on it.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseEnv, spawnCollector } from "../test/helpers/collector.ts";
import { startRawReplaySender } from "./raw-sender.ts";
import { startReplaySender } from "./replay-sender.ts";
import { BENCH_SYMBOLS, SeriesGenerator } from "./series.ts";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : def;
};
const rates = opt("--rates", "50000,100000,150000,200000,250000").split(",").map(Number);
const seconds = Number(opt("--seconds", "30"));
const bareSeconds = Number(opt("--bare-seconds", "10"));
const all = args.includes("--all");
const symbols = BENCH_SYMBOLS.map((s) => s.symbol);

const gen = new SeriesGenerator(1, BENCH_SYMBOLS, 250_000);
const ring = gen.frames(Number(opt("--ring", "200000"))).map((f) => f.text);
// "raw" (default): bench/raw-sender.ts, frames pre-framed and written in slices, so the sender costs
// almost nothing and the collector is what saturates; "ws": bench/replay-sender.ts (Bun's server, one
// send per frame), which on 2 shared cores stopped near 200k frames/s.
const senderKind = opt("--sender", "raw");
const sender = senderKind === "ws" ? startReplaySender({ ring, gen }) : startRawReplaySender({ ring, gen });
const publicUrl = `${sender.url}/public/stream?streams=${symbols.flatMap((s) => [`${s.toLowerCase()}@bookTicker`, `${s.toLowerCase()}@trade`]).join("/")}`;
const marketUrl = `${sender.url}/market/stream?streams=${symbols.map((s) => `${s.toLowerCase()}@markPrice@1s`).join("/")}`;

/** CPU seconds (user + system) of a process, or of one of its threads (`tid`; the main thread's is the pid), from /proc (Linux). */
function cpuSeconds(pid: number, tid?: number): number {
  try {
    const f = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

// --- 1. bare client ------------------------------------------------------------------------------
/** As fast as it reads (`"max"`), or paced (its event-loop lag then is the floor for the collector's). */
async function bareRun(rate: number | "max", secs: number): Promise<{ fps: number; lagP99: number; lagMax: number; cpuPct: number }> {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "bare-client.ts"), publicUrl, marketUrl], { stdout: "pipe", stderr: "inherit" });
  let last = { frames: 0, t_ms: 0, lag_p99_ms: 0, lag_max_ms: 0 };
  void (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of child.stdout as ReadableStream<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        try {
          last = JSON.parse(buf.slice(0, i));
        } catch {}
        buf = buf.slice(i + 1);
      }
    }
  })();
  while (last.t_ms === 0) await Bun.sleep(50);
  sender.setRate(rate);
  sender.resume();
  await Bun.sleep(2000); // warm-up
  const a = last;
  const cpu0 = cpuSeconds(child.pid);
  await Bun.sleep(secs * 1000);
  const b = last;
  const cpu1 = cpuSeconds(child.pid);
  sender.pause();
  child.kill();
  await child.exited;
  const r = { fps: ((b.frames - a.frames) * 1000) / (b.t_ms - a.t_ms), lagP99: b.lag_p99_ms, lagMax: b.lag_max_ms, cpuPct: ((cpu1 - cpu0) / secs) * 100 };
  console.log(
    `bare client @ ${rate}: ${Math.round(r.fps)} frames/s (JSON.parse only, ${secs} s, CPU ${r.cpuPct.toFixed(0)} % = ${((r.cpuPct * 1e4) / r.fps).toFixed(2)} µs/frame, lag p99/max ${r.lagP99}/${r.lagMax} ms)`,
  );
  return r;
}

// --- 2. collector at a paced rate -----------------------------------------------------------------
interface RunResult {
  rate: number;
  sentFps: number;
  drops: number;
  verified: boolean;
  rowsInFiles: number;
  received: number;
  rssMax: number;
  lagP99: number;
  lagMax: number;
  cpuPct: number;
  /** CPU of the collector's main thread (sockets, parsing, buffers) per frame sent, µs: the cost that sets the limit. */
  mainCpuUsPerFrame: number;
}

async function collectorRun(rate: number): Promise<RunResult> {
  const dataDir = mkdtempSync(join(tmpdir(), "qlc-limit-"));
  const col = spawnCollector([], baseEnv({ BINANCE_WS_URL: sender.url, EXCHANGES: "binance", SYMBOLS: symbols.join(","), DATA_DIR: dataDir }));
  await col.waitForLog("status_api_start");
  const metrics = () => col.get("/metrics");
  while (((await metrics()).connections.binance?.open ?? 0) < 2) await Bun.sleep(50);
  const m0 = await metrics();
  const s0 = sender.stats();
  const cpu0 = cpuSeconds(col.proc.pid);
  const mainCpu0 = cpuSeconds(col.proc.pid, col.proc.pid);
  const senderCpu0 = process.cpuUsage();
  const t0 = performance.now();
  sender.setRate(rate);
  sender.resume();
  let rssMax = 0;
  let pendingMax = 0;
  let queueMax = 0;
  for (let s = 1; s <= seconds; s++) {
    await Bun.sleep(1000);
    const m = await metrics();
    rssMax = Math.max(rssMax, m.rss_mb);
    pendingMax = Math.max(pendingMax, m.writer.pending_events);
    queueMax = Math.max(queueMax, m.queue_size);
  }
  sender.pause();
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(col.proc.pid);
  const mainCpu1 = cpuSeconds(col.proc.pid, col.proc.pid);
  const senderCpu = process.cpuUsage(senderCpu0);
  const senderPct = ((senderCpu.user + senderCpu.system) / 1e6 / elapsed) * 100;
  const s1 = sender.stats();
  const sentRows = s1.rows - s0.rows;
  let m = await metrics();
  const deadline = performance.now() + 30_000;
  while (m.total_events - m0.total_events < sentRows && performance.now() < deadline) {
    await Bun.sleep(100);
    m = await metrics();
  }
  rssMax = Math.max(rssMax, m.rss_mb);
  const lag = m.event_loop_lag_ms;
  await col.stop("SIGTERM");
  const end = { total: m.total_events, dropped: m.dropped_events_total };
  const conn = await (await DuckDBInstance.create(":memory:")).connect();
  const res = await conn.runAndReadAll(`select count(*) n from read_parquet('${dataDir}/v1/*/[!c]*/**/*.parquet', hive_partitioning=false)`);
  const rowsInFiles = Number(res.getRowObjects()[0]!.n);
  rmSync(dataDir, { recursive: true, force: true });
  const r: RunResult = {
    rate,
    sentFps: (s1.frames - s0.frames) / elapsed,
    drops: end.dropped,
    verified: rowsInFiles === end.total - end.dropped && end.total - m0.total_events === sentRows,
    rowsInFiles,
    received: end.total,
    rssMax,
    lagP99: lag.p99,
    lagMax: lag.max,
    cpuPct: ((cpu1 - cpu0) / elapsed) * 100,
    mainCpuUsPerFrame: ((mainCpu1 - mainCpu0) * 1e6) / (s1.frames - s0.frames),
  };
  console.log(
    `collector @ ${rate}/s: sent ${Math.round(r.sentFps)} frames/s for ${elapsed.toFixed(1)} s; received ${r.received} rows, dropped ${r.drops}; rows in files ${rowsInFiles} (${r.verified ? "verified = sent = received - dropped" : "MISMATCH"}); RSS max ${rssMax} MB (writer pending max ${pendingMax} rows, queue max ${queueMax}); lag p99/max ${lag.p99}/${lag.max} ms; collector CPU ${r.cpuPct.toFixed(0)} % (main thread ${r.mainCpuUsPerFrame.toFixed(2)} µs/frame); sender (this process) CPU ${senderPct.toFixed(0)} %`,
  );
  return r;
}

console.log(
  `limit bench: 10 symbols Binance, ${senderKind} sender, replay ring ${ring.length} frames, ${seconds} s per rate, ${navigator.hardwareConcurrency} CPUs`,
);
const bare = (await bareRun("max", bareSeconds)).fps;
const bareAt50k = await bareRun(50_000, bareSeconds);
const results: RunResult[] = [];
for (const rate of rates) {
  const r = await collectorRun(rate);
  results.push(r);
  if (r.drops > 0 && !all) break;
}
await sender.stop();

const ok = results.filter((r) => r.drops === 0 && r.verified);
const best = ok.reduce<RunResult | null>((a, r) => (!a || r.sentFps > a.sentFps ? r : a), null);
const at50k = results.find((r) => r.rate === 50_000);
console.log("---");
console.log(`bare client limit:            ${Math.round(bare)} frames/s`);
console.log(
  best
    ? `collector highest 0-drop:     ${Math.round(best.sentFps)} frames/s (paced ${best.rate}/s), RSS max ${best.rssMax} MB, CPU ${best.cpuPct.toFixed(0)} %`
    : "collector highest 0-drop:     none of the rates tried",
);
if (best) console.log(`ratio collector / bare:       ${(best.sentFps / bare).toFixed(2)}`);
if (at50k)
  console.log(
    `lag p99 at 50k frames/s:      ${at50k.lagP99} ms (max ${at50k.lagMax} ms); bare client at 50k: ${bareAt50k.lagP99} ms (max ${bareAt50k.lagMax} ms)`,
  );
