/** Scope: pure state derivation (README.md "Observability": precedence), rolling windows, silence intervals. */
import { describe, expect, test } from "bun:test";
import { RollingCounter } from "../../src/state/rolling.ts";
import { SilenceTracker } from "../../src/state/silence.ts";
import { deriveState, type StateInputs } from "../../src/state/state.ts";

const ok: StateInputs = { fatalError: null, writerFailing: false, connectionsOpen: 4, connectionsPlanned: 4, queueUtilizationPct: 1, drops15m: 0 };

describe("deriveState", () => {
  const cases: Array<{ name: string; patch: Partial<StateInputs>; want: ReturnType<typeof deriveState> }> = [
    { name: "all good", patch: {}, want: "READY" },
    { name: "queue above 80 pct", patch: { queueUtilizationPct: 80.1 }, want: "DEGRADED" },
    { name: "queue at 80 pct exactly", patch: { queueUtilizationPct: 80 }, want: "READY" },
    { name: "a drop in the window", patch: { drops15m: 1 }, want: "DEGRADED" },
    { name: "some connections down", patch: { connectionsOpen: 3 }, want: "DEGRADED" },
    { name: "no connection", patch: { connectionsOpen: 0 }, want: "OFFLINE" },
    { name: "no connection and drops", patch: { connectionsOpen: 0, drops15m: 5 }, want: "OFFLINE" },
    { name: "writer failing beats offline", patch: { connectionsOpen: 0, writerFailing: true }, want: "ERROR" },
    { name: "fatal error", patch: { fatalError: "boom" }, want: "ERROR" },
    { name: "S3 uploads failing, retrying from the spool", patch: { uploadsFailing: true }, want: "DEGRADED" },
    { name: "no connection beats failing uploads", patch: { connectionsOpen: 0, uploadsFailing: true }, want: "OFFLINE" },
    { name: "spool full (SPOOL_MAX_BYTES or disk)", patch: { spoolFull: true, uploadsFailing: true }, want: "ERROR" },
    { name: "spool full beats offline", patch: { connectionsOpen: 0, spoolFull: true }, want: "ERROR" },
  ];
  test.each(cases)("$name → $want", ({ patch, want }) => {
    expect(deriveState({ ...ok, ...patch })).toBe(want);
  });
});

describe("RollingCounter", () => {
  test("counts inside the window and forgets after it", () => {
    const t0 = 1_000_000;
    const c = new RollingCounter(60_000, 60, t0);
    c.add(2, t0);
    c.add(3, t0 + 30_000);
    expect(c.sum(t0 + 30_000)).toBe(5);
    expect(c.sum(t0 + 61_000)).toBe(3);
    expect(c.sum(t0 + 95_000)).toBe(0);
    c.add(1, t0 + 10 * 60_000);
    expect(c.sum(t0 + 10 * 60_000)).toBe(1);
  });
});

describe("SilenceTracker", () => {
  test("opens one interval per silence, only for monitored streams, closes on the next event", () => {
    const s = new SilenceTracker();
    s.watch("okx", "funding", "BTCUSDT", 1000, 0);
    s.watch("okx", "bbo", "BTCUSDT", 1000, 0); // bbo is never monitored
    expect(s.onEvent("okx", "funding", "BTCUSDT", 0)).toBeNull();
    expect(s.check(500)).toEqual([]);
    const opened = s.check(1500);
    expect(opened.map((e) => e.stream)).toEqual(["funding"]);
    expect(s.check(5000)).toEqual([]); // counted once per interval
    expect(s.openIntervals()).toBe(1);
    const ended = s.onEvent("okx", "funding", "BTCUSDT", 6000);
    expect(ended?.stream).toBe("funding");
    expect(ended?.silentMs).toBe(6000);
    expect(s.check(6500)).toEqual([]);
    expect(s.check(7100).length).toBe(1);
  });

  test("a stream that never delivered (its connection never came up) is not silent", () => {
    const s = new SilenceTracker();
    s.watch("bybit", "open_interest", "BTCUSDT", 1000, 0);
    expect(s.check(60_000)).toEqual([]);
    expect(s.openIntervals()).toBe(0);
    s.onEvent("bybit", "open_interest", "BTCUSDT", 61_000); // first event: the clock starts
    expect(s.check(61_500)).toEqual([]);
    expect(s.check(62_100).map((e) => e.silentMs)).toEqual([1100]);
  });
});

