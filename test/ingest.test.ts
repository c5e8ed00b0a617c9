/**
 * Scope: src/ingest.ts — what each row and connection event does on the socket thread: a full
 * queue is a counted drop (logged at most every 5 s), skips are counted each time and logged once
 * per kind, trade-id gaps are measured, and connection events become `connection` rows.
 */
import { describe, expect, test } from "bun:test";
import { adapters } from "../src/exchanges/index.ts";
import { createIngestHooks, subscribedSymbols } from "../src/ingest.ts";
import { createLogger } from "../src/log.ts";
import { BoundedQueue } from "../src/pipeline/queue.ts";
import type { ConnectionRow, RecordRow, Row, TradeRow } from "../src/schema/rows.ts";
import { FirstDataTracker } from "../src/state/first-data.ts";
import { Metrics } from "../src/state/metrics.ts";
import { SilenceTracker } from "../src/state/silence.ts";
import { TradeIdGapTracker } from "../src/state/trade-gaps.ts";
import { buildSnapshot } from "../src/state/snapshot.ts";
import type { Connection } from "../src/ws/connection.ts";

function setup(queueCapacity = 100, o: { streams?: string[]; symbols?: string[] } = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const recorded: ConnectionRow[] = [];
  const metrics = new Metrics(["binance"], 900_000);
  const queue = new BoundedQueue<RecordRow>(queueCapacity);
  let changes = 0;
  let lives = 0;
  const conn = {
    markLive: () => lives++,
    connId: "binance-public-abcd-1",
    adapter: adapters.binance,
    plan: {
      route: "public",
      url: "ws://127.0.0.1:1/public/stream?streams=btcusdt@bookTicker/btcusdt@trade",
      subscribeMessages: [],
      streams: o.streams ?? ["bbo", "trade"],
      symbols: ["BTCUSDT"],
    },
  } as unknown as Connection;
  const firstData = new FirstDataTracker();
  const hooks = createIngestHooks({
    metrics,
    queue,
    record: (row) => recorded.push(row as ConnectionRow),
    log: createLogger("debug", (l) => lines.push(JSON.parse(l))),
    silence: new SilenceTracker(),
    firstData,
    tradeGaps: new TradeIdGapTracker(),
    contiguousIds: new Set(["binance"] as const),
    subscriptionDeadlineMs: 10_000,
    findConnection: (id) => (id === conn.connId ? conn : undefined),
    onConnectivityChange: () => changes++,
    subscribed: subscribedSymbols(["binance", "okx"], o.symbols ?? ["BTCUSDT", "ETHUSDT"], (ex, s) => adapters[ex].venueSymbol(s)),
  });
  return { lines, recorded, metrics, queue, conn, hooks, firstData, changes: () => changes, lives: () => lives };
}

const common = {
  exchange: "binance",
  symbol: "BTCUSDT",
  exchange_symbol: "BTCUSDT",
  ts_event_ms: 1,
  ts_recv_us: 1_000,
  conn_id: "binance-public-abcd-1",
  recv_seq: 1,
} as const;
const trade = (id: string): TradeRow => ({ ...common, stream: "trade", trade_id: id, price: 1, qty: 1, side: "buy", ts_trade_ms: 1 });
const bbo: Row = { ...common, stream: "bbo", bid_px: 1, bid_qty: 1, ask_px: 2, ask_qty: 1, update_id: 1, ts_tx_ms: 1 };
const liquidation = (symbol: string): Row => ({
  ...common,
  symbol,
  exchange_symbol: symbol,
  stream: "liquidation",
  side: "sell",
  price: 1,
  avg_price: null,
  qty: 2,
  orig_qty: null,
  status: null,
  ts_trade_ms: 1,
  last_qty: null,
  pos_side: "long",
  bankruptcy_loss: null,
});

