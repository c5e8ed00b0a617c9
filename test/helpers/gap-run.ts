/**
 * Test helpers: a short run of the real collector against the simulator (all three venues, two
 * symbols) with one injected outage: Binance's sockets are dropped (1006) and its handshakes
 * refused (503) until at least two reconnect attempts failed and ≥ 2 s passed, then healed. The
 * Binance data therefore has a gap that a `disconnect` row in its `connection` stream explains.
 */
import { startSimulator } from "../../src/sim/server.ts";
import { baseEnv, spawnCollector, type LogLine } from "./collector.ts";
import { waitFor } from "./wait.ts";

export interface GapRun {
  dataDir: string;
  /** Rows the simulator sent, per `exchange|stream|symbol`. */
  rows: Record<string, number>;
  /** ts (µs) of the Binance disconnect the collector logged and of the first reconnect after it. */
  outage: { fromUs: number; toUs: number };
  logs: LogLine[];
}

const tsUs = (l: LogLine) => Date.parse(l.ts) * 1000;

/** `skipOkxTradeIds`: the OKX trades of the first symbol also skip that many ids (a measured loss). */
export async function gapRun(dataDir: string, symbols = ["BTCUSDT", "ETHUSDT"], opts: { skipOkxTradeIds?: number } = {}): Promise<GapRun> {
  const sim = startSimulator({ rate: 600, symbols });
  const col = spawnCollector([], baseEnv({ BINANCE_WS_URL: sim.url, BYBIT_WS_URL: sim.url, OKX_WS_URL: sim.url, DATA_DIR: dataDir, SYMBOLS: symbols.join(","), FLUSH_INTERVAL: "1", MIN_FLUSH_GAP_SECONDS: "0", WS_BACKOFF_MAX_SECONDS: "1" }));
  try {
    await col.waitForLog("status_api_start");
    const connects = () => col.logs.filter((l) => l.event === "ws_connect" && String(l.exchange) === "binance").length;
    await waitFor("both Binance sockets up", () => connects() >= 2, 15_000);
    // Some data first, so the gap lies inside the day's rows.
    await waitFor("Binance trades flowing", () => Object.entries(sim.stats().rows).some(([k, n]) => k.startsWith("binance|trade|") && n > 200), 15_000);
    if (opts.skipOkxTradeIds) sim.skipTradeIds("okx", symbols[0]!, opts.skipOkxTradeIds);
    const before = connects();
    sim.rejectHandshakes("binance", 503, 0);
    await sim.killConnections("binance");
    const killedAt = Date.now();
    const disc = await col.waitForLog("ws_disconnect", (l) => String(l.exchange) === "binance");
    await waitFor("two refused reconnects and 2 s of outage", () => col.logs.filter((l) => l.event === "ws_reconnect_scheduled" && String(l.exchange) === "binance").length >= 4 && Date.now() - killedAt >= 2000, 20_000);
    const binanceTrades = () => Object.entries(sim.stats().rows).reduce((a, [k, n]) => (k.startsWith("binance|trade|") ? a + n : a), 0);
    const atHeal = binanceTrades();
    sim.heal("binance");
    await waitFor("Binance reconnected", () => connects() >= before + 2, 20_000);
    const back = col.logs.filter((l) => l.event === "ws_connect" && String(l.exchange) === "binance")[before]!;
    await waitFor("Binance trades flowing again", () => binanceTrades() > atHeal + 100, 15_000);
    await Bun.sleep(1500); // data after the gap (a minimum, not a deadline)
    sim.pause();
    const rows = sim.stats().rows;
    const total = Object.values(rows).reduce((a, b) => a + b, 0);
    await waitFor("collector to receive every row", async () => (await col.get("/metrics")).total_events === total, 15_000);
    const code = await col.stop("SIGTERM");
    if (code !== 0) throw new Error(`collector exited ${code}: ${col.stderr()}`);
    return { dataDir, rows, outage: { fromUs: tsUs(disc), toUs: tsUs(back) }, logs: col.logs };
  } finally {
    if (col.proc.exitCode === null) await col.stop("SIGKILL");
    await sim.stop();
  }
}
