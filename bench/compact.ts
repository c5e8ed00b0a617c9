/**
 * Compaction benchmark: files/day, bytes/row and a DuckDB one-symbol-day query, before and after
 * `quantlab-collector compact`.
 *
 *   npx bun bench/compact.ts [--seconds 180] [--rate 1000] [--symbols 10] [--streams bbo,trade,…,book] [--run-only]
 *
 * `--streams` is the collector's STREAMS (default: its default, every stream but the opt-in `book`;
 * with `book`, Binance's REST anchors come from the simulator). `--run-only` skips part 2.
 *
 * 1. A real run: simulator (this process) → collector (child, production defaults: FLUSH_INTERVAL
 *    60, BUFFER_SIZE 5000) on all three venues; then `compact` (clock moved past the day's grace)
 *    on that directory. Prints files per hour (extrapolated to a day) and bytes/row per stream,
 *    before and after.
 * 2. A full day of one symbol's trades: the run's BTCUSDT trades on each venue, encoded with the
 *    collector's own encoder as 1,440 files (one per minute, the production flush cadence) dated
 *    2026-01-01, minute m holding the run's rows of minute m mod run-length with times shifted.
 *    Times the DuckDB query below (median of 5) before and after compaction.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concat, decode, encode, type Decoded } from "../src/compact/table.ts";
import { initParquetWasm } from "../src/pipeline/wasm-init.ts";
import { fileMetadata } from "../src/schema/v1.ts";
import { SIM_DEFAULT_SYMBOLS, startSimulator } from "../src/sim/server.ts";
import { objectKey } from "../src/storage/paths.ts";
import { baseEnv, ENTRY, spawnCollector, simVenues } from "../test/helpers/collector.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const seconds = arg("--seconds", 180);
const rate = arg("--rate", 1000);
const symbols = SIM_DEFAULT_SYMBOLS.slice(0, arg("--symbols", 10));
const streamsArg = args.indexOf("--streams") >= 0 ? args[args.indexOf("--streams") + 1]! : null;
const runOnly = args.includes("--run-only");
const root = mkdtempSync(join(tmpdir(), "qlc-bench-compact-"));
const runDir = join(root, "run");
const dayDir = join(root, "day");

interface Census {
  files: number;
  bytes: number;
  rows: number;
  perStream: Record<string, { files: number; bytes: number; rows: number }>;
}
const duck = await (await DuckDBInstance.create(":memory:")).connect();
async function q(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[];
}
async function census(dir: string): Promise<Census> {
  const files = (readdirSync(join(dir, "v1"), { recursive: true }) as string[]).filter((f) => f.endsWith(".parquet"));
  const c: Census = { files: 0, bytes: 0, rows: 0, perStream: {} };
  for (const f of files) {
    const stream = f.split("/")[1]!;
    const size = statSync(join(dir, "v1", f)).size;
    const s = (c.perStream[stream] ??= { files: 0, bytes: 0, rows: 0 });
    s.files++;
    s.bytes += size;
    c.files++;
    c.bytes += size;
  }
  for (const r of await q(
    `select split_part(file_name, '/v1/', 2) f, sum(num_rows)::bigint n from parquet_file_metadata('${dir}/v1/*/*/*/*/*.parquet') group by all`,
  )) {
    const stream = String(r.f).split("/")[1]!;
    c.perStream[stream]!.rows += Number(r.n);
    c.rows += Number(r.n);
  }
  return c;
}
const compactCli = async (dir: string) => {
  const p = spawnCollector(["compact"], baseEnv({ DATA_DIR: dir, QLC_COMPACT_NOW_MS: String(Date.now() + 3 * 86_400_000) }), [
    "/usr/bin/time",
    "-f",
    "QLC_MAXRSS_KB=%M",
    process.execPath,
    ENTRY,
  ]);
  const t0 = performance.now();
  const code = await p.proc.exited;
  await Bun.sleep(50);
  const done = p.logs.find((l) => l.event === "compact_done");
  if (code !== 0 || !done || done.errors !== 0) throw new Error(`compact failed (${code}): ${p.stderr()} ${JSON.stringify(p.logs.slice(-3))}`);
  const rss = /QLC_MAXRSS_KB=(\d+)/.exec(p.stderr());
  return { seconds: (performance.now() - t0) / 1000, done, maxRssMb: rss ? Math.round(Number(rss[1]) / 1024) : null };
};

