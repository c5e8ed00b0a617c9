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
        const p = prices[Math.floor(this.m.random() * prices.length)]!;
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
        const p = prices[Math.floor(this.m.random() * prices.length)]!;
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
