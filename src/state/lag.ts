/** @module state/lag — event-loop lag of the ingest thread: how late a 20 ms timer fires, over a sliding window. */

export interface LagStats {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

/** Upper bounds (seconds) of the lag histogram's buckets; +Inf is implied. */
export const LAG_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** Lifetime lag histogram in seconds (Prometheus: cumulative `le` buckets, sum, count). */
export interface LagHistogram {
  /** Cumulative count of samples ≤ each bound of LAG_BUCKETS_S. */
  buckets: number[];
  sumSeconds: number;
  count: number;
}

export function emptyLagHistogram(): LagHistogram {
  return { buckets: LAG_BUCKETS_S.map(() => 0), sumSeconds: 0, count: 0 };
}

export class LagMonitor {
  private readonly samples: Float64Array;
  private readonly bucketCounts = new Float64Array(LAG_BUCKETS_S.length);
  private sumSeconds = 0;
  private count = 0;
  private n = 0;
  private next = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly intervalMs = 20,
    windowSamples = 3000, // 60 s at 20 ms
  ) {
    this.samples = new Float64Array(windowSamples);
  }

  start(): void {
    let expected = performance.now() + this.intervalMs;
    const tick = () => {
      const now = performance.now();
      this.record(Math.max(0, now - expected));
      expected = now + this.intervalMs;
      this.timer = setTimeout(tick, this.intervalMs);
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  record(lagMs: number): void {
    const s = lagMs / 1000;
    this.sumSeconds += s;
    this.count++;
    for (let i = 0; i < LAG_BUCKETS_S.length; i++) {
      if (s <= LAG_BUCKETS_S[i]!) {
        this.bucketCounts[i]!++;
        break;
      }
    }
    this.samples[this.next] = lagMs;
    this.next = (this.next + 1) % this.samples.length;
    if (this.n < this.samples.length) this.n++;
  }

  histogram(): LagHistogram {
    const buckets: number[] = [];
    let acc = 0;
    for (let i = 0; i < LAG_BUCKETS_S.length; i++) buckets.push((acc += this.bucketCounts[i]!));
    return { buckets, sumSeconds: this.sumSeconds, count: this.count };
  }

  stats(): LagStats {
    if (this.n === 0) return { p50: 0, p99: 0, max: 0, samples: 0 };
    const s = Float64Array.from(this.samples.subarray(0, this.n)).sort();
    const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 100) / 100;
    return { p50: at(0.5), p99: at(0.99), max: Math.round(s[s.length - 1]! * 100) / 100, samples: this.n };
  }
}
