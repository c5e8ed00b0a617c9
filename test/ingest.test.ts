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
import type { Connection } from "../src/ws/connection.ts";

function setup(queueCapacity = 100) {
  const lines: Array<Record<string, unknown>> = [];
  const recorded: ConnectionRow[] = [];
  const metrics = new Metrics(["binance"], 900_000);
  const queue = new BoundedQueue<RecordRow>(queueCapacity);
  let changes = 0;
  const conn = {
    connId: "binance-public-abcd-1",
    adapter: adapters.binance,
    plan: { route: "public", url: "ws://127.0.0.1:1/public/stream?streams=btcusdt@bookTicker/btcusdt@trade", subscribeMessages: [], streams: ["bbo", "trade"], symbols: ["BTCUSDT"] },
  } as unknown as Connection;
  const hooks = createIngestHooks({
    metrics,
    queue,
    record: (row) => recorded.push(row as ConnectionRow),
    log: createLogger("debug", (l) => lines.push(JSON.parse(l))),
    silence: new SilenceTracker(),
    firstData: new FirstDataTracker(),
    tradeGaps: new TradeIdGapTracker(),
    contiguousIds: new Set(["binance"] as const),
    subscriptionDeadlineMs: 10_000,
    openSlots: () => 1,
    findConnection: (id) => (id === conn.connId ? conn : undefined),
    onConnectivityChange: () => changes++,
    subscribed: subscribedSymbols(["binance", "okx"], ["BTCUSDT", "ETHUSDT"], (ex, s) => adapters[ex].venueSymbol(s)),
  });
  return { lines, recorded, metrics, queue, conn, hooks, changes: () => changes };
}

const common = { exchange: "binance", symbol: "BTCUSDT", exchange_symbol: "BTCUSDT", ts_event_ms: 1, ts_recv_us: 1_000, conn_id: "binance-public-abcd-1", recv_seq: 1 } as const;
const trade = (id: string): TradeRow => ({ ...common, stream: "trade", trade_id: id, price: 1, qty: 1, side: "buy", ts_trade_ms: 1 });
const bbo: Row = { ...common, stream: "bbo", bid_px: 1, bid_qty: 1, ask_px: 2, ask_qty: 1, update_id: 1, ts_tx_ms: 1 };

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

  test("connect, first data on every subscription, watchdog disconnect and rotation become connection rows", () => {
    const { hooks, metrics, recorded, conn, changes } = setup();
    hooks.onOpen(conn);
    expect(metrics.connections.binance!.open).toBe(1);
    hooks.onRow(bbo);
    expect(recorded.map((r) => r.event)).toEqual(["connect"]);
    hooks.onRow(trade("1"));
    hooks.onRow(trade("2"));
    hooks.onRotate(conn, "max age");
    hooks.onClose(conn, 1006, "watchdog: no frame for 10000 ms");
    expect(recorded.map((r) => [r.event, r.reason, r.close_code])).toEqual([
      ["connect", null, null],
      ["subscribed", "first data on every subscription", null],
      ["rotate", "max age", null],
      ["disconnect", "watchdog: no frame for 10000 ms", 1006],
    ]);
    for (const r of recorded) expect(r).toMatchObject({ stream: "connection", exchange: "binance", conn_id: conn.connId, url: conn.plan.url, streams: "bbo:BTCUSDT,trade:BTCUSDT" });
    expect(metrics.watchdogTotal.binance).toBe(1);
    expect(metrics.rotationsTotal.binance).toBe(1);
    expect(changes()).toBe(2);
  });

  test("rejected subscriptions: counted, and the latest 50 kept with the venue's words for /metrics", () => {
    const { hooks, metrics, conn, lines } = setup();
    for (let i = 1; i <= 60; i++) hooks.onSubscribeError(conn, `-1121: Invalid symbol ${i}`, [`s${i}usdt@trade`]);
    expect(metrics.subscribeErrorsTotal).toBe(60);
    expect(metrics.rejectedSubscriptions).toHaveLength(50);
    expect(metrics.rejectedSubscriptions[0]).toMatchObject({ exchange: "binance", conn_id: conn.connId, topics: ["s11usdt@trade"], error: "-1121: Invalid symbol 11" });
    expect(metrics.rejectedSubscriptions.at(-1)!.topics).toEqual(["s60usdt@trade"]);
    expect(lines.filter((l) => l.event === "subscribe_error")).toHaveLength(60);
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
    expect(logged.map((l) => [l.exchange, l.reason])).toEqual([["binance", "unknown_symbol"], ["okx", "unknown_symbol"]]);
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
