/**
 * @module exchanges/binance — Binance USDⓈ-M futures public streams.
 * Docs: https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
 * Facts used here: docs/venues.md §1 (routes, combined streams, keepalive, samples).
 */
import { SPORADIC_STREAMS, type BboRow, type LiquidationRow, type Row, type Stream, type TradeRow } from "../schema/rows.ts";
import { bookSide, FieldError, isObject, optFloat, optInt, optString, parseJson, reqBool, reqFloat, reqId, reqInt, reqSide, reqString } from "./fields.ts";
import type { ConnectionPlan, ExchangeAdapter, ParseResult, RecvMeta } from "./types.ts";

/** Streams per connection: docs say 1024, older copies 200 (docs/venues.md §1.3) — stay at 200. */
const MAX_STREAMS_PER_CONNECTION = 200;

/**
 * Where trades come from (docs/schema-v1.md §2, docs/venues.md §1.1): `trade` = `<sym>@trade` on /public, one row per fill (the
 * default; undocumented but used by every major recorder); `aggTrade` = the documented
 * `<sym>@aggTrade` on /market, fills of one price and taker side aggregated over 100 ms, trade_id =
 * the aggregate id `a` (the f/l range of underlying ids has no v1 column).
 */
export type BinanceTradeStream = "trade" | "aggTrade";

type Routes = Record<"public" | "market", Partial<Record<Stream, (sym: string) => string[]>>>;

/**
 * Since 2026-04-23 each stream lives on one route; a stream on the wrong route is acknowledged and
 * then never delivers (docs/venues.md §1.1). `@trade` is on /public by the evidence there.
 */
function routesFor(trades: BinanceTradeStream): Routes {
  return {
    public: {
      bbo: (s) => [`${s}@bookTicker`],
      // Diff depth: U/u/pu, anchored by a REST snapshot (docs/venues.md §1.5); on /public since 2026-04-23.
      book: (s) => [`${s}@depth@100ms`],
      ...(trades === "trade" ? { trade: (s: string) => [`${s}@trade`] } : {}),
    },
    market: {
      ...(trades === "aggTrade" ? { trade: (s: string) => [`${s}@aggTrade`] } : {}),
      // One markPrice stream yields both mark_price and funding rows.
      mark_price: (s) => [`${s}@markPrice@1s`],
      funding: (s) => [`${s}@markPrice@1s`],
      // At most the latest liquidation per symbol per 1000 ms (docs/venues.md §1.5): undercounts bursts.
      liquidation: (s) => [`${s}@forceOrder`],
    },
  };
}

function connections(routes: Routes, baseUrl: string, symbols: readonly string[], streams: readonly Stream[]): ConnectionPlan[] {
  const plans: ConnectionPlan[] = [];
  const base = baseUrl.replace(/\/+$/, "");
  for (const route of ["public", "market"] as const) {
    const routeStreams = streams.filter((s) => routes[route][s] !== undefined);
    if (routeStreams.length === 0) continue;
    const names: string[] = [];
    for (const sym of symbols) {
      for (const st of routeStreams) {
        for (const n of routes[route][st]!(sym.toLowerCase())) if (!names.includes(n)) names.push(n);
      }
    }
    for (let i = 0; i < names.length; i += MAX_STREAMS_PER_CONNECTION) {
      const chunk = names.slice(i, i + MAX_STREAMS_PER_CONNECTION);
      const chunkSymbols = symbols.filter((s) => chunk.some((n) => n.startsWith(`${s.toLowerCase()}@`)));
      // Combined-stream URL: the venue subscribes on connect, so no control message is needed.
      // bookTicker and markPrice@1s deliver at least every second on a live symbol: 10 s of silence
      // is a dead socket, far sooner than the 3-min server pings would tell (docs/venues.md §1.4).
      // A socket carrying only liquidations may get nothing but the server's ping frames, sent every
      // 3 min (docs/venues.md §1.4): its deadline must outlast one missed ping.
      const sporadic = routeStreams.filter((s) => SPORADIC_STREAMS.has(s));
      const idleTimeoutMs = routeStreams.some((s) => s === "bbo" || s === "mark_price" || s === "funding")
        ? 10_000
        : sporadic.length === routeStreams.length
          ? SPORADIC_ONLY_IDLE_MS
          : undefined;
      plans.push({
        route,
        url: `${base}/${route}/stream?streams=${chunk.join("/")}`,
        subscribeMessages: [],
        streams: routeStreams,
        symbols: chunkSymbols,
        ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
        ...(sporadic.length > 0 ? { sporadicStreams: sporadic } : {}),
      });
    }
  }
  return plans;
}

/** Server pings every 3 min (docs/venues.md §1.4); hftbacktest also calls 300 s without a ping dead. */
const SPORADIC_ONLY_IDLE_MS = 300_000;

/**
 * `forceOrder`: symbol and fields sit inside `o`; `o.S` is the liquidation order's side (SELL = a
 * long was closed); `z` (accumulated filled) is the quantity, `q` the original order quantity
 * (docs/schema-v1.md §7.1; a live frame had `l` 25.2, `z` 116.5).
 */
