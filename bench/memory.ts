/**
 * Where does the collector's resident memory go? Two parts, both rerunnable:
 *
 *   npx bun bench/memory.ts                      # 1. the ladder (≈ 20 s)
 *   npx bun bench/memory.ts --run --seconds 180  # 1. + 2. the collector idle, then at the default load
 *   npx bun bench/memory.ts --run --no-ladder [--rate 1000] [--exchanges binance,bybit,okx] [--symbols 10] [--smol | --binary bin/quantlab-collector]
 *
 * 1. The ladder: fresh child processes, RSS (from /proc/<pid>/smaps_rollup: anonymous = heaps, buffers,
 *    wasm memories, JIT code; file = the mapped Bun executable and libraries) after each step:
 *    an empty `bun -e` script; the collector's modules imported; the ingest queue at QUEUE_SIZE; the
 *    encoder worker started with its parquet-wasm instance; the partition buffers of the default
 *    config filled to a 60 s flush (180 partitions, 10 symbols × 3 venues × 6 streams); those buffers
 *    encoded (the worker's Arrow/Parquet transients and its wasm memory); one hard-cap file
 *    (4 × BUFFER_SIZE rows) per stream; then a GC. The same batches are then encoded on the
 *    ladder's own thread to read the wasm memory's size (`wasmMemory()`), which the worker cannot report.
 * 2. The collector itself (child process from source, simulator in this process, production defaults):
 *    RSS once idle (connections open, no traffic), then sampled every second at the given load:
 *    max, median, and anonymous/file split at the max.
 *
 * RSS depends on the machine (and the Bun version) much less than CPU does; the README quotes runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { heapStats } from "bun:jsc";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : def;
};

interface Mem {
  rss: number;
  anon: number;
  file: number;
}

/** RSS, anonymous and file-backed resident MB of a process, from /proc/<pid>/smaps_rollup (Linux). */
export function memOf(pid: number | "self"): Mem {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(t)?.[1] ?? 0) / 1024;
  const rss = kb("Rss");
  const anon = kb("Anonymous");
  return { rss, anon, file: rss - anon - kb("Shmem") };
}

const mb = (n: number) => n.toFixed(1).padStart(6);

