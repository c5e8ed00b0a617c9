/** Scope: the columnar partition buffer — equals the row-by-row conversion for every stream, across growth and dictionary overflow. */
import { describe, expect, test } from "bun:test";
import { ColumnBuilder } from "../../src/pipeline/column-builder.ts";
import { unpackUtf8, type ColumnBatch } from "../../src/pipeline/columns.ts";
import { columnsFor } from "../../src/schema/v1.ts";
import type { Row } from "../../src/schema/rows.ts";

function plain(b: ColumnBatch) {
  return b.columns.map((c) => ({
    name: c.name,
    values: Array.from({ length: b.length }, (_, i) => (c.valid && !c.valid[i] ? null : c.utf8 ? unpackUtf8(c.utf8, b.length)[i] : c.numbers![i])),
  }));
}

const common = (i: number) => ({
  exchange: "bybit" as const,
  symbol: "BTCUSDT",
  exchange_symbol: "BTCUSDT",
  ts_event_ms: i % 5 === 0 ? null : 1_700_000_000_000 + i,
  ts_recv_us: 1_700_000_000_000_000 + i,
  conn_id: `c-${i % 3}`,
  recv_seq: i + 1,
});

const makers: Record<string, (i: number) => Row> = {
  bbo: (i) => ({
    ...common(i),
    stream: "bbo",
    bid_px: i % 7 === 0 ? null : 100 + i / 10,
    bid_qty: 1,
    ask_px: 101,
    ask_qty: i % 2 ? null : 3,
    update_id: i,
    ts_tx_ms: null,
  }),
  trade: (i) => ({
    ...common(i),
    stream: "trade",
    trade_id: `t${i}`,
    price: 64000.5,
    qty: 0.001 * i,
    side: i % 2 ? "buy" : "sell",
    ts_trade_ms: 1_700_000_000_000 + i,
  }),
  open_interest: (i) => ({ ...common(i), stream: "open_interest", open_interest: i, open_interest_ccy: null, open_interest_usd: i % 3 ? 5e9 : null }),
};

describe("ColumnBuilder", () => {
  test.each(Object.keys(makers))("%s: every column equals the rows' values (nulls included), through growth and 1000 distinct ids", (stream) => {
    const rows = Array.from({ length: 3000 }, (_, i) => makers[stream]!(i));
    const b = new ColumnBuilder(rows[0]!.stream, 16);
    for (const r of rows) b.append(r, r.ts_recv_us);
    expect(b.length).toBe(3000);
    expect(b.firstTsUs).toBe(rows[0]!.ts_recv_us);
    const want = columnsFor(rows[0]!.stream).map((d) => ({ name: d.name, values: rows.map((r) => (r as unknown as Record<string, unknown>)[d.name] ?? null) }));
    expect(plain(b.build()) as unknown).toEqual(want);
  });

  test("a string column constant so far carries no per-row codes; a later second value (a reconnect's conn_id) or a null keeps every row exact", () => {
    const rows = Array.from(
      { length: 3000 },
      (_, i) => ({ ...makers.bbo!(i), conn_id: i < 1000 ? "c-1" : "c-2", exchange_symbol: i === 2999 ? null : "BTCUSDT" }) as Row,
    );
    const b = new ColumnBuilder("bbo", 16);
    for (const r of rows) b.append(r, r.ts_recv_us);
    const batch = b.build();
    const col = (name: string) => batch.columns.find((c) => c.name === name)!.utf8!;
    expect("dict" in col("exchange") && col("exchange")).toEqual({ dict: ["bybit"] });
    expect("dict" in col("symbol") && col("symbol")).toEqual({ dict: ["BTCUSDT"] });
    const conn = col("conn_id");
    expect("dict" in conn && conn.codes instanceof Uint8Array).toBe(true);
    const want = columnsFor("bbo").map((d) => ({ name: d.name, values: rows.map((r) => (r as unknown as Record<string, unknown>)[d.name] ?? null) }));
    expect(plain(batch) as unknown).toEqual(want);
  });

  test.each([
    ["all canonical integers", (i: number) => String(7_967_419_000 + i), "ints"],
    ["an id with a leading zero after 2,000 rows", (i: number) => (i === 2000 ? "0123" : String(i)), "joined"],
    ["a 16-digit id after 2,000 rows", (i: number) => (i === 2000 ? "1234567890123456" : String(i)), "joined"],
    ["a UUID after 100 rows", (i: number) => (i === 100 ? "c4a3b2f0-0000-4000-8000-000000000000" : String(i)), "joined"],
  ] as const)("trade ids, %s: numbers while they are canonical integers, strings otherwise; every row exact", (_name, id, form) => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ ...makers.trade!(i), trade_id: id(i) }) as Row);
    const b = new ColumnBuilder("trade", 16);
    for (const r of rows) b.append(r, r.ts_recv_us);
    const batch = b.build();
    expect(Object.keys(batch.columns.find((c) => c.name === "trade_id")!.utf8!)).toContain(form);
    const want = columnsFor("trade").map((d) => ({ name: d.name, values: rows.map((r) => (r as unknown as Record<string, unknown>)[d.name] ?? null) }));
    expect(plain(batch) as unknown).toEqual(want);
  });
});
