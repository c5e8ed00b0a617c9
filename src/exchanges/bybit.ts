/**
 * @module exchanges/bybit — Bybit v5 public linear (USDT perpetuals).
 * Docs: https://bybit-exchange.github.io/docs/v5/ws/connect and docs/v5/websocket/public/*.mdx
 * Facts used here: docs/venues.md §2 (endpoint, subscribe/ack/error shapes, keepalive, samples).
 */
import { SPORADIC_STREAMS, type Row, type Stream } from "../schema/rows.ts";
import { bookSide, FieldError, firstLevel, isObject, optFloat, optInt, parseJson, reqFloat, reqId, reqInt, reqString } from "./fields.ts";
import type { ConnectionPlan, ExchangeAdapter, ParseResult, RecvMeta } from "./types.ts";

type Obj = Record<string, unknown>;

/** Topic prefix per stream; `tickers` carries mark_price, funding and open_interest (docs/venues.md §2.5). */
const BASE_TOPIC: Record<Stream, string> = {
  bbo: "orderbook.1",
  trade: "publicTrade",
  mark_price: "tickers",
  funding: "tickers",
  open_interest: "tickers",
  book: "orderbook.200",
  // allLiquidation (500 ms, every liquidation) replaced `liquidation` (deprecated 2025-02-27, docs/venues.md §2.5).
  liquidation: "allLiquidation",
};

/** Public args text must stay ≤ 21,000 characters per connection (docs/venues.md §2.3); ~90 per symbol with allLiquidation, 18,000 for 200. */
const MAX_SYMBOLS_PER_CONNECTION = 200;

/** Short codes keep req_id compact: Bybit documents no maximum length (docs/venues.md §2.2), so stay well short. */
const CODE: Record<string, string> = {
  "orderbook.1": "ob1",
  publicTrade: "pt",
  tickers: "tk",
  allLiquidation: "al",
  "orderbook.50": "ob50",
  "orderbook.200": "ob200",
  "orderbook.1000": "ob1000",
};
const PREFIX_OF: Record<string, string> = Object.fromEntries(Object.entries(CODE).map(([p, c]) => [c, p]));

/**
 * Several symbols share a subscribe request, at most MAX_ARGS_PER_REQUEST topics (docs/venues.md §2.3:
 * 10 per request is Bybit's spot limit and what tardis-node sends; linear documents none), which cuts
 * the start-up of 200 symbols from 200 paced requests to 100 (4 topics per symbol).
 */
const MAX_ARGS_PER_REQUEST = 10;

/**
 * One bad or duplicate topic fails the whole request (docs/venues.md §2.2, ccxt#30284). The req_id
 * names the symbols and the topics ("BTCUSDT,ETHUSDT:ob1,pt,tk"), so the stateless parser maps an ack
 * or error back to exactly them; a refused request of several symbols is re-sent one symbol per
 * request (ParseResult `retry`), so one bad symbol cannot fail the others.
 */
export function bybitReqId(symbols: string | readonly string[], prefixes: readonly string[]): string {
  return `${typeof symbols === "string" ? symbols : symbols.join(",")}:${prefixes.map((p) => CODE[p] ?? p).join(",")}`;
}

function subscribeMessage(symbols: readonly string[], prefixes: readonly string[]): string {
  return JSON.stringify({ op: "subscribe", args: symbols.flatMap((sym) => prefixes.map((p) => `${p}.${sym}`)), req_id: bybitReqId(symbols, prefixes) });
}

/** The symbols and topic prefixes a req_id names (only the codes this adapter sends). */
function parseReqId(reqIdText: unknown): { symbols: string[]; prefixes: string[] } {
  if (typeof reqIdText !== "string") return { symbols: [], prefixes: [] };
  const at = reqIdText.indexOf(":");
  if (at <= 0) return { symbols: [], prefixes: [] };
  const symbols = reqIdText
    .slice(0, at)
    .split(",")
    .filter((s) => s !== "");
  const prefixes = reqIdText
    .slice(at + 1)
    .split(",")
    .filter((c) => PREFIX_OF[c] !== undefined)
    .map((c) => PREFIX_OF[c]!);
  return { symbols, prefixes };
}

function topicsOfReqId(reqIdText: unknown): string[] {
  const { symbols, prefixes } = parseReqId(reqIdText);
  return symbols.flatMap((sym) => prefixes.map((p) => `${p}.${sym}`));
}

/** A refused subscribe: final for one symbol; for several, each symbol is re-requested on its own. */
function subscribeError(detail: string, reqIdText: unknown): ParseResult {
  const { symbols, prefixes } = parseReqId(reqIdText);
  const topics = symbols.flatMap((sym) => prefixes.map((p) => `${p}.${sym}`));
  if (symbols.length > 1 && prefixes.length > 0)
    return { kind: "subscribe_error", detail, topics, retry: symbols.map((sym) => ({ symbol: sym, message: subscribeMessage([sym], prefixes) })) };
  return { kind: "subscribe_error", detail, topics };
}

