/** Scope: the book continuity rules per venue (books/continuity) and the REST anchor's budget and back-off (books/anchor). */
import { describe, expect, test } from "bun:test";
import { BookAnchor } from "../../src/books/anchor.ts";
import { BookContinuity } from "../../src/books/continuity.ts";
import type { FetchResult } from "../../src/books/rest-fetch.ts";
import { adapters } from "../../src/exchanges/index.ts";
import { createLogger } from "../../src/log.ts";
import type { BookRow } from "../../src/schema/rows.ts";
import { Metrics } from "../../src/state/metrics.ts";
import { bookRow as row } from "../helpers/book-row.ts";

describe("BookContinuity", () => {
  test("OKX prev_id: snapshot, chain, empty heartbeat (prev == seq), reset (seqId < prevSeqId) pass; a skipped update is one gap until the next snapshot", () => {
    const c = new BookContinuity();
    const k = (o: Partial<BookRow>) => c.check("prev_id", false, row(o)).kind;
    expect(k({ is_snapshot: true, update_id: 100, prev_update_id: -1 })).toBe("snapshot");
    expect(k({ update_id: 107, prev_update_id: 100 })).toBe("ok");
    expect(k({ update_id: 107, prev_update_id: 107 })).toBe("ok"); // heartbeat
    expect(k({ update_id: 3, prev_update_id: 107 })).toBe("ok"); // venue reset after maintenance
    expect(k({ update_id: 5, prev_update_id: 3 })).toBe("ok");
    expect(c.check("prev_id", false, row({ update_id: 9, prev_update_id: 7 }))).toMatchObject({ kind: "gap", expected: 5, got: 7 });
    expect(c.unsynced("okx")).toBe(1);
    expect(k({ update_id: 11, prev_update_id: 9 })).toBe("ok"); // resync pending: not a second gap
    expect(k({ update_id: 12, prev_update_id: 99 })).toBe("ok");
    expect(c.unsynced("okx")).toBe(1);
    expect(k({ is_snapshot: true, update_id: 20, prev_update_id: -1 })).toBe("snapshot");
    expect(c.unsynced("okx")).toBe(0);
    expect(k({ update_id: 21, prev_update_id: 19 })).toBe("gap"); // checked again after the snapshot
    // An update before any snapshot on a connection is a break; another connection has its own chain.
    expect(k({ conn_id: "c2", update_id: 5, prev_update_id: 4 })).toBe("gap");
    expect(c.unsynced("okx")).toBe(2);
    c.forgetConnection("c2");
    expect(c.unsynced("okx")).toBe(1); // a closed connection's book is no longer waiting
    expect(k({ conn_id: "c2", is_snapshot: true, update_id: 5 })).toBe("snapshot");
    expect(c.unsynced("okx")).toBe(1);
    c.markLost(row({ conn_id: "c2", update_id: 6 }));
    expect(c.unsynced("okx")).toBe(2); // a row lost before the files: not rebuildable until the next snapshot
  });

  test("Bybit consecutive: u+1 per delta; a skipped u is a gap; a u=1 snapshot is a venue reset that starts over", () => {
    const c = new BookContinuity();
    const v = (o: Partial<BookRow>) => c.check("consecutive", false, row({ exchange: "bybit", ...o }));
    expect(v({ is_snapshot: true, update_id: 53935309 })).toEqual({ kind: "snapshot", venueReset: false });
    expect(v({ update_id: 53935310 })).toEqual({ kind: "ok" });
    expect(v({ update_id: 53935312 })).toMatchObject({ kind: "gap", expected: 53935311, got: 53935312 });
    expect(v({ update_id: 53935313 })).toEqual({ kind: "ok" }); // resync pending
    expect(v({ is_snapshot: true, update_id: 1 })).toEqual({ kind: "snapshot", venueReset: true });
    expect(v({ update_id: 2 })).toEqual({ kind: "ok" });
    expect(v({ update_id: 2 })).toMatchObject({ kind: "gap" }); // a repeat is a break too
  });

  test("Binance REST-anchored: first diff asks for an anchor; pu break is a gap; a snapshot older than the chain is stale", () => {
    const c = new BookContinuity();
    const v = (o: Partial<BookRow>) => c.check("prev_id", true, row({ exchange: "binance", ...o }));
    expect(v({ update_id: 160, first_update_id: 157, prev_update_id: 149 })).toEqual({ kind: "needs_anchor" });
    expect(v({ update_id: 170, first_update_id: 161, prev_update_id: 160 })).toEqual({ kind: "ok" });
    expect(v({ source: "rest", is_snapshot: true, update_id: 140 })).toEqual({ kind: "stale_anchor", anchor: 140, chainStart: 149 });
    expect(c.unsynced("binance")).toBe(1); // a stale anchor anchors nothing
    expect(v({ source: "rest", is_snapshot: true, update_id: 165 })).toEqual({ kind: "snapshot", venueReset: false });
    expect(c.unsynced("binance")).toBe(0);
    expect(v({ update_id: 190, first_update_id: 181, prev_update_id: 180 })).toMatchObject({ kind: "gap", expected: 170, got: 180 });
    expect(v({ source: "rest", is_snapshot: true, update_id: 175 })).toMatchObject({ kind: "stale_anchor", chainStart: 180 });
    expect(v({ source: "rest", is_snapshot: true, update_id: 185 })).toMatchObject({ kind: "snapshot" });
  });

  test("Binance ids of three consecutive recorded live frames (btcusdt@depth@100ms, 2026-08): U is not u+1, the pu chain holds", () => {
    const c = new BookContinuity();
    const v = (U: number | null, u: number, pu: number) =>
      c.check("prev_id", true, row({ exchange: "binance", first_update_id: U, update_id: u, prev_update_id: pu })).kind;
    expect(v(null, 11270657298577, 11270657290653)).toBe("needs_anchor"); // U of this frame not copied
    expect(v(11270657298647, 11270657305720, 11270657298577)).toBe("ok");
    expect(v(11270657305889, 11270657314522, 11270657305720)).toBe("ok");
  });
});

