/**
 * Many partitions, short FLUSH_INTERVAL, kill -9: how much of each partition is lost?
 * The product simulator feeds N symbols × 3 venues; after --seconds the collector is killed with
 * SIGKILL; then, per partition (exchange, stream, symbol), the loss window is the age at the kill of
 * the oldest row sent and not in its files: the simulator's per-partition row counts are sampled
 * every 250 ms, so row n+1 (n = rows in the files) was sent after the last sample with count ≤ n
 * (the window is overstated by at most 250 ms; 0 when every row sent before the kill is in a file).
 * This holds for sporadic streams (liquidations) too, where "kill − newest row in the files" would
 * count the quiet time since the last liquidation as loss. Prints the worst window, how many
 * partitions with rows sent have no file at all, and whether every window is ≤ FLUSH_INTERVAL + 5 s.
 *
 *   npx bun bench/starvation.ts [--symbols 200] [--flush-interval 10] [--seconds 60] [--rate 3000]
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator } from "../src/sim/server.ts";
import { baseEnv, spawnCollector, simVenues } from "../test/helpers/collector.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const nSymbols = arg("--symbols", 200);
const flush = arg("--flush-interval", 10);
const seconds = arg("--seconds", 60);
const rate = arg("--rate", 3000);
const symbols = Array.from({ length: nSymbols }, (_, i) => `S${i}USDT`);

const dataDir = mkdtempSync(join(tmpdir(), "qlc-starve-"));
const sim = startSimulator({ rate, symbols });
const col = spawnCollector(
  [],
  baseEnv({
    ...simVenues(sim.url),
    SYMBOLS: symbols.join(","),
    DATA_DIR: dataDir,
    FLUSH_INTERVAL: String(flush),
    MIN_FLUSH_GAP_SECONDS: "5",
  }),
);
await col.waitForLog("status_api_start");
console.log(`starvation bench: ${nSymbols} symbols × 3 venues, FLUSH_INTERVAL=${flush}, ${rate} frames/s per venue, kill -9 after ${seconds} s`);
// Per partition, the times (ms) at which its sent-row count was sampled and the counts.
const sampleMs: number[] = [];
const counts = new Map<string, number[]>();
function sample(): void {
  const rows = sim.stats().rows;
  const i = sampleMs.length;
  sampleMs.push(Date.now());
  for (const [k, n] of Object.entries(rows)) {
    let c = counts.get(k);
    if (!c) counts.set(k, (c = new Array<number>(i).fill(0)));
    c.push(n);
  }
  for (const c of counts.values()) if (c.length === i) c.push(c[i - 1] ?? 0);
}
const sampler = setInterval(sample, 250);
await Bun.sleep(seconds * 1000);
const m = await col.get("/metrics");
clearInterval(sampler);
sample();
col.proc.kill("SIGKILL");
const killUs = Date.now() * 1000;
const sentAtKill = Object.fromEntries([...counts].map(([k, c]) => [k, c[c.length - 1]!]));
/** Seconds between the kill and the last sample at which partition `k` had sent at most `n` rows. */
function lossWindowS(k: string, n: number): number {
  const c = counts.get(k)!;
  if (c[c.length - 1]! <= n) return 0;
  let i = c.length - 1;
  while (i >= 0 && c[i]! > n) i--;
  return i < 0 ? seconds : (killUs / 1000 - sampleMs[i]!) / 1000;
}
await col.proc.exited;
await sim.stop();
const received = m.total_events as number;

const conn = await (await DuckDBInstance.create(":memory:")).connect();
const res = await conn.runAndReadAll(
  `select exchange, regexp_extract(filename, '/v1/[^/]+/([^/]+)/', 1) stream, symbol, count(*) n from read_parquet('${dataDir}/v1/*/[!c]*/**/*.parquet', hive_partitioning=false, union_by_name=true, filename=true) group by all`,
);
const inFile = new Map(res.getRowObjects().map((r) => [`${r.exchange}|${r.stream}|${r.symbol}`, Number(r.n)]));
rmSync(dataDir, { recursive: true, force: true });
const expected = Object.entries(sentAtKill)
  .filter(([, n]) => n > 0)
  .map(([k]) => k);
const parts = expected.map((k) => ({ key: k, n: inFile.get(k) ?? 0, windowS: lossWindowS(k, inFile.get(k) ?? 0) }));
const inFiles = new Set([...inFile.keys()]);
const neverFlushed = expected.filter((k) => !inFiles.has(k));
const worst = parts.reduce((a, p) => Math.max(a, p.windowS), 0);
const worstParts = [...parts]
  .sort((a, b) => b.windowS - a.windowS)
  .slice(0, 5)
  .map((p) => `${p.key} ${p.windowS.toFixed(1)} s`);
const rowsInFiles = [...inFile.values()].reduce((a, n) => a + n, 0);
const sorted = parts.map((p) => p.windowS).sort((a, b) => a - b);
const byStream = new Map<string, number>();
for (const p of parts) {
  const st = p.key.split("|").slice(0, 2).join("|");
  byStream.set(st, Math.max(byStream.get(st) ?? 0, p.windowS));
}
console.log(`worst loss window per exchange|stream: ${[...byStream].map(([k, w]) => `${k} ${w.toFixed(1)}`).join(", ")}`);
console.log(`worst partitions: ${worstParts.join(", ")}`);
console.log(
  `partitions with rows sent before the kill: ${expected.length}; in files: ${inFiles.size}; without a file: ${neverFlushed.length}, of which ${
    neverFlushed.filter((k) => lossWindowS(k, 0) > flush + 5).length
  } with a row older than FLUSH_INTERVAL + 5 s${
    neverFlushed.length
      ? ` (${neverFlushed
          .slice(0, 10)
          .map((k) => `${k}: ${sentAtKill[k]} rows sent, window ${lossWindowS(k, 0).toFixed(1)} s`)
          .join(", ")})`
      : ""
  }`,
);
console.log(
  `loss window per partition: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} s, p99 ${sorted[Math.floor(sorted.length * 0.99)]?.toFixed(1)} s, worst ${worst.toFixed(1)} s (bound FLUSH_INTERVAL + 5 = ${flush + 5} s: ${worst <= flush + 5 ? "met" : "NOT met"})`,
);
console.log(
  `rows: ${received} received by the last /metrics sample, ${rowsInFiles} in files (${((1 - rowsInFiles / Math.max(1, received)) * 100).toFixed(1)} % only in memory at the kill)`,
);
