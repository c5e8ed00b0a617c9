/**
 * Scope: what inspect computes from a partition's times and trade ids (inspect/gaps): the largest
 * gaps with the disconnect inside each, trade-id gaps (duplicates across connections are not
 * gaps), and the report's one timeline. Pure; the e2e test (test/e2e/inspect.test.ts) covers files.
 */
import { describe, expect, test } from "bun:test";
import { carries, fillTimeline, largestGaps, tradeIdGaps } from "../../src/inspect/gaps.ts";
import type { Disconnect, PartitionReport } from "../../src/inspect/report.ts";

const disconnect = (ts_us: number, streams: string | null = "trade:BTCUSDT"): Disconnect => ({
  exchange: "binance",
  conn_id: `c-${ts_us}`,
  ts_us,
  reason: null,
  close_code: 1006,
  streams,
});

describe("inspect/gaps", () => {
  test("largestGaps: the n largest, largest first, each with the disconnect inside it", () => {
    const sorted = Float64Array.of(0, 1_000_000, 1_500_000, 5_500_000, 6_000_000);
    const gaps = largestGaps(sorted, 2, [disconnect(2_000_000), disconnect(9_000_000)]);
    expect(gaps).toEqual([
      { from_us: 1_500_000, to_us: 5_500_000, seconds: 4, disconnect: disconnect(2_000_000) },
      { from_us: 0, to_us: 1_000_000, seconds: 1, disconnect: null },
    ]);
    expect(largestGaps(Float64Array.of(5), 3, [])).toEqual([]);
    expect(largestGaps(sorted, 0, [])).toEqual([]);
  });

  test("carries: the connection's streams name stream:SYMBOL, or are unknown", () => {
    expect(carries(disconnect(1), "trade", "BTCUSDT")).toBe(true);
    expect(carries(disconnect(1), "trade", "ETHUSDT")).toBe(false);
    expect(carries(disconnect(1, null), "bbo", "ETHUSDT")).toBe(true);
  });

  test("tradeIdGaps: range, distinct ids, missing ones; duplicates are not gaps; no ids → null", () => {
    const r = tradeIdGaps([10, 11, 11, 15, 12, 20], [1, 2, 3, 4, 5, 6], 5);
    expect(r).toEqual({
      first: 10,
      last: 20,
      distinct: 5,
      missing: 6,
      gaps: [
        { after_id: 15, next_id: 20, missing: 4, at_us: 6 },
        { after_id: 12, next_id: 15, missing: 2, at_us: 4 },
      ],
    });
    expect(tradeIdGaps([], [], 5)).toBeNull();
  });

  test("fillTimeline: one span for every partition, rows counted per bucket", () => {
    const day = Date.parse("2026-01-02T00:00:00Z") * 1000;
    const part = (first: number, last: number): PartitionReport => ({
      exchange: "binance",
      stream: "trade",
      symbol: "BTCUSDT",
      date: "2026-01-02",
      rows: 0,
      files: 1,
      compacted_files: 0,
      bytes: 0,
      first_ts_recv_us: first,
      last_ts_recv_us: last,
      schema_versions: ["v1"],
      gaps: [],
      trade_ids: null,
      sporadic: false,
      book: null,
      per_bucket: [],
      errors: [],
    });
    const a = part(day + 10_000_000, day + 70_000_000);
    const b = part(day + 30_000_000, day + 30_000_000);
    const t = fillTimeline(
      "2026-01-02",
      new Map([
        [a, Float64Array.of(day + 10_000_000, day + 11_000_000, day + 70_000_000)],
        [b, Float64Array.of(day + 30_000_000)],
      ]),
    );
    expect(t).toEqual({ start_us: day + 10_000_000, bucket_us: 1_000_000, buckets: 61 });
    expect(a.per_bucket.length).toBe(61);
    expect([a.per_bucket[0], a.per_bucket[1], a.per_bucket[60], a.per_bucket.reduce((s, n) => s + n, 0)]).toEqual([1, 1, 1, 3]);
    expect([b.per_bucket[20], b.per_bucket.reduce((s, n) => s + n, 0)]).toEqual([1, 1]);
  });
});