// ------------------------------------------------------------------------------------------------
// 1. The ladder (child side)
// ------------------------------------------------------------------------------------------------
async function ladderChild(): Promise<void> {
  const step = (name: string) => {
    const m = memOf("self");
    const h = heapStats();
    console.log(JSON.stringify({ name, ...m, jsHeap: h.heapSize / 1048576, jsExtra: h.extraMemorySize / 1048576 }));
  };
  step("bun + this script (node:fs, bun:jsc)");
  const [{ BoundedQueue }, { createWorkerEncoder }, { ColumnBuilder }, { columnsFor }, { STREAMS, OPT_IN_STREAMS }] = await Promise.all([
    import("../src/pipeline/queue.ts"),
    import("../src/pipeline/encoder.ts"),
    import("../src/pipeline/column-builder.ts"),
    import("../src/schema/v1.ts"),
    import("../src/schema/rows.ts"),
    import("../src/app.ts"),
    import("../src/cli.ts"),
  ]);
  step("collector modules imported (cli, app)");
  const queue = new BoundedQueue<unknown>(500_000);
  step("ingest queue, QUEUE_SIZE=500000, empty");
  const encoder = createWorkerEncoder();
  const meta = new Map([["k", "v"]]);
  type Builder = InstanceType<typeof ColumnBuilder>;
  const streams = STREAMS.filter((s) => !OPT_IN_STREAMS.has(s));
  /** A row with every column of the stream, varied the way real series vary (ids unique, prices on a grid). */
  const rowOf = (stream: (typeof streams)[number], i: number, symbol: string): Record<string, unknown> => {
    const r: Record<string, unknown> = { stream };
    for (const c of columnsFor(stream)) {
      if (c.type === "utf8")
        r[c.name] =
          c.name === "trade_id" ? String(5_000_000_000 + i) : c.name === "symbol" || c.name === "exchange_symbol" ? symbol : c.name === "side" ? "buy" : "x1";
      else if (c.type === "int64") r[c.name] = 1_780_000_000_000_000 + i * 997;
      else if (c.type === "float64") r[c.name] = 60_000 + ((i * 7) % 300) * 0.1;
      else if (c.type === "bool") r[c.name] = false;
    }
    return r;
  };
  const fill = (stream: (typeof streams)[number], n: number, symbol: string): Builder => {
    const b = new ColumnBuilder(stream, n);
    for (let i = 0; i < n; i++) b.append(rowOf(stream, i, symbol) as never, 1_780_000_000_000_000 + i);
    return b;
  };
  await encoder.encode(fill("trade", 1, "S0").build(), meta, "bench");
  step("encoder worker started, parquet-wasm initialised, 1-row file");
  queue.offer(1);

  // The default config at 1,000 frames/s per venue: ~60k rows per venue per 60 s flush, mostly bbo and
  // trade (the simulator's mix); 10 symbols; the small streams get a few rows each.
  const perSymbolMinute: Record<string, number> = { bbo: 3500, trade: 2300, mark_price: 60, funding: 60, open_interest: 12, liquidation: 5 };
  const held: Builder[] = [];
  for (let v = 0; v < 3; v++)
    for (let s = 0; s < 10; s++) for (const st of streams) held.push(fill(st, Math.ceil((perSymbolMinute[st] ?? 10) * 1.0), `SYM${s}USDT`));
  const heldRows = held.reduce((a, b) => a + b.length, 0);
  step(`partition buffers filled: ${held.length} partitions, ${heldRows} rows (one 60 s flush at the default load)`);
  const batches = held.map((b) => b.build());
  held.length = 0;
  await Promise.all(batches.map((b) => encoder.encode(b, meta, "bench")));
  batches.length = 0;
  step("those buffers encoded by the worker (one flush, all in flight at once)");
  for (let k = 0; k < 2; k++) await Promise.all(streams.map((st) => encoder.encode(fill(st, 20_000, "S0").build(), meta, "bench")));
  step("2 hard-cap files (4 × BUFFER_SIZE = 20000 rows) per stream encoded");
  Bun.gc(true);
  await Bun.sleep(100);
  step("after a full GC on this thread (the worker collects on its own schedule)");
  await encoder.close();
  await Bun.sleep(200);
  Bun.gc(true);
  step("encoder worker terminated, GC");

  // The wasm memory's size for the same work, on this thread (a second instance).
  const { initParquetWasm } = await import("../src/pipeline/wasm-init.ts");
  const { encodeParquet } = await import("../src/pipeline/encode.ts");
  const { wasmMemory } = await import("parquet-wasm/esm");
  await initParquetWasm();
  const wasmMb = () => wasmMemory().buffer.byteLength / 1048576;
  step(`parquet-wasm initialised on this thread (wasm memory ${wasmMb().toFixed(1)} MB)`);
  for (let v = 0; v < 3; v++)
    for (let s = 0; s < 10; s++)
      for (const st of streams) encodeParquet(fill(st, perSymbolMinute[st] ?? 10, `SYM${s}USDT`).build(), { metadata: meta, createdBy: "bench" });
  step(`one default flush encoded on this thread (wasm memory ${wasmMb().toFixed(1)} MB)`);
  for (const st of streams) encodeParquet(fill(st, 20_000, "S0").build(), { metadata: meta, createdBy: "bench" });
  step(`hard-cap files encoded on this thread (wasm memory ${wasmMb().toFixed(1)} MB)`);
}

