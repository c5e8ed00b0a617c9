/**
 * Test helpers: a Binance collector whose DATA_DIR cannot be created — a plain file stands where the
 * data directory's parent should be (unwritable even for root) — so every write fails until the
 * caller removes `blocker`. Disposes of the collector and the simulator however the test ends.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, spawnCollector, type CollectorProcess } from "./collector.ts";
import { simulator, type DisposableSimulator } from "./sim.ts";

export interface UnwritableRun extends AsyncDisposable {
  /** The file in the way: remove it and storage works again. */
  blocker: string;
  sim: DisposableSimulator;
  col: CollectorProcess;
}

export function unwritableDataDir(dir: string, env: Record<string, string> = {}): UnwritableRun {
  const blocker = join(dir, "not-a-dir");
  writeFileSync(blocker, "x");
  const stack = new AsyncDisposableStack();
  const sim = stack.use(simulator({ rate: 200, exchanges: ["binance"], symbols: ["BTCUSDT"] }));
  const col = stack.use(
    spawnCollector(
      [],
      baseEnv({
        BINANCE_WS_URL: sim.url,
        DATA_DIR: join(blocker, "data"),
        EXCHANGES: "binance",
        SYMBOLS: "BTCUSDT",
        FLUSH_INTERVAL: "0.5",
        MIN_FLUSH_GAP_SECONDS: "0",
        ...env,
      }),
    ),
  );
  return { blocker, sim, col, [Symbol.asyncDispose]: () => stack.disposeAsync() };
}
