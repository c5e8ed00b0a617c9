/** Writer unit-test fixtures: options (small buffers, no flush gap, fast retries) and trade rows. */
import type { WriterOptions } from "../../src/pipeline/writer.ts";
import type { ExchangeId, TradeRow } from "../../src/schema/rows.ts";

export const testWriterOptions = (o: Partial<WriterOptions> = {}): WriterOptions => ({
  bufferSize: 100,
  flushIntervalMs: 60_000,
  minFlushGapMs: 0,
  maxInflightUploads: 4,
  instanceId: "abcd1234",
  collectorVersion: "0.0.0-test",
  retryBudget: 2,
  retryBackoff: { baseMs: 20, maxMs: 50 },
  maxBacklogRows: 1_000_000,
  ...o,
});

/** Trade row i received at `tsRecvUs` (µs); ts_event_ms follows it. */
export function testTrade(i: number, tsRecvUs: number, symbol = "BTCUSDT", exchange: ExchangeId = "binance"): TradeRow {
  return {
    stream: "trade",
    exchange,
    symbol,
    exchange_symbol: symbol,
    ts_event_ms: Math.floor(tsRecvUs / 1000),
    ts_recv_us: tsRecvUs,
    conn_id: "c1",
    recv_seq: i,
    trade_id: String(i),
    price: 100 + i,
    qty: 1,
    side: "buy",
    ts_trade_ms: null,
  };
}