describe("BookAnchor", () => {
  const quiet = createLogger("error", () => {});
  function setup(answers: FetchResult[], weightPerMinute: number) {
    const metrics = new Metrics(["binance"], 900_000);
    const rows: BookRow[] = [];
    const urls: string[] = [];
    const anchor = new BookAnchor({
      fetchText: async (url) => {
        urls.push(url);
        return (
          answers.shift() ?? {
            status: 200,
            text: JSON.stringify({ lastUpdateId: 1000 + urls.length, E: 1, T: 1, bids: [["1.5", "2"]], asks: [] }),
            retryAfterS: null,
          }
        );
      },
      log: quiet,
      metrics,
      onRow: (r) => rows.push(r as BookRow),
      isOpen: () => true,
      lastRecvSeq: () => 42,
      nowUs: () => 7,
      weightPerMinute,
    });
    const req = (symbol: string, connId = "c1") =>
      anchor.request({ exchange: "binance", source: adapters.binance.restBook!, baseUrl: "http://h:1", connId, symbol, reason: "test" });
    return { metrics, rows, urls, anchor, req };
  }
  const settle = async (pred: () => boolean) => {
    for (let i = 0; i < 500 && !pred(); i++) await Bun.sleep(2);
  };

  test("the weight budget holds requests back (counted wait), a duplicate request is not repeated, rows carry source=rest", async () => {
    const s = setup([], 40); // two snapshots of weight 20 per minute
    s.req("BTCUSDT");
    s.req("BTCUSDT"); // already pending
    s.req("ETHUSDT");
    s.req("SOLUSDT");
    await settle(() => s.rows.length >= 2);
    await Bun.sleep(20);
    expect(s.urls).toEqual(["http://h:1/fapi/v1/depth?symbol=BTCUSDT&limit=1000", "http://h:1/fapi/v1/depth?symbol=ETHUSDT&limit=1000"]);
    expect(s.rows.map((r) => [r.symbol, r.source, r.is_snapshot, r.conn_id, r.recv_seq])).toEqual([
      ["BTCUSDT", "rest", true, "c1", 42],
      ["ETHUSDT", "rest", true, "c1", 42],
    ]);
    expect(s.anchor.queued()).toBe(1);
    expect(s.metrics.bookRest).toMatchObject({ requests: 2, snapshots: 2, failures: 0 });
    expect(s.metrics.bookRest.waits).toBeGreaterThanOrEqual(1);
    expect(s.anchor.weightUsed()).toBe(40);
    s.anchor.stop();
  });

  test("a snapshot found stale on delivery can ask for another at once (the request is settled first)", async () => {
    const metrics = new Metrics(["binance"], 900_000);
    let fetches = 0;
    let asked = 0;
    const anchor: BookAnchor = new BookAnchor({
      fetchText: async () => ({ status: 200, text: JSON.stringify({ lastUpdateId: ++fetches, bids: [], asks: [] }), retryAfterS: null }),
      log: quiet,
      metrics,
      // The first answer is "stale": ask again from inside the delivery, as books/tracker does.
      onRow: () => {
        if (asked++ === 0) req();
      },
      isOpen: () => true,
      lastRecvSeq: () => 1,
      nowUs: () => 1,
      weightPerMinute: 2400,
    });
    const req = () =>
      anchor.request({ exchange: "binance", source: adapters.binance.restBook!, baseUrl: "http://h:1", connId: "c1", symbol: "BTCUSDT", reason: "test" });
    req();
    await settle(() => metrics.bookRest.snapshots === 2);
    expect(fetches).toBe(2);
    anchor.stop();
  });

  test("429 (Retry-After) pauses every request and keeps the one that failed", async () => {
    const s = setup([{ status: 429, text: "", retryAfterS: 1 }], 2400);
    s.req("BTCUSDT");
    await settle(() => s.metrics.bookRest.rateLimited === 1);
    s.req("ETHUSDT");
    await Bun.sleep(30);
    expect(s.urls).toHaveLength(1); // paused: nothing else sent
    expect(s.anchor.queued()).toBe(2); // the failed one is first again
    expect(s.metrics.bookRest).toMatchObject({ requests: 1, failures: 1, rateLimited: 1 });
    s.anchor.stop();
  });
});
