/**
 * @module exchanges/okx — OKX v5 public channels for USDT-margined SWAP instruments.
 * Docs: https://www.okx.com/docs-v5/en/#overview-websocket and the channel pages cited in
 * docs/venues.md §3 (endpoints, per-arg acks/errors, text ping, notice 64008, samples).
 */
import { SPORADIC_STREAMS, type LiquidationRow, type Row, type Stream } from "../schema/rows.ts";
import { bookSide, FieldError, firstLevel, isObject, optFloat, optInt, optString, parseJson, reqFloat, reqId, reqInt, reqSide, reqString } from "./fields.ts";
import type { ConnectionPlan, ExchangeAdapter, ParseResult, RecvMeta } from "./types.ts";

type Obj = Record<string, unknown>;
type Route = "public" | "business";

/** `trades-all` lives on /ws/v5/business; on /public it fails with 60018/64001 (docs/venues.md §3.1). */
const CHANNEL: Record<Stream, { channel: string; route: Route }> = {
  bbo: { channel: "bbo-tbt", route: "public" },
  trade: { channel: "trades-all", route: "business" },
  mark_price: { channel: "mark-price", route: "public" },
  funding: { channel: "funding-rate", route: "public" },
  open_interest: { channel: "open-interest", route: "public" },
  book: { channel: "books", route: "public" },
  // Subscribed once by instType, not per instId (FEED_ARGS below).
  liquidation: { channel: "liquidation-orders", route: "public" },
};

/**
 * Channels subscribed by instrument type: one arg covers every SWAP (docs/venues.md §3.5,
 * `liquidation-orders` on /ws/v5/public). It rides on the route's first socket; the items of
 * instruments not configured are filtered after parsing and counted (`filtered_events_total`).
 */
const FEED_ARGS: Partial<Record<Stream, Record<string, string>>> = {
  liquidation: { channel: "liquidation-orders", instType: "SWAP" },
};

/**
 * ≤ 480 subscribe requests per hour per connection and ≤ 64 KB of args per request (docs/venues.md
 * §3.3): all args go out in as few requests as possible (~55 bytes per arg), once per connection.
 */
const MAX_ARGS_PER_REQUEST = 500;
/** Channel limits per connection (close codes 4008/4009) are unpublished (§3.2); stay modest. */
const MAX_ARGS_PER_CONNECTION = 1000;
/** `books` (400 levels) channels per connection: OKX advises fewer than 30. */
const MAX_BOOK_SYMBOLS_PER_CONNECTION = 25;

/** BTCUSDT ↔ BTC-USDT-SWAP (docs/schema-v1.md §3). */
export function okxInstId(unified: string): string {
  const u = unified.toUpperCase();
  return u.endsWith("USDT") ? `${u.slice(0, -4)}-USDT-SWAP` : u;
}

const USDT_SWAP = /^([A-Z0-9]+)-USDT-SWAP$/;
/** instId → unified symbol, remembered: one Map lookup per row instead of a regex and a new string. */
const unifiedCache = new Map<string, string>();
/** Bounds the cache whatever instIds a venue sends (the liquidation feed carries every swap). */
const UNIFIED_CACHE_MAX = 4096;

function unifiedOf(instId: string): string {
  const hit = unifiedCache.get(instId);
  if (hit !== undefined) return hit;
  const m = USDT_SWAP.exec(instId);
  if (!m) throw new FieldError("bad_instId");
  const unified = `${m[1]}USDT`;
  if (unifiedCache.size >= UNIFIED_CACHE_MAX) unifiedCache.clear();
  unifiedCache.set(instId, unified);
  return unified;
}