async function ladder(): Promise<void> {
  const bare = Bun.spawnSync([
    process.execPath,
    "-e",
    `const t=require("fs").readFileSync("/proc/self/smaps_rollup","utf8");const k=(n)=>Number(new RegExp("^"+n+":\\\\s+(\\\\d+)","m").exec(t)[1])/1024;console.log(JSON.stringify({rss:k("Rss"),anon:k("Anonymous")}))`,
  ]);
  const b = JSON.parse(bare.stdout.toString()) as { rss: number; anon: number };
  console.log("ladder (MB; anon = heaps, buffers, wasm memories, JIT code; file = mapped executable and libraries):");
  console.log(`  ${"RSS".padStart(6)} ${"Δ".padStart(6)} ${"anon".padStart(6)} ${"file".padStart(6)} ${"JSheap".padStart(6)}  step`);
  console.log(`  ${mb(b.rss)} ${mb(b.rss)} ${mb(b.anon)} ${mb(b.rss - b.anon)} ${"".padStart(6)}  empty \`bun -e\` script (Bun ${Bun.version})`);
  const child = Bun.spawn([process.execPath, import.meta.path, "--ladder-child"], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(child.stdout).text();
  await child.exited;
  let prev = b.rss;
  for (const line of out.split("\n").filter((l) => l.startsWith("{"))) {
    const s = JSON.parse(line) as { name: string; jsHeap: number } & Mem;
    console.log(`  ${mb(s.rss)} ${mb(s.rss - prev)} ${mb(s.anon)} ${mb(s.file)} ${mb(s.jsHeap)}  ${s.name}`);
    prev = s.rss;
  }
}

// ------------------------------------------------------------------------------------------------
// 2. The collector, idle and under load
// ------------------------------------------------------------------------------------------------
async function run(): Promise<void> {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { SIM_DEFAULT_SYMBOLS, startSimulator } = await import("../src/sim/server.ts");
  const { baseEnv, ENTRY, simVenues, spawnCollector, waitAllConnectionsOpen } = await import("../test/helpers/collector.ts");
  const rate = Number(opt("--rate", "1000"));
  const seconds = Number(opt("--seconds", "180"));
  const symbols = SIM_DEFAULT_SYMBOLS.slice(0, Number(opt("--symbols", "10")));
  const exchanges = opt("--exchanges", "binance,bybit,okx").split(",") as ("binance" | "bybit" | "okx")[];
  const dataDir = mkdtempSync(join(tmpdir(), "qlc-mem-"));
  const sim = startSimulator({ rate, symbols, exchanges });
  sim.pause();
  const url = sim.url;
  const col = spawnCollector(
    [],
    baseEnv({ ...simVenues(url), EXCHANGES: exchanges.join(","), SYMBOLS: symbols.join(","), DATA_DIR: dataDir }),
    // --smol: Bun's smaller-heap mode for the whole process (https://bun.sh/docs/cli/run#smol).
    // --binary PATH: the single executable (`npm run build`), as systemd runs it, instead of the sources.
    args.includes("--binary") ? [opt("--binary", "bin/quantlab-collector")] : args.includes("--smol") ? [process.execPath, "--smol", ENTRY] : undefined,
  );
  await col.waitForLog("status_api_start");
  await waitAllConnectionsOpen(col);
  await Bun.sleep(3000);
  const idle = memOf(col.proc.pid);
  console.log(
    `collector idle (${exchanges.join(",")}, ${symbols.length} symbols, connections open, no traffic): RSS ${mb(idle.rss)} MB (anon ${mb(idle.anon)}, file ${mb(idle.file)})`,
  );
  console.log(`load: ${rate} frames/s per venue for ${seconds} s; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  sim.resume();
  const samples: Mem[] = [];
  let max: Mem = idle;
  for (let s = 1; s <= seconds; s++) {
    await Bun.sleep(1000);
    const m = memOf(col.proc.pid);
    samples.push(m);
    if (m.rss > max.rss) max = m;
    if (s % 15 === 0) {
      const w = (await col.get("/metrics")) as {
        total_events: number;
        dropped_events_total: number;
        writer: { files_written: number; pending_events: number };
      };
      console.log(
        `  t=${String(s).padStart(3)}s RSS ${mb(m.rss)} MB (anon ${mb(m.anon)})  max so far ${mb(max.rss)}  events ${w.total_events} drops ${w.dropped_events_total} files ${w.writer.files_written} pending ${w.writer.pending_events}`,
      );
    }
  }
  sim.pause();
  const m = (await col.get("/metrics")) as {
    total_events: number;
    dropped_events_total: number;
    event_loop_lag_ms: { p50: number; p99: number; max: number };
  };
  await col.stop("SIGTERM");
  await sim.stop();
  rmSync(dataDir, { recursive: true, force: true });
  // When the highest samples fell (seconds into the load): flush waves come every FLUSH_INTERVAL (60 s).
  const top = samples
    .map((x, i) => ({ t: i + 1, rss: x.rss }))
    .sort((a, b) => b.rss - a.rss)
    .slice(0, 6);
  console.log(`  highest samples: ${top.map((x) => `t=${x.t}s ${x.rss.toFixed(1)}`).join(", ")}`);
  const lag = m.event_loop_lag_ms;
  console.log(`  event_loop_lag_ms over the last minute: p50 ${lag.p50}, p99 ${lag.p99}, max ${lag.max}`);
  const sorted = samples.map((x) => x.rss).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  console.log(
    `collector under load: RSS max ${mb(max.rss)} MB (anon ${mb(max.anon)}, file ${mb(max.file)}), median ${mb(median)} MB over ${seconds} s; ${m.total_events} events, ${m.dropped_events_total} drops; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
}

if (args.includes("--ladder-child")) await ladderChild();
else {
  console.log(`memory bench: load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}, ${navigator.hardwareConcurrency} CPUs`);
  if (!args.includes("--no-ladder")) await ladder();
  if (args.includes("--run")) await run();
}