/** Depths of the `book` stream's `orderbook.{depth}` topic (docs/venues.md §2.5; 500 was removed). */
export type BybitBookDepth = 50 | 200 | 1000;

function connections(TOPIC: Record<Stream, string>, baseUrl: string, symbols: readonly string[], streams: readonly Stream[]): ConnectionPlan[] {
  const prefixes = [...new Set(streams.map((s) => TOPIC[s]))];
  if (prefixes.length === 0) return [];
  const url = `${baseUrl.replace(/\/+$/, "")}/v5/public/linear`;
  const plans: ConnectionPlan[] = [];
  for (let i = 0; i < symbols.length; i += MAX_SYMBOLS_PER_CONNECTION) {
    const chunk = symbols.slice(i, i + MAX_SYMBOLS_PER_CONNECTION).map((s) => s.toUpperCase());
    const perRequest = Math.max(1, Math.floor(MAX_ARGS_PER_REQUEST / prefixes.length));
    const subscribeMessages: string[] = [];
    for (let k = 0; k < chunk.length; k += perRequest) subscribeMessages.push(subscribeMessage(chunk.slice(k, k + perRequest), prefixes));
    // orderbook.1 re-sends a snapshot at least every 3 s per symbol (docs/venues.md §2.5): 15 s without
    // a frame is a dead socket; without it, the 20 s pings and their pongs bound the silence.
    // A liquidation-only socket is kept alive by the 20 s pings and their pongs (keepalive below).
    const sporadic = streams.filter((s) => SPORADIC_STREAMS.has(s));
    plans.push({
      route: "linear",
      url,
      subscribeMessages,
      streams: [...streams],
      symbols: chunk,
      ...(streams.includes("bbo") ? { idleTimeoutMs: 15_000 } : {}),
      ...(sporadic.length > 0 ? { sporadicStreams: sporadic } : {}),
    });
  }
  return plans;
}

/*
 * Every row is one object literal with the common columns (exchange … recv_seq) first, in the same
 * order for every stream: no per-row object spread, one shape per stream (issue 10: per-row cost).
 * Fields are read in the order they always were, so the first bad field names the skip reason as before.
 * Linear symbols are already the unified form (BTCUSDT): symbol = exchange_symbol = `s`.
 */

function bbo(msg: Obj, recv: RecvMeta): ParseResult {
  const d = msg.data;
  if (!isObject(d)) throw new FieldError("bad_data");
  const [bidPx, bidQty] = firstLevel(d, "b", ["px", "qty"]);
  const [askPx, askQty] = firstLevel(d, "a", ["px", "qty"]);
  const s = reqString(d, "s");
  return {
    kind: "rows",
    rows: [
      {
        exchange: "bybit",
        symbol: s,
        exchange_symbol: s,
        ts_event_ms: optInt(msg, "ts"),
        ts_recv_us: recv.tsRecvUs,
        conn_id: recv.connId,
        recv_seq: recv.recvSeq,
        stream: "bbo",
        bid_px: bidPx,
        bid_qty: bidQty,
        ask_px: askPx,
        ask_qty: askQty,
        update_id: optInt(d, "u"),
        ts_tx_ms: optInt(msg, "cts"),
      },
    ],
  };
}

/**
 * `orderbook.{50,200,1000}`: one row per message, levels as sent. `type` snapshot/delta; `u` update id
 * (u=1 on a snapshot = the service restarted), `seq` cross sequence, `cts` matching-engine time (§2.5).
 */
function book(msg: Obj, recv: RecvMeta): ParseResult {
  const d = msg.data;
  if (!isObject(d)) throw new FieldError("bad_data");
  const type = msg.type;
  if (type !== "snapshot" && type !== "delta") throw new FieldError("bad_type");
  const [bidPx, bidQty] = bookSide(d, "b");
  const [askPx, askQty] = bookSide(d, "a");
  const s = reqString(d, "s");
  return {
    kind: "rows",
    rows: [
      {
        exchange: "bybit",
        symbol: s,
        exchange_symbol: s,
        ts_event_ms: optInt(msg, "ts"),
        ts_recv_us: recv.tsRecvUs,
        conn_id: recv.connId,
        recv_seq: recv.recvSeq,
        stream: "book",
        is_snapshot: type === "snapshot",
        source: "ws",
        update_id: reqInt(d, "u"),
        first_update_id: null,
        prev_update_id: null,
        seq: optInt(d, "seq"),
        ts_tx_ms: optInt(msg, "cts"),
        bid_px: bidPx,
        bid_qty: bidQty,
        ask_px: askPx,
        ask_qty: askQty,
      },
    ],
  };
}

