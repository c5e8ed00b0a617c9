/** @module schema/v1 — the one place that defines Parquet schema v1: columns, order, types, metadata. */
import type { FileStream, Stream } from "./rows.ts";
import { SCHEMA_VERSION } from "../version.ts";

export type ColumnType = "utf8" | "int64" | "float64" | "bool" | "list_f64";

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
}

const col = (name: string, type: ColumnType, nullable: boolean): ColumnDef => ({ name, type, nullable });

/** docs/schema-v1.md §3: common columns, in order. */
export const COMMON_COLUMNS: readonly ColumnDef[] = [
  col("exchange", "utf8", false),
  col("symbol", "utf8", false),
  col("exchange_symbol", "utf8", false),
  col("ts_event_ms", "int64", true),
  col("ts_recv_us", "int64", false),
  col("conn_id", "utf8", false),
  col("recv_seq", "int64", false),
];

/** docs/schema-v1.md §3: per-stream columns, after the common ones. */
export const STREAM_COLUMNS: Readonly<Record<Stream, readonly ColumnDef[]>> = {
  bbo: [
    col("bid_px", "float64", true),
    col("bid_qty", "float64", true),
    col("ask_px", "float64", true),
    col("ask_qty", "float64", true),
    col("update_id", "int64", true),
    col("ts_tx_ms", "int64", true),
  ],
  trade: [
    col("trade_id", "utf8", false),
    col("price", "float64", false),
    col("qty", "float64", false),
    col("side", "utf8", false),
    col("ts_trade_ms", "int64", true),
  ],
  mark_price: [col("mark_price", "float64", true), col("index_price", "float64", true)],
  funding: [col("funding_rate", "float64", true), col("funding_time_ms", "int64", true)],
  open_interest: [col("open_interest", "float64", true), col("open_interest_ccy", "float64", true), col("open_interest_usd", "float64", true)],
  liquidation: [
    col("side", "utf8", false),
    col("price", "float64", true),
    col("avg_price", "float64", true),
    col("qty", "float64", false),
    col("orig_qty", "float64", true),
    col("status", "utf8", true),
    col("ts_trade_ms", "int64", true),
    col("last_qty", "float64", true),
    col("pos_side", "utf8", true),
    col("bankruptcy_loss", "float64", true),
  ],
  book: [
    col("is_snapshot", "bool", false),
    col("source", "utf8", false),
    col("update_id", "int64", false),
    col("first_update_id", "int64", true),
    col("prev_update_id", "int64", true),
    col("seq", "int64", true),
    col("ts_tx_ms", "int64", true),
    col("bid_px", "list_f64", false),
    col("bid_qty", "list_f64", false),
    col("ask_px", "list_f64", false),
    col("ask_qty", "list_f64", false),
  ],
};

/** The `connection` stream's own schema (no market-data common columns). */
export const CONNECTION_COLUMNS: readonly ColumnDef[] = [
  col("exchange", "utf8", false),
  col("conn_id", "utf8", false),
  col("event", "utf8", false),
  col("reason", "utf8", true),
  col("close_code", "int64", true),
  col("ts_us", "int64", false),
  col("url", "utf8", true),
  col("streams", "utf8", true),
];

export function columnsFor(stream: FileStream): readonly ColumnDef[] {
  return stream === "connection" ? CONNECTION_COLUMNS : [...COMMON_COLUMNS, ...STREAM_COLUMNS[stream]];
}

/** String columns with few distinct values per file: dictionary-encode these only (few distinct values per file; docs/schema-v1.md §6). */
export const DICTIONARY_COLUMNS: ReadonlySet<string> = new Set([
  "exchange",
  "symbol",
  "exchange_symbol",
  "conn_id",
  "side",
  "event",
  "status",
  "pos_side",
  "source",
]);

export interface FileIdentity {
  exchange: string;
  stream: FileStream;
  symbol: string;
  instanceId: string;
  collectorVersion: string;
}

/** docs/schema-v1.md §6: key-value metadata written into every file. */
export function fileMetadata(id: FileIdentity): Map<string, string> {
  return new Map([
    ["schema_version", SCHEMA_VERSION],
    ["collector_version", id.collectorVersion],
    ["exchange", id.exchange],
    ["stream", id.stream],
    ["symbol", id.symbol],
    ["instance_id", id.instanceId],
  ]);
}