function liquidation(d: Record<string, unknown>, recv: RecvMeta): LiquidationRow {
  const o = d.o;
  if (!isObject(o)) throw new FieldError("bad_order:o");
  const s = reqString(o, "s");
  return {
    exchange: "binance",
    symbol: s,
    exchange_symbol: s,
    ts_event_ms: optInt(d, "E"),
    ts_recv_us: recv.tsRecvUs,
    conn_id: recv.connId,
    recv_seq: recv.recvSeq,
    stream: "liquidation",
    side: reqSide(o, "S"),
    price: optFloat(o, "p"),
    avg_price: optFloat(o, "ap"),
    qty: reqFloat(o, "z"),
    orig_qty: optFloat(o, "q"),
    status: optString(o, "X"),
    ts_trade_ms: optInt(o, "T"),
    last_qty: optFloat(o, "l"),
    pos_side: null,
    bankruptcy_loss: null,
  };
}

/*
 * Every row is one object literal with the common columns (exchange … recv_seq) first, in the same
 * order for every stream: no per-row object spread, one shape per stream (issue 10: per-row cost).
 * Fields are read in the order they always were, so the first bad field names the skip reason as before.
 */

/**
 * A `book` row from a WebSocket diff (`b`/`a`, ids U/u/pu) or a REST depth answer (`bids`/`asks`,
 * lastUpdateId, no U/pu): the same columns, filled the same way.
 */
function bookRow(
  d: Record<string, unknown>,
  recv: RecvMeta,
  k: { symbol: string; sides: [bids: string, asks: string]; is_snapshot: boolean; source: "ws" | "rest"; update_id: number },
): Row {
  const [bidPx, bidQty] = bookSide(d, k.sides[0]);
  const [askPx, askQty] = bookSide(d, k.sides[1]);
  const diff = k.source === "ws";
  return {
    exchange: "binance",
    symbol: k.symbol,
    exchange_symbol: k.symbol,
    ts_event_ms: optInt(d, "E"),
    ts_recv_us: recv.tsRecvUs,
    conn_id: recv.connId,
    recv_seq: recv.recvSeq,
    stream: "book",
    is_snapshot: k.is_snapshot,
    source: k.source,
    update_id: k.update_id,
    first_update_id: diff ? optInt(d, "U") : null,
    prev_update_id: diff ? optInt(d, "pu") : null,
    seq: null,
    ts_tx_ms: optInt(d, "T"),
    bid_px: bidPx,
    bid_qty: bidQty,
    ask_px: askPx,
    ask_qty: askQty,
  };
}

function bbo(d: Record<string, unknown>, recv: RecvMeta): BboRow {
  const s = reqString(d, "s");
  return {
    exchange: "binance",
    symbol: s,
    exchange_symbol: s,
    ts_event_ms: optInt(d, "E"),
    ts_recv_us: recv.tsRecvUs,
    conn_id: recv.connId,
    recv_seq: recv.recvSeq,
    stream: "bbo",
    bid_px: reqFloat(d, "b"),
    bid_qty: reqFloat(d, "B"),
    ask_px: reqFloat(d, "a"),
    ask_qty: reqFloat(d, "A"),
    update_id: optInt(d, "u"),
    ts_tx_ms: optInt(d, "T"),
  };
}

function trade(d: Record<string, unknown>, recv: RecvMeta, idKey: "t" | "a"): TradeRow {
  const s = reqString(d, "s");
  return {
    exchange: "binance",
    symbol: s,
    exchange_symbol: s,
    ts_event_ms: optInt(d, "E"),
    ts_recv_us: recv.tsRecvUs,
    conn_id: recv.connId,
    recv_seq: recv.recvSeq,
    stream: "trade",
    trade_id: reqId(d, idKey),
    price: reqFloat(d, "p"),
    qty: reqFloat(d, "q"),
    side: reqBool(d, "m") ? "sell" : "buy",
    ts_trade_ms: optInt(d, "T"),
  };
}

