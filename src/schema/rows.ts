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
