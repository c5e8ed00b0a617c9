/** Test helpers: a clock that moves only when the test says so (timers fire in due order, each at its own time). */
import type { TimerClock } from "../../src/clock.ts";

interface Timer {
  atMs: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements TimerClock {
  private timers: Timer[] = [];
  private seq = 0;

  constructor(private now = Date.now()) {}

  nowMs(): number {
    return this.now;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { atMs: this.now + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.timers.length;
  }

  /** Milliseconds until the earliest timer is due; null when none is scheduled. */
  nextDueInMs(): number | null {
    const next = this.earliest();
    return next ? next.atMs - this.now : null;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way (also ones scheduled meanwhile). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (let next = this.earliest(); next && next.atMs <= end; next = this.earliest()) {
      this.timers = this.timers.filter((t) => t !== next);
      this.now = Math.max(this.now, next.atMs);
      next.fn();
    }
    this.now = end;
  }

  /** Move time to the earliest timer and fire it; the milliseconds advanced (throws when none is scheduled). */
  advanceToNext(): number {
    const ms = this.nextDueInMs();
    if (ms === null) throw new Error("ManualClock: no timer scheduled");
    this.advance(ms);
    return ms;
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) if (!best || t.atMs < best.atMs || (t.atMs === best.atMs && t.seq < best.seq)) best = t;
    return best;
  }
}
