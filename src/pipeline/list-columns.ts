/**
 * @module pipeline/list-columns — builder-side storage for the column types beyond utf8/int64/float64:
 * `bool` (one byte per row) and `list_f64` (the order-book level lists: one flat Float64Array of values
 * plus Int32 offsets, as Arrow lays a List out). Kept out of column-builder's hot path: the builder
 * only asks `extraColumnFor(def)` and forwards values of such columns here.
 */
import type { ColumnDef } from "../schema/v1.ts";
import type { ColumnData } from "./columns.ts";

export interface ExtraColumn {
  grow(capacity: number): void;
  /** Store row i's value; false = null (absent or of the wrong type). */
  set(i: number, value: unknown): boolean;
  /** The packed form for the encoder, trimmed to n rows. */
  build(n: number): Pick<ColumnData, "bools" | "list">;
}

class BoolColumn implements ExtraColumn {
  private values: Uint8Array;
  constructor(capacity: number) {
    this.values = new Uint8Array(capacity);
  }
  grow(capacity: number): void {
    const next = new Uint8Array(capacity);
    next.set(this.values);
    this.values = next;
  }
  set(i: number, value: unknown): boolean {
    if (typeof value !== "boolean") {
      this.values[i] = 0;
      return false;
    }
    this.values[i] = value ? 1 : 0;
    return true;
  }
  build(n: number) {
    return { bools: this.values.slice(0, n) };
  }
}

/** Rows' lists appended into one growing value array; offsets[i]..offsets[i+1] are row i's values. */
class ListF64Column implements ExtraColumn {
  private offsets: Int32Array;
  private values = new Float64Array(1024);
  private used = 0;
  constructor(capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
  }
  grow(capacity: number): void {
    const next = new Int32Array(capacity + 1);
    next.set(this.offsets);
    this.offsets = next;
  }
  set(i: number, value: unknown): boolean {
    // Rows are appended in order: row i starts where row i-1 ended.
    const start = this.offsets[i]!;
    this.used = start;
    if (!Array.isArray(value)) {
      this.offsets[i + 1] = start;
      return false;
    }
    const n = value.length;
    if (start + n > this.values.length) {
      let cap = this.values.length * 2;
      while (cap < start + n) cap *= 2;
      const next = new Float64Array(cap);
      next.set(this.values.subarray(0, start));
      this.values = next;
    }
    for (let k = 0; k < n; k++) {
      const v = value[k];
      this.values[start + k] = typeof v === "number" ? v : NaN;
    }
    this.used = start + n;
    this.offsets[i + 1] = this.used;
    return true;
  }
  build(n: number) {
    const end = this.offsets[n]!;
    return { list: { offsets: this.offsets.slice(0, n + 1), values: this.values.slice(0, end) } };
  }
}

/** A column of a type the base builder does not store itself, or null for utf8/int64/float64. */
export function extraColumnFor(def: ColumnDef, capacity: number): ExtraColumn | null {
  if (def.type === "bool") return new BoolColumn(capacity);
  if (def.type === "list_f64") return new ListF64Column(capacity);
  return null;
}
