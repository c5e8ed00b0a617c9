/**
 * @module books/files — read `book` rows and `book_gap` connection events back from a data
 * directory for book-check. Files are found by walking for `*.parquet` and identified by their
 * key-value metadata (`stream`, `exchange`, `symbol`), not by the directory layout, so a layout
 * change does not break the check. Filters apply to the metadata and to each row's UTC date.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { readParquet, readSchema } from "parquet-wasm/esm";
import { initParquetWasm } from "../pipeline/wasm-init.ts";
import type { BookRow, ExchangeId } from "../schema/rows.ts";
import type { GapEvent } from "./rebuild.ts";

export interface BookFilter {
  exchange?: string;
  symbol?: string;
  /** YYYY-MM-DD (UTC) of ts_recv_us / ts_us. */
  date?: string;
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function walk(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".parquet") ? [join(dir, e.name)] : []));
}

function metadataOf(bytes: Uint8Array): Map<string, string> {
  const schema = readSchema(bytes);
  try {
    const md = schema.metadata() as unknown;
    return md instanceof Map ? (md as Map<string, string>) : new Map(Object.entries((md ?? {}) as Record<string, string>));
  } finally {
    schema.free();
  }
}

const dateOf = (us: number) => new Date(Math.floor(us / 1000)).toISOString().slice(0, 10);
const num = (v: unknown): number | null => (v === null || v === undefined ? null : typeof v === "bigint" ? Number(v) : (v as number));
/** A value of a column v1 declares non-nullable. */
function required(v: unknown, column: string, path: string): number {
  const n = num(v);
  if (n === null) throw new Error(`${path}: ${column} is null in a book row; the file is not schema v1`);
  return n;
}
const list = (v: unknown): number[] => (v ? Array.from(v as Iterable<number>) : []);

export interface LoadedBooks {
  rows: BookRow[];
  gaps: GapEvent[];
  files: number;
}

export async function loadBookFiles(dataDir: string, f: BookFilter = {}): Promise<LoadedBooks> {
  await initParquetWasm();
  const rows: BookRow[] = [];
  const gaps: GapEvent[] = [];
  let files = 0;
  for (const path of walk(dataDir).sort()) {
    const bytes = new Uint8Array(readFileSync(path));
    let md: Map<string, string>;
    try {
      md = metadataOf(bytes);
    } catch {
      continue; // not a readable Parquet file (a temp file being written): not ours to judge
    }
    const stream = md.get("stream");
    if (stream !== "book" && stream !== "connection") continue;
    if (f.exchange && md.get("exchange") !== f.exchange) continue;
    if (stream === "book" && f.symbol && md.get("symbol") !== f.symbol) continue;
    files++;
    const table = tableFromIPC(readParquet(bytes).intoIPCStream());
    for (const r of table.toArray() as Record<string, unknown>[]) {
      if (stream === "connection") {
        if (r.event !== "book_gap") continue;
        gaps.push({ exchange: String(r.exchange), conn_id: String(r.conn_id), streams: r.streams === null ? null : String(r.streams) });
        continue;
      }
      const ts = required(r.ts_recv_us, "ts_recv_us", path);
      if (f.date && dateOf(ts) !== f.date) continue;
      rows.push({
        stream: "book",
        exchange: String(r.exchange) as ExchangeId,
        symbol: String(r.symbol),
        exchange_symbol: String(r.exchange_symbol),
        ts_event_ms: num(r.ts_event_ms),
        ts_recv_us: ts,
        conn_id: String(r.conn_id),
        recv_seq: required(r.recv_seq, "recv_seq", path),
        is_snapshot: r.is_snapshot === true,
        source: r.source === "rest" ? "rest" : "ws",
        update_id: required(r.update_id, "update_id", path),
        first_update_id: num(r.first_update_id),
        prev_update_id: num(r.prev_update_id),
        seq: num(r.seq),
        ts_tx_ms: num(r.ts_tx_ms),
        bid_px: list(r.bid_px),
        bid_qty: list(r.bid_qty),
        ask_px: list(r.ask_px),
        ask_qty: list(r.ask_qty),
      });
    }
  }
  return { rows, gaps, files };
}