describe("ingest hooks", () => {
  test("a full queue drops and counts every row beyond capacity, logging once per 5 s", () => {
    const { hooks, metrics, queue, lines } = setup(2);
    for (let i = 1; i <= 5; i++) hooks.onRow(trade(String(i)));
    expect(queue.size).toBe(2);
    expect(metrics.droppedTotal).toBe(3);
    expect(metrics.totalEvents).toBe(5);
    const drops = lines.filter((l) => l.event === "queue_drop");
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatchObject({ level: "warn", dropped: 1, dropped_total: 1 });
  });

  test("skips are counted every time and logged once per exchange and reason", () => {
    const { hooks, metrics, lines, conn } = setup();
    hooks.onSkip(conn, "malformed_json", "{oops");
    hooks.onSkip(conn, "malformed_json", "{again");
    hooks.onSkip(conn, "unknown_event", "{}");
    expect(metrics.parseErrorsTotal).toBe(3);
    expect(metrics.parseErrorsByReason).toEqual({ malformed_json: 2, unknown_event: 1 });
    expect(lines.filter((l) => l.event === "parse_error").map((l) => [l.reason, l.sample])).toEqual([
      ["malformed_json", "{oops"],
      ["unknown_event", "{}"],
    ]);
  });

  test("a jump in contiguous trade ids is counted as the number of ids missing", () => {
    const { hooks, metrics, lines } = setup();
    for (const id of ["100", "101", "104", "105", "110"]) hooks.onRow(trade(id));
    expect(metrics.tradeIdGapsTotal).toBe(2 + 4);
    expect(metrics.tradeIdGapsByExchange).toMatchObject({ binance: 6 });
    expect(lines.filter((l) => l.event === "trade_id_gap").map((l) => [l.after_id, l.next_id, l.missing])).toEqual([
      [101, 104, 2],
      [105, 110, 4],
    ]);
  });

  test("an outlier trade id (2^53-1) is one counted trade_id_jump, not 9e15 missing trades; later ids are tracked again", () => {
    const { hooks, metrics, lines } = setup();
    for (const id of ["100", "101", "9007199254740991", "102", "103", "106"]) hooks.onRow(trade(id));
    expect(metrics.tradeIdJumpsTotal).toBe(2); // out to the outlier, back to the real sequence
    expect(metrics.tradeIdJumpsByExchange).toMatchObject({ binance: 2 });
    expect(metrics.tradeIdGapsTotal).toBe(2); // 104 and 105, after re-anchoring on 102
    const jumps = lines.filter((l) => l.event === "trade_id_jump");
    expect(jumps.map((l) => [l.level, l.after_id, l.next_id])).toEqual([
      ["warn", 101, 9007199254740991],
      ["warn", 9007199254740991, 102],
    ]);
    const snap = buildSnapshot({
      metrics,
      queueSize: 0,
      queueCapacity: 100,
      state: "READY",
      stateSinceMs: 0,
      stateReasons: [],
      symbols: ["BTCUSDT"],
      streams: {},
      nowMs: Date.now(),
      rssBytes: 0,
      lag: { p50: 0, p99: 0, max: 0, samples: 0 },
      silentSubscriptions: [],
      connections: {},
    });
    expect(snap.metrics.effective_data_loss_rate_pct).toBe(25); // 2 missing of 6 received + 2 missing, not 100
    expect(snap.metrics.trade_id_jumps_total).toBe(2);
  });

  test("connect, first data on every subscription, watchdog disconnect and rotation become connection rows", () => {
    const { hooks, metrics, recorded, conn, changes, lives } = setup();
    hooks.onOpen(conn);
    hooks.onRow(bbo);
    expect(recorded.map((r) => r.event)).toEqual(["connect"]);
    expect(lives()).toBe(0);
    hooks.onRow(trade("1"));
    // The first-data tracker tells the socket once: a make-before-break replacement may finish.
    expect(lives()).toBe(1);
    hooks.onRow(trade("2"));
    expect(lives()).toBe(1);
    hooks.onRotate(conn, "max age");
    hooks.onClose(conn, 1006, "watchdog: no frame for 10000 ms");
    expect(recorded.map((r) => [r.event, r.reason, r.close_code])).toEqual([
      ["connect", null, null],
      ["subscribed", "first data on every subscription", null],
      ["rotate", "max age", null],
      ["disconnect", "watchdog: no frame for 10000 ms", 1006],
    ]);
    for (const r of recorded)
      expect(r).toMatchObject({ stream: "connection", exchange: "binance", conn_id: conn.connId, url: conn.plan.url, streams: "bbo:BTCUSDT,trade:BTCUSDT" });
    expect(metrics.watchdogTotal.binance).toBe(1);
    expect(metrics.rotationsTotal.binance).toBe(1);
    expect(changes()).toBe(2);
  });

  test("rejected subscriptions: counted, and the latest 50 kept with the venue's words for /metrics", () => {
    const { hooks, metrics, conn, lines } = setup();
    for (let i = 1; i <= 60; i++) hooks.onSubscribeError(conn, `-1121: Invalid symbol ${i}`, [`s${i}usdt@trade`]);
    expect(metrics.subscribeErrorsTotal).toBe(60);
    expect(metrics.rejectedSubscriptions).toHaveLength(50);
    expect(metrics.rejectedSubscriptions[0]).toMatchObject({
      exchange: "binance",
      conn_id: conn.connId,
      topics: ["s11usdt@trade"],
      error: "-1121: Invalid symbol 11",
    });
    expect(metrics.rejectedSubscriptions.at(-1)!.topics).toEqual(["s60usdt@trade"]);
    expect(lines.filter((l) => l.event === "subscribe_error")).toHaveLength(60);
  });

  test("rows of unconfigured symbols are not recorded but counted as filtered (not events, not errors)", () => {
    const { hooks, metrics, queue, conn } = setup(100, { symbols: ["BTCUSDT"] });
    hooks.onRow(liquidation("BTCUSDT"));
    hooks.onRow(liquidation("CELOUSDT"));
    hooks.onRow(liquidation("CNPYUSDT"));
    hooks.onFiltered!(conn, "liquidation", 4); // items the parser itself set aside (coin-margined swaps)
    expect(queue.size).toBe(1);
    expect(metrics.totalEvents).toBe(1);
    expect(metrics.eventsByExchange.binance).toEqual({ liquidation: 1 });
    expect(metrics.filteredByExchange).toEqual({ binance: { liquidation: 6 } });
    expect(metrics.parseErrorsTotal).toBe(0);
  });

  test("liquidations have no first-data deadline: the connection is 'subscribed' without one, none is ever reported silent", () => {
    const { hooks, recorded, conn, firstData } = setup(100, { streams: ["bbo", "liquidation"] });
    hooks.onOpen(conn);
    expect(firstData.check(Date.now() + 86_400_000).map((s) => s.stream)).toEqual(["bbo"]);
    hooks.onRow(bbo);
    expect(recorded.map((r) => r.event)).toEqual(["connect", "subscribed"]);
    expect(firstData.check(Date.now() + 2 * 86_400_000)).toEqual([]);
    // …and one that does come is recorded like any row, with no first-data bookkeeping left over.
    hooks.onRow(liquidation("BTCUSDT"));
    expect(firstData.silent()).toEqual([]);
    // Nor a silence interval: hours without a liquidation are a quiet market, not a stale feed.
    const silence = new SilenceTracker();
    silence.watch("binance", "liquidation", "BTCUSDT", 60_000, 0);
    silence.watch("binance", "funding", "BTCUSDT", 60_000, 0);
    // Both delivered once (a stream's silence clock starts at its first event).
    silence.onEvent("binance", "liquidation", "BTCUSDT", 0);
    silence.onEvent("binance", "funding", "BTCUSDT", 0);
    expect(silence.check(86_400_000).map((e) => e.stream)).toEqual(["funding"]);
  });

  test("symbols are validated, never trusted: traversal, slash, 300 chars, NUL, unicode, unsubscribed, mismatched mapping → counted unknown_symbol, never queued", () => {
    const { hooks, metrics, queue, lines } = setup();
    const bad = ["../../../../tmp/x", "BTC/USDT", "B".repeat(300), "BTC\u0000USDT", "BTCUSDT\u200b", "ÉTHUSDT", "SOLUSDT", "", ".."];
    for (const sym of bad) hooks.onRow({ ...trade("1"), symbol: sym, exchange_symbol: sym });
    // A subscribed venue symbol whose unified form does not match the adapter's mapping.
    hooks.onRow({ ...trade("1"), symbol: "ETHUSDT", exchange_symbol: "BTCUSDT" });
    // OKX: the venue symbol is the instId; the plain unified name is not an OKX symbol.
    hooks.onRow({ ...trade("1"), exchange: "okx", symbol: "BTCUSDT", exchange_symbol: "BTCUSDT" });
    expect(queue.size).toBe(0);
    expect(metrics.totalEvents).toBe(0);
    expect(metrics.parseErrorsTotal).toBe(bad.length + 2);
    expect(metrics.parseErrorsByReason).toEqual({ unknown_symbol: bad.length + 2 });
    const logged = lines.filter((l) => l.event === "parse_error");
    expect(logged.map((l) => [l.exchange, l.reason])).toEqual([
      ["binance", "unknown_symbol"],
      ["okx", "unknown_symbol"],
    ]);
    for (const l of logged) expect(String(l.sample).length).toBeLessThanOrEqual(200);

    // The subscribed ones pass, and carry the collector's own strings from here on.
    const okx = { ...trade("7"), exchange: "okx" as const, symbol: "ETHUSDT", exchange_symbol: "ETH-USDT-SWAP" };
    hooks.onRow(okx);
    hooks.onRow(trade("2"));
    expect(queue.size).toBe(2);
    expect(metrics.totalEvents).toBe(2);
  });

  test("skip reasons have bounded cardinality: venue text is cut from the label and kept in the log line", () => {
    const { hooks, metrics, lines, conn } = setup();
    for (let i = 0; i < 500; i++) hooks.onSkip(conn, `unknown_event:ev${i}`, "{}");
    hooks.onSkip(conn, "unknown_topic:../../x", "{}");
    hooks.onSkip(conn, "trade:bad_number:p", "{}");
    hooks.onSkip(conn, "weird\u0000reason with spaces", "{}");
    for (let i = 0; i < 300; i++) hooks.onSkip(conn, `chan${i}:missing:x`, "{}");
    const labels = Object.keys(metrics.parseErrorsByReason);
    expect(labels.length).toBeLessThanOrEqual(101);
    expect(metrics.parseErrorsByReason).toMatchObject({ unknown_event: 500, unknown_topic: 1, "trade:bad_number:p": 1 });
    expect(metrics.parseErrorsByReason.other).toBeGreaterThan(0);
    expect(metrics.parseErrorsTotal).toBe(500 + 1 + 1 + 1 + 300);
    expect(lines.find((l) => l.event === "parse_error" && l.reason === "unknown_event")).toMatchObject({ venue_reason: "unknown_event:ev0" });
  });
});
