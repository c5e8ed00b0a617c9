/**
 * @module sim/book — a real evolving order book per (venue, symbol) for the simulator (issue 11):
 * prices on the instrument's tick grid (sim/series), sizes on its lot grid (larger away from the
 * touch), so the text the venue sends parses back to exactly the same numbers; 10–40 levels a side,
 * never crossed. The book follows the instrument's best bid and ask as the market moves (the touch
 * is taken or joined), and most other changes are within a few ticks of the top. `step()` returns
 * the changes in the venues' delta form (absolute quantity, 0 = delete); `levels()` is the true
 * book, which tests compare with the book rebuilt from the files.
 */
import type { Instrument, RandomSource } from "./series.ts";
import type { Market } from "./types.ts";

export type Level = [price: string, qty: string];

export interface BookChange {
  bids: Level[];
  asks: Level[];
}

export interface BookView {
  bids: Level[];
  asks: Level[];
}

const MAX_LEVELS = 40;
const MIN_LEVELS = 10;

export class SimBook {
  /** price in ticks → quantity text */
  private readonly bids = new Map<number, string>();
  private readonly asks = new Map<number, string>();

  /** `contracts`: sizes are whole contracts (OKX, lot 1) rather than the instrument's lot of the base coin. */
  constructor(
    private readonly rng: RandomSource,
    private readonly inst: Instrument,
    private readonly contracts = false,
  ) {
    for (let k = 0; k < 20; k++) {
      this.bids.set(inst.bidTicks - k, this.qty(k));
      this.asks.set(inst.askTicks + k, this.qty(k));
    }
  }

  /** A level's size in lots: the usual heavy tail, deeper levels larger. */
  private qty(away: number): string {
    const lots = this.inst.lots() * (1 + Math.floor(away / 4));
    return this.contracts ? String(lots) : this.inst.qty(lots);
  }

  private bestBid(): number {
    let b = -Infinity;
    for (const p of this.bids.keys()) if (p > b) b = p;
    return b;
  }

  private bestAsk(): number {
    let a = Infinity;
    for (const p of this.asks.keys()) if (p < a) a = p;
    return a;
  }

  /** Up to five level changes: the touch following the instrument, then 1–3 changes near the top; never crossing, never a price twice. */
  step(): BookChange {
    const out: BookChange = { bids: [], asks: [] };
    const touched = { bid: new Set<number>(), ask: new Set<number>() };
    const set = (bid: boolean, p: number, q: string) => {
      const side = bid ? this.bids : this.asks;
      if (q === "0") side.delete(p);
      else side.set(p, q);
      touched[bid ? "bid" : "ask"].add(p);
      (bid ? out.bids : out.asks).push([this.inst.px(p), q]);
    };
    const free = (bid: boolean, p: number) => !touched[bid ? "bid" : "ask"].has(p);
    const far = (bid: boolean) => {
      const side = bid ? this.bids : this.asks;
      let w = bid ? Infinity : -Infinity;
      for (const p of side.keys()) if (bid ? p < w : p > w) w = p;
      return w;
    };
    // The touch follows the instrument: a best level beyond its price is taken (a level further out
    // replaces it when the side is at its minimum); its price, if inside the spread, is joined.
    for (const bid of [true, false]) {
      const side = bid ? this.bids : this.asks;
      const target = bid ? this.inst.bidTicks : this.inst.askTicks;
      const best = bid ? this.bestBid() : this.bestAsk();
      if (bid ? best > target : best < target) {
        if (side.size <= MIN_LEVELS) set(bid, far(bid) + (bid ? -1 : 1), this.qty(20));
        set(bid, best, "0");
      } else if (best !== target && (bid ? target < this.bestAsk() : target > this.bestBid())) set(bid, target, this.qty(0));
    }
    const n = 1 + Math.floor(this.rng.random() * 3);
    for (let i = 0; i < n; i++) {
      const bid = this.rng.random() < 0.5;
      const side = bid ? this.bids : this.asks;
      const best = bid ? this.bestBid() : this.bestAsk();
      // Mostly within a few ticks of the top.
      const away = Math.floor(-Math.log(1 - this.rng.random()) * 4);
      const p = bid ? best - away : best + away;
      if (!free(bid, p)) continue;
      const r = this.rng.random();
      if (side.has(p) && r < 0.2 && side.size > MIN_LEVELS) set(bid, p, "0");
      else set(bid, p, this.qty(away));
    }
    for (const bid of [true, false]) {
      const side = bid ? this.bids : this.asks;
      while (side.size > MAX_LEVELS) {
        const p = far(bid);
        if (!free(bid, p)) break;
        set(bid, p, "0");
      }
    }
    return out;
  }

  /** The whole book, bids high → low, asks low → high, as the venue would print it. */
  levels(): BookView {
    const bids = [...this.bids.entries()].sort((a, b) => b[0] - a[0]).map(([p, q]): Level => [this.inst.px(p), q]);
    const asks = [...this.asks.entries()].sort((a, b) => a[0] - b[0]).map(([p, q]): Level => [this.inst.px(p), q]);
    return { bids, asks };
  }
}

/** Book faults of one (venue, symbol), consumed by the venue generator. */
export interface BookFaults {
  /** Updates to apply to the book but never send (a skipped update: the client must see a break). */
  skip: number;
  /** Bybit: next message is a snapshot with u=1; OKX: next update has seqId < prevSeqId. */
  reset: boolean;
}

/** One symbol's book on a venue: the true book, the venue's last update id and the faults queued for it. */
export interface SimBookState {
  book: SimBook;
  id: number;
  faults: BookFaults;
}

/** A venue's books, one per symbol, each created on first use. */
export class SimBooks {
  private readonly bySymbol = new Map<string, SimBookState>();

  /** `firstId` draws a new book's starting id (after the book itself, so the draws stay in one order); `contracts`: sizes in whole contracts (OKX). */
  constructor(
    private readonly m: Market,
    private readonly firstId: () => number,
    private readonly contracts = false,
  ) {}

  of(symbol: string): SimBookState {
    let b = this.bySymbol.get(symbol);
    if (!b)
      this.bySymbol.set(
        symbol,
        (b = { book: new SimBook(this.m, this.m.instrument(symbol), this.contracts), id: this.firstId(), faults: { skip: 0, reset: false } }),
      );
    return b;
  }

  /** The true book and its last id (GET /_sim/book); null before the symbol's first subscribe. */
  view(symbol: string): { update_id: number; bids: Level[]; asks: Level[] } | null {
    const b = this.bySymbol.get(symbol.toUpperCase());
    return b ? { update_id: b.id, ...b.book.levels() } : null;
  }

  /** Queues a fault; false for a `reset` on a venue that has none (`resets` false). */
  fault(symbol: string, kind: "skip" | "reset", n: number, resets: boolean): boolean {
    if (kind !== "skip" && !resets) return false;
    const b = this.of(symbol.toUpperCase());
    if (kind === "skip") b.faults.skip += n;
    else b.faults.reset = true;
    return true;
  }

  /** Applies the queued skips: each an update applied to the venue's book and never sent, `advance` moving the id past it. */
  skipQueued(b: SimBookState, advance: () => void): void {
    while (b.faults.skip > 0) {
      b.faults.skip--;
      b.book.step();
      advance();
    }
  }
}
