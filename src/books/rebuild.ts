/**
 * @module books/rebuild — rebuild order books from recorded `book` rows alone (book-check, issue 11),
 * segment by segment per (exchange, symbol, connection): a segment starts at a snapshot (WebSocket
 * snapshot, or a REST snapshot for REST-anchored venues, whose diffs received before the answer are
 * replayed from it). Breaks are found with the collector's own rules (books/continuity); a break is
 * explained when the files hold a `book_gap` event of the connection for that symbol. Pure.
 */
import type { BookRow } from "../schema/rows.ts";
import { BookContinuity, type BookRule } from "./continuity.ts";

export interface VenueBookRule {
  rule: BookRule;
  restAnchored: boolean;
}

export interface GapEvent {
  exchange: string;
  conn_id: string;
  /** `book:SYMBOL` */
  streams: string | null;
}

export interface SymbolReport {
  exchange: string;
  symbol: string;
  connections: number;
  segments: number;
  rows: number;
  applied: number;
  breaks: number;
  unexplained_breaks: number;
  /** Rows after which the rebuilt book was crossed (best bid ≥ best ask). */
  crossed: number;
  /** REST snapshots that could not anchor the diffs (older than the chain) and were re-fetched. */
  stale_snapshots: number;
  /** Venue resets (Bybit u=1 snapshot). */
  venue_resets: number;
  /** The book at the end of the latest connection's last valid segment (null: never anchored). */
  bid_levels: number;
  ask_levels: number;
  final: { bids: [number, number][]; asks: [number, number][] } | null;
}

interface Book {
  bids: Map<number, number>;
  asks: Map<number, number>;
}

function apply(book: Book, r: BookRow): void {
  applySide(book.bids, r.bid_px, r.bid_qty);
  applySide(book.asks, r.ask_px, r.ask_qty);
}

/** Quantity 0 deletes a level. The writer keeps prices and quantities the same length; a price without a quantity is no level. */
function applySide(levels: Map<number, number>, px: readonly number[], qty: readonly number[]): void {
  for (const [i, p] of px.entries()) {
    const q = qty[i];
    if (q === 0) levels.delete(p);
    else if (q !== undefined) levels.set(p, q);
  }
}

function crossed(book: Book): boolean {
  if (book.bids.size === 0 || book.asks.size === 0) return false;
  let bid = -Infinity;
  for (const p of book.bids.keys()) if (p > bid) bid = p;
  let ask = Infinity;
  for (const p of book.asks.keys()) if (p < ask) ask = p;
  return bid >= ask;
}

export function sortedLevels(book: Book): { bids: [number, number][]; asks: [number, number][] } {
  return {
    bids: [...book.bids.entries()].sort((a, b) => b[0] - a[0]),
    asks: [...book.asks.entries()].sort((a, b) => a[0] - b[0]),
  };
}

/** Rebuild every (exchange, symbol) from its rows; `rules` per exchange (from the adapters). */
export function rebuildBooks(rows: readonly BookRow[], gaps: readonly GapEvent[], rules: Readonly<Record<string, VenueBookRule>>): SymbolReport[] {
  const gapBudget = gapEventsPerBook(gaps);
  const reports = new Map<string, SymbolReport & { lastTs: number }>();
  for (const [key, list] of rowsByConnection(rows)) {
    const [exchange, symbol, connId] = key.split("|") as [string, string, string];
    const rule = rules[exchange];
    if (!rule) continue;
    // Arrival order on the connection; a REST snapshot sorts right after the diff it followed.
    list.sort((a, b) => a.recv_seq - b.recv_seq || (a.source === b.source ? 0 : a.source === "ws" ? -1 : 1) || a.ts_recv_us - b.ts_recv_us);
    let rep = reports.get(`${exchange}|${symbol}`);
    if (!rep) reports.set(`${exchange}|${symbol}`, (rep = { ...emptyReport(exchange, symbol), lastTs: -Infinity }));
    rep.connections++;
    const { book, valid } = replayConnection(list, rule, rep, gapBudget, `${exchange}|${connId}|${symbol}`);
    const lastTs = list.reduce((m, r) => Math.max(m, r.ts_recv_us), -Infinity);
    if (lastTs >= rep.lastTs) {
      // The latest connection's book; null while it waits for a resync snapshot.
      rep.lastTs = lastTs;
      rep.final = valid ? sortedLevels(book) : null;
      rep.bid_levels = valid ? book.bids.size : 0;
      rep.ask_levels = valid ? book.asks.size : 0;
    }
  }
  return [...reports.values()].map(({ lastTs: _t, ...r }) => r).sort((a, b) => a.exchange.localeCompare(b.exchange) || a.symbol.localeCompare(b.symbol));
}

