/**
 * Many partitions, short FLUSH_INTERVAL, kill -9: how much of each partition is lost?
 * The product simulator feeds N symbols × 3 venues; after --seconds the collector is killed with
 * SIGKILL; then, per partition (exchange, stream, symbol), the loss window is the kill time minus
 * the newest ts_recv_us in its files (rows arrive continuously, so that is the age of the oldest
 * row that was only in memory). Prints the worst window, how many partitions have no file at all,
 * and whether every window is ≤ FLUSH_INTERVAL + 5 s.
 *
 *   npx bun bench/starvation.ts [--symbols 200] [--flush-interval 10] [--seconds 60] [--rate 3000]
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator } from "../src/sim/server.ts";
import { baseEnv, spawnCollector } from "../test/helpers/collector.ts";

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
    BINANCE_WS_URL: sim.url,
    BYBIT_WS_URL: sim.url,
    OKX_WS_URL: sim.url,
    SYMBOLS: symbols.join(","),
    DATA_DIR: dataDir,
    FLUSH_INTERVAL: String(flush),
    MIN_FLUSH_GAP_SECONDS: "5",
  }),
);
await col.waitForLog("status_api_start");
console.log(`starvation bench: ${nSymbols} symbols × 3 venues, FLUSH_INTERVAL=${flush}, ${rate} frames/s per venue, kill -9 after ${seconds} s`);
await Bun.sleep(seconds * 1000);
const m = await col.get("/metrics");
col.proc.kill("SIGKILL");
const killUs = Date.now() * 1000;
await col.proc.exited;
await sim.stop();
const received = m.total_events as number;

const conn = await (await DuckDBInstance.create(":memory:")).connect();
const res = await conn.runAndReadAll(
  `select exchange, regexp_extract(filename, '/v1/[^/]+/([^/]+)/', 1) stream, symbol, count(*) n, max(ts_recv_us) last_us from read_parquet('${dataDir}/v1/*/[!c]*/**/*.parquet', hive_partitioning=false, union_by_name=true, filename=true) group by all`,
);
const parts = res.getRowObjects().map((r) => ({ key: `${r.exchange}|${r.stream}|${r.symbol}`, n: Number(r.n), windowS: (killUs - Number(r.last_us)) / 1e6 }));
rmSync(dataDir, { recursive: true, force: true });
const expected = Object.entries(sim.stats().rows)
  .filter(([, n]) => n > 0)
  .map(([k]) => k);
const inFiles = new Set(parts.map((p) => p.key));
const neverFlushed = expected.filter((k) => !inFiles.has(k));
const worst = parts.reduce((a, p) => Math.max(a, p.windowS), 0);
const rowsInFiles = parts.reduce((a, p) => a + p.n, 0);
const sorted = parts.map((p) => p.windowS).sort((a, b) => a - b);
console.log(
  `partitions with data: ${expected.length}; in files: ${inFiles.size}; never flushed: ${neverFlushed.length}${
    neverFlushed.length
      ? ` (${neverFlushed
          .slice(0, 10)
          .map((k) => `${k}: ${sim.stats().rows[k]} rows sent`)
          .join(", ")})`
      : ""
  }`,
);
console.log(
  `loss window per partition: median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} s, p99 ${sorted[Math.floor(sorted.length * 0.99)]?.toFixed(1)} s, worst ${worst.toFixed(1)} s (bound FLUSH_INTERVAL + 5 = ${flush + 5} s: ${worst <= flush + 5 && neverFlushed.length === 0 ? "met" : "NOT met"})`,
);
console.log(
  `rows: ${received} received by the last /metrics sample, ${rowsInFiles} in files (${((1 - rowsInFiles / Math.max(1, received)) * 100).toFixed(1)} % only in memory at the kill)`,
);
