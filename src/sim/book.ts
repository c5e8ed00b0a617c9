/**
 * @module sim/book — a real evolving order book per (venue, symbol) for the simulator (issue 11):
 * prices on an integer tick grid (so the text the venue sends parses back to exactly the same
 * numbers), 10–40 levels a side, never crossed. `step()` changes a few levels and returns them in
 * the venues' delta form (absolute quantity, 0 = delete); `levels()` is the true book, which tests
 * compare with the book rebuilt from the files.
 */
import { decimalsFor, type Market } from "./types.ts";

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
  private readonly tick: number;
  private readonly decimals: number;

  constructor(
    private readonly m: Market,
    basePrice: number,
  ) {
    this.decimals = decimalsFor(basePrice);
    this.tick = 10 ** -this.decimals;
    const mid = Math.round(basePrice / this.tick);
    for (let k = 1; k <= 20; k++) {
      this.bids.set(mid - k, this.qty());
      this.asks.set(mid + k, this.qty());
    }
  }

  private qty(): string {
    return (0.001 + Math.floor(this.m.random() * 50_000) / 1000).toFixed(3);
  }

  private px(ticks: number): string {
    return (ticks * this.tick).toFixed(this.decimals);
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

  /** A random one of a side's prices (a side never has fewer than MIN_LEVELS levels). */
  private pick(prices: number[]): number {
    const p = prices[Math.floor(this.m.random() * prices.length)];
    if (p === undefined) throw new Error("sim book: a side has no levels");
    return p;
  }

  /** One to four level changes: updates, deletions and insertions, never crossing the book. */
  step(): BookChange {
    const out: BookChange = { bids: [], asks: [] };
    const n = 1 + Math.floor(this.m.random() * 4);
    for (let i = 0; i < n; i++) {
      const bid = this.m.random() < 0.5;
      const side = bid ? this.bids : this.asks;
      const list = bid ? out.bids : out.asks;
      const r = this.m.random();
      const prices = [...side.keys()];
      if (r < 0.25 && side.size > MIN_LEVELS) {
        const p = this.pick(prices);
        if (list.some((l) => l[0] === this.px(p))) continue;
        side.delete(p);
        list.push([this.px(p), "0"]);
      } else if (r < 0.5 && side.size < MAX_LEVELS) {
        // Insert inside the current range or just outside, on the right side of the spread.
        const bb = this.bestBid();
        const ba = this.bestAsk();
        const off = 1 + Math.floor(this.m.random() * 30);
        const p = bid ? Math.min(ba - 1, bb + 2 - off) : Math.max(bb + 1, ba - 2 + off);
        if (side.has(p) || list.some((l) => l[0] === this.px(p))) continue;
        const q = this.qty();
        side.set(p, q);
        list.push([this.px(p), q]);
      } else {
        const p = this.pick(prices);
        if (list.some((l) => l[0] === this.px(p))) continue;
        const q = this.qty();
        side.set(p, q);
        list.push([this.px(p), q]);
      }
    }
    return out;
  }

  /** The whole book, bids high → low, asks low → high, as the venue would print it. */
  levels(): BookView {
    const bids = [...this.bids.entries()].sort((a, b) => b[0] - a[0]).map(([p, q]): Level => [this.px(p), q]);
    const asks = [...this.asks.entries()].sort((a, b) => a[0] - b[0]).map(([p, q]): Level => [this.px(p), q]);
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

  /** `firstId` draws a new book's starting id (after the book itself, so the draws stay in one order). */
  constructor(
    private readonly m: Market,
    private readonly firstId: () => number,
  ) {}

  of(symbol: string): SimBookState {
    let b = this.bySymbol.get(symbol);
    if (!b) this.bySymbol.set(symbol, (b = { book: new SimBook(this.m, this.m.price(symbol)), id: this.firstId(), faults: { skip: 0, reset: false } }));
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
