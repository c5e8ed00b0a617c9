/**
 * Scope: the `book` stream end to end — all three venues, the 10 default symbols, `--streams book,bbo`
 * against the simulator's evolving books. The book rebuilt from the files alone (book-check and its
 * library) equals the simulator's true book at two checkpoints for every (venue, symbol), across
 * injected skipped updates (Binance REST resync, Bybit/OKX resubscribe), venue resets (Bybit u=1
 * snapshot, OKX seqId < prevSeqId), REST 429s and a slow REST answer. Every break is counted,
 * logged and written to the connection stream, so book-check explains it and exits 0. Checkpoints
 * wait for events (every book anchored, every sent row received), never for a fixed time.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { loadBookFiles } from "../../src/books/files.ts";
import { rebuildBooks } from "../../src/books/rebuild.ts";
import { DEFAULT_SYMBOLS } from "../../src/config.ts";
import { adapters } from "../../src/exchanges/index.ts";
import { EXCHANGES, type ExchangeId } from "../../src/schema/rows.ts";
import { simulator, type DisposableSimulator } from "../helpers/sim.ts";
import { suite } from "../helpers/suite.ts";
import { baseEnv, ENTRY, spawnCollector, type CollectorProcess, type LogLine, simVenues } from "../helpers/collector.ts";
import type { MetricsBody } from "../../src/state/snapshot.ts";
import { query, sqlString } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const res = suite();
const dir = res.use(tmpDir());
let sim: DisposableSimulator;
beforeAll(() => {
  sim = res.use(simulator({ rate: 600 }));
});

type Levels = { bids: [number, number][]; asks: [number, number][] };
const RULES = Object.fromEntries(EXCHANGES.map((ex) => [ex, { rule: adapters[ex].bookContinuity!, restAnchored: adapters[ex].restBook !== undefined }]));

function trueBooks(): Map<string, Levels> {
  const out = new Map<string, Levels>();
  for (const ex of EXCHANGES) {
    for (const sym of DEFAULT_SYMBOLS) {
      const b = sim.book(ex, sym);
      if (!b) throw new Error(`simulator has no ${ex} ${sym} book`);
      out.set(`${ex}|${sym}`, { bids: b.bids.map(([p, q]) => [Number(p), Number(q)]), asks: b.asks.map(([p, q]) => [Number(p), Number(q)]) });
    }
  }
  return out;
}

const allSynced = (m: MetricsBody) => EXCHANGES.every((ex) => m.books_unsynced[ex] === 0);

/**
 * Every book anchored and every sent row received (the collector counts REST anchors as rows too),
 * with the venues paused: then the venues' true books are what the files must rebuild.
 */
async function checkpoint(col: CollectorProcess): Promise<{ atUs: number; books: Map<string, Levels> }> {
  for (;;) {
    await waitFor("every book anchored", async () => allSynced(await col.get("/metrics")), 60_000);
    sim.pause();
    const sent = () => Object.values(sim.stats().rows).reduce((a, n) => a + n, 0);
    await waitFor(
      "every sent row received",
      async () => {
        const m = await col.get("/metrics");
        return m.total_events === sent() + m.book_rest.snapshots;
      },
      60_000,
    );
    // A row received last may have broken a chain: then resume until the resync lands.
    if (allSynced(await col.get("/metrics"))) return { atUs: Date.now() * 1000, books: trueBooks() };
    sim.resume();
  }
}

const count = (logs: LogLine[], event: string, pred: (l: LogLine) => boolean = () => true) => logs.filter((l) => l.event === event && pred(l)).length;