// --- 1. a real run -------------------------------------------------------------------------
const sim = startSimulator({ rate, symbols });
const streamsEnv: Record<string, string> = streamsArg ? { STREAMS: streamsArg, BINANCE_REST_URL: sim.url.replace("ws://", "http://") } : {};
const col = spawnCollector([], baseEnv({ ...simVenues(sim.url), SYMBOLS: symbols.join(","), DATA_DIR: runDir, ...streamsEnv }));
await col.waitForLog("status_api_start");
console.log(`bench: collector with production defaults, ${symbols.length} symbols × 3 venues, ${rate} frames/s per venue, ${seconds} s`);
// Steady-state file rate: files written between t = 60 s (first flushes done) and the end.
await Bun.sleep(60_000);
const f60 = (await col.get("/metrics")).writer.files_written as number;
const t60 = performance.now();
await Bun.sleep(Math.max(0, seconds - 60) * 1000);
const fEnd = (await col.get("/metrics")).writer.files_written as number;
const perHour = ((fEnd - f60) * 3_600_000) / (performance.now() - t60);
sim.pause();
await col.stop("SIGTERM");
await sim.stop();
const before = await census(runDir);
const c1 = await compactCli(runDir);
const after = await census(runDir);
console.log(
  `run: ${before.rows} rows in ${before.files} files; steady state ${Math.round(perHour)} files/hour → ~${Math.round(perHour * 24)} files/day; ${(before.bytes / before.rows).toFixed(2)} bytes/row`,
);
console.log(
  `after compact (${c1.seconds.toFixed(1)} s, max RSS ${c1.maxRssMb} MB): ${after.rows} rows in ${after.files} files (1 per exchange/stream/symbol and day), ${(after.bytes / after.rows).toFixed(2)} bytes/row`,
);
for (const s of Object.keys(before.perStream).sort()) {
  const b = before.perStream[s]!;
  const a = after.perStream[s]!;
  console.log(
    `  ${s.padEnd(14)} files ${String(b.files).padStart(5)} → ${String(a.files).padStart(3)}   bytes/row ${(b.bytes / b.rows).toFixed(2).padStart(6)} → ${(a.bytes / a.rows).toFixed(2).padStart(6)}   rows ${b.rows} → ${a.rows}`,
  );
}

if (before.rows !== after.rows) throw new Error(`row counts differ: ${before.rows} before, ${after.rows} after`);
if (runOnly) {
  rmSync(root, { recursive: true, force: true });
  process.exit(0);
}

