/**
 * @module compact/order — the sort key of a stream and row order by it: (ts_recv_us, conn_id,
 * recv_seq) for market data, (ts_us, conn_id) for `connection`; ties keep input order.
 */
import type { FileStream } from "../schema/rows.ts";
import { at, columnNamed, numbersOf, requiredStrings, type Decoded } from "./columns.ts";

interface SortKeys {
  ts: Float64Array;
  conn: string[];
  seq: Float64Array | null;
}

export type SortKey = [number, string, number];

function sortKeys(t: Decoded, stream: FileStream): SortKeys {
  const conn = requiredStrings(columnNamed(t, "conn_id"));
  if (stream === "connection") return { ts: numbersOf(columnNamed(t, "ts_us")), conn, seq: null };
  return { ts: numbersOf(columnNamed(t, "ts_recv_us")), conn, seq: numbersOf(columnNamed(t, "recv_seq")) };
}

/** Row order sorted by the stream's key; ties keep input order (Array.prototype.sort is stable). */
export function sortOrder(t: Decoded, stream: FileStream): Uint32Array {
  const { ts, conn, seq } = sortKeys(t, stream);
  const idx = Array.from({ length: t.length }, (_, i) => i);
  idx.sort((a, b) => {
    const d = at(ts, a) - at(ts, b);
    if (d !== 0) return d;
    const ca = at(conn, a);
    const cb = at(conn, b);
    if (ca !== cb) return ca < cb ? -1 : 1;
    return seq ? at(seq, a) - at(seq, b) : 0;
  });
  return Uint32Array.from(idx);
}

/** True when the rows are already in sort order (verification of a compacted file). */
export function isSorted(t: Decoded, stream: FileStream): boolean {
  const { ts, conn, seq } = sortKeys(t, stream);
  for (let i = 1; i < t.length; i++) {
    const d = at(ts, i) - at(ts, i - 1);
    if (d > 0) continue;
    if (d < 0) return false;
    const c = at(conn, i);
    const prev = at(conn, i - 1);
    if (c > prev) continue;
    if (c < prev) return false;
    if (seq && at(seq, i) < at(seq, i - 1)) return false;
  }
  return true;
}

/** The sort key of row i. */
export function keyAt(t: Decoded, stream: FileStream, i: number): SortKey {
  const k = sortKeys(t, stream);
  return [at(k.ts, i), at(k.conn, i), k.seq ? at(k.seq, i) : 0];
}

export function compareKeys(a: SortKey, b: SortKey): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2];
}