function trades(msg: Obj, recv: RecvMeta): ParseResult {
  const items = msg.data;
  if (!Array.isArray(items)) throw new FieldError("bad_data");
  if (items.length === 0) throw new FieldError("empty_data");
  const rows: Row[] = [];
  // One row per fill; a message holds up to 1024 of them (docs/venues.md §2.5).
  for (const t of items) {
    if (!isObject(t)) throw new FieldError("bad_trade");
    const side = reqString(t, "S").toLowerCase();
    if (side !== "buy" && side !== "sell") throw new FieldError("bad_side:S");
    const s = reqString(t, "s");
    rows.push({
      exchange: "bybit",
      symbol: s,
      exchange_symbol: s,
      ts_event_ms: optInt(msg, "ts"),
      ts_recv_us: recv.tsRecvUs,
      conn_id: recv.connId,
      recv_seq: recv.recvSeq,
      stream: "trade",
      trade_id: reqId(t, "i"),
      price: reqFloat(t, "p"),
      qty: reqFloat(t, "v"),
      side,
      ts_trade_ms: optInt(t, "T"),
    });
  }
  return { kind: "rows", rows };
}

/**
 * Snapshot or delta: a delta carries only changed fields (docs/venues.md §2.5, sieblyio/bybit-api#329).
 * A stream gets a row only when this message carries one of its fields; nothing is carried over.
 */
function tickers(msg: Obj, recv: RecvMeta): ParseResult {
  const d = msg.data;
  if (!isObject(d)) throw new FieldError("bad_data");
  const s = reqString(d, "symbol");
  const ts = optInt(msg, "ts");
  const rows: Row[] = [];
  const mark = optFloat(d, "markPrice");
  const index = optFloat(d, "indexPrice");
  if (mark !== null || index !== null)
    rows.push({
      exchange: "bybit",
      symbol: s,
      exchange_symbol: s,
      ts_event_ms: ts,
      ts_recv_us: recv.tsRecvUs,
      conn_id: recv.connId,
      recv_seq: recv.recvSeq,
      stream: "mark_price",
      mark_price: mark,
      index_price: index,
    });
  const rate = optFloat(d, "fundingRate");
  const next = optInt(d, "nextFundingTime"); // a ms *string* on the wire
  if (rate !== null || next !== null)
    rows.push({
      exchange: "bybit",
      symbol: s,
      exchange_symbol: s,
      ts_event_ms: ts,
      ts_recv_us: recv.tsRecvUs,
      conn_id: recv.connId,
      recv_seq: recv.recvSeq,
      stream: "funding",
      funding_rate: rate,
      funding_time_ms: next,
    });
  const oi = optFloat(d, "openInterest");
  const oiValue = optFloat(d, "openInterestValue");
  if (oi !== null || oiValue !== null)
    rows.push({
      exchange: "bybit",
      symbol: s,
      exchange_symbol: s,
      ts_event_ms: ts,
      ts_recv_us: recv.tsRecvUs,
      conn_id: recv.connId,
      recv_seq: recv.recvSeq,
      stream: "open_interest",
      open_interest: oi,
      open_interest_ccy: null,
      open_interest_usd: oiValue,
    });
  // A delta touching none of these fields (e.g. only bid1Price) is valid and yields nothing.
  return { kind: "rows", rows };
}

/**
 * `allLiquidation`: `data` is an array of `{T, s, S, v, p}`. `S` is the POSITION's side (`Buy` = a
 * long was liquidated, docs/venues.md §2.5; 30 of 30 live prints agreed), so the liquidation order's
 * side is the opposite: Buy → `sell`, Sell → `buy`; `pos_side` keeps the venue's statement.
 * `p` is the bankruptcy price, `v` the size in base coin.
 */
function liquidations(msg: Obj, recv: RecvMeta): ParseResult {
  const items = msg.data;
  if (!Array.isArray(items)) throw new FieldError("bad_data");
  if (items.length === 0) throw new FieldError("empty_data");
  const rows: Row[] = [];
  for (const t of items) {
    if (!isObject(t)) throw new FieldError("bad_item");
    const posSide = reqString(t, "S");
    if (posSide !== "Buy" && posSide !== "Sell") throw new FieldError("bad_side:S");
    const s = reqString(t, "s");
    rows.push({
      exchange: "bybit",
      symbol: s,
      exchange_symbol: s,
      ts_event_ms: optInt(msg, "ts"),
      ts_recv_us: recv.tsRecvUs,
      conn_id: recv.connId,
      recv_seq: recv.recvSeq,
      stream: "liquidation",
      side: posSide === "Buy" ? "sell" : "buy",
      price: optFloat(t, "p"),
      avg_price: null,
      qty: reqFloat(t, "v"),
      orig_qty: null,
      status: null,
      ts_trade_ms: optInt(t, "T"),
      last_qty: null,
      pos_side: posSide === "Buy" ? "long" : "short",
      bankruptcy_loss: null,
    });
  }
  return { kind: "rows", rows };
}

