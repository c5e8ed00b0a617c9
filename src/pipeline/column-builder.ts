/**
 * @module pipeline/column-builder — a partition's rows kept as typed columns, not objects.
 * A row object is read once on arrival and dropped: memory per buffered row is ~110 bytes of
 * arrays, GC has little to scan, and a flush needs no conversion.
 *
 * One column class per column type behind `Column` (COLUMN_CLASSES): a new type is one class and
 * one entry. Buffers are sized by the caller from the partition's last file (writer.initialCapacity,
 * capped at 4 × BUFFER_SIZE) and grow by half when full; `build()` hands the buffers themselves to the
 * encoder worker (transferred with the row count, never sliced), so a flush copies no column.
 */
import type { FileStream, RecordRow } from "../schema/rows.ts";
import { columnsFor, type ColumnDef, type ColumnType } from "../schema/v1.ts";
import { canonicalInt, type ColumnBatch, type ColumnData, type Utf8Data } from "./columns.ts";
import { extraColumnFor, type ExtraColumn } from "./list-columns.ts";

const MAX_DICT = 64;

/** One column's storage. `set` is called for rows 0, 1, 2… in order. */
export interface Column {
  /** Row i's value; anything not of the column's type (undefined, null) is a null. */
  set(i: number, value: unknown): void;
  /** Capacity grew: keep rows 0..n-1. */
  grow(capacity: number): void;
  /** Rows 0..n-1; the column's buffers are handed over (the column is not used afterwards). */
  build(n: number): ColumnData;
}

/** Validity shared by every column class: absent until the first null (most columns have none). */
abstract class BaseColumn implements Column {
  protected valid: Uint8Array | null = null;
  constructor(
    protected readonly def: ColumnDef,
    protected capacity: number,
  ) {}

  abstract set(i: number, value: unknown): void;
  protected abstract growValues(capacity: number): void;
  protected abstract data(n: number): Pick<ColumnData, "numbers" | "utf8" | "bools" | "list">;

  protected present(i: number): void {
    const v = this.valid;
    if (v) v[i] = 1;
  }

  protected markNull(i: number): void {
    let v = this.valid;
    if (!v) {
      v = new Uint8Array(this.capacity).fill(1, 0, i);
      this.valid = v;
    }
    v[i] = 0;
  }

  grow(capacity: number): void {
    this.growValues(capacity);
    if (this.valid) {
      const next = new Uint8Array(capacity);
      next.set(this.valid);
      this.valid = next;
    }
    this.capacity = capacity;
  }

  build(n: number): ColumnData {
    return { name: this.def.name, type: this.def.type, nullable: this.def.nullable, ...this.data(n), ...(this.valid ? { valid: this.valid } : {}) };
  }
}

/** float64 and int64 (safe integers): one Float64Array. */
class NumberColumn extends BaseColumn {
  private values: Float64Array;
  constructor(def: ColumnDef, capacity: number) {
    super(def, capacity);
    this.values = new Float64Array(capacity);
  }
  set(i: number, value: unknown): void {
    if (typeof value === "number") {
      this.values[i] = value;
      this.present(i);
    } else this.markNull(i);
  }
  protected growValues(capacity: number): void {
    const next = new Float64Array(capacity);
    next.set(this.values);
    this.values = next;
  }
  protected data(): Pick<ColumnData, "numbers"> {
    return { numbers: this.values };
  }
}

/**
 * utf8: few distinct values → dictionary codes, one byte per row (MAX_DICT ≤ 256); no codes at all
 * while every row holds the first value (exchange, symbol and exchange_symbol are constant per
 * partition, conn_id per connection): such a column costs nothing per row. A run of the same value
 * costs one comparison, not a Map lookup.
 */
class Utf8Column extends BaseColumn {
  private dict = new Map<string, number>();
  /** Null while every row so far holds code 0. */
  private codes: Uint8Array | null = null;
  /** Past MAX_DICT values that are all canonical integers (trade ids): 8 bytes per row, no string object. */
  private ints: Float64Array | null = null;
  private plain: string[] | null = null;
  private last: string | null = null;
  private lastCode = 0;

  set(i: number, value: unknown): void {
    if (typeof value === "string") {
      this.put(i, value);
      this.present(i);
    } else {
      this.put(i, "");
      this.markNull(i);
    }
  }