// --- 2. one symbol-day of trades in 1,440 files per venue ----------------------------------
await initParquetWasm();
const DAY_US = Date.parse("2026-01-01T00:00:00Z") * 1000;
let dayRows = 0;
const perVenue: number[] = [];
for (const ex of ["binance", "bybit", "okx"]) {
  const dir = join(runDir, "v1", ex, "trade", "BTCUSDT");
  const parts: Decoded[] = [];
  for (const d of readdirSync(dir))
    for (const f of readdirSync(join(dir, d))) parts.push(await decode(new Uint8Array(await Bun.file(join(dir, d, f)).arrayBuffer()), "trade", f));
  const t = concat(parts, "trade");
  const ts = t.columns.find((c) => c.def.name === "ts_recv_us")!.numbers!;
  const t0 = Math.min(...ts);
  const minutes = Math.max(1, Math.floor((Math.max(...ts) - t0) / 60e6));
  let venueRows = 0;
  const shiftCols = ["ts_recv_us", "ts_event_ms", "ts_trade_ms"].map((n) => t.columns.find((c) => c.def.name === n)!);
  const byMinute: number[][] = Array.from({ length: minutes }, () => []);
  for (let i = 0; i < t.length; i++) {
    const mi = Math.floor((ts[i]! - t0) / 60e6);
    if (mi < minutes) byMinute[mi]!.push(i);
  }
  for (let m = 0; m < 1440; m++) {
    const src = m % minutes;
    const idx = byMinute[src]!;
    if (idx.length === 0) continue;
    // Only this minute's rows, times moved to minute m of 2026-01-01.
    const sub: Decoded = {
      length: idx.length,
      metadata: t.metadata,
      columns: t.columns.map((c) => {
        const k = shiftCols.indexOf(c);
        const valid = c.valid ? Uint8Array.from(idx, (i) => c.valid![i]!) : undefined;
        if (c.strings) return { ...c, strings: idx.map((i) => c.strings![i]!), valid };
        const unit = k === 0 ? 1 : 1000;
        const shift = k < 0 ? 0 : (DAY_US - t0 + (m - src) * 60e6) / unit;
        return { ...c, numbers: Float64Array.from(idx, (i) => (k < 0 ? c.numbers![i]! : Math.round(c.numbers![i]! + shift))), valid };
      }),
    };
    const order = Uint32Array.from(idx, (_, j) => j);
    const first = sub.columns[4]!.numbers![0]!;
    const key = objectKey({ exchange: ex, stream: "trade", symbol: "BTCUSDT", firstTsRecvUs: first, instanceId: "bench000", seq: m });
    const bytes = await encode(
      sub,
      order,
      "trade",
      fileMetadata({ exchange: ex, stream: "trade", symbol: "BTCUSDT", instanceId: "bench000", collectorVersion: "bench" }),
      "bench",
      50_000,
    );
    mkdirSync(join(dayDir, key, ".."), { recursive: true });
    await Bun.write(join(dayDir, key), bytes);
    dayRows += idx.length;
    venueRows += idx.length;
  }
  perVenue.push(venueRows);
}
const QUERY = `SELECT exchange, date_trunc('minute', make_timestamp(ts_recv_us)) AS minute, count(*) AS trades, sum(price * qty) / sum(qty) AS vwap
FROM read_parquet('${dayDir}/v1/*/trade/BTCUSDT/date=2026-01-01/*.parquet') GROUP BY ALL ORDER BY minute, exchange`;
async function timeQuery(): Promise<{ ms: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 5; i++) {
    const c = await (await DuckDBInstance.create(":memory:")).connect(); // fresh instance: no metadata cache
    const t0 = performance.now();
    const r = (await c.runAndReadAll(QUERY)).getRowObjects();
    times.push(performance.now() - t0);
    rows = r.reduce((a, x) => a + Number(x.trades), 0);
    c.closeSync();
  }
  times.sort((a, b) => a - b);
  return { ms: times[2]!, rows };
}
const dayBefore = await census(dayDir);
const qBefore = await timeQuery();
const c2 = await compactCli(dayDir);
const dayAfter = await census(dayDir);
const qAfter = await timeQuery();
console.log(
  `one symbol-day (BTCUSDT trades, 3 venues, ${dayRows} rows): ${dayBefore.files} files, ${(dayBefore.bytes / dayBefore.rows).toFixed(2)} bytes/row → ${dayAfter.files} files, ${(dayAfter.bytes / dayAfter.rows).toFixed(2)} bytes/row (compact ${c2.seconds.toFixed(1)} s, max RSS ${c2.maxRssMb} MB, largest partition ${Math.max(...perVenue)} rows)`,
);
console.log(
  `DuckDB per-minute VWAP query, median of 5 fresh instances: ${qBefore.ms.toFixed(0)} ms before, ${qAfter.ms.toFixed(0)} ms after (rows ${qBefore.rows} = ${qAfter.rows})`,
);
if (qBefore.rows !== qAfter.rows || qBefore.rows !== dayRows) throw new Error("row counts differ");
rmSync(root, { recursive: true, force: true });
