/**
 * @module compact/columns — the decoded in-memory form of a partition's rows (one typed array or
 * string array per column), typed accessors that state which form a column holds (a wrong form is a
 * CompactError naming the column, not a silent `undefined`), and concatenation.
 */
import { columnsFor, type ColumnDef } from "../schema/v1.ts";
import type { FileStream } from "../schema/rows.ts";

export class CompactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompactError";
  }
}

/**
 * One column, decoded: numbers for int64/float64 (int64 values are safe integers), strings for utf8,
 * bools (1/0 per row) for bool, list (Arrow's layout: row i = values[offsets[i] .. offsets[i+1]))
 * for list_f64 — the forms the product's encoder takes (pipeline/list-columns).
 */
export interface Column {
  def: ColumnDef;
  numbers?: Float64Array;
  strings?: (string | null)[];
  bools?: Uint8Array;
  list?: { offsets: Int32Array; values: Float64Array };
  /** 1 = present, 0 = null; absent when no nulls. */
  valid?: Uint8Array;
}

export type ListValues = NonNullable<Column["list"]>;

export interface Decoded {
  length: number;
  columns: Column[];
  metadata: Map<string, string>;
}

/** `a[i]` for an index the caller keeps inside the array; a RangeError names the bug otherwise. */
export function at<T>(a: ArrayLike<T>, i: number): T {
  const v = a[i];
  if (v === undefined) throw new RangeError(`index ${i} outside an array of length ${a.length}`);
  return v;
}

const wrongForm = (col: Column, form: string) => new CompactError(`column ${col.def.name} (${col.def.type}) holds no ${form}`);

export function numbersOf(col: Column): Float64Array {
  if (!col.numbers) throw wrongForm(col, "numbers");
  return col.numbers;
}
export function stringsOf(col: Column): (string | null)[] {
  if (!col.strings) throw wrongForm(col, "strings");
  return col.strings;
}
export function boolsOf(col: Column): Uint8Array {
  if (!col.bools) throw wrongForm(col, "bools");
  return col.bools;
}
export function listOf(col: Column): ListValues {
  if (!col.list) throw wrongForm(col, "list");
  return col.list;
}

/** The strings of a column that has no nulls (a sort key: `conn_id` is not nullable in v1). */
export function requiredStrings(col: Column): string[] {
  const strings = stringsOf(col);
  if (!strings.every((s): s is string => s !== null)) throw new CompactError(`column ${col.def.name} holds a null; it is not nullable in schema v1`);
  return strings;
}

export function columnNamed(t: Decoded, name: string): Column {
  const col = t.columns.find((c) => c.def.name === name);
  if (!col) throw new CompactError(`no column ${name}`);
  return col;
}

/**
 * JavaScriptCore collects the short-lived Arrow/IPC buffers of a multi-million-row stream too
 * late (measured: RSS 5.7 GB for a 4 M-row verify); a full collection every ~1 M rows bounds it.
 */
let sinceGc = 0;
export function collectEvery(rows: number): void {
  sinceGc += rows;
  if (sinceGc >= 1_000_000) {
    sinceGc = 0;
    Bun.gc(true);
  }
}

/** Column `c` of each part, with the part's row count. */
interface Piece {
  length: number;
  col: Column;
}

/** Concatenate decoded files (same stream) into one. */
export function concat(parts: Decoded[], stream: FileStream, metadata: Map<string, string> = new Map()): Decoded {
  const length = parts.reduce((a, p) => a + p.length, 0);
  const columns = columnsFor(stream).map((def, c) => concatColumn(def, length, piecesOf(parts, c)));
  return { length, columns, metadata };
}

function piecesOf(parts: Decoded[], c: number): Piece[] {
  return parts.map((p) => {
    const col = p.columns[c];
    if (!col) throw new CompactError(`a part has ${p.columns.length} columns, not the ${c + 1}th`);
    return { length: p.length, col };
  });
}

function concatColumn(def: ColumnDef, length: number, pieces: Piece[]): Column {
  const valid = concatValid(length, pieces);
  switch (def.type) {
    case "utf8":
      return { def, strings: concatStrings(length, pieces), valid };
    case "bool":
      return { def, bools: concatBytes(new Uint8Array(length), pieces, boolsOf), valid };
    case "list_f64":
      return { def, list: concatLists(length, pieces), valid };
    case "int64":
    case "float64":
      return { def, numbers: concatBytes(new Float64Array(length), pieces, numbersOf), valid };
  }
}

/** Validity of the whole column: absent when no piece has nulls. */
function concatValid(length: number, pieces: Piece[]): Uint8Array | undefined {
  if (!pieces.some((p) => p.col.valid)) return undefined;
  const valid = new Uint8Array(length).fill(1);
  let off = 0;
  for (const p of pieces) {
    if (p.col.valid) valid.set(p.col.valid, off);
    off += p.length;
  }
  return valid;
}

function concatStrings(length: number, pieces: Piece[]): (string | null)[] {
  const strings = new Array<string | null>(length);
  let off = 0;
  for (const p of pieces) {
    const src = stringsOf(p.col);
    for (let i = 0; i < p.length; i++) strings[off + i] = at(src, i);
    off += p.length;
  }
  return strings;
}

function concatBytes<A extends Uint8Array | Float64Array>(out: A, pieces: Piece[], read: (col: Column) => A): A {
  let off = 0;
  for (const p of pieces) {
    out.set(read(p.col), off);
    off += p.length;
  }
  return out;
}

function concatLists(length: number, pieces: Piece[]): ListValues {
  const offsets = new Int32Array(length + 1);
  const values = new Float64Array(pieces.reduce((a, p) => a + listOf(p.col).values.length, 0));
  let off = 0;
  let base = 0;
  for (const p of pieces) {
    const l = listOf(p.col);
    values.set(l.values, base);
    for (let i = 0; i < p.length; i++) offsets[off + i + 1] = base + at(l.offsets, i + 1);
    base += l.values.length;
    off += p.length;
  }
  return { offsets, values };
}
