/** Test helpers: a hand-made `book` row (OKX BTCUSDT on connection c1, an increment with no levels unless overridden). */
import type { BookRow } from "../../src/schema/rows.ts";

/** `recvSeq` is both the row's `recv_seq` and its `ts_recv_us`. */
export function bookRow(o: Partial<BookRow>, recvSeq = 1): BookRow {
  return {
    exchange: "okx",
    symbol: "BTCUSDT",
    exchange_symbol: "BTC-USDT-SWAP",
    ts_event_ms: 1,
    ts_recv_us: recvSeq,
    conn_id: "c1",
    recv_seq: recvSeq,
    stream: "book",
    is_snapshot: false,
    source: "ws",
    update_id: 0,
    first_update_id: null,
    prev_update_id: null,
    seq: null,
    ts_tx_ms: null,
    bid_px: [],
    bid_qty: [],
    ask_px: [],
    ask_qty: [],
    ...o,
  };
}
