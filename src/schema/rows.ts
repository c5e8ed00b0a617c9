/** @module schema/rows — the row types of schema v1: the contract between adapters and the writer. */

export const STREAMS = ["bbo", "trade", "mark_price", "funding", "open_interest", "liquidation", "book"] as const;
export type Stream = (typeof STREAMS)[number];

/**
 * Streams with no delivery cadence: a quiet market has no liquidation for hours. They are never
 * expected to deliver by a deadline (no first-data alarm, no silence interval, no data-silence
 * watchdog, no make-before-break wait); a subscription the venue refuses is still an error.
 */
export const SPORADIC_STREAMS: ReadonlySet<Stream> = new Set<Stream>(["liquidation"]);

/** Streams that are opt-in (config STREAMS / --streams): not recorded unless named. */
export const OPT_IN_STREAMS: ReadonlySet<Stream> = new Set<Stream>(["book"]);

export const EXCHANGES = ["binance", "bybit", "okx"] as const;
export type ExchangeId = (typeof EXCHANGES)[number];

/** Columns every stream carries, in file order. */
export interface CommonFields {
  exchange: ExchangeId;
  symbol: string;
  exchange_symbol: string;
  ts_event_ms: number | null;
  ts_recv_us: number;
  conn_id: string;
  recv_seq: number;
}

export interface BboRow extends CommonFields {
  stream: "bbo";
  bid_px: number | null;
  bid_qty: number | null;
  ask_px: number | null;
  ask_qty: number | null;
  update_id: number | null;
  ts_tx_ms: number | null;
}

export interface TradeRow extends CommonFields {
  stream: "trade";
  trade_id: string;
  price: number;
  qty: number;
  side: "buy" | "sell";
  ts_trade_ms: number | null;
}

export interface MarkPriceRow extends CommonFields {
  stream: "mark_price";
  mark_price: number | null;
  index_price: number | null;
}

export interface FundingRow extends CommonFields {
  stream: "funding";
  funding_rate: number | null;
  funding_time_ms: number | null;
}

export interface OpenInterestRow extends CommonFields {
  stream: "open_interest";
  open_interest: number | null;
  open_interest_ccy: number | null;
  open_interest_usd: number | null;
}

/**
 * One row per venue order-book message (issue 11): the levels exactly as sent, qty 0 = delete.
 * `source` = "rest" only for the Binance anchoring snapshot (the one REST call of the product).
 */
export interface BookRow extends CommonFields {
  stream: "book";
  is_snapshot: boolean;
  source: "ws" | "rest";
  /** Binance `u` / REST `lastUpdateId`, Bybit `u`, OKX `seqId`. */
  update_id: number;
  /** Binance `U`. */
  first_update_id: number | null;
  /** Binance `pu`, OKX `prevSeqId`. */
  prev_update_id: number | null;
  /** Bybit `seq` (cross sequence). */
  seq: number | null;
  /** Binance `T`, Bybit `cts` (matching-engine time). */
  ts_tx_ms: number | null;
  bid_px: number[];
  bid_qty: number[];
  ask_px: number[];
  ask_qty: number[];
}

/**
 * One liquidation (README "The liquidation stream"). `side` is the liquidation ORDER's side:
 * `sell` = a long position was closed. Bybit sends the position's side and is converted.
 */
export interface LiquidationRow extends CommonFields {
  stream: "liquidation";
  side: "buy" | "sell";
  /** Binance `p` (order price), Bybit `p` and OKX `bkPx` (bankruptcy price). */
  price: number | null;
  /** Binance `ap` (average fill price). */
  avg_price: number | null;
  /** Venue unit: Binance `z` (accumulated filled), Bybit `v` (base coin), OKX `sz` (contracts). */
  qty: number;
  /** Binance `q` (original order quantity). */
  orig_qty: number | null;
  /** Binance `X` (order status, e.g. FILLED). */
  status: string | null;
  ts_trade_ms: number | null;
  /** Binance `l` (last filled quantity; differs from `z` on partially reported fills). */
  last_qty: number | null;
  /** The liquidated position's side as the venue states it: OKX `posSide` (long/short/net), Bybit `S` (Buy → long, Sell → short). */
  pos_side: string | null;
  /** OKX `bkLoss` (bankruptcy loss). */
  bankruptcy_loss: number | null;
}

export type Row = BboRow | TradeRow | MarkPriceRow | FundingRow | OpenInterestRow | LiquidationRow | BookRow;

/**
 * The `connection` stream: one row per connection lifecycle event, so every gap in the data
 * files can be explained from the data itself (written under the symbol folder ALL).
 */
export type ConnectionEventKind = "connect" | "subscribed" | "disconnect" | "rotate" | "book_gap";

export interface ConnectionRow {
  stream: "connection";
  exchange: ExchangeId;
  conn_id: string;
  event: ConnectionEventKind;
  reason: string | null;
  close_code: number | null;
  /** Local wall-clock time of the event (µs since epoch). */
  ts_us: number;
  url: string | null;
  /** The venue stream names or topics the connection carries, comma-separated. */
  streams: string | null;
}

export const CONNECTION_SYMBOL = "ALL";

/** Anything the writer stores: market-data rows and connection events. */
export type RecordRow = Row | ConnectionRow;
export type FileStream = Stream | "connection";

/** Where a row is filed: its partition and the time that picks the date. */
export function partitionOf(row: RecordRow): { exchange: ExchangeId; stream: FileStream; symbol: string; tsUs: number } {
  return row.stream === "connection"
    ? { exchange: row.exchange, stream: "connection", symbol: CONNECTION_SYMBOL, tsUs: row.ts_us }
    : { exchange: row.exchange, stream: row.stream, symbol: row.symbol, tsUs: row.ts_recv_us };
}
