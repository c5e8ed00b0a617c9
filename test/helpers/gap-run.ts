/**
 * Test helpers: a short run of the real collector against the simulator (all three venues, two
 * symbols) with one injected outage: Binance's sockets are dropped (1006) and its handshakes
 * refused (503) until at least two reconnect attempts failed and ≥ 2 s passed, then healed. The
 * Binance data therefore has a gap that a `disconnect` row in its `connection` stream explains.
 */
import { simulator } from "./sim.ts";
import { baseEnv, simVenues, spawnCollector, type LogLine } from "./collector.ts";
import { waitFor } from "./wait.ts";

export interface GapRun {
  dataDir: string;
  /** Rows the simulator sent, per `exchange|stream|symbol`. */
  rows: Record<string, number>;
  /** ts (µs) of the Binance disconnect the collector logged and of the first reconnect after it. */
  outage: { fromUs: number; toUs: number };
  logs: LogLine[];
  /** With `books`: Binance REST anchoring snapshots recorded per symbol (book rows on top of `rows`). */
  restSnapshots: Record<string, number>;
}

export interface GapRunOptions {
  /** The OKX trades of the first symbol also skip that many ids (a measured loss). */
  skipOkxTradeIds?: number;
  /** Also record the opt-in `book` stream (docs/books.md; Binance anchored by the simulator's REST depth). */
  books?: boolean;
  /** With `books`: one Bybit book update of the first symbol is never sent (a `book_gap`, then a resubscribe). */
  skipBybitBookUpdate?: boolean;
  /** Simulator liquidation pacing per subscription (default: the venues' own, about 1/s). */
  liquidationIntervalMs?: number;
}

const tsUs = (l: LogLine) => Date.parse(l.ts) * 1000;

export async function gapRun(dataDir: string, symbols = ["BTCUSDT", "ETHUSDT"], opts: GapRunOptions = {}): Promise<GapRun> {
  await using sim = simulator({
    rate: 600,
    symbols,
    ...(opts.liquidationIntervalMs !== undefined ? { liquidationIntervalMs: opts.liquidationIntervalMs } : {}),
  });
  const books: Record<string, string> = opts.books
    ? { STREAMS: "bbo,trade,mark_price,funding,open_interest,liquidation,book", BINANCE_REST_URL: sim.url.replace("ws://", "http://") }
    : {};
  await using col = spawnCollector(
    [],
    baseEnv({
      ...simVenues(sim.url),
      DATA_DIR: dataDir,
      SYMBOLS: symbols.join(","),
      FLUSH_INTERVAL: "1",
      MIN_FLUSH_GAP_SECONDS: "0",
      WS_BACKOFF_MAX_SECONDS: "1",
      ...books,
    }),
  );
  {
    await col.waitForLog("status_api_start");
    const connects = () => col.logs.filter((l) => l.event === "ws_connect" && String(l.exchange) === "binance").length;
    await waitFor("both Binance sockets up", () => connects() >= 2, 15_000);
    // Some data first, so the gap lies inside the day's rows.
    await waitFor("Binance trades flowing", () => Object.entries(sim.stats().rows).some(([k, n]) => k.startsWith("binance|trade|") && n > 200), 15_000);
    // Liquidations come at random from a pool of symbols: one of each (venue, symbol) now, so every
    // liquidation partition exists however short the run (an absent one failed a test once).
    for (const venue of ["binance", "bybit", "okx"] as const)
      for (const sym of symbols) await waitFor(`${venue} ${sym} liquidation delivered`, () => sim.injectLiquidation(venue, sym, "sell") > 0, 15_000);
    if (opts.skipOkxTradeIds) sim.skipTradeIds("okx", symbols[0]!, opts.skipOkxTradeIds);
    if (opts.books && opts.skipBybitBookUpdate) {
      await waitFor("Bybit book flowing", () => (sim.stats().rows[`bybit|book|${symbols[0]}`] ?? 0) > 3, 15_000);
      if (!sim.bookFault("bybit", symbols[0]!, "skip", 1)) throw new Error("simulator refused the Bybit book fault");
      await col.waitForLog("book_gap", (l) => String(l.exchange) === "bybit");
    }
    const before = connects();
    sim.rejectHandshakes("binance", 503, 0);
    await sim.killConnections("binance");
    const killedAt = Date.now();
    const disc = await col.waitForLog("ws_disconnect", (l) => String(l.exchange) === "binance");
    await waitFor(
      "two refused reconnects and 2 s of outage",
      () => col.logs.filter((l) => l.event === "ws_reconnect_scheduled" && String(l.exchange) === "binance").length >= 4 && Date.now() - killedAt >= 2000,
      20_000,
    );
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
    // Binance REST anchoring snapshots (book stream) are rows the simulator did not send over a socket.
    await waitFor(
      "collector to receive every row",
      async () => {
        const m = await col.get("/metrics");
        return m.total_events === total + (m.book_rest?.snapshots ?? 0);
      },
      15_000,
    );
    const code = await col.stop("SIGTERM");
    if (code !== 0) throw new Error(`collector exited ${code}: ${col.stderr()}`);
    const restSnapshots: Record<string, number> = {};
    for (const l of col.logs) if (l.event === "book_rest_snapshot") restSnapshots[String(l.symbol)] = (restSnapshots[String(l.symbol)] ?? 0) + 1;
    return { dataDir, rows, outage: { fromUs: tsUs(disc), toUs: tsUs(back) }, logs: col.logs, restSnapshots };
  }
}
