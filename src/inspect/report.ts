/** @module inspect/report — the shape of an inspect report (JSON output, input of inspect/render). */

export interface Disconnect {
  exchange: string;
  conn_id: string;
  ts_us: number;
  reason: string | null;
  close_code: number | null;
  /** `stream:SYMBOL,…` the connection carried. */
  streams: string | null;
}

export interface Gap {
  from_us: number;
  to_us: number;
  seconds: number;
  /** The disconnect (of a connection carrying this stream and symbol) inside the gap, if any. */
  disconnect: Disconnect | null;
}

/** A `book_gap` event of the connection stream: the collector saw a break of that book and resynced it (docs/books.md). */
export interface BookGapEvent {
  conn_id: string;
  ts_us: number;
  reason: string | null;
}

export interface TradeIdGap {
  after_id: number;
  next_id: number;
  missing: number;
  at_us: number;
}

export interface PartitionReport {
  exchange: string;
  stream: string;
  symbol: string;
  date: string;
  rows: number;
  files: number;
  compacted_files: number;
  bytes: number;
  first_ts_recv_us: number | null;
  last_ts_recv_us: number | null;
  schema_versions: string[];
  gaps: Gap[];
  /** Only where ids are contiguous per symbol (Binance @trade / aggTrade, OKX trades-all). */
  trade_ids: { first: number; last: number; distinct: number; missing: number; gaps: TradeIdGap[] } | null;
  /**
   * A stream whose rows come only when something happens (`liquidation`): its gaps are listed but
   * never flagged as a problem — a quiet hour without liquidations is normal.
   */
  sporadic: boolean;
  /** `book` only: snapshot rows (`source = rest`: Binance's REST anchors) and the `book_gap` events of this symbol. */
  book: { snapshots: number; rest_snapshots: number; gap_events: number; gaps: BookGapEvent[] } | null;
  /** Rows per bucket of the report's timeline (see `timeline`). */
  per_bucket: number[];
  errors: string[];
}

export interface InspectReport {
  source: string;
  date: string;
  dates_available: string[];
  generated_at: string;
  timeline: { start_us: number; bucket_us: number; buckets: number };
  partitions: PartitionReport[];
  disconnects: Disconnect[];
  ignored_keys: number;
}