function connections(baseUrl: string, symbols: readonly string[], streams: readonly Stream[]): ConnectionPlan[] {
  const base = baseUrl.replace(/\/+$/, "");
  const plans: ConnectionPlan[] = [];
  for (const route of ["public", "business"] as const) {
    const routeStreams = streams.filter((s) => CHANNEL[s].route === route);
    if (routeStreams.length === 0) continue;
    const feedStreams = routeStreams.filter((s) => FEED_ARGS[s] !== undefined);
    const instStreams = routeStreams.filter((s) => FEED_ARGS[s] === undefined);
    const perSymbol = instStreams.length;
    // OKX advises fewer than 30 channels of 50/400 levels per connection (docs/venues.md §3.5): `books` caps the symbols.
    const symbolsPerConn =
      perSymbol === 0
        ? Math.max(1, symbols.length)
        : Math.min(Math.max(1, Math.floor(MAX_ARGS_PER_CONNECTION / perSymbol)), instStreams.includes("book") ? MAX_BOOK_SYMBOLS_PER_CONNECTION : Infinity);
    for (let i = 0; i < symbols.length; i += symbolsPerConn) {
      const chunk = symbols.slice(i, i + symbolsPerConn).map((s) => s.toUpperCase());
      const first = i === 0;
      const args: Record<string, string>[] = chunk.flatMap((sym) => instStreams.map((st) => ({ channel: CHANNEL[st].channel, instId: okxInstId(sym) })));
      if (first) for (const st of feedStreams) args.push(FEED_ARGS[st]!);
      const subscribeMessages: string[] = [];
      for (let k = 0; k < args.length; k += MAX_ARGS_PER_REQUEST) {
        subscribeMessages.push(JSON.stringify({ op: "subscribe", args: args.slice(k, k + MAX_ARGS_PER_REQUEST) }));
      }
      const planStreams = first ? routeStreams : instStreams;
      const sporadic = planStreams.filter((s) => SPORADIC_STREAMS.has(s));
      // A liquidation-only socket stays alive on the idle text ping and its pong (keepalive below).
      plans.push({
        route,
        url: `${base}/ws/v5/${route}`,
        subscribeMessages,
        streams: planStreams,
        symbols: chunk,
        ...(sporadic.length > 0 ? { sporadicStreams: sporadic } : {}),
      });
    }
  }
  return plans;
}

/*
 * Every row is one object literal with the common columns (exchange … recv_seq) first, in the same
 * order for every stream: no per-row object spread, one shape per stream (issue 10: per-row cost).
 * Fields are read in the order they always were, so the first bad field names the skip reason as before.
 */

/**
 * One data item → one row, or null when a mark-price / funding-rate / open-interest item carries
 * none of its stream's fields (docs/schema-v1.md §1: a row only for a stream the message carries). Times are ms
 * strings; sizes stay in contracts (§3.5).
 */
function rowOf(channel: string, argInstId: string, d: Obj, recv: RecvMeta): Row | null {
  const instId = typeof d.instId === "string" ? d.instId : argInstId;
  const ts = optInt(d, "ts");
  const symbol = unifiedOf(instId);
  switch (channel) {
    case "bbo-tbt": {
      const [bidPx, bidQty] = firstLevel(d, "bids", ["px", "sz"]);
      const [askPx, askQty] = firstLevel(d, "asks", ["px", "sz"]);
      return {
        exchange: "okx",
        symbol,
        exchange_symbol: instId,
        ts_event_ms: ts,
        ts_recv_us: recv.tsRecvUs,
        conn_id: recv.connId,
        recv_seq: recv.recvSeq,
        stream: "bbo",
        bid_px: bidPx,
        bid_qty: bidQty,
        ask_px: askPx,
        ask_qty: askQty,
        update_id: optInt(d, "seqId"),
        ts_tx_ms: null,
      };
    }
    case "trades-all": {
      const side = reqString(d, "side");
      if (side !== "buy" && side !== "sell") throw new FieldError("bad_side:side");
      return {
        exchange: "okx",
        symbol,
        exchange_symbol: instId,
        ts_event_ms: ts,
        ts_recv_us: recv.tsRecvUs,
        conn_id: recv.connId,
        recv_seq: recv.recvSeq,
        stream: "trade",
        trade_id: reqId(d, "tradeId"),
        price: reqFloat(d, "px"),
        qty: reqFloat(d, "sz"),
        side,
        ts_trade_ms: ts,
      };
    }
    case "mark-price": {
      const markPx = optFloat(d, "markPx");
      return markPx === null
        ? null
        : {
            exchange: "okx",
            symbol,
            exchange_symbol: instId,
            ts_event_ms: ts,
            ts_recv_us: recv.tsRecvUs,
            conn_id: recv.connId,
            recv_seq: recv.recvSeq,
            stream: "mark_price",
            mark_price: markPx,
            index_price: null,
          };
    }
    case "funding-rate": {
      const rate = optFloat(d, "fundingRate");
      const time = optInt(d, "fundingTime");
      return rate === null && time === null
        ? null
        : {
            exchange: "okx",
            symbol,
            exchange_symbol: instId,
            ts_event_ms: ts,
            ts_recv_us: recv.tsRecvUs,
            conn_id: recv.connId,
            recv_seq: recv.recvSeq,
            stream: "funding",
            funding_rate: rate,
            funding_time_ms: time,
          };
    }
    case "open-interest": {
      const oi = optFloat(d, "oi");
      const ccy = optFloat(d, "oiCcy");
      const usd = optFloat(d, "oiUsd");
      return oi === null && ccy === null && usd === null
        ? null
        : {
            exchange: "okx",
            symbol,
            exchange_symbol: instId,
            ts_event_ms: ts,
            ts_recv_us: recv.tsRecvUs,
            conn_id: recv.connId,
            recv_seq: recv.recvSeq,
            stream: "open_interest",
            open_interest: oi,
            open_interest_ccy: ccy,
            open_interest_usd: usd,
          };
    }
    default:
      throw new FieldError(`unknown_channel:${channel.slice(0, 40)}`);
  }
}