function control(m: Obj): ParseResult | null {
  // Two pong shapes: linear `ret_msg:"pong"` (op "ping"), options/private `op:"pong"`; accept
  // either, as tardis-node does (docs/venues.md §2.4).
  if (m.op === "pong" || m.ret_msg === "pong") return { kind: "pong" };
  if (m.op === "subscribe" || m.op === "unsubscribe") {
    if (m.success === true) return { kind: "ack", detail: `req_id=${String(m.req_id ?? "")}` };
    const detail = typeof m.ret_msg === "string" && m.ret_msg !== "" ? m.ret_msg : "subscribe failed";
    return subscribeError(detail, m.req_id);
  }
  if ("success" in m && !("topic" in m)) {
    return m.success === true
      ? { kind: "ack", detail: String(m.op ?? "") }
      : { kind: "subscribe_error", detail: String(m.ret_msg ?? "request failed"), topics: topicsOfReqId(m.req_id) };
  }
  return null;
}

function parse(text: string, recv: RecvMeta): ParseResult {
  const j = parseJson(text);
  if (!j.ok) return { kind: "skip", reason: "invalid_json" };
  const m = j.value;
  if (!isObject(m)) return { kind: "skip", reason: "not_an_object" };
  const ctl = control(m);
  if (ctl) return ctl;
  const topic = m.topic;
  if (typeof topic !== "string") return { kind: "skip", reason: "unknown_message" };
  const kind = topic.slice(0, topic.lastIndexOf("."));
  try {
    switch (kind) {
      case "orderbook.1":
        return bbo(m, recv);
      case "orderbook.50":
      case "orderbook.200":
      case "orderbook.1000":
        return book(m, recv);
      case "publicTrade":
        return trades(m, recv);
      case "tickers":
        return tickers(m, recv);
      case "allLiquidation":
        return liquidations(m, recv);
      default:
        return { kind: "skip", reason: `unknown_topic:${kind.slice(0, 40)}` };
    }
  } catch (err) {
    if (err instanceof FieldError) return { kind: "skip", reason: `${kind}:${err.reason}` };
    throw err;
  }
}

/** Messages that get a fresh book snapshot for one symbol: unsubscribe + subscribe its book topic (§2.5: a snapshot follows every subscribe). */
function bookResync(TOPIC: Record<Stream, string>, symbol: string): string[] {
  const topic = `${TOPIC.book}.${symbol.toUpperCase()}`;
  const reqId = bybitReqId(symbol.toUpperCase(), [TOPIC.book]);
  return [JSON.stringify({ op: "unsubscribe", args: [topic], req_id: reqId }), JSON.stringify({ op: "subscribe", args: [topic], req_id: reqId })];
}

export function createBybit(opts: { bookDepth: BybitBookDepth }): ExchangeAdapter {
  const TOPIC: Record<Stream, string> = { ...BASE_TOPIC, book: `orderbook.${opts.bookDepth}` };
  return { ...bybitBase, connections: (b, sy, st) => connections(TOPIC, b, sy, st), bookResync: (sym) => bookResync(TOPIC, sym) };
}

const bybitBase: ExchangeAdapter = {
  id: "bybit",
  streams: ["bbo", "trade", "mark_price", "funding", "open_interest", "liquidation", "book"],
  venueSymbol: (unified) => unified.toUpperCase(),
  connections: (b, sy, st) => connections(BASE_TOPIC, b, sy, st),
  // `u` +1 per delta, u=1 snapshot = service restart (docs/venues.md §2.5; evidence in docs/books.md).
  bookContinuity: "consecutive",
  keepalive: {
    // Docs recommend a text JSON ping every 20 s; the server cuts after ~10 min without (docs/venues.md §2.4).
    pingIntervalMs: 20_000,
    pingMode: "interval",
    ping: () => JSON.stringify({ op: "ping" }),
    // A missing pong is a dead connection, even while data frames still trickle in.
    pongTimeoutMs: 10_000,
    // orderbook.1 re-sends its snapshot at least every 3 s per symbol, pongs every 20 s.
    idleTimeoutMs: 45_000,
  },
  // publicTrade ids are UUIDs: no gap inference (docs/venues.md §4).
  contiguousTradeIds: false,
  // tickers deltas carry a field only when it changed (docs/venues.md §2.5): mark/index move constantly,
  // OI often, the predicted funding rate more slowly (no documented cadence, so a generous bound).
  silenceThresholdMs: (stream) => (stream === "mark_price" ? 10_000 : stream === "funding" ? 300_000 : 60_000),
  parse,
};

/** The default adapter: book depth 200. */
export const bybit = createBybit({ bookDepth: 200 });
