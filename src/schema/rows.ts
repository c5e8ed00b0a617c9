/** @module schema/rows — the row types of schema v1: the contract between adapters and the writer. */

export const STREAMS = ["bbo", "trade", "mark_price", "funding", "open_interest"] as const;
export type Stream = (typeof STREAMS)[number];

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

export type Row = BboRow | TradeRow | MarkPriceRow | FundingRow | OpenInterestRow;

/**
 * The `connection` stream: one row per connection lifecycle event, so every gap in the data
 * files can be explained from the data itself (written under the symbol folder ALL).
 */
export type ConnectionEventKind = "connect" | "subscribed" | "disconnect" | "rotate";

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
