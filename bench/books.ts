/**
 * Order-book benchmarks (issue 11): simulator (this process) → collector (child process) → Parquet.
 *
 *   npx bun bench/books.ts anchor [--symbols 200] [--weight 1200]
 *     Binance cold start: N symbols with `--streams book`; every symbol needs one REST snapshot
 *     (weight 20). Prints the time until all are anchored and the most weight spent in any 60 s window
 *     (from the REST requests the simulator received), against BINANCE_REST_WEIGHT_PER_MINUTE.
 *
 *   npx bun bench/books.ts throughput [--rate 1000] [--seconds 60] [--symbols 10]
 *     Binance, N symbols, `--streams bbo,trade,mark_price,funding,book` (depth diffs + the usual
 *     streams): rows/s, drops, bytes per book row on disk, RSS, event-loop lag; rows checked with DuckDB.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SIM_DEFAULT_SYMBOLS, startSimulator } from "../src/sim/server.ts";
import { baseEnv, spawnCollector } from "../test/helpers/collector.ts";

const args = process.argv.slice(2);
const mode = args[0];
const arg = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const dataDir = mkdtempSync(join(tmpdir(), "qlc-bench-books-"));

/** The collector on the simulator's Binance (WebSocket and REST depth), recording `streams` of `symbols` under dataDir. */
const binanceCollector = (simUrl: string, streams: string, symbols: string[], env: Record<string, string> = {}) =>
  spawnCollector(
    ["--streams", streams],
    baseEnv({
      BINANCE_WS_URL: simUrl,
      BINANCE_REST_URL: simUrl.replace("ws://", "http://"),
      EXCHANGES: "binance",
      SYMBOLS: symbols.join(","),
      DATA_DIR: dataDir,
      ...env,
    }),
  );

async function anchor(): Promise<void> {
  const n = arg("--symbols", 200);
  const weight = arg("--weight", 1200);
  const symbols = Array.from({ length: n }, (_, i) => (i < SIM_DEFAULT_SYMBOLS.length ? SIM_DEFAULT_SYMBOLS[i]! : `S${String(i).padStart(3, "0")}USDT`));
  const sim = startSimulator({ rate: arg("--rate", 400), symbols, exchanges: ["binance"] });
  const col = binanceCollector(sim.url, "book", symbols, { BINANCE_REST_WEIGHT_PER_MINUTE: String(weight) });
  await col.waitForLog("status_api_start");
  const t0 = Date.now();
  console.log(`bench anchor: ${n} Binance symbols, budget ${weight}/min (limit=1000 snapshots, weight 20 each)`);
  const anchored = () => new Set(col.logs.filter((l) => l.event === "book_rest_snapshot").map((l) => l.symbol)).size;
  let last = -1;
  while (anchored() < n) {
    await Bun.sleep(1000);
    const a = anchored();
    if (a !== last && (Date.now() - t0) % 10_000 < 1000) console.log(`  t=${Math.round((Date.now() - t0) / 1000)}s anchored=${a}/${n}`);
    last = a;
    if (Date.now() - t0 > 15 * 60_000) break;
  }
  const took = (Date.now() - t0) / 1000;
  // Request times (answer time - took_ms), sorted: the budget is spent when a request is sent.
  const snaps = col.logs
    .filter((l) => l.event === "book_rest_snapshot")
    .map((l) => Date.parse(l.ts) - Number(l.took_ms))
    .sort((a, b) => a - b);
  const ownMax = Math.max(0, ...col.logs.filter((l) => l.event === "book_rest_snapshot").map((l) => Number(l.weight_used_1m)));
  // Most weight in any 60 s window of request times (each snapshot cost 20).
  let maxWindow = 0;
  for (let i = 0, j = 0; i < snaps.length; i++) {
    while (snaps[i]! - snaps[j]! >= 60_000) j++;
    maxWindow = Math.max(maxWindow, (i - j + 1) * 20);
  }
  const m = await col.get("/metrics");
  console.log(
    `anchored ${anchored()}/${n} in ${took.toFixed(1)} s; REST requests ${m.book_rest.requests}, snapshots ${m.book_rest.snapshots}, failures ${m.book_rest.failures}, budget waits ${m.book_rest.waits}; max weight in any 60 s window of requests ${maxWindow}, collector's own weight_used_1m max ${ownMax} (budget ${weight}, venue limit 2400); simulator REST requests ${sim.stats().control["binance|rest_request"] ?? 0}`,
  );
  await col.stop();
  await sim.stop();
}

