/** Scope: schema v1 is frozen — this literal copy of docs/schema-v1.md §3 fails on any drift in names, order, types or nullability. */
import { describe, expect, test } from "bun:test";
import { columnsFor } from "../src/schema/v1.ts";

const common = "exchange utf8, symbol utf8, exchange_symbol utf8, ts_event_ms int64?, ts_recv_us int64, conn_id utf8, recv_seq int64";
const V1: Record<string, string> = {
  bbo: `${common}, bid_px float64?, bid_qty float64?, ask_px float64?, ask_qty float64?, update_id int64?, ts_tx_ms int64?`,
  trade: `${common}, trade_id utf8, price float64, qty float64, side utf8, ts_trade_ms int64?`,
  mark_price: `${common}, mark_price float64?, index_price float64?`,
  funding: `${common}, funding_rate float64?, funding_time_ms int64?`,
  open_interest: `${common}, open_interest float64?, open_interest_ccy float64?, open_interest_usd float64?`,
  liquidation: `${common}, side utf8, price float64?, avg_price float64?, qty float64, orig_qty float64?, status utf8?, ts_trade_ms int64?, last_qty float64?, pos_side utf8?, bankruptcy_loss float64?`,
  connection: "exchange utf8, conn_id utf8, event utf8, reason utf8?, close_code int64?, ts_us int64, url utf8?, streams utf8?",
};

describe("schema v1", () => {
  test.each(Object.keys(V1))("%s columns are exactly as specified", (stream) => {
    const got = columnsFor(stream as never)
      .map((c) => `${c.name} ${c.type}${c.nullable ? "?" : ""}`)
      .join(", ");
    expect(got).toBe(V1[stream]!);
  });
});
