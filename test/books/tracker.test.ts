/** Scope: books/tracker — what a break does (count, log, connection event, resync), including a row the queue dropped. */
import { describe, expect, test } from "bun:test";
import type { AnchorRequest, BookAnchor } from "../../src/books/anchor.ts";
import { BookTracker } from "../../src/books/tracker.ts";
import { adapters } from "../../src/exchanges/index.ts";
import { createLogger } from "../../src/log.ts";
import type { BookRow, ConnectionRow } from "../../src/schema/rows.ts";
import { Metrics } from "../../src/state/metrics.ts";
import type { Connection } from "../../src/ws/connection.ts";
import { bookRow } from "../helpers/book-row.ts";

function setup() {
  const metrics = new Metrics(["binance", "okx"], 900_000);
  metrics.declareExchange("okx", ["book"], false);
  metrics.declareExchange("binance", ["book"], false);
  const events: ConnectionRow[] = [];
  const sent: string[] = [];
  const anchors: AnchorRequest[] = [];
  const reconnects: string[] = [];
  const conn = {
    connId: "c1",
    open: true,
    plan: { url: "ws://x", subscribeMessages: ["s"] },
    send: (t: string) => (sent.push(t), true),
    reconnect: (r: string) => reconnects.push(r),
  } as unknown as Connection;
  const tracker = new BookTracker({
    metrics,
    log: createLogger("error", () => {}),
    adapters,
    record: (r) => events.push(r),
    findConnection: () => conn,
    anchor: { request: (r: AnchorRequest) => anchors.push(r) } as unknown as BookAnchor,
    restBaseUrl: (ex) => (ex === "binance" ? "http://h:1" : undefined),
    nowUs: () => 1,
  });
  return { metrics, events, sent, anchors, reconnects, tracker };
}

let n = 0;
const row = (o: Partial<BookRow>): BookRow => bookRow(o, ++n);

describe("BookTracker", () => {
  test("OKX: a prevSeqId break is counted, recorded as a book_gap event and resynced by resubscribing; a dropped row too, once per resync", () => {
    const s = setup();
    s.tracker.onRow(row({ is_snapshot: true, update_id: 10, prev_update_id: -1 }));
    s.tracker.onRow(row({ update_id: 11, prev_update_id: 10 }));
    s.tracker.onRow(row({ update_id: 14, prev_update_id: 12 }));
    expect(s.metrics.bookGapsByExchange.okx).toBe(1);
    expect(s.events.map((e) => [e.event, e.conn_id, e.streams])).toEqual([["book_gap", "c1", "book:BTCUSDT"]]);
    expect(s.sent.map((m) => JSON.parse(m).op)).toEqual(["unsubscribe", "subscribe"]);
    s.tracker.onRow(row({ is_snapshot: true, update_id: 20, prev_update_id: -1 }));
    // The queue drops two rows in a row: one break of the recorded book, one resync.
    const dropped = row({ update_id: 21, prev_update_id: 20 });
    s.tracker.onRow(dropped);
    s.tracker.onDropped(dropped);
    const dropped2 = row({ update_id: 22, prev_update_id: 21 });
    s.tracker.onRow(dropped2);
    s.tracker.onDropped(dropped2);
    expect(s.metrics.bookGapsByExchange.okx).toBe(2);
    expect(s.events).toHaveLength(2);
    expect(s.events[1]!.reason).toContain("queue full");
    expect(s.sent).toHaveLength(4);
  });

  test("Binance: the first diff asks for an anchor, a pu break or a dropped diff asks for a new one", () => {
    const s = setup();
    const b = (o: Partial<BookRow>) => row({ exchange: "binance", exchange_symbol: "BTCUSDT", ...o });
    s.tracker.onRow(b({ update_id: 105, prev_update_id: 100 }));
    s.tracker.onRow(b({ source: "rest", is_snapshot: true, update_id: 104 }));
    s.tracker.onRow(b({ update_id: 110, prev_update_id: 105 }));
    s.tracker.onRow(b({ update_id: 120, prev_update_id: 115 }));
    const d = b({ update_id: 125, prev_update_id: 120 });
    s.tracker.onRow(b({ source: "rest", is_snapshot: true, update_id: 121 }));
    s.tracker.onRow(d);
    s.tracker.onDropped(d);
    expect(s.anchors.map((a) => a.reason)).toEqual([
      "first diff on this connection",
      expect.stringMatching(/^gap: prev_update_id 115/),
      expect.stringMatching(/queue full/),
    ]);
    expect(s.metrics.bookGapsByExchange.binance).toBe(2);
    // A snapshot older than the lost row cannot anchor: another is asked for.
    s.tracker.onRow(b({ source: "rest", is_snapshot: true, update_id: 123 }));
    expect(s.anchors).toHaveLength(4);
    expect(s.anchors[3]!.reason).toContain("older than the diff chain");
    expect(s.sent).toEqual([]);
  });
});