describe("LagMonitor", () => {
  test("percentiles over recorded lags, bounded window", async () => {
    const { LagMonitor } = await import("../../src/state/lag.ts");
    const m = new LagMonitor(20, 100);
    expect(m.stats()).toEqual({ p50: 0, p99: 0, max: 0, samples: 0 });
    for (let i = 1; i <= 200; i++) m.record(i); // only the last 100 (101..200) are kept
    const s = m.stats();
    expect(s.samples).toBe(100);
    expect(s.max).toBe(200);
    expect(s.p50).toBe(151);
    expect(s.p99).toBe(200);
  });
});

describe("TradeIdGapTracker", () => {
  test("counts missing ids per symbol; duplicates and overlaps are not gaps", async () => {
    const { TradeIdGapTracker } = await import("../../src/state/trade-gaps.ts");
    const t = new TradeIdGapTracker();
    expect(t.observe("binance", "BTCUSDT", "100", 0)).toBeNull(); // first id: no reference yet
    expect(t.observe("binance", "BTCUSDT", "101", 0)).toBeNull();
    expect(t.observe("binance", "ETHUSDT", "5", 0)).toBeNull(); // per symbol
    expect(t.observe("binance", "BTCUSDT", "105", 0)).toEqual({ kind: "gap", exchange: "binance", symbol: "BTCUSDT", afterId: 101, nextId: 105, missing: 3 });
    expect(t.observe("binance", "BTCUSDT", "103", 0)).toBeNull(); // late duplicate from an overlapping connection
    expect(t.observe("binance", "BTCUSDT", "105", 0)).toBeNull();
    expect(t.observe("binance", "BTCUSDT", "106", 0)).toBeNull();
    expect(t.observe("okx", "BTCUSDT", "x-1", 0)).toBeNull(); // not numeric: not tracked
    expect(t.observe("okx", "BTCUSDT", "7", 0)).toBeNull();
    expect(t.observe("okx", "BTCUSDT", "9", 0)).toMatchObject({ kind: "gap", missing: 1 });
  });

  test("an outlier id is a jump that re-anchors, not billions of gaps; normal ids after it are tracked again", async () => {
    const { TradeIdGapTracker, plausibleJump } = await import("../../src/state/trade-gaps.ts");
    const t = new TradeIdGapTracker();
    let now = 1_000_000;
    expect(t.observe("binance", "BTCUSDT", "1000", now)).toBeNull();
    now += 50;
    expect(t.observe("binance", "BTCUSDT", "9007199254740991", now)).toEqual({
      kind: "jump",
      exchange: "binance",
      symbol: "BTCUSDT",
      afterId: 1000,
      nextId: 9007199254740991,
      bound: plausibleJump(50),
    });
    now += 50;
    // Back to the real sequence: another jump (re-anchor), still no gap counted.
    expect(t.observe("binance", "BTCUSDT", "1001", now)).toMatchObject({ kind: "jump", afterId: 9007199254740991, nextId: 1001 });
    expect(t.observe("binance", "BTCUSDT", "1002", now)).toBeNull();
    expect(t.observe("binance", "BTCUSDT", "1005", now)).toMatchObject({ kind: "gap", missing: 2 });
  });

  test("a real outage of any length is still counted as gaps: the bound grows with the time since the last trade", async () => {
    const { TradeIdGapTracker, plausibleJump } = await import("../../src/state/trade-gaps.ts");
    const t = new TradeIdGapTracker();
    expect(t.observe("okx", "BTCUSDT", "5000000", 0)).toBeNull();
    // One hour without trades (a network outage) at 500 trades/s = 1.8 M missing ids: a gap.
    expect(t.observe("okx", "BTCUSDT", String(5_000_000 + 1_800_001), 3_600_000)).toMatchObject({ kind: "gap", missing: 1_800_000 });
    // The same move within one second is implausible (> 20,000 ids/s): a jump.
    expect(t.observe("okx", "BTCUSDT", String(6_800_001 + plausibleJump(1000) + 1), 3_601_000)).toMatchObject({ kind: "jump" });
    expect(plausibleJump(0)).toBe(10_000);
  });

  test("only ids of 1-16 digits that are safe integers are tracked; the cursor is per (exchange, symbol)", async () => {
    const { TradeIdGapTracker } = await import("../../src/state/trade-gaps.ts");
    const t = new TradeIdGapTracker();
    for (const id of ["", "-1", "1e3", " 5", "5 ", "+5", "0x10", "1.0", "9007199254740992", "9999999999999999", "12345678901234567"]) {
      expect(t.observe("okx", "BTCUSDT", id, 0)).toBeNull();
    }
    // None of them anchored the sequence: the first numeric id is the reference.
    expect(t.observe("okx", "BTCUSDT", "9007199254740990", 0)).toBeNull();
    expect(t.observe("okx", "BTCUSDT", "9007199254740991", 0)).toBeNull();
    expect(t.observe("okx", "BTCUSDT", "0000000000000010", 0)).toMatchObject({ kind: "jump", nextId: 10 });
    // The same symbol on another venue has its own cursor.
    expect(t.observe("binance", "BTCUSDT", "1", 0)).toBeNull();
    expect(t.observe("binance", "BTCUSDT", "3", 0)).toMatchObject({ kind: "gap", exchange: "binance", missing: 1 });
    expect(t.observe("okx", "BTCUSDT", "12", 0)).toMatchObject({ kind: "gap", exchange: "okx", afterId: 10, missing: 1 });
  });
});