/**
 * `books` (400 levels): `action` snapshot (prevSeqId -1) then update; one row per data item, levels
 * `[px, sz, "0", count]` kept as px/sz in contracts (count has no column); `checksum` is fixed at 0
 * since 2026-06-23 and not recorded (docs/venues.md §3.5). An empty update with prevSeqId == seqId is a
 * heartbeat and is kept (one row per venue message).
 */
function bookRows(m: Obj, argInstId: string, items: unknown[], recv: RecvMeta): Row[] {
  const action = m.action;
  if (action !== "snapshot" && action !== "update") throw new FieldError("bad_action");
  return items.map((d) => {
    if (!isObject(d)) throw new FieldError("bad_item");
    const instId = typeof d.instId === "string" ? d.instId : argInstId;
    const [bidPx, bidQty] = bookSide(d, "bids");
    const [askPx, askQty] = bookSide(d, "asks");
    const ts = optInt(d, "ts");
    return {
      exchange: "okx",
      symbol: unifiedOf(instId),
      exchange_symbol: instId,
      ts_event_ms: ts,
      ts_recv_us: recv.tsRecvUs,
      conn_id: recv.connId,
      recv_seq: recv.recvSeq,
      stream: "book",
      is_snapshot: action === "snapshot",
      source: "ws",
      update_id: reqInt(d, "seqId"),
      first_update_id: null,
      prev_update_id: optInt(d, "prevSeqId"),
      seq: null,
      ts_tx_ms: null,
      bid_px: bidPx,
      bid_qty: bidQty,
      ask_px: askPx,
      ask_qty: askQty,
    };
  });
}

/**
 * `liquidation-orders`: every SWAP instrument in one feed; `data[]` items carry `instId` and
 * `details[]` (one row per detail): `side` is the liquidation order's side (as sent), `posSide` the
 * position's (`long`/`short`, `net` in net mode), `bkPx` the bankruptcy price, `sz` contracts,
 * `bkLoss`, `ts` (docs/venues.md §3.5). Items of coin- or USDC-margined swaps are counted in
 * `filtered` (never recorded); USDT swaps become rows and the collector drops unconfigured ones.
 * Not time-ordered, per the docs: recorded as sent.
 */
function liquidations(items: unknown[], recv: RecvMeta): ParseResult {
  const rows: LiquidationRow[] = [];
  let filtered = 0;
  for (const d of items) {
    if (!isObject(d)) throw new FieldError("bad_item");
    const instId = reqString(d, "instId");
    const details = d.details;
    if (!Array.isArray(details)) throw new FieldError("bad_details");
    if (!USDT_SWAP.test(instId)) {
      filtered += details.length;
      continue;
    }
    for (const x of details) {
      if (!isObject(x)) throw new FieldError("bad_detail");
      const ts = optInt(x, "ts");
      rows.push({
        exchange: "okx",
        symbol: unifiedOf(instId),
        exchange_symbol: instId,
        ts_event_ms: ts,
        ts_recv_us: recv.tsRecvUs,
        conn_id: recv.connId,
        recv_seq: recv.recvSeq,
        stream: "liquidation",
        side: reqSide(x, "side"),
        price: optFloat(x, "bkPx"),
        avg_price: null,
        qty: reqFloat(x, "sz"),
        orig_qty: null,
        status: null,
        ts_trade_ms: ts,
        last_qty: null,
        pos_side: optString(x, "posSide"),
        bankruptcy_loss: optFloat(x, "bkLoss"),
      });
    }
  }
  if (rows.length === 0 && filtered === 0) throw new FieldError("no_stream_fields");
  return { kind: "rows", rows, ...(filtered > 0 ? { filtered: { stream: "liquidation", count: filtered } } : {}) };
}

