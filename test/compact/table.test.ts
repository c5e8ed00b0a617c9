/**
 * Scope: the pieces `compact` trusts before deleting anything: the row checksum (order-independent,
 * sensitive to a lost, duplicated or changed row, nulls included), the sort order, and which
 * period a file belongs to and when that period is closed (injected clock).
 */
import { describe, expect, test } from "bun:test";
import { groupObjects } from "../../src/compact/compact.ts";
import { checksum, concat, isSorted, sortOrder, type Decoded } from "../../src/compact/table.ts";
import { columnsFor } from "../../src/schema/v1.ts";

function trades(rows: Array<[number, string, number, string, number | null]>): Decoded {
  const defs = columnsFor("trade");
  const n = rows.length;
  const col = (name: string) => defs.find((d) => d.name === name)!;
  const str = (name: string, f: (r: (typeof rows)[0]) => string) => ({ def: col(name), strings: rows.map(f) });
  const num = (name: string, f: (r: (typeof rows)[0]) => number | null) => {
    const vals = rows.map(f);
    const valid = vals.some((v) => v === null) ? Uint8Array.from(vals, (v) => (v === null ? 0 : 1)) : undefined;
    return { def: col(name), numbers: Float64Array.from(vals, (v) => v ?? 0), valid };
  };
  const columns = [
    str("exchange", () => "binance"),
    str("symbol", () => "BTCUSDT"),
    str("exchange_symbol", () => "BTCUSDT"),
    num("ts_event_ms", (r) => r[4]),
    num("ts_recv_us", (r) => r[0]),
    str("conn_id", (r) => r[1]),
    num("recv_seq", (r) => r[2]),
    str("trade_id", (r) => r[3]),
    num("price", () => 100.5),
    num("qty", () => 0.25),
    str("side", () => "buy"),
    num("ts_trade_ms", () => null),
  ];
  expect(columns.map((c) => c.def.name)).toEqual(defs.map((d) => d.name));
  return { length: n, columns, metadata: new Map() };
}

const ROWS: Array<[number, string, number, string, number | null]> = [
  [3_000_000, "c-1", 3, "12", 3000],
  [1_000_000, "c-1", 1, "10", null],
  [2_000_000, "c-2", 9, "11", 2000],
  [2_000_000, "c-1", 2, "11", 2000],
];

describe("compact/table", () => {
  test("checksum: same rows in any order or split → same; a lost, duplicated, changed or nulled row → different", () => {
    const base = checksum(trades(ROWS));
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(checksum(trades([...ROWS].reverse()))).toBe(base);
    expect(checksum(concat([trades(ROWS.slice(0, 1)), trades(ROWS.slice(1))], "trade"))).toBe(base);
    const variants = [
      ROWS.slice(1),
      [...ROWS, ROWS[0]!],
      ROWS.map((r, i) => (i === 2 ? ([r[0], r[1], r[2], "12", r[4]] as (typeof ROWS)[0]) : r)),
      ROWS.map((r, i) => (i === 0 ? ([r[0] + 1, r[1], r[2], r[3], r[4]] as (typeof ROWS)[0]) : r)),
      ROWS.map((r, i) => (i === 0 ? ([r[0], r[1], r[2], r[3], null] as (typeof ROWS)[0]) : r)),
      ROWS.map((r, i) => (i === 1 ? ([r[0], r[1], r[2], r[3], 0] as (typeof ROWS)[0]) : r)), // null vs 0
    ];
    const sums = variants.map((v) => checksum(trades(v)));
    for (const s of sums) expect(s).not.toBe(base);
    expect(new Set(sums).size).toBe(sums.length);
  });

  test("sort by (ts_recv_us, conn_id, recv_seq)", () => {
    const t = trades(ROWS);
    expect(isSorted(t, "trade")).toBe(false);
    expect([...sortOrder(t, "trade")]).toEqual([1, 3, 2, 0]);
    expect(isSorted(trades([ROWS[1]!, ROWS[3]!, ROWS[2]!, ROWS[0]!]), "trade")).toBe(true);
  });

  test("periods: day and hour of a file (from its name), compacted files, foreign files ignored", () => {
    const d = "v1/okx/trade/BTCUSDT/date=2026-11-24";
    const objs = [
      `${d}/${Date.parse("2026-11-24T00:00:01Z") * 1000}-ab12cd34-1.parquet`,
      `${d}/${Date.parse("2026-11-24T13:59:59Z") * 1000}-ab12cd34-2.parquet`,
      `${d}/${Date.parse("2026-11-24T14:00:00Z") * 1000}-ab12cd34-3.parquet`,
      `${d}/compacted-2026-11-24T13-0123456789abcdef.parquet`,
      `${d}/notes.parquet`,
      `${d}/.123-1.tmp`,
      "v1/exchange=okx/stream=trade/symbol=BTCUSDT/date=2026-11-24/1-ab12cd34-1.parquet",
    ].map((key) => ({ key, size: 1 }));
    const day = groupObjects(objs, { granularity: "day" });
    expect(day.groups.map((g) => [g.period, g.files.map((f) => f.name.slice(0, 12))])).toEqual([
      ["2026-11-24", ["179547840100", "179552879900", "179552880000", "compacted-20"]],
    ]);
    expect(day.ignored).toBe(2); // notes.parquet and the old-layout key; temp files are not counted
    const hour = groupObjects(objs, { granularity: "hour" });
    expect(hour.groups.map((g) => [g.period, g.files.length, new Date(g.endMs).toISOString()])).toEqual([
      ["2026-11-24T00", 1, "2026-11-24T01:00:00.000Z"],
      ["2026-11-24T13", 2, "2026-11-24T14:00:00.000Z"],
      ["2026-11-24T14", 1, "2026-11-24T15:00:00.000Z"],
    ]);
  });
});