async function throughput(): Promise<void> {
  const rate = arg("--rate", 1000);
  const seconds = arg("--seconds", 60);
  const symbols = SIM_DEFAULT_SYMBOLS.slice(0, arg("--symbols", 10));
  const sim = startSimulator({ rate, symbols, exchanges: ["binance"] });
  sim.pause();
  const col = binanceCollector(sim.url, "bbo,trade,mark_price,funding,book", symbols);
  await col.waitForLog("status_api_start");
  await Bun.sleep(1000);
  sim.resume();
  console.log(
    `bench throughput: Binance ${symbols.length} symbols, ${rate} frames/s (bookTicker, trade, markPrice, depth), ${seconds} s, collector pid ${col.proc.pid}`,
  );
  const start = await col.get("/metrics");
  let rssMax = 0;
  let lagMax = 0;
  for (let s = 1; s <= seconds; s++) {
    await Bun.sleep(1000);
    const m = await col.get("/metrics");
    rssMax = Math.max(rssMax, m.rss_mb);
    lagMax = Math.max(lagMax, m.event_loop_lag_ms.p99);
    if (s % 10 === 0)
      console.log(
        `  t=${s}s events=${m.total_events} book=${m.events_total_by_stream.book} drops=${m.dropped_events_total} rss=${m.rss_mb}MB lag p99=${m.event_loop_lag_ms.p99} ms`,
      );
  }
  sim.pause();
  await Bun.sleep(500);
  const end = await col.get("/metrics");
  const code = await col.stop();
  const stats = sim.stats();
  const sentBook = Object.entries(stats.rows)
    .filter(([k]) => k.includes("|book|"))
    .reduce((s, [, v]) => s + v, 0);
  const sentAll = Object.values(stats.rows).reduce((s, v) => s + v, 0);
  const db = await (await DuckDBInstance.create(":memory:")).connect();
  const q = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjects();
  const glob = (stream: string) => `'${dataDir}/**/*.parquet'`;
  const [books] = await q(
    `select count(*) n, count(*) filter (where source = 'rest') rest, sum(len(bid_px) + len(ask_px)) levels from read_parquet(${glob("book")}, union_by_name = true) where source is not null`,
  );
  const [all] = await q(`select count(*) n from read_parquet(${glob("all")}, union_by_name = true) where conn_id like 'binance-%' and (event is null)`);
  const files = await q(`select file from glob('${dataDir}/**/*.parquet')`);
  let bookBytes = 0;
  for (const f of files) if (String(f.file).includes("/book/")) bookBytes += Bun.file(String(f.file)).size;
  const n = Number(books!.n);
  const rows = Number(all!.n);
  const secs = seconds;
  console.log(
    `exit ${code}; rows/s ${((end.total_events - start.total_events) / secs).toFixed(0)} (book ${((end.events_total_by_stream.book - start.events_total_by_stream.book) / secs).toFixed(0)}); drops ${end.dropped_events_total}`,
  );
  console.log(
    `files: ${rows} data rows (simulator sent ${sentAll} + ${Number(books!.rest)} REST snapshots = ${sentAll + Number(books!.rest)}); book rows ${n} (sent ${sentBook} ws + ${Number(books!.rest)} rest), ${Number(books!.levels)} levels; ${(bookBytes / n).toFixed(1)} bytes per book row on disk (${(bookBytes / Number(books!.levels)).toFixed(2)} per level); RSS max ${rssMax} MB; lag p99 max ${lagMax} ms`,
  );
  await sim.stop();
}

try {
  if (mode === "anchor") await anchor();
  else if (mode === "throughput") await throughput();
  else console.log("usage: npx bun bench/books.ts anchor|throughput [options]");
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
