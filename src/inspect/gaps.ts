/**
 * @module inspect/gaps — what inspect computes from a partition's sorted receive times and trade
 * ids: the largest gaps (each with the disconnect inside it, if any), trade-id gaps, and the
 * report's one timeline of rows per bucket.
 */
import { at } from "../compact/columns.ts";
import type { Disconnect, Gap, PartitionReport, TradeIdGap } from "./report.ts";

/** The connection carried `stream:SYMBOL` (or its `streams` is unknown). */
export function carries(d: Disconnect, stream: string, symbol: string): boolean {
  if (d.streams === null) return true;
  return d.streams.split(",").includes(`${stream}:${symbol}`);
}

/** The `n` largest gaps between consecutive times, largest first. */
export function largestGaps(sorted: Float64Array, n: number, disconnects: Disconnect[]): Gap[] {
  const top: Array<{ from: number; to: number; d: number }> = [];
  let prev = Number.NaN;
  for (const [i, to] of sorted.entries()) {
    const from = prev;
    prev = to;
    if (i === 0) continue;
    const d = to - from;
    const smallest = top[top.length - 1];
    if (top.length < n || (smallest !== undefined && d > smallest.d)) {
      top.push({ from, to, d });
      top.sort((a, b) => b.d - a.d);
      if (top.length > n) top.pop();
    }
  }
  return top.map(({ from, to, d }) => ({
    from_us: from,
    to_us: to,
    seconds: d / 1e6,
    disconnect: disconnects.find((x) => x.ts_us >= from && x.ts_us <= to) ?? null,
  }));
}

/** Trade ids (`at[i]`: receive time of `ids[i]`): range, distinct count, missing ids and the `n` largest gaps; null without ids. */
export function tradeIdGaps(ids: number[], atUs: number[], n: number): PartitionReport["trade_ids"] {
  const order = ids.map((_, i) => i).sort((a, b) => at(ids, a) - at(ids, b));
  const firstIndex = order[0];
  const lastIndex = order[order.length - 1];
  if (firstIndex === undefined || lastIndex === undefined) return null;
  const gaps: TradeIdGap[] = [];
  let distinct = 0;
  let prev = Number.NaN;
  for (const i of order) {
    const id = at(ids, i);
    if (id === prev) continue; // duplicates across connections (rotation overlap)
    distinct++;
    if (!Number.isNaN(prev) && id > prev + 1) gaps.push({ after_id: prev, next_id: id, missing: id - prev - 1, at_us: at(atUs, i) });
    prev = id;
  }
  const first = at(ids, firstIndex);
  const last = at(ids, lastIndex);
  gaps.sort((a, b) => b.missing - a.missing);
  return { first, last, distinct, missing: last - first + 1 - distinct, gaps: gaps.slice(0, n) };
}

/** A "nice" bucket width so a day is at most 1,440 buckets (rows per minute), a short run finer. */
function bucketUs(spanUs: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60].map((s) => s * 1_000_000);
  return steps.find((s) => spanUs / s <= 1440) ?? 60_000_000;
}

/**
 * One timeline for the whole report: the data's span on that date (the whole day when there is
 * none), in buckets; sets each partition's rows per bucket from its sorted times.
 */
export function fillTimeline(date: string, times: Map<PartitionReport, Float64Array>): { start_us: number; bucket_us: number; buckets: number } {
  const partitions = [...times.keys()];
  const firsts = partitions.map((p) => p.first_ts_recv_us).filter((x): x is number => x !== null);
  const lasts = partitions.map((p) => p.last_ts_recv_us).filter((x): x is number => x !== null);
  const dayStart = Date.parse(`${date}T00:00:00Z`) * 1000;
  let start = firsts.length ? Math.min(...firsts) : dayStart;
  const end = lasts.length ? Math.max(...lasts) : dayStart + 86_400e6;
  const bucket = bucketUs(end - start + 1);
  start = dayStart + Math.floor((start - dayStart) / bucket) * bucket;
  const buckets = Math.max(1, Math.ceil((end + 1 - start) / bucket));
  for (const [p, sorted] of times) {
    const counts = new Array<number>(buckets).fill(0);
    for (const t of sorted) {
      const k = Math.min(buckets - 1, Math.floor((t - start) / bucket));
      counts[k] = at(counts, k) + 1;
    }
    p.per_bucket = counts;
  }
  return { start_us: start, bucket_us: bucket, buckets };
}
