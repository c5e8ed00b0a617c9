/**
 * Scope: the compiled single executable, built like `npm run build` and copied ALONE into an empty
 * directory (no node_modules, no wasm file, no package.json): it records from the loopback
 * simulator, serves a valid Prometheus exposition, exits 0 on SIGTERM, and its files are read back
 * by DuckDB with the simulator's row counts — also through the DuckDB query documented in
 * docs/operations.md. A stray .env / bunfig.toml next to it is ignored; --env-file is honoured
 * (exit 2 on a bad value); --version names version, commit and schema.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import type { Stream } from "../../src/schema/rows.ts";
import { startSimulator, type Simulator } from "../../src/sim/server.ts";
import { baseEnv, ENTRY, REPO, spawnCollector, type CollectorProcess } from "../helpers/collector.ts";
import { query, streamGlob } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { builtBinary, expectedCommit, run } from "./build.ts";
import { parseExposition } from "./prom.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const FRAMES = 2000;
const work = tmpDir("qlc-binary-");
const runDir = join(work.path, "empty");
let exe: string;
let sim: Simulator;
let col: CollectorProcess;
let exitCode: number;
let promText: string;
let dirBeforeStart: string[];

beforeAll(async () => {
  const built = await builtBinary();
  mkdirSync(runDir);
  exe = join(runDir, "quantlab-collector");
  copyFileSync(built, exe);
  Bun.spawnSync(["chmod", "755", exe]);
  dirBeforeStart = readdirSync(runDir);
  sim = startSimulator({ rate: 4000, record: false, maxFramesPerVenue: FRAMES, exchanges: ["binance"], symbols: SYMBOLS });
  // No DATA_DIR: the default ./data is relative to the working directory, the empty dir.
  col = spawnCollector(
    [],
    baseEnv({
      CWD: runDir,
      BINANCE_WS_URL: sim.url,
      EXCHANGES: "binance",
      SYMBOLS: SYMBOLS.join(","),
      FLUSH_INTERVAL: "1",
      MIN_FLUSH_GAP_SECONDS: "0",
      BUFFER_SIZE: "500",
    }),
    [exe],
  );
  await col.waitForLog("status_api_start");
  await waitFor("simulator to send every frame", () => sim.stats().frames.binance === FRAMES, 20_000);
  const expected = Object.values(sim.stats().rows).reduce((a, b) => a + b, 0);
  await waitFor("collector to receive every row", async () => (await col.get("/metrics")).total_events === expected, 15_000);
  promText = await col.get("/metrics/prometheus");
  exitCode = await col.stop("SIGTERM");
}, 45_000);

afterAll(async () => {
  await sim?.stop();
  work[Symbol.dispose]();
});

describe("compiled binary alone in an empty directory", () => {
  test("the directory held nothing but the binary", () => {
    expect(dirBeforeStart).toEqual(["quantlab-collector"]);
  });

  test("records from the simulator and exits 0 on SIGTERM with nothing unwritten", async () => {
    expect(col.stderr()).toBe("");
    expect(exitCode).toBe(0);
    const start = await col.waitForLog("collector_start");
    expect(start.version).toBe(pkg.version);
    expect(start.commit).toBe(await expectedCommit()); // baked in at build time, not "dev"
    const stop = await col.waitForLog("collector_stop");
    expect(stop.unwritten_rows).toBe(0);
    expect((stop.writer as { total_written: number }).total_written).toBe(stop.total_events as number);
    expect(col.logs.filter((l) => l.level === "error" || l.event === "non_json_stdout")).toEqual([]);
    // It wrote only under ./data: nothing extracted or created next to it.
    expect(readdirSync(runDir).sort()).toEqual(["data", "quantlab-collector"]);
  });

  test("DuckDB reads the files with the simulator's row counts per stream and symbol", async () => {
    const rows = sim.stats().rows;
    const data = join(runDir, "data");
    let total = 0;
    for (const stream of ["bbo", "trade", "mark_price", "funding", "liquidation"] as Stream[]) {
      const want = SYMBOLS.filter((s) => rows[`binance|${stream}|${s}`])
        .sort()
        .map((s) => ({ symbol: s, n: rows[`binance|${stream}|${s}`] }));
      // Liquidations are rare (the first one comes a second after subscribing): none sent, no files.
      if (want.length === 0 && stream === "liquidation") {
        expect(existsSync(join(data, "v1", "binance", "liquidation"))).toBe(false);
        continue;
      }
      const got = await query(`select symbol, count(*) as n from ${streamGlob(data, "binance", stream)} group by symbol order by symbol`);
      expect(got).toEqual(want);
      total += want.reduce((a, w) => a + w.n!, 0);
    }
    expect(total).toBe(Object.values(rows).reduce((a, b) => a + b, 0));
    expect(total).toBeGreaterThan(FRAMES / 2);
  });

  test("the DuckDB query in docs/operations.md runs on those files", async () => {
    const doc = readFileSync(join(REPO, "docs", "operations.md"), "utf8");
    const sql = doc.match(/```sql\n([\s\S]*?)```/)![1]!;
    const data = join(runDir, "data");
    const runnable = sql.replaceAll("/var/lib/quantlab-collector", data).replace(/date=\d{4}-\d{2}-\d{2}/, "date=*");
    expect(runnable).not.toBe(sql);
    const res = await query(runnable);
    expect(res.length).toBeGreaterThan(0);
    expect(Object.keys(res[0]!)).toEqual(["exchange", "minute", "trades", "notional"]);
    expect(res.reduce((a, r) => a + (r.trades as number), 0)).toBe(sim.stats().rows["binance|trade|BTCUSDT"]!);
  });

  test("its /metrics/prometheus parses and carries the run's counts", () => {
    const exp = parseExposition(promText);
    const events = exp.families.get("quantlab_collector_events_total")!.metrics.reduce((a, s) => a + Number(s.value), 0);
    expect(events).toBe(Object.values(sim.stats().rows).reduce((a, b) => a + b, 0));
    expect(exp.value("quantlab_collector_ws_connections_open", { exchange: "binance" })).toBeGreaterThanOrEqual(1);
    expect(exp.value("quantlab_collector_dropped_events_total")).toBe(0);
    expect(exp.value("process_resident_memory_bytes")).toBeGreaterThan(10 * 1048576);
  });
});

describe("compiled binary configuration sources", () => {
  const strayEnv = "STATUS_PORT=notaport\nQUEUE_SIZE=notanumber\nLOG_LEVEL=loud\n";
  const strayBunfig = 'preload = ["./missing-preload.ts"]\n';

  test("a stray .env and bunfig.toml in its working directory are not read", async () => {
    const dir = join(work.path, "stray");
    mkdirSync(dir);
    writeFileSync(join(dir, ".env"), strayEnv);
    writeFileSync(join(dir, "bunfig.toml"), strayBunfig);
    const p = spawnCollector([], baseEnv({ CWD: dir, BINANCE_WS_URL: sim.url, EXCHANGES: "binance", SYMBOLS: "BTCUSDT", DATA_DIR: join(dir, "data") }), [exe]);
    const start = await p.waitForLog("collector_start");
    // Signal handlers are in place once connections run (a SIGTERM before that exits 143).
    await p.waitForLog("ws_connect");
    expect((start.config as Record<string, unknown>).QUEUE_SIZE).toBe(500000);
    expect((start.config as Record<string, unknown>).LOG_LEVEL).toBe("info");
    expect(await p.stop("SIGTERM")).toBe(0);
    expect(p.stderr()).toBe("");
  });

  test("control: the same files ARE picked up when running from source with bun (so the check above is not vacuous)", async () => {
    const envOnly = join(work.path, "control-env");
    mkdirSync(envOnly);
    writeFileSync(join(envOnly, ".env"), strayEnv);
    const a = await run([process.execPath, ENTRY], { cwd: envOnly, env: baseEnv({ EXCHANGES: "binance" }) });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("QUEUE_SIZE");
    const bunfigOnly = join(work.path, "control-bunfig");
    mkdirSync(bunfigOnly);
    writeFileSync(join(bunfigOnly, "bunfig.toml"), strayBunfig);
    const b = await run([process.execPath, ENTRY, "--version"], { cwd: bunfigOnly, env: baseEnv({}) });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain("missing-preload");
  });

  test("--env-file with a bad value: exit 2 and one line naming the key", async () => {
    const file = join(work.path, "bad.env");
    writeFileSync(file, "# operator config\nSTATUS_PORT=notaport\n");
    const env = baseEnv({ EXCHANGES: "binance" });
    delete env.STATUS_PORT; // values in the environment win over the file
    const r = await run([exe, "--env-file", file], { cwd: work.path, env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('STATUS_PORT must be a whole number from 0 to 65535 (got "notaport")');
    // The same reason as one JSON fatal_error line on stdout, for journald | jq.
    const fatal = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ level: "error", event: "fatal_error", exit_code: 2 });
    expect(fatal[0].error).toContain("STATUS_PORT");
    const missing = await run([exe, "--env-file", join(work.path, "absent.env")], { cwd: work.path, env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("absent.env: ENOENT");
  });

  test("--version prints version, the build's git commit and the schema version", async () => {
    const commit = await expectedCommit();
    const r = await run([exe, "--version"], { cwd: work.path, env: { PATH: "/usr/bin:/bin" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`quantlab-collector ${pkg.version} (commit ${commit}, schema v1)\n`);
  });
});
