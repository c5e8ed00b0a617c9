/**
 * Throughput benchmark: simulator (this process) → collector (child process, from source) → Parquet.
 * Prints sustained events/s, drops, rows verified with DuckDB, RSS and ingest-thread event-loop lag.
 *
 *   npx bun bench/throughput.ts [--rate 100000] [--seconds 20] [--symbols 10]
 *
 * --rate is frames/s sent per simulated venue (a Binance markPrice frame yields 2 rows);
 * --exchanges binance,bybit,okx (default binance); --flush-interval seconds (default 60, as in production).
 * Numbers depend on the machine; the README quotes a run on the 2-core CI box.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExchangeId } from "../src/schema/rows.ts";
import { SIM_DEFAULT_SYMBOLS, startSimulator } from "../src/sim/server.ts";
import { baseEnv, spawnCollector, waitAllConnectionsOpen, simVenues } from "../test/helpers/collector.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const rate = arg("--rate", 100_000);
const seconds = arg("--seconds", 20);
const nSymbols = arg("--symbols", 10);
const symbols = SIM_DEFAULT_SYMBOLS.slice(0, nSymbols);
const flushInterval = arg("--flush-interval", 60);
const ai = args.indexOf("--exchanges");
const exchanges = (ai >= 0 ? args[ai + 1]!.split(",") : ["binance"]) as ExchangeId[];

const dataDir = mkdtempSync(join(tmpdir(), "qlc-bench-"));
const sim = startSimulator({ rate, symbols, exchanges });
sim.pause();
const col = spawnCollector(
  [],
  baseEnv({
    ...simVenues(sim.url),
    EXCHANGES: exchanges.join(","),
    SYMBOLS: symbols.join(","),
    DATA_DIR: dataDir,
    FLUSH_INTERVAL: String(flushInterval),
  }),
);
await col.waitForLog("status_api_start");
const port = col.statusPort();
const proc = col.proc;

const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).json() as Promise<any>;
await waitAllConnectionsOpen(col);

console.log(`bench: ${rate} frames/s per venue (${exchanges.join(",")}) for ${seconds} s, ${symbols.length} symbols, collector pid ${proc.pid}`);
sim.resume();
const t0 = performance.now();
const start = await metrics();
let rssMax = 0;
/** p99 of full 60 s lag windows only: a window of a few samples makes its p99 its single worst spike. */
let lagP99Max = 0;
let lagLast = { p50: 0, p99: 0, max: 0 };
const samples: string[] = [];
for (let s = 1; s <= seconds; s++) {
  await Bun.sleep(1000);
  const m = await metrics();
  rssMax = Math.max(rssMax, m.rss_mb);
  lagLast = m.event_loop_lag_ms;
  if (s >= 60) lagP99Max = Math.max(lagP99Max, m.event_loop_lag_ms.p99);
  if (s % 5 === 0)
    samples.push(
      `  t=${s}s events=${m.total_events} drops=${m.dropped_events_total} queue=${m.queue_size} files=${m.writer.files_written} rss=${m.rss_mb}MB lag p50/p99/max=${m.event_loop_lag_ms.p50}/${m.event_loop_lag_ms.p99}/${m.event_loop_lag_ms.max} ms`,
    );
}
sim.pause();
const elapsed = (performance.now() - t0) / 1000;
const sentRows = Object.values(sim.stats().rows).reduce((a, b) => a + b, 0);
while ((await metrics()).total_events < sentRows && performance.now() - t0 < (seconds + 30) * 1000) await Bun.sleep(100);
const end = await metrics();
proc.kill("SIGTERM");
const code = await proc.exited;

const conn = await (await DuckDBInstance.create(":memory:")).connect();
const res = await conn.runAndReadAll(`select count(*) n from read_parquet('${dataDir}/v1/*/[!c]*/*/date=*/*.parquet', hive_partitioning=false)`);
const rowsInFiles = Number(res.getRowObjects()[0]!.n);
rmSync(dataDir, { recursive: true, force: true });
await sim.stop();

const received = end.total_events - start.total_events;
console.log(samples.join("\n"));
console.log(
  `sent rows:        ${sentRows} (${Math.round(sentRows / elapsed)} rows/s over ${elapsed.toFixed(1)} s; frames ${JSON.stringify(sim.stats().frames)})`,
);
console.log(`received rows:    ${end.total_events} (${Math.round(received / elapsed)} rows/s)`);
console.log(`dropped:          ${end.dropped_events_total}`);
console.log(`rows in files:    ${rowsInFiles} (${rowsInFiles === end.total_events - end.dropped_events_total ? "verified = received - dropped" : "MISMATCH"})`);
console.log(`files written:    ${end.writer.files_written}`);
console.log(`rss max:          ${rssMax} MB`);
console.log(
  seconds >= 60
    ? `event-loop lag:   p99 worst full 60 s window ${lagP99Max} ms; last window p50/p99/max ${lagLast.p50}/${lagLast.p99}/${lagLast.max} ms`
    : `event-loop lag:   over the whole ${seconds} s run p50/p99/max ${lagLast.p50}/${lagLast.p99}/${lagLast.max} ms`,
);
console.log(`collector exit:   ${code}`);