/** `book_gap` events per `exchange|conn_id|SYMBOL`: how many breaks of that book they explain. */
function gapEventsPerBook(gaps: readonly GapEvent[]): Map<string, number> {
  const budget = new Map<string, number>();
  for (const g of gaps) {
    const sym = g.streams?.startsWith("book:") ? g.streams.slice(5) : null;
    if (!sym) continue;
    const k = `${g.exchange}|${g.conn_id}|${sym}`;
    budget.set(k, (budget.get(k) ?? 0) + 1);
  }
  return budget;
}

/** Rows per `exchange|symbol|conn_id`, in input order. */
function rowsByConnection(rows: readonly BookRow[]): Map<string, BookRow[]> {
  const byConn = new Map<string, BookRow[]>();
  for (const r of rows) {
    const k = `${r.exchange}|${r.symbol}|${r.conn_id}`;
    let l = byConn.get(k);
    if (!l) byConn.set(k, (l = []));
    l.push(r);
  }
  return byConn;
}

function emptyReport(exchange: string, symbol: string): SymbolReport {
  return {
    exchange,
    symbol,
    connections: 0,
    segments: 0,
    rows: 0,
    applied: 0,
    breaks: 0,
    unexplained_breaks: 0,
    crossed: 0,
    stale_snapshots: 0,
    venue_resets: 0,
    bid_levels: 0,
    ask_levels: 0,
    final: null,
  };
}

/**
 * Replay one connection's rows (in arrival order) with the collector's continuity rules, counting
 * into `rep`; a break spends one of the connection's `book_gap` events (`gapBudget[gk]`) or is
 * unexplained. Returns the book at the end and whether it is valid (anchored, unbroken since).
 */
function replayConnection(list: BookRow[], rule: VenueBookRule, rep: SymbolReport, gapBudget: Map<string, number>, gk: string): { book: Book; valid: boolean } {
  const cont = new BookContinuity();
  let book: Book = { bids: new Map(), asks: new Map() };
  let valid = false;
  let pending: BookRow[] = [];
  const step = (r: BookRow) => {
    apply(book, r);
    rep.applied++;
    if (crossed(book)) rep.crossed++;
  };
  for (const r of list) {
    rep.rows++;
    const v = cont.check(rule.rule, rule.restAnchored, r);
    switch (v.kind) {
      case "snapshot": {
        book = { bids: new Map(), asks: new Map() };
        rep.segments++;
        if (v.venueReset) rep.venue_resets++;
        step(r);
        valid = true;
        if (rule.restAnchored) {
          // Diffs that arrived before the answer and are newer than it belong to this segment.
          for (const d of pending) if (d.update_id > r.update_id) step(d);
          pending = [];
        }
        break;
      }
      case "needs_anchor":
        pending = [r];
        valid = false;
        break;
      case "stale_anchor":
        rep.stale_snapshots++;
        break;
      case "gap": {
        rep.breaks++;
        const left = gapBudget.get(gk) ?? 0;
        if (left > 0) gapBudget.set(gk, left - 1);
        else rep.unexplained_breaks++;
        valid = false;
        pending = rule.restAnchored ? [r] : [];
        break;
      }
      case "ok":
        if (valid) step(r);
        else if (rule.restAnchored) pending.push(r);
        break;
    }
  }
  return { book, valid };
}