function rowsOf(d: Record<string, unknown>, recv: RecvMeta): ParseResult {
  const e = d.e;
  switch (e) {
    case "bookTicker":
      return { kind: "rows", rows: [bbo(d, recv)] };
    case "trade":
    case "aggTrade":
      return { kind: "rows", rows: [trade(d, recv, e === "trade" ? "t" : "a")] };
    case "depthUpdate":
      return {
        kind: "rows",
        rows: [bookRow(d, recv, { symbol: reqString(d, "s"), sides: ["b", "a"], is_snapshot: false, source: "ws", update_id: reqInt(d, "u") })],
      };
    case "markPriceUpdate": {
      const s = reqString(d, "s");
      const tsEvent = optInt(d, "E");
      const rows: Row[] = [];
      const mark = optFloat(d, "p");
      const index = optFloat(d, "i");
      if (mark !== null || index !== null)
        rows.push({
          exchange: "binance",
          symbol: s,
          exchange_symbol: s,
          ts_event_ms: tsEvent,
          ts_recv_us: recv.tsRecvUs,
          conn_id: recv.connId,
          recv_seq: recv.recvSeq,
          stream: "mark_price",
          mark_price: mark,
          index_price: index,
        });
      const rate = optFloat(d, "r");
      const next = optInt(d, "T"); // here T is the next funding time, not a transaction time
      if (rate !== null || next !== null)
        rows.push({
          exchange: "binance",
          symbol: s,
          exchange_symbol: s,
          ts_event_ms: tsEvent,
          ts_recv_us: recv.tsRecvUs,
          conn_id: recv.connId,
          recv_seq: recv.recvSeq,
          stream: "funding",
          funding_rate: rate,
          funding_time_ms: next,
        });
      if (rows.length === 0) return { kind: "skip", reason: "empty_event:markPriceUpdate" };
      return { kind: "rows", rows };
    }
    case "forceOrder":
      return { kind: "rows", rows: [liquidation(d, recv)] };
    default:
      return { kind: "skip", reason: typeof e === "string" ? `unknown_event:${e.slice(0, 40)}` : "unknown_message" };
  }
}

function parse(text: string, recv: RecvMeta): ParseResult {
  const j = parseJson(text);
  if (!j.ok) return { kind: "skip", reason: "invalid_json" };
  const m = j.value;
  if (!isObject(m)) return { kind: "skip", reason: "not_an_object" };
  if ("result" in m && "id" in m) return { kind: "ack", detail: `id=${String(m.id)}` };
  if ("code" in m && "msg" in m && !("data" in m)) return { kind: "subscribe_error", detail: `${String(m.code)}: ${String(m.msg)}`, topics: [] };
  const d = "data" in m && "stream" in m ? m.data : m;
  if (!isObject(d)) return { kind: "skip", reason: "bad_envelope" };
  try {
    return rowsOf(d, recv);
  } catch (err) {
    if (err instanceof FieldError) return { kind: "skip", reason: `${String(d.e)}:${err.reason}` };
    throw err;
  }
}

/** REST depth limit of the anchoring snapshot and its request weight (docs/venues.md §1.5: limit 1000 = weight 20). */
export const BINANCE_DEPTH_LIMIT = 1000;
const BINANCE_DEPTH_WEIGHT = 20;

/**
 * `GET /fapi/v1/depth` answer `{lastUpdateId, E, T, bids, asks}` → one `book` row, is_snapshot=true,
 * source "rest", update_id = lastUpdateId; conn_id/recv_seq are those of the connection it anchors.
 */
function parseRestDepth(text: string, symbol: string, recv: RecvMeta): ParseResult {
  const j = parseJson(text);
  if (!j.ok) return { kind: "skip", reason: "rest_depth:invalid_json" };
  const d = j.value;
  if (!isObject(d)) return { kind: "skip", reason: "rest_depth:not_an_object" };
  try {
    return {
      kind: "rows",
      rows: [
        bookRow(d, recv, { symbol: symbol.toUpperCase(), sides: ["bids", "asks"], is_snapshot: true, source: "rest", update_id: reqInt(d, "lastUpdateId") }),
      ],
    };
  } catch (err) {
    if (err instanceof FieldError) return { kind: "skip", reason: `rest_depth:${err.reason}` };
    throw err;
  }
}

export function createBinance(opts: { trades: BinanceTradeStream }): ExchangeAdapter {
  const routes = routesFor(opts.trades);
  return {
    id: "binance",
    streams: ["bbo", "trade", "mark_price", "funding", "liquidation", "book"],
    bookContinuity: "prev_id",
    restBook: {
      url: (base, symbol) => `${base.replace(/\/+$/, "")}/fapi/v1/depth?symbol=${encodeURIComponent(symbol.toUpperCase())}&limit=${BINANCE_DEPTH_LIMIT}`,
      weight: BINANCE_DEPTH_WEIGHT,
      parse: parseRestDepth,
    },
    venueSymbol: (unified) => unified.toUpperCase(),
    connections: (baseUrl, symbols, streams) => connections(routes, baseUrl, symbols, streams),
    keepalive: {
      // The server pings every ~3 min and Bun answers automatically (docs/venues.md §1.4); we send nothing.
      pingIntervalMs: 0,
      ping: () => null,
      // Fallback for a socket carrying only @trade (quiet symbols may not trade for a while).
      idleTimeoutMs: 60_000,
    },
    // "A single connection is only valid for 24 hours" (docs/venues.md §1.4): rotated before that.
    maxConnectionAgeMs: 86_400_000,
    // `@trade` `t` (and the aggregate id `a` of `@aggTrade`) is consecutive per symbol in recorded frames (observed, not documented: docs/venues.md §1.6).
    contiguousTradeIds: true,
    silenceThresholdMs: (stream) => (stream === "mark_price" || stream === "funding" ? 10_000 : 60_000),
    parse,
  };
}

/** The default adapter: trades from `<sym>@trade` on /public. */
export const binance = createBinance({ trades: "trade" });
