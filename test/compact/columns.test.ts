/**
 * Scope: the decoded form's accessors (compact/columns): a column read in a form it does not hold,
 * an index outside an array, or a null sort key is a clear error naming it — never an `undefined`
 * that would reach the checksum or the encoder; concatenation keeps validity only where a part has nulls.
 */
import { describe, expect, test } from "bun:test";
import { at, columnNamed, CompactError, concat, numbersOf, requiredStrings, stringsOf, type Column, type Decoded } from "../../src/compact/columns.ts";
import { sortOrder } from "../../src/compact/order.ts";
import { columnsFor } from "../../src/schema/v1.ts";

const defs = columnsFor("connection");
const def = (name: string) => {
  const d = defs.find((x) => x.name === name);
  if (!d) throw new Error(`no ${name}`);
  return d;
};

/** A `connection` table: every column given, strings for utf8, numbers otherwise. */
function connection(ts: number[], conn: (string | null)[], nullable: (number | null)[] = ts.map(() => 1)): Decoded {
  const columns: Column[] = defs.map((d) => {
    if (d.name === "ts_us") return { def: d, numbers: Float64Array.from(ts) };
    if (d.name === "conn_id") return { def: d, strings: conn };
    if (d.type === "utf8") return { def: d, strings: ts.map(() => "x") };
    if (d.type === "bool") return { def: d, bools: new Uint8Array(ts.length) };
    const valid = nullable.some((v) => v === null) ? Uint8Array.from(nullable, (v) => (v === null ? 0 : 1)) : undefined;
    return { def: d, numbers: Float64Array.from(nullable, (v) => v ?? 0), valid };
  });
  return { length: ts.length, columns, metadata: new Map() };
}

describe("compact/columns", () => {
  test("at: an index outside the array is a RangeError, not undefined", () => {
    const a = Float64Array.of(1, 2);
    expect(at(a, 1)).toBe(2);
    expect(() => at(a, 2)).toThrow(RangeError);
    expect(() => at(a, -1)).toThrow("index -1 outside an array of length 2");
  });

  test("a column read in a form it does not hold, or one that is missing, is a CompactError naming it", () => {
    const t = connection([1, 2], ["c-1", "c-1"]);
    expect(() => numbersOf(columnNamed(t, "conn_id"))).toThrow(new CompactError("column conn_id (utf8) holds no numbers"));
    expect(() => stringsOf(columnNamed(t, "ts_us"))).toThrow(CompactError);
    expect(() => columnNamed(t, "nope")).toThrow("no column nope");
    expect(stringsOf(columnNamed(t, "conn_id"))).toEqual(["c-1", "c-1"]);
  });

  test("a null in a sort key column stops the sort with a clear error", () => {
    expect(() => requiredStrings(columnNamed(connection([1], [null]), "conn_id"))).toThrow("column conn_id holds a null");
    expect(() => sortOrder(connection([2, 1], ["c-1", null]), "connection")).toThrow(CompactError);
    expect([...sortOrder(connection([2, 1, 1], ["c-1", "c-2", "c-1"]), "connection")]).toEqual([2, 1, 0]);
  });

  test("concat: values in part order; validity only where a part has nulls", () => {
    const numeric = defs.find((d) => d.type !== "utf8" && d.type !== "bool" && d.name !== "ts_us");
    if (!numeric) throw new Error("connection has a numeric column besides ts_us");
    const a = connection([1, 2], ["c-1", "c-1"]);
    const b = connection([3], ["c-2"], [null]);
    const both = concat([a, b], "connection");
    expect(both.length).toBe(3);
    expect([...numbersOf(columnNamed(both, "ts_us"))]).toEqual([1, 2, 3]);
    expect(stringsOf(columnNamed(both, "conn_id"))).toEqual(["c-1", "c-1", "c-2"]);
    expect(columnNamed(both, "ts_us").valid).toBeUndefined();
    expect([...(columnNamed(both, numeric.name).valid ?? [])]).toEqual([1, 1, 0]);
    // A part missing a column's data is an error, not a column of undefined.
    const broken: Decoded = { ...b, columns: b.columns.map((c) => (c.def.name === "ts_us" ? { def: c.def } : c)) };
    expect(() => concat([a, broken], "connection")).toThrow("column ts_us (int64) holds no numbers");
  });
});
