/**
 * S3 outage soak: simulator → collector (child process, STORAGE_BACKEND=s3) → fault proxy → s3rver.
 * S3 answers 503 for --fail-seconds, then hangs every request for --hang-seconds, then recovers.
 * Prints one JSON line every 10 s (state, RSS, spool files/MB, oldest file age, failed attempts),
 * the time the spool took to drain, and the final totals (every event written, files uploaded).
 *
 *   npx bun bench/s3-outage.ts [--rate 5000] [--fail-seconds 120] [--hang-seconds 60]
 */
import { join } from "node:path";
import { startSimulator } from "../src/sim/server.ts";
import { baseEnv, spawnCollector } from "../test/helpers/collector.ts";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startFaultProxy, startS3 } from "../test/helpers/s3.ts";
import { tmpDir } from "../test/helpers/tmp.ts";
import { waitFor } from "../test/helpers/wait.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const rate = arg("--rate", 5000);
const failS = arg("--fail-seconds", 120);
const hangS = arg("--hang-seconds", 60);

const dir = tmpDir("qlc-s3-outage-");
const s3 = await startS3(join(dir.path, "s3rver"));
const proxy = await startFaultProxy(s3.port);
const symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "AVAXUSDT", "LINKUSDT", "LTCUSDT"];
const sim = startSimulator({ rate, exchanges: ["binance"], symbols });
const col = spawnCollector(
  [],
  baseEnv({
    STORAGE_BACKEND: "s3",
    S3_ENDPOINT: proxy.endpoint,
    S3_BUCKET: "market-data",
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    DATA_DIR: join(dir.path, "data"),
    BINANCE_WS_URL: sim.url,
    EXCHANGES: "binance",
    SYMBOLS: symbols.join(","),
    FLUSH_INTERVAL: "5",
    MIN_FLUSH_GAP_SECONDS: "1",
    S3_UPLOAD_TIMEOUT_SECONDS: "5",
    S3_RETRY_MAX_SECONDS: "5",
  }),
);
await col.waitForLog("status_api_start");
const t0 = Date.now();
const line = async (tag: string) => {
  const m = await col.get("/metrics");
  console.log(
    JSON.stringify({
      t_s: Math.round((Date.now() - t0) / 1000),
      tag,
      state: m.state,
      rss_mb: m.rss_mb,
      events: m.total_events,
      written: m.writer.total_written,
      spool_files: m.writer.spool_files,
      spool_mb: +(m.writer.spool_bytes / 1048576).toFixed(2),
      oldest_s: m.writer.spool_oldest_age_seconds,
      upload_failures: m.writer.upload_failures,
      files_uploaded: m.writer.files_uploaded,
      drops: m.dropped_events_total,
    }),
  );
};
const phase = async (tag: string, seconds: number) => {
  for (let s = 0; s < seconds; s += 10) {
    await Bun.sleep(Math.min(10, seconds - s) * 1000);
    await line(tag);
  }
};
await phase("s3_up", 10);
proxy.setMode("503");
await phase("s3_503", failS);
proxy.setMode("hang");
await phase("s3_hang", hangS);
proxy.setMode("pass");
await proxy.releaseHeld();
const tr = Date.now();
await waitFor("spool drained", async () => (await col.get("/metrics")).writer.spool_files < 15, 600_000, 200);
console.log(JSON.stringify({ drain_seconds: (Date.now() - tr) / 1000 }));
await line("recovered");
sim.pause();
await Bun.sleep(7000);
const code = await col.stop("SIGTERM");
const stop = col.logs.find((l) => l.event === "collector_stop")!;
const w = stop.writer as Record<string, number>;
console.log(
  JSON.stringify({
    exit_code: code,
    total_events: stop.total_events,
    total_written: w.total_written,
    files_written: w.files_written,
    files_uploaded: w.files_uploaded,
    spool_files: w.spool_files,
    upload_failures: w.upload_failures,
    dropped: stop.dropped_events_total,
    puts: [...proxy.stats.putsByPath.values()].reduce((a, b) => a + b, 0),
    objects_put: proxy.stats.putsByPath.size,
    proxy: proxy.stats.byOutcome,
  }),
);
await sim.stop();
await proxy.close();
await s3.close();
dir[Symbol.dispose]();
process.exit(0);
