/**
 * Scope: src/run/ingest.ts — the ingest hooks and the books built together: the one cycle of the
 * composition root (book anchor's REST rows → ingest hooks → book tracker → anchor) closed by a
 * LateRowSink bound once, loudly refusing a row before it is bound or a second binding.
 */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { BoundedQueue } from "../../src/pipeline/queue.ts";
import { createIngest, LateRowSink } from "../../src/run/ingest.ts";
import { createTrackers } from "../../src/run/trackers.ts";
import { createVenues } from "../../src/run/venues.ts";
import type { RecordRow, Row } from "../../src/schema/rows.ts";
import { Metrics } from "../../src/state/metrics.ts";

const trade: Row = {
  stream: "trade",
  exchange: "binance",
  symbol: "BTCUSDT",
  exchange_symbol: "BTCUSDT",
  ts_event_ms: 1,
  ts_recv_us: 1_000,
  conn_id: "binance-public-t-1",
  recv_seq: 1,
  trade_id: "7",
  price: 1,
  qty: 1,
  side: "buy",
  ts_trade_ms: 1,
};

describe("run/ingest", () => {
  test("LateRowSink: a row before bind and a second bind are errors; once bound, rows reach the target", () => {
    const sink = new LateRowSink();
    expect(() => sink.push(trade)).toThrow("a trade row arrived before the ingest hooks were bound");
    const got: Row[] = [];
    sink.bind((row) => got.push(row));
    expect(() => sink.bind(() => {})).toThrow("bound twice");
    sink.push(trade);
    expect(got).toEqual([trade]);
  });

  function build(streams: string) {
    const config = loadConfig({ EXCHANGES: "binance", SYMBOLS: "BTCUSDT", STREAMS: streams });
    const metrics = new Metrics(config.EXCHANGES, 900_000);
    const venues = createVenues(config, "t");
    const queue = new BoundedQueue<RecordRow>(10);
    const ingest = createIngest(config, {
      log: createLogger("error"),
      metrics,
      trackers: createTrackers(venues.list, config.SYMBOLS, metrics, 0),
      queue,
      writer: { record: () => {} },
      venues,
      onConnectivityChange: () => {},
    });
    return { ingest, queue };
  }

  test("without the book stream: no books; a subscribed row goes through the hooks to the queue", () => {
    const { ingest, queue } = build("bbo,trade");
    expect(ingest.books).toBeNull();
    ingest.hooks.onRow({ ...trade });
    expect(queue.size).toBe(1);
  });

  test("with the book stream: the books (tracker and anchor) are built with the hooks, which file rows", () => {
    const { ingest, queue } = build("trade,book");
    expect(ingest.books?.tracker).toBeDefined();
    expect(ingest.books?.anchor).toBeDefined();
    ingest.hooks.onRow({ ...trade });
    expect(queue.size).toBe(1);
  });
});
