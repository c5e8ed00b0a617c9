/** @module inspect/columns — the few columns inspect needs from one Parquet file, as plain values. */
import { tableFromIPC, type Table } from "apache-arrow";
import { readParquet } from "parquet-wasm/esm";

/** A cell as inspect reads it: int64 as a number, utf8 as a string, bool as a boolean. */
export type Cell = string | number | boolean | null;

/** Only the named columns of a file (parquet-wasm reads no others). */
export class FileColumns {
  private readonly t: Table;

  constructor(bytes: Uint8Array, columns: readonly string[]) {
    this.t = tableFromIPC(readParquet(bytes, { columns: [...columns] }).intoIPCStream());
  }

  get rows(): number {
    return this.t.numRows;
  }

  /** Every row's value of a column (int64 → number); a column the file lacks reads as nulls. */
  cells(name: string): Cell[] {
    const v = this.t.getChild(name);
    const out = new Array<Cell>(this.t.numRows);
    for (let i = 0; i < this.t.numRows; i++) {
      const x: unknown = v?.get(i) ?? null;
      out[i] = typeof x === "bigint" ? Number(x) : (x as Cell);
    }
    return out;
  }
}

export const textOrNull = (x: Cell): string | null => (x === null ? null : String(x));
export const numberOrNull = (x: Cell): number | null => (x === null ? null : Number(x));