/** "channel:tickers,instId:LTC-USD doesn't exist" (both wordings in docs/venues.md §3.2) → "tickers:LTC-USD". */
function topicsOfError(m: Obj): string[] {
  const arg = m.arg;
  if (isObject(arg) && typeof arg.channel === "string") return [`${arg.channel}:${String(arg.instId ?? arg.instType ?? "")}`];
  const found = typeof m.msg === "string" ? /channel:([^,\s]+),\s*instId:([^\s,]+)/.exec(m.msg) : null;
  return found ? [`${found[1]}:${found[2]}`] : [];
}

function event(m: Obj): ParseResult {
  const code = String(m.code ?? "");
  const msg = String(m.msg ?? "");
  switch (m.event) {
    case "subscribe":
    case "unsubscribe":
      return { kind: "ack", detail: isObject(m.arg) ? `${String(m.arg.channel)}:${String(m.arg.instId ?? m.arg.instType ?? "")}` : undefined };
    case "error":
      // Errors concern one arg; the other args of the same request keep running (§3.2).
      return { kind: "subscribe_error", detail: `${code}: ${msg}`, topics: topicsOfError(m) };
    case "notice":
      // 64008: the server drops this connection ~60 s after the notice (§3.4); not an error.
      return { kind: "notice", code, detail: msg, reconnect: code === "64008" };
    case "channel-conn-count":
    case "channel-conn-count-error":
      return { kind: "notice", code: code || String(m.event), detail: msg || JSON.stringify(m).slice(0, 200) };
    default:
      return { kind: "skip", reason: `unknown_event:${String(m.event).slice(0, 40)}` };
  }
}

function parse(text: string, recv: RecvMeta): ParseResult {
  // Keepalive reply is the bare string `pong`, not JSON (§3.4).
  if (text === "pong") return { kind: "pong" };
  const j = parseJson(text);
  if (!j.ok) return { kind: "skip", reason: "invalid_json" };
  const m = j.value;
  if (!isObject(m)) return { kind: "skip", reason: "not_an_object" };
  if ("event" in m) return event(m);
  const arg = m.arg;
  if (!isObject(arg) || typeof arg.channel !== "string") return { kind: "skip", reason: "unknown_message" };
  const channel = arg.channel;
  try {
    const items = m.data;
    if (!Array.isArray(items)) throw new FieldError("bad_data");
    if (items.length === 0) throw new FieldError("empty_data");
    if (channel === "liquidation-orders") return liquidations(items, recv);
    const argInstId = typeof arg.instId === "string" ? arg.instId : "";
    if (channel === "books") return { kind: "rows", rows: bookRows(m, argInstId, items, recv) };
    const rows: Row[] = [];
    for (const d of items) {
      if (!isObject(d)) throw new FieldError("bad_item");
      const row = rowOf(channel, argInstId, d, recv);
      if (row) rows.push(row);
    }
    if (rows.length === 0) throw new FieldError("no_stream_fields");
    return { kind: "rows", rows };
  } catch (err) {
    if (err instanceof FieldError) return { kind: "skip", reason: `${channel.slice(0, 40)}:${err.reason}` };
    throw err;
  }
}

export const okx: ExchangeAdapter = {
  id: "okx",
  streams: ["bbo", "trade", "mark_price", "funding", "open_interest", "liquidation", "book"],
  venueSymbol: okxInstId,
  bookContinuity: "prev_id",
  // unsubscribe + subscribe: a fresh snapshot (prevSeqId -1) follows the subscribe; 2 of the 480 ops/hour.
  bookResync: (symbol) => [
    JSON.stringify({ op: "unsubscribe", args: [{ channel: "books", instId: okxInstId(symbol) }] }),
    JSON.stringify({ op: "subscribe", args: [{ channel: "books", instId: okxInstId(symbol) }] }),
  ],
  subscribeOpsPerHour: 480,
  connections,
  keepalive: {
    // The server closes after 30 s without traffic (4004); `funding-rate` alone pushes only every
    // 30–90 s, so send text `ping` once nothing has arrived for 20 s (docs/venues.md §3.4).
    pingIntervalMs: 20_000,
    pingMode: "idle",
    ping: () => "ping",
    pongTimeoutMs: 10_000,
    idleTimeoutMs: 30_000,
  },
  // trades-all tradeId is consecutive per instrument (docs/venues.md §4).
  contiguousTradeIds: true,
  // funding-rate: one push every 30–90 s; open-interest: every 3 s when changed; mark-price: ≤ 10 s (§3.5).
  silenceThresholdMs: (stream) => (stream === "funding" ? 180_000 : stream === "mark_price" ? 30_000 : 60_000),
  parse,
};