  private put(i: number, v: string): void {
    if (this.ints) {
      const x = canonicalInt(v);
      if (x >= 0) {
        this.ints[i] = x;
        return;
      }
      // Not an integer: strings from here on (exact: String(x) gave each earlier value back).
      const ints = this.ints;
      this.plain = Array.from({ length: i }, (_, k) => String(ints[k]!));
      this.plain[i] = v;
      this.ints = null;
      return;
    }
    if (this.plain) {
      this.plain[i] = v;
      return;
    }
    if (v === this.last) {
      if (this.codes) this.codes[i] = this.lastCode;
      return;
    }
    let c = this.dict.get(v);
    if (c === undefined) {
      if (this.dict.size >= MAX_DICT) {
        // High cardinality (trade ids): numbers while they are all canonical integers, else plain strings.
        const keys = [...this.dict.keys()];
        const codes = this.codes;
        const keyInts = keys.map(canonicalInt);
        const x = canonicalInt(v);
        if (x >= 0 && keyInts.every((k) => k >= 0)) {
          const ints = new Float64Array(this.capacity);
          for (let k = 0; k < i; k++) ints[k] = keyInts[codes ? codes[k]! : 0]!;
          ints[i] = x;
          this.ints = ints;
          this.codes = null;
          return;
        }
        this.plain = Array.from({ length: i }, (_, k) => keys[codes ? codes[k]! : 0]!);
        this.plain[i] = v;
        this.codes = null;
        return;
      }
      c = this.dict.size;
      this.dict.set(v, c);
    }
    // A second value: rows 0..i-1 held code 0, which a fresh array already says.
    if (c !== 0 && !this.codes) this.codes = new Uint8Array(this.capacity);
    this.last = v;
    this.lastCode = c;
    if (this.codes) this.codes[i] = c;
  }

  protected growValues(capacity: number): void {
    if (this.ints) {
      const next = new Float64Array(capacity);
      next.set(this.ints);
      this.ints = next;
    }
    if (this.plain || !this.codes) return;
    const next = new Uint8Array(capacity);
    next.set(this.codes);
    this.codes = next;
  }

  protected data(n: number): Pick<ColumnData, "utf8"> {
    let utf8: Utf8Data;
    if (this.ints) utf8 = { ints: this.ints };
    else if (this.plain) {
      const values = this.plain.length === n ? this.plain : this.plain.slice(0, n);
      const lengths = new Int32Array(n);
      for (let i = 0; i < n; i++) lengths[i] = values[i]!.length;
      utf8 = { joined: values.join(""), lengths };
    } else utf8 = this.codes ? { dict: [...this.dict.keys()], codes: this.codes } : { dict: [...this.dict.keys()] };
    return { utf8 };
  }
}

/** bool and list<f64> (order-book levels): storage in pipeline/list-columns, validity here. */
class ExtraBackedColumn extends BaseColumn {
  private readonly inner: ExtraColumn;
  constructor(def: ColumnDef, capacity: number) {
    super(def, capacity);
    const inner = extraColumnFor(def, capacity);
    if (inner === null) throw new Error(`no column class for ${def.name}: ${def.type}`);
    this.inner = inner;
  }
  set(i: number, value: unknown): void {
    if (this.inner.set(i, value)) this.present(i);
    else this.markNull(i);
  }
  protected growValues(capacity: number): void {
    this.inner.grow(capacity);
  }
  protected data(n: number): Pick<ColumnData, "bools" | "list"> {
    return this.inner.build(n);
  }
}

/** Column type → its class. A new column type (e.g. bool, list<f64>) is one class and one entry here. */
export const COLUMN_CLASSES: Record<ColumnType, new (def: ColumnDef, capacity: number) => Column> = {
  utf8: Utf8Column,
  int64: NumberColumn,
  float64: NumberColumn,
  bool: ExtraBackedColumn,
  list_f64: ExtraBackedColumn,
};

export class ColumnBuilder {
  private readonly names: string[];
  private readonly cols: Column[];
  private capacity: number;
  length = 0;
  firstTsUs = 0;

  constructor(
    readonly stream: FileStream,
    initialCapacity = 1024,
  ) {
    const defs = columnsFor(stream);
    this.names = defs.map((d) => d.name);
    this.capacity = Math.max(1, initialCapacity);
    this.cols = defs.map((d) => new COLUMN_CLASSES[d.type](d, this.capacity));
  }

  private grow(): void {
    const cap = Math.ceil(this.capacity * 1.5);
    for (const c of this.cols) c.grow(cap);
    this.capacity = cap;
  }

  /** The caller files rows by partition; `tsUs` is the row's partition time. */
  append(row: RecordRow, tsUs: number): void {
    if (this.length === this.capacity) this.grow();
    const i = this.length;
    if (i === 0) this.firstTsUs = tsUs;
    const names = this.names;
    const cols = this.cols;
    // A row is a plain object whose fields are the stream's column names (schema/columns.ts).
    for (let c = 0; c < cols.length; c++) cols[c]!.set(i, Reflect.get(row, names[c]!));
    this.length = i + 1;
  }

  /**
   * The batch of rows 0..length-1. Column buffers are handed over as they are (possibly longer
   * than `length`; the encoder reads `length` rows): the builder must not be used afterwards.
   */
  build(): ColumnBatch {
    const n = this.length;
    return { stream: this.stream, length: n, columns: this.cols.map((c) => c.build(n)) };
  }
}
