/**
 * @module books/continuity — the `book` stream's sequence check, per (connection, symbol), pure and
 * clock-free. Used by the collector (gap → count, log, `book_gap` event, resync) and by book-check
 * on the files, so both see the same breaks. Rules (docs/books.md):
 *  - "prev_id" (Binance `pu`, OKX `prevSeqId`): a non-snapshot row's prev_update_id must equal the
 *    previous row's update_id. OKX may reset its ids (seqId < prevSeqId) and sends empty heartbeats
 *    with prevSeqId == seqId: both satisfy the rule, so update_id is never required to grow.
 *  - "consecutive" (Bybit `u`): a delta's update_id is the previous one + 1; a snapshot (u=1
 *    included: a venue restart) starts over. Evidence (docs/books.md): a live snapshot/delta pair
 *    53935309 → 53935310, and Bybit's full-order-book page says `u` "is consecutive … increments
 *    by one"; the regular-topic page promises nothing, hence the resync cap in books/tracker.
 *  - A venue whose book is anchored by REST (Binance): the first diff on a connection asks for an
 *    anchor; a REST snapshot older than the start of the current unbroken chain cannot anchor it.
 */
import type { BookRow } from "../schema/rows.ts";

export type BookRule = "prev_id" | "consecutive";

export type BookVerdict =
  /** In sequence (or, while a resync is pending, not checked). */
  | { kind: "ok" }
  /** A WebSocket snapshot or a usable REST snapshot: a new segment starts here. */
  | { kind: "snapshot"; venueReset: boolean }
  /** First diff on this connection of a REST-anchored book: fetch a snapshot. */
  | { kind: "needs_anchor" }
  /** The REST snapshot predates the chain (ids between were never seen): fetch another. */
  | { kind: "stale_anchor"; anchor: number; chainStart: number }
  /** A continuity break: count, log, record and resync. */
  | { kind: "gap"; expected: number | null; got: number; detail: string };

interface KeyState {
  exchange: string;
  /** The book of this (connection, symbol) is anchored: a snapshot started the current unbroken chain. */
  synced: boolean;
  lastId: number | null;
  /** REST-anchored: prev_update_id of the first diff of the current unbroken chain. */
  chainStart: number | null;
  /** A resync was asked for; until a snapshot arrives, rows are not checked (one break, one resync). */
  resyncing: boolean;
}

export class BookContinuity {
  private readonly keys = new Map<string, KeyState>();
  /** Books (connection, symbol) that have rows but no valid anchor now, per exchange. */
  private readonly unsyncedBy = new Map<string, number>();

  check(rule: BookRule, restAnchored: boolean, row: BookRow): BookVerdict {
    const key = `${row.conn_id}|${row.symbol}`;
    let st = this.keys.get(key);
    if (!st) {
      this.keys.set(key, (st = { exchange: row.exchange, synced: false, lastId: null, chainStart: null, resyncing: false }));
      this.unsyncedBy.set(row.exchange, (this.unsyncedBy.get(row.exchange) ?? 0) + 1);
    }
    const v = restAnchored ? this.anchored(st, row) : this.selfAnchored(rule, st, row);
    if (v.kind === "snapshot") this.setSynced(st, true);
    else if (v.kind === "gap" || v.kind === "needs_anchor") this.setSynced(st, false);
    return v;
  }

  /**
   * Books seen on open connections whose recorded rows cannot be rebuilt right now (waiting for a
   * first snapshot, a REST anchor or a resync), for `exchange`.
   */
  unsynced(exchange: string): number {
    return this.unsyncedBy.get(exchange) ?? 0;
  }

  private setSynced(st: KeyState, synced: boolean): void {
    if (st.synced === synced) return;
    st.synced = synced;
    this.unsyncedBy.set(st.exchange, (this.unsyncedBy.get(st.exchange) ?? 0) + (synced ? -1 : 1));
  }

  /**
   * A row that was checked here never reached the files (queue full): the recorded chain is broken
   * after it. Rows are not checked until a snapshot newer than it arrives.
   */
  markLost(row: BookRow): void {
    const st = this.keys.get(`${row.conn_id}|${row.symbol}`);
    if (!st) return;
    st.resyncing = true;
    this.setSynced(st, false);
    if (st.chainStart === null || row.update_id > st.chainStart) st.chainStart = row.update_id;
  }

  /** The connection closed: its chains end with it. */
  forgetConnection(connId: string): void {
    for (const [k, st] of this.keys)
      if (k.startsWith(`${connId}|`)) {
        this.setSynced(st, true); // no longer counted as unsynced: the book ended with its connection
        this.keys.delete(k);
      }
  }

  private anchored(st: KeyState, row: BookRow): BookVerdict {
    if (row.source === "rest" || row.is_snapshot) {
      if (st.chainStart !== null && row.update_id < st.chainStart) return { kind: "stale_anchor", anchor: row.update_id, chainStart: st.chainStart };
      st.resyncing = false;
      return { kind: "snapshot", venueReset: false };
    }
    const prev = row.prev_update_id;
    if (st.lastId === null) {
      st.lastId = row.update_id;
      st.chainStart = prev ?? row.update_id;
      return { kind: "needs_anchor" };
    }
    const expected = st.lastId;
    st.lastId = row.update_id;
    if (prev === expected) return { kind: "ok" };
    // The chain restarts at this diff; a snapshot must reach back to it.
    st.chainStart = prev ?? row.update_id;
    st.resyncing = true;
    return { kind: "gap", expected, got: prev ?? -1, detail: `prev_update_id ${prev ?? "null"} != previous update_id ${expected}` };
  }

  private selfAnchored(rule: BookRule, st: KeyState, row: BookRow): BookVerdict {
    if (row.is_snapshot) {
      const venueReset = rule === "consecutive" && row.update_id === 1;
      st.lastId = row.update_id;
      st.resyncing = false;
      return { kind: "snapshot", venueReset };
    }
    const expected = st.lastId;
    if (st.resyncing) {
      st.lastId = row.update_id;
      return { kind: "ok" };
    }
    if (expected === null) {
      st.lastId = row.update_id;
      st.resyncing = true;
      return { kind: "gap", expected: null, got: row.update_id, detail: "update before any snapshot on this connection" };
    }
    st.lastId = row.update_id;
    if (rule === "prev_id") {
      if (row.prev_update_id === expected) return { kind: "ok" };
      st.resyncing = true;
      return {
        kind: "gap",
        expected,
        got: row.prev_update_id ?? -1,
        detail: `prev_update_id ${row.prev_update_id ?? "null"} != previous update_id ${expected}`,
      };
    }
    if (row.update_id === expected + 1) return { kind: "ok" };
    st.resyncing = true;
    return { kind: "gap", expected: expected + 1, got: row.update_id, detail: `update_id ${row.update_id} != previous update_id ${expected} + 1` };
  }
}
