/** @module state/rolling — a count over a sliding time window, in fixed buckets (O(1) memory). */

export class RollingCounter {
  private readonly buckets: Float64Array;
  private readonly bucketMs: number;
  private headIndex = 0;
  private headStartMs: number;

  constructor(
    readonly windowMs: number,
    bucketCount = 60,
    nowMs = Date.now(),
  ) {
    this.buckets = new Float64Array(bucketCount);
    this.bucketMs = Math.max(1, Math.ceil(windowMs / bucketCount));
    this.headStartMs = nowMs - (nowMs % this.bucketMs);
  }

  private advance(nowMs: number): void {
    const steps = Math.floor((nowMs - this.headStartMs) / this.bucketMs);
    if (steps <= 0) return;
    const n = this.buckets.length;
    for (let i = 0; i < Math.min(steps, n); i++) {
      this.headIndex = (this.headIndex + 1) % n;
      this.buckets[this.headIndex] = 0;
    }
    this.headStartMs += steps * this.bucketMs;
  }

  add(count: number, nowMs = Date.now()): void {
    this.advance(nowMs);
    this.buckets[this.headIndex]! += count;
  }

  sum(nowMs = Date.now()): number {
    this.advance(nowMs);
    let s = 0;
    for (const v of this.buckets) s += v;
    return s;
  }
}