describe("FirstDataTracker", () => {
  test("reports subscriptions with no first event by the deadline, once, and clears them on data or close", async () => {
    const { FirstDataTracker } = await import("../../src/state/first-data.ts");
    const t = new FirstDataTracker();
    t.open(
      "binance",
      "c1",
      [
        { stream: "bbo", symbol: "BTCUSDT", deadlineMs: 5000 },
        { stream: "bbo", symbol: "FAKEUSDT", deadlineMs: 5000 },
        { stream: "trade", symbol: "BTCUSDT", deadlineMs: 5000 },
        { stream: "funding", symbol: "BTCUSDT", deadlineMs: 90_000 },
      ],
      1000,
    );
    expect(t.seen("c1", "bbo", "BTCUSDT")).toEqual({ late: null, complete: false });
    expect(t.seen("c1", "bbo", "BTCUSDT")).toBeNull(); // already live
    expect(t.check(5999)).toEqual([]);
    expect(
      t
        .check(6000)
        .map((s) => `${s.stream}:${s.symbol}`)
        .sort(),
    ).toEqual(["bbo:FAKEUSDT", "trade:BTCUSDT"]);
    expect(t.check(9000)).toEqual([]); // once; funding's own, longer deadline has not passed
    expect(t.seen("c1", "funding", "BTCUSDT")).toEqual({ late: null, complete: false });
    expect(t.silent()).toHaveLength(2);
    expect(t.seen("c1", "trade", "BTCUSDT")?.late?.symbol).toBe("BTCUSDT"); // late first data ends the report
    expect(t.silent().map((s) => s.symbol)).toEqual(["FAKEUSDT"]);
    expect(t.seen("c1", "bbo", "FAKEUSDT")).toEqual({ late: expect.objectContaining({ symbol: "FAKEUSDT" }), complete: true });
    t.open("okx", "c2", [{ stream: "funding", symbol: "BTCUSDT", deadlineMs: 1 }], 0);
    expect(t.check(5).map((s) => s.conn_id)).toEqual(["c2"]);
    t.close("c2");
    expect(t.silent()).toEqual([]);
  });

  test("reports in subscription order; a subscription that never delivers does not change the answer for the others", async () => {
    const { FirstDataTracker } = await import("../../src/state/first-data.ts");
    const t = new FirstDataTracker();
    const subs = [
      { stream: "bbo" as const, symbol: "B", deadlineMs: 10 },
      { stream: "trade" as const, symbol: "A", deadlineMs: 10 },
      { stream: "bbo" as const, symbol: "A", deadlineMs: 10 },
      { stream: "trade" as const, symbol: "B", deadlineMs: 10 },
      { stream: "bbo" as const, symbol: "B", deadlineMs: 10 }, // a repeat is one subscription
    ];
    t.open("binance", "c1", subs, 0);
    expect(t.check(10).map((s) => `${s.stream}:${s.symbol}`)).toEqual(["bbo:B", "trade:A", "bbo:A", "trade:B"]);
    expect(t.seen("c1", "trade", "A")?.complete).toBe(false);
    expect(t.seen("c1", "bbo", "A")?.complete).toBe(false);
    expect(t.seen("c1", "bbo", "B")?.complete).toBe(false);
    // trade:B never delivers: the other rows of the connection find nothing to do.
    for (let i = 0; i < 3; i++) {
      expect(t.seen("c1", "bbo", "A")).toBeNull();
      expect(t.seen("c1", "trade", "C")).toBeNull();
      expect(t.seen("c2", "trade", "B")).toBeNull();
    }
    expect(t.silent().map((s) => `${s.stream}:${s.symbol}`)).toEqual(["trade:B"]);
    expect(t.seen("c1", "trade", "B")).toEqual({ late: expect.objectContaining({ stream: "trade", symbol: "B", since_ms: 0 }), complete: true });
    expect(t.silent()).toEqual([]);
  });
});