describe("book stream, all venues", () => {
  test("rebuilt books equal the venues' true books at checkpoints, across gaps, resyncs, resets, 429 and slow REST", async () => {
    await using col = spawnCollector(
      ["--streams", "book,bbo"],
      baseEnv({
        ...simVenues(sim.url),
        BINANCE_REST_URL: sim.url.replace("ws://", "http://"),
        DATA_DIR: dir.path,
        FLUSH_INTERVAL: "1",
        MIN_FLUSH_GAP_SECONDS: "0",
      }),
    );
    let code: number | null = null;
    await col.waitForLog("status_api_start");
    expect((await col.get("/streams")).streams).toEqual({ binance: ["bbo", "book"], bybit: ["bbo", "book"], okx: ["bbo", "book"] });
    // Every Binance symbol anchored by one REST snapshot; every Bybit/OKX book started by its WS snapshot.
    await waitFor(
      "a REST anchor for every Binance symbol",
      () => new Set(col.logs.filter((l) => l.event === "book_rest_snapshot").map((l) => l.symbol)).size === DEFAULT_SYMBOLS.length,
      60_000,
    );
    await waitFor(
      "several book messages sent for every venue and symbol",
      () => {
        const rows = sim.stats().rows;
        return EXCHANGES.every((ex) => DEFAULT_SYMBOLS.every((sym) => (rows[`${ex}|book|${sym}`] ?? 0) >= 3));
      },
      60_000,
    );
    const cp1 = await checkpoint(col);
    sim.resume();

    // Faults: skipped updates on each venue, venue resets, REST 429 and a slow REST answer.
    sim.restFault({ status429: 2, retryAfterSeconds: 1 });
    expect(sim.bookFault("binance", "ETHUSDT", "skip", 1)).toBe(true);
    expect(sim.bookFault("bybit", "ETHUSDT", "skip", 2)).toBe(true);
    expect(sim.bookFault("okx", "SOLUSDT", "skip", 1)).toBe(true);
    expect(sim.bookFault("bybit", "XRPUSDT", "reset", 1)).toBe(true);
    expect(sim.bookFault("okx", "DOGEUSDT", "reset", 1)).toBe(true);
    await waitFor(
      "the 429s answered and a REST resync of Binance ETHUSDT",
      () =>
        count(col.logs, "book_rest_rate_limited") >= 1 &&
        count(col.logs, "book_rest_snapshot", (l) => l.symbol === "ETHUSDT" && String(l.reason).startsWith("gap")) >= 1,
      60_000,
    );
    sim.restFault({ slowMs: 400 });
    expect(sim.bookFault("binance", "BTCUSDT", "skip", 3)).toBe(true);
    await waitFor(
      "gaps on every venue, each resynced; the Bybit venue reset",
      () => {
        const gaps = (ex: ExchangeId, sym: string) => count(col.logs, "book_gap", (l) => l.exchange === ex && l.symbol === sym);
        return (
          gaps("binance", "ETHUSDT") >= 1 &&
          gaps("binance", "BTCUSDT") >= 1 &&
          gaps("bybit", "ETHUSDT") >= 1 &&
          gaps("okx", "SOLUSDT") >= 1 &&
          count(col.logs, "book_rest_snapshot", (l) => l.symbol === "BTCUSDT" && String(l.reason).startsWith("gap")) >= 1 &&
          count(col.logs, "book_resync", (l) => l.method === "resubscribe") >= 2 &&
          count(col.logs, "book_resync", (l) => l.method === "venue_reset" && l.symbol === "XRPUSDT") >= 1
        );
      },
      60_000,
    );
    const cp2 = await checkpoint(col);
    const metrics = await col.get("/metrics");
    expect(metrics.book_gaps_total.binance).toBeGreaterThanOrEqual(2);
    expect(metrics.book_gaps_total.bybit).toBeGreaterThanOrEqual(1);
    expect(metrics.book_gaps_total.okx).toBeGreaterThanOrEqual(1);
    expect(metrics.books_unsynced).toEqual({ binance: 0, bybit: 0, okx: 0 });
    expect(metrics.book_rest.rate_limited).toBeGreaterThanOrEqual(1);
    expect(metrics.book_rest.snapshots).toBeGreaterThanOrEqual(DEFAULT_SYMBOLS.length + 2);
    expect(metrics.snapshot_fetches_total).toBe(metrics.book_rest.snapshots);
    const prom = await col.get("/metrics/prometheus");
    expect(prom).toContain('quantlab_collector_book_gaps_total{exchange="okx"}');
    expect(prom).toContain('quantlab_collector_books_unsynced{exchange="binance"} 0');
    // Resets are not breaks: Bybit's u=1 snapshot starts a segment, OKX's seqId < prevSeqId chains on.
    expect(count(col.logs, "book_resync", (l) => l.method === "venue_reset" && l.symbol === "XRPUSDT")).toBe(1);
    expect(count(col.logs, "book_gap", (l) => l.symbol === "XRPUSDT" || l.symbol === "DOGEUSDT")).toBe(0);
    code = await col.stop();
    expect(code).toBe(0);

    // book-check, the product's own CLI: exit 0, every break explained; final books = true books now.
    const proc = Bun.spawnSync([process.execPath, ENTRY, "book-check", dir.path, "--json"], { stdout: "pipe", stderr: "pipe" });
    expect(proc.stderr.toString()).toBe("");
    expect(proc.exitCode).toBe(0);
    const report = JSON.parse(proc.stdout.toString()) as {
      symbols: Array<{
        exchange: string;
        symbol: string;
        breaks: number;
        unexplained_breaks: number;
        crossed: number;
        venue_resets: number;
        final: Levels | null;
      }>;
    };
    expect(report.symbols).toHaveLength(EXCHANGES.length * DEFAULT_SYMBOLS.length);
    for (const r of report.symbols) {
      expect({ key: `${r.exchange}|${r.symbol}`, unexplained: r.unexplained_breaks, crossed: r.crossed, final: r.final }).toEqual({
        key: `${r.exchange}|${r.symbol}`,
        unexplained: 0,
        crossed: 0,
        final: cp2.books.get(`${r.exchange}|${r.symbol}`)!,
      });
    }
    expect(
      report.symbols
        .filter((r) => r.breaks > 0)
        .map((r) => `${r.exchange}|${r.symbol}`)
        .sort(),
    ).toEqual(["binance|BTCUSDT", "binance|ETHUSDT", "bybit|ETHUSDT", "okx|SOLUSDT"]);
    expect(report.symbols.find((r) => r.exchange === "bybit" && r.symbol === "XRPUSDT")!.venue_resets).toBe(1);

    // The first checkpoint, from the same files: only rows received before it.
    const loaded = await loadBookFiles(dir.path);
    const early = rebuildBooks(
      loaded.rows.filter((r) => r.ts_recv_us <= cp1.atUs),
      loaded.gaps,
      RULES,
    );
    expect(early).toHaveLength(30);
    for (const r of early)
      expect({ key: `${r.exchange}|${r.symbol}`, final: r.final }).toEqual({
        key: `${r.exchange}|${r.symbol}`,
        final: cp1.books.get(`${r.exchange}|${r.symbol}`)!,
      });

    // Each break is its own event in the connection stream; REST rows are labelled.
    const events = await query(
      `select exchange, streams, count(*) n from read_parquet(${sqlString(`${dir.path}/**/*.parquet`)}, union_by_name = true) where event = 'book_gap' group by all order by all`,
    );
    expect(events.map((e) => `${e.exchange}|${e.streams}`)).toEqual(
      expect.arrayContaining(["binance|book:BTCUSDT", "binance|book:ETHUSDT", "bybit|book:ETHUSDT", "okx|book:SOLUSDT"]),
    );
    const rest = await query(
      `select source, count(*) n, bool_and(is_snapshot) snap from read_parquet(${sqlString(`${dir.path}/**/*.parquet`)}, union_by_name = true) where source is not null group by source order by source`,
    );
    expect(rest.map((r) => [r.source, r.snap])).toEqual([
      ["rest", true],
      ["ws", false],
    ]);
    expect(rest[0]!.n).toBe(metrics.book_rest.snapshots);
  }, 240_000);
});
