/**
 * Scope: venue adapters in isolation. Walks test/fixtures/<venue>/<case>.frames.jsonl (raw text
 * lines as received) against <case>.rows.json (one hand-reviewed expected ParseResult per line,
 * transport columns left out), then checks each venue's connection plan (URLs, subscribe batching).
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { adapters, configuredAdapters } from "../../src/exchanges/index.ts";
import type { ExchangeAdapter } from "../../src/exchanges/types.ts";
import { EXCHANGES, SPORADIC_STREAMS } from "../../src/schema/rows.ts";
import { DEFAULT_STREAMS as STREAMS } from "../../src/config.ts";

const FIXTURES = join(import.meta.dir, "..", "fixtures");

const cases = EXCHANGES.flatMap((venue) =>
  readdirSync(join(FIXTURES, venue))
    .filter((f) => f.endsWith(".frames.jsonl"))
    .map((f) => [venue, f.replace(".frames.jsonl", "")] as const),
);

describe("fixtures: frames → rows", () => {
  test("every venue has fixtures", () => {
    for (const v of EXCHANGES) expect(cases.some(([venue]) => venue === v)).toBe(true);
  });

  test.each(cases)("%s/%s", (venue, name) => {
    const text = readFileSync(join(FIXTURES, venue, `${name}.frames.jsonl`), "utf8");
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const expected = JSON.parse(readFileSync(join(FIXTURES, venue, `${name}.rows.json`), "utf8")) as unknown[];
    expect(lines.length).toBe(expected.length);
    lines.forEach((line, i) => {
      const recv = { connId: `${venue}-fixture-1`, recvSeq: i + 1, tsRecvUs: 1_800_000_000_000_000 + i };
      const got = adapters[venue].parse(line, recv);
      let actual: unknown = got;
      if (got.kind === "rows") {
        // The transport columns come from RecvMeta untouched; the rest is compared with the file.
        for (const r of got.rows) expect([r.conn_id, r.recv_seq, r.ts_recv_us]).toEqual([recv.connId, recv.recvSeq, recv.tsRecvUs]);
        actual = {
          kind: "rows",
          rows: got.rows.map(({ conn_id, recv_seq, ts_recv_us, ...rest }) => rest),
          ...(got.filtered ? { filtered: got.filtered } : {}),
        };
      }
      expect({ line: i + 1, result: actual }).toEqual({ line: i + 1, result: expected[i] });
    });
  });
});

describe("connection plans", () => {
  const symbols = ["BTCUSDT", "ETHUSDT", "FOOUSDT"];

  test("bybit: one linear socket, subscribe requests of at most 10 topics (whole symbols), req_id names symbols and topics", () => {
    const plans = adapters.bybit.connections("ws://h:1/", symbols, [...STREAMS]);
    expect(plans).toHaveLength(1);
    expect(plans[0]!.url).toBe("ws://h:1/v5/public/linear");
    const topics = (s: string) => [`orderbook.1.${s}`, `publicTrade.${s}`, `tickers.${s}`, `allLiquidation.${s}`];
    // 4 topics per symbol: 2 symbols (8 args) per request.
    expect(plans[0]!.subscribeMessages.map((m) => JSON.parse(m))).toEqual([
      { op: "subscribe", args: [...topics("BTCUSDT"), ...topics("ETHUSDT")], req_id: "BTCUSDT,ETHUSDT:ob1,pt,tk,al" },
      { op: "subscribe", args: topics("FOOUSDT"), req_id: "FOOUSDT:ob1,pt,tk,al" },
    ]);
    // Fewer topics per symbol, more symbols per request; never more than 10 args.
    const many = Array.from({ length: 23 }, (_, i) => `S${i}USDT`);
    const liq = adapters.bybit.connections("ws://h:1", many, ["liquidation"])[0]!.subscribeMessages.map((m) => JSON.parse(m).args as string[]);
    expect(liq.map((a) => a.length)).toEqual([10, 10, 3]);
    expect(liq.flat()).toEqual(many.map((s) => `allLiquidation.${s}`));
    // Liquidations have no cadence: the socket's data deadline still comes from orderbook.1 alone.
    expect(plans[0]).toMatchObject({ idleTimeoutMs: 15_000, sporadicStreams: ["liquidation"] });
    expect(adapters.bybit.connections("ws://h:1", symbols, ["liquidation"])[0]!.idleTimeoutMs).toBeUndefined(); // 20 s pings + pongs keep it alive
    // An error reply to a single-symbol request maps back to exactly that request's topics: final.
    const recv = { connId: "c", recvSeq: 1, tsRecvUs: 1 };
    const err = adapters.bybit.parse(
      JSON.stringify({ success: false, ret_msg: "error:handler not found,topic:orderbook.1.FOOUSDT", req_id: "FOOUSDT:ob1,pt,tk", op: "subscribe" }),
      recv,
    );
    expect(err).toEqual({
      kind: "subscribe_error",
      detail: "error:handler not found,topic:orderbook.1.FOOUSDT",
      topics: ["orderbook.1.FOOUSDT", "publicTrade.FOOUSDT", "tickers.FOOUSDT"],
    });
    // A refused request of several symbols: its topics, and one request per symbol to send instead.
    const batch = adapters.bybit.parse(
      JSON.stringify({ success: false, ret_msg: "error:handler not found,topic:orderbook.1.FOOUSDT", req_id: "BTCUSDT,FOOUSDT:ob1,pt", op: "subscribe" }),
      recv,
    );
    expect(batch).toEqual({
      kind: "subscribe_error",
      detail: "error:handler not found,topic:orderbook.1.FOOUSDT",
      topics: ["orderbook.1.BTCUSDT", "publicTrade.BTCUSDT", "orderbook.1.FOOUSDT", "publicTrade.FOOUSDT"],
      retry: [
        { symbol: "BTCUSDT", message: JSON.stringify({ op: "subscribe", args: ["orderbook.1.BTCUSDT", "publicTrade.BTCUSDT"], req_id: "BTCUSDT:ob1,pt" }) },
        { symbol: "FOOUSDT", message: JSON.stringify({ op: "subscribe", args: ["orderbook.1.FOOUSDT", "publicTrade.FOOUSDT"], req_id: "FOOUSDT:ob1,pt" }) },
      ],
    });
  });

  test("okx: public + business sockets, args batched into one request each, trades-all only on business", () => {
    const plans = adapters.okx.connections("ws://h:1", symbols, [...STREAMS]);
    expect(plans.map((p) => [p.route, p.url, p.subscribeMessages.length])).toEqual([
      ["public", "ws://h:1/ws/v5/public", 1],
      ["business", "ws://h:1/ws/v5/business", 1],
    ]);
    const pub = JSON.parse(plans[0]!.subscribeMessages[0]!);
    expect(pub.op).toBe("subscribe");
    expect(pub.args).toHaveLength(13);
    expect(pub.args.slice(0, 4)).toEqual(["bbo-tbt", "mark-price", "funding-rate", "open-interest"].map((channel) => ({ channel, instId: "BTC-USDT-SWAP" })));
    // One liquidation-orders arg for every swap (by instType), on /public, not one per symbol.
    expect(pub.args.at(-1)).toEqual({ channel: "liquidation-orders", instType: "SWAP" });
    expect(plans[0]).toMatchObject({ streams: ["bbo", "mark_price", "funding", "open_interest", "liquidation"], sporadicStreams: ["liquidation"] });
    expect(plans[1]!.sporadicStreams).toBeUndefined();
    const liqOnly = adapters.okx.connections("ws://h:1", symbols, ["liquidation"]);
    expect(liqOnly.map((p) => [p.url, p.symbols, p.subscribeMessages.map((m) => JSON.parse(m).args)])).toEqual([
      ["ws://h:1/ws/v5/public", symbols, [[{ channel: "liquidation-orders", instType: "SWAP" }]]],
    ]);
    expect(JSON.parse(plans[1]!.subscribeMessages[0]!).args).toEqual(["BTC", "ETH", "FOO"].map((b) => ({ channel: "trades-all", instId: `${b}-USDT-SWAP` })));
    // 480 subscribe requests per hour per connection (docs/venues.md §3.3): 500 symbols still fit in few requests.
    const many = Array.from({ length: 500 }, (_, i) => `S${i}USDT`);
    const big = adapters.okx.connections("ws://h:1", many, [...STREAMS]);
    for (const p of big) {
      expect(p.subscribeMessages.length).toBeLessThanOrEqual(4);
      for (const m of p.subscribeMessages) expect(m.length).toBeLessThan(64 * 1024);
    }
    expect(big.flatMap((p) => p.symbols).filter((s) => s === "S499USDT")).toHaveLength(2); // public + business
    const feedArgs = big
      .flatMap((p) => p.subscribeMessages.flatMap((m) => JSON.parse(m).args))
      .filter((a: { channel: string }) => a.channel === "liquidation-orders");
    expect(feedArgs).toEqual([{ channel: "liquidation-orders", instType: "SWAP" }]); // once, on the first public socket
  });

  test("binance: one combined-stream socket per route; trades from @trade on /public, or @aggTrade on /market when configured", () => {
    const two = ["BTCUSDT", "ETHUSDT"];
    const plan = (a: ExchangeAdapter) =>
      a
        .connections(
          "ws://h:1",
          two,
          adapters.binance.streams.filter((s) => s !== "book"),
        )
        .map((p) => [p.route, p.url, p.streams]);
    expect(plan(adapters.binance)).toEqual([
      ["public", "ws://h:1/public/stream?streams=btcusdt@bookTicker/btcusdt@trade/ethusdt@bookTicker/ethusdt@trade", ["bbo", "trade"]],
      [
        "market",
        "ws://h:1/market/stream?streams=btcusdt@markPrice@1s/btcusdt@forceOrder/ethusdt@markPrice@1s/ethusdt@forceOrder",
        ["mark_price", "funding", "liquidation"],
      ],
    ]);
    expect(plan(configuredAdapters({ binanceTradeStream: "aggTrade" }).binance)).toEqual([
      ["public", "ws://h:1/public/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker", ["bbo"]],
      [
        "market",
        "ws://h:1/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s/btcusdt@forceOrder/ethusdt@aggTrade/ethusdt@markPrice@1s/ethusdt@forceOrder",
        ["trade", "mark_price", "funding", "liquidation"],
      ],
    ]);
    expect(configuredAdapters({ binanceTradeStream: "trade" }).binance).toBe(adapters.binance);
    // book (opt-in): diff depth at 100 ms on /public, beside bookTicker and trades.
    expect(adapters.binance.connections("ws://h:1", two, ["bbo", "book"]).map((p) => p.url)).toEqual([
      "ws://h:1/public/stream?streams=btcusdt@bookTicker/btcusdt@depth@100ms/ethusdt@bookTicker/ethusdt@depth@100ms",
    ]);
  });

  test("book: Bybit orderbook.{BOOK_DEPTH} per symbol (req_id names it), OKX books; resync messages; Binance REST depth row", () => {
    const ob = configuredAdapters({ binanceTradeStream: "trade", bookDepth: 1000 }).bybit;
    expect(ob.connections("ws://h:1", ["BTCUSDT"], ["book"])[0]!.subscribeMessages.map((m) => JSON.parse(m))).toEqual([
      { op: "subscribe", args: ["orderbook.1000.BTCUSDT"], req_id: "BTCUSDT:ob1000" },
    ]);
    expect(adapters.bybit.bookResync!("BTCUSDT").map((m) => JSON.parse(m))).toEqual([
      { op: "unsubscribe", args: ["orderbook.200.BTCUSDT"], req_id: "BTCUSDT:ob200" },
      { op: "subscribe", args: ["orderbook.200.BTCUSDT"], req_id: "BTCUSDT:ob200" },
    ]);
    // A refused book subscription maps back to its topic.
    expect(
      adapters.bybit.parse(JSON.stringify({ success: false, ret_msg: "error:handler not found", req_id: "FOOUSDT:ob200", op: "subscribe" }), {
        connId: "c",
        recvSeq: 1,
        tsRecvUs: 1,
      }),
    ).toMatchObject({ topics: ["orderbook.200.FOOUSDT"] });
    expect(adapters.okx.connections("ws://h:1", ["BTCUSDT"], ["book"]).map((p) => [p.url, JSON.parse(p.subscribeMessages[0]!)])).toEqual([
      ["ws://h:1/ws/v5/public", { op: "subscribe", args: [{ channel: "books", instId: "BTC-USDT-SWAP" }] }],
    ]);
    expect(adapters.okx.bookResync!("BTCUSDT").map((m) => JSON.parse(m).op)).toEqual(["unsubscribe", "subscribe"]);
    // Fewer than 30 `books` channels per connection (OKX advice): 60 symbols → 3 public sockets.
    const many = Array.from({ length: 60 }, (_, i) => `S${i}USDT`);
    const pub = adapters.okx.connections("ws://h:1", many, ["bbo", "book"]);
    expect(pub.map((p) => p.symbols.length)).toEqual([25, 25, 10]);
    expect(adapters.okx.connections("ws://h:1", many, ["bbo"]).map((p) => p.symbols.length)).toEqual([60]);
    const rest = adapters.binance.restBook!;
    expect(rest.url("http://127.0.0.1:9300/", "btcusdt")).toBe("http://127.0.0.1:9300/fapi/v1/depth?symbol=BTCUSDT&limit=1000");
    expect(rest.weight).toBe(20);
    // The documented answer shape (GET /fapi/v1/depth), one row with source "rest".
    const text = JSON.stringify({
      lastUpdateId: 1027024,
      E: 1589436922972,
      T: 1589436922959,
      bids: [["4.00000000", "431.00000000"]],
      asks: [["4.00000200", "12.00000000"]],
    });
    expect(rest.parse(text, "BTCUSDT", { connId: "binance-public-x-1", recvSeq: 7, tsRecvUs: 5 })).toEqual({
      kind: "rows",
      rows: [
        {
          exchange: "binance",
          symbol: "BTCUSDT",
          exchange_symbol: "BTCUSDT",
          ts_event_ms: 1589436922972,
          ts_recv_us: 5,
          conn_id: "binance-public-x-1",
          recv_seq: 7,
          stream: "book",
          is_snapshot: true,
          source: "rest",
          update_id: 1027024,
          first_update_id: null,
          prev_update_id: null,
          seq: null,
          ts_tx_ms: 1589436922959,
          bid_px: [4],
          bid_qty: [431],
          ask_px: [4.000002],
          ask_qty: [12],
        },
      ],
    });
    expect(rest.parse('{"code":-1121,"msg":"Invalid symbol."}', "FOOUSDT", { connId: "c", recvSeq: 1, tsRecvUs: 1 })).toEqual({
      kind: "skip",
      reason: "rest_depth:missing:lastUpdateId",
    });
  });

  test("binance: liquidations never set a 10 s data deadline; a liquidation-only socket outlasts the 3-min server pings", () => {
    const [market] = adapters.binance.connections("ws://h:1", ["BTCUSDT"], ["mark_price", "funding", "liquidation"]);
    expect(market).toMatchObject({ route: "market", idleTimeoutMs: 10_000, sporadicStreams: ["liquidation"] });
    const [liqOnly] = adapters.binance.connections("ws://h:1", ["BTCUSDT"], ["liquidation"]);
    expect(liqOnly!.url).toBe("ws://h:1/market/stream?streams=btcusdt@forceOrder");
    // docs/venues.md §1.4: a ping frame every 3 min is all a quiet liquidation socket receives.
    expect(liqOnly!.idleTimeoutMs).toBeGreaterThan(180_000);
    expect(liqOnly!.sporadicStreams).toEqual(["liquidation"]);
  });

  test("every plan names its liquidation (no-cadence) streams, so the transport never waits for them", () => {
    for (const ex of EXCHANGES) {
      for (const streams of [[...adapters[ex].streams], ["liquidation" as const], adapters[ex].streams.filter((s) => s !== "liquidation")]) {
        for (const p of adapters[ex].connections("ws://h:1", symbols, streams)) {
          expect({ ex, route: p.route, sporadic: p.sporadicStreams ?? [] }).toEqual({
            ex,
            route: p.route,
            sporadic: p.streams.filter((s) => SPORADIC_STREAMS.has(s)),
          });
        }
      }
    }
  });

  test("symbol mapping", () => {
    expect(adapters.okx.venueSymbol("BTCUSDT")).toBe("BTC-USDT-SWAP");
    expect(adapters.okx.venueSymbol("1000PEPEUSDT")).toBe("1000PEPE-USDT-SWAP");
    expect(adapters.bybit.venueSymbol("BTCUSDT")).toBe("BTCUSDT");
  });

  test("keepalive per venue docs: bybit JSON ping every 20 s, okx text ping when idle 20 s (server closes at 30 s)", () => {
    expect(adapters.bybit.keepalive).toMatchObject({ pingIntervalMs: 20_000, pingMode: "interval" });
    expect(adapters.bybit.keepalive.ping()).toBe('{"op":"ping"}');
    expect(adapters.okx.keepalive).toMatchObject({ pingIntervalMs: 20_000, pingMode: "idle" });
    expect(adapters.okx.keepalive.ping()).toBe("ping");
    expect(adapters.okx.keepalive.idleTimeoutMs).toBeLessThanOrEqual(30_000);
  });
});
