/** Test helpers: one venue, a fixed number of simulator frames, the collector run to completion and stopped. */
import { beforeAll } from "bun:test";
import type { ExchangeId } from "../../src/schema/rows.ts";
import type { MetricsBody } from "../../src/state/snapshot.ts";
import { baseEnv, spawnCollector, type CollectorProcess } from "./collector.ts";
import { simulator, type DisposableSimulator } from "./sim.ts";
import { suite } from "./suite.ts";
import { tmpDir } from "./tmp.ts";
import { waitFor } from "./wait.ts";

const URL_KEY: Record<ExchangeId, string> = { binance: "BINANCE_WS_URL", bybit: "BYBIT_WS_URL", okx: "OKX_WS_URL" };

export interface RecordedRun {
  /** Still running (paused sends nothing more): the caller disposes of it (suite().use). */
  sim: DisposableSimulator;
  col: CollectorProcess;
  exitCode: number;
  /** /metrics just before SIGTERM, once every sent row was received. */
  metricsBeforeStop: MetricsBody;
}

/**
 * Simulator sends exactly `frames` frames (recorded) for `venue`; the collector (small buffers,
 * 1 s flushes) receives every row (plus, with `STREAMS` including book, Binance's REST anchors); then SIGTERM. The caller stops `sim` when done.
 * `simOpts.beforeStop`: an event to wait for before the metrics are taken and SIGTERM is sent (a
 * paced subscribe retry may come after the last frame on a busy machine).
 */
export async function recordedRun(
  venue: ExchangeId,
  symbols: string[],
  dataDir: string,
  frames = 3000,
  env: Record<string, string> = {},
  simOpts: { liquidationIntervalMs?: number; beforeStop?: (col: CollectorProcess) => Promise<unknown> } = {},
): Promise<RecordedRun> {
  // Disposed here if the run fails; handed to the caller once it succeeded.
  await using guard = new AsyncDisposableStack();
  const { beforeStop, ...simOnly } = simOpts;
  const sim = guard.use(simulator({ rate: 3000, record: true, maxFramesPerVenue: frames, exchanges: [venue], ...simOnly }));
  // BINANCE_REST_URL: the book stream's REST anchor (docs/books.md), served by the simulator on the same port.
  const col = guard.use(
    spawnCollector(
      [],
      baseEnv({
        [URL_KEY[venue]]: sim.url,
        BINANCE_REST_URL: sim.url.replace("ws://", "http://"),
        DATA_DIR: dataDir,
        SYMBOLS: symbols.join(","),
        EXCHANGES: venue,
        FLUSH_INTERVAL: "1",
        MIN_FLUSH_GAP_SECONDS: "0",
        BUFFER_SIZE: "700",
        ...env,
      }),
    ),
  );
  await col.waitForLog("status_api_start");
  await waitFor("simulator to send every frame", () => sim.stats().frames[venue] === frames, 30_000);
  // OKX's liquidation feed carries every swap: only the configured symbols' rows are recorded.
  const expectedRows = Object.entries(sim.stats().rows)
    .filter(([k]) => symbols.includes(k.split("|")[2]!))
    .reduce((a, [, n]) => a + n, 0);
  // With the book stream on, Binance's REST anchoring snapshots are rows too (docs/books.md).
  await waitFor(
    "collector to receive every row",
    async () => {
      const m = await col.get("/metrics");
      return m.total_events === expectedRows + (m.book_rest?.snapshots ?? 0);
    },
    15_000,
  );
  await beforeStop?.(col);
  const metricsBeforeStop = await col.get("/metrics");
  const exitCode = await col.stop("SIGTERM");
  guard.move();
  return { sim, col, exitCode, metricsBeforeStop };
}

/** A file's shared recorded run: its fields are set by the file's `beforeAll` (read them inside tests). */
export interface RecordedSuite extends RecordedRun {
  /** DATA_DIR of the run. */
  dir: string;
}

/**
 * One recorded run for a whole test file: the data directory and simulator are disposed of after the
 * file's last test; `recordedRun`'s arguments as above.
 */
export function recordedSuite(
  venue: ExchangeId,
  symbols: string[],
  frames = 3000,
  env: Record<string, string> = {},
  beforeStop?: (col: CollectorProcess) => Promise<unknown>,
): RecordedSuite {
  const res = suite();
  const dir = res.use(tmpDir());
  const run = { dir: dir.path } as RecordedSuite;
  beforeAll(async () => {
    Object.assign(run, await recordedRun(venue, symbols, dir.path, frames, env, beforeStop ? { beforeStop } : {}));
    res.use(run.sim);
  });
  return run;
}
