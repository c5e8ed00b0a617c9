/**
 * @module inspect/scan — what a day of data holds, per (exchange, stream, symbol) partition: rows,
 * files, first/last receive time, the largest gaps between rows and whether a `disconnect` in the
 * exchange's connection stream explains each, trade-id gaps where ids are contiguous, schema
 * versions. Reads only the columns it needs (parquet-wasm), never changes anything.
 */
import { tableFromIPC } from "apache-arrow";
import { readParquet } from "parquet-wasm/esm";
import { initParquetWasm } from "../pipeline/wasm-init.ts";
import { readMetadata } from "../compact/table.ts";
import { SPORADIC_STREAMS, STREAMS, type Stream } from "../schema/rows.ts";
import { parseObjectKey, type ParsedKey } from "../storage/paths.ts";
import type { Objects } from "../storage/objects.ts";

export interface Disconnect {
  exchange: string;
  conn_id: string;
  ts_us: number;
  reason: string | null;
  close_code: number | null;
  /** `stream:SYMBOL,…` the connection carried. */
  streams: string | null;
}

export interface Gap {
  from_us: number;
  to_us: number;
  seconds: number;
  /** The disconnect (of a connection carrying this stream and symbol) inside the gap, if any. */
  disconnect: Disconnect | null;
}

/** A `book_gap` event of the connection stream: the collector saw a break of that book and resynced it (docs/books.md). */
export interface BookGapEvent {
  conn_id: string;
  ts_us: number;
  reason: string | null;
}

export interface TradeIdGap {
  after_id: number;
  next_id: number;
  missing: number;
  at_us: number;
}

export interface PartitionReport {
  exchange: string;
  stream: string;
  symbol: string;
  date: string;
  rows: number;
  files: number;
  compacted_files: number;
  bytes: number;
  first_ts_recv_us: number | null;
  last_ts_recv_us: number | null;
  schema_versions: string[];
  gaps: Gap[];
  /** Only where ids are contiguous per symbol (Binance @trade / aggTrade, OKX trades-all). */
  trade_ids: { first: number; last: number; distinct: number; missing: number; gaps: TradeIdGap[] } | null;
  /**
   * A stream whose rows come only when something happens (`liquidation`): its gaps are listed but
   * never flagged as a problem — a quiet hour without liquidations is normal.
   */
  sporadic: boolean;
  /** `book` only: snapshot rows (`source = rest`: Binance's REST anchors) and the `book_gap` events of this symbol. */
  book: { snapshots: number; rest_snapshots: number; gap_events: number; gaps: BookGapEvent[] } | null;
  /** Rows per bucket of the report's timeline (see `timeline`). */
  per_bucket: number[];
  errors: string[];
}

export interface InspectReport {
  source: string;
  date: string;
  dates_available: string[];
  generated_at: string;
  timeline: { start_us: number; bucket_us: number; buckets: number };
  partitions: PartitionReport[];
  disconnects: Disconnect[];
  ignored_keys: number;
}

export interface InspectOptions {
  objects: Objects;
  /** Default: the latest date present. */
  date?: string;
  exchange?: string;
  stream?: string;
  symbol?: string;
  /** Largest gaps reported per partition. */
  topGaps?: number;
  now?: () => number;
}

const CONTIGUOUS_TRADE_IDS = new Set(["binance", "okx"]);
const KNOWN_STREAMS = new Set<string>([...STREAMS, "connection"]);

interface Columns {
  [name: string]: Array<string | number | null>;
}

function readColumns(bytes: Uint8Array, columns: string[]): Columns {
  const t = tableFromIPC(readParquet(bytes, { columns }).intoIPCStream());
  const out: Columns = {};
  for (const name of columns) {
    const v = t.getChild(name);
    const arr = new Array<string | number | null>(t.numRows);
    for (let i = 0; i < t.numRows; i++) {
      const x = v?.get(i) ?? null;
      arr[i] = typeof x === "bigint" ? Number(x) : (x as string | number | null);
    }
    out[name] = arr;
  }
  return out;
}

/** A "nice" bucket width so a day is at most 1,440 buckets (rows per minute), a short run finer. */
function bucketUs(spanUs: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60].map((s) => s * 1_000_000);
  return steps.find((s) => spanUs / s <= 1440) ?? 60_000_000;
}

export async function inspect(o: InspectOptions): Promise<InspectReport> {
  await initParquetWasm();
  const topGaps = o.topGaps ?? 5;
  const all = await o.objects.list();
  let ignored = 0;
  const keys: Array<ParsedKey & { key: string; size: number }> = [];
  for (const obj of all) {
    const k = parseObjectKey(obj.key);
    if (!k || !KNOWN_STREAMS.has(k.stream)) {
      if (!obj.key.split("/").pop()!.startsWith(".")) ignored++;
      continue;
    }
    keys.push({ ...k, key: obj.key, size: obj.size });
  }
  const dates = [...new Set(keys.map((k) => k.date))].sort();
  const date = o.date ?? dates[dates.length - 1] ?? new Date(o.now?.() ?? Date.now()).toISOString().slice(0, 10);
  const ofDay = keys.filter(
    (k) => k.date === date && (!o.exchange || k.exchange === o.exchange) && (!o.symbol || k.symbol === o.symbol || k.stream === "connection"),
  );

  // Disconnects (and book_gap events) of every exchange in view (the connection stream is read even when --stream filters it out).
  const disconnects: Disconnect[] = [];
  const bookGaps = new Map<string, BookGapEvent[]>();
  const groups = new Map<string, typeof ofDay>();
  for (const k of ofDay) {
    const id = `${k.exchange}/${k.stream}/${k.symbol}`;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id)!.push(k);
  }
  for (const [, files] of groups) {
    if (files[0]!.stream !== "connection") continue;
    for (const f of files) {
      const c = readColumns(await o.objects.get(f.key), ["exchange", "conn_id", "event", "reason", "close_code", "ts_us", "streams"]);
      for (let i = 0; i < c.event!.length; i++) {
        if (c.event![i] === "book_gap") {
          // `streams` = `book:<SYMBOL>` (docs/books.md, "A break").
          for (const item of String(c.streams![i] ?? "").split(",")) {
            if (!item.startsWith("book:")) continue;
            const id = `${f.exchange}/${item.slice(5)}`;
            if (!bookGaps.has(id)) bookGaps.set(id, []);
            bookGaps.get(id)!.push({ conn_id: String(c.conn_id![i]), ts_us: Number(c.ts_us![i]), reason: (c.reason![i] as string | null) ?? null });
          }
          continue;
        }
        if (c.event![i] !== "disconnect") continue;
        disconnects.push({
          exchange: f.exchange,
          conn_id: String(c.conn_id![i]),
          ts_us: Number(c.ts_us![i]),
          reason: (c.reason![i] as string | null) ?? null,
          close_code: (c.close_code![i] as number | null) ?? null,
          streams: (c.streams![i] as string | null) ?? null,
        });
      }
    }
  }
  disconnects.sort((a, b) => a.ts_us - b.ts_us);

  const partitions: PartitionReport[] = [];
  const times = new Map<PartitionReport, Float64Array>();
  for (const [, files] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const f0 = files[0]!;
    if (o.stream && f0.stream !== o.stream) continue;
    if (o.symbol && f0.symbol !== o.symbol) continue;
    const isConn = f0.stream === "connection";
    const tsCol = isConn ? "ts_us" : "ts_recv_us";
    const withIds = f0.stream === "trade" && CONTIGUOUS_TRADE_IDS.has(f0.exchange);
    const isBook = f0.stream === "book";
    const p: PartitionReport = {
      exchange: f0.exchange,
      stream: f0.stream,
      symbol: f0.symbol,
      date,
      rows: 0,
      files: files.length,
      compacted_files: files.filter((f) => f.file.startsWith("compacted-")).length,
      bytes: files.reduce((a, f) => a + f.size, 0),
      first_ts_recv_us: null,
      last_ts_recv_us: null,
      schema_versions: [],
      gaps: [],
      trade_ids: null,
      sporadic: SPORADIC_STREAMS.has(f0.stream as Stream),
      book: null,
      per_bucket: [],
      errors: [],
    };
    let snapshots = 0;
    let restSnapshots = 0;
    const ts: number[] = [];
    const ids: number[] = [];
    const idTs: number[] = [];
    let idsOk = withIds;
    const versions = new Set<string>();
    for (const f of files) {
      try {
        const bytes = await o.objects.get(f.key);
        versions.add(readMetadata(bytes).get("schema_version") ?? "(none)");
        const c = readColumns(bytes, withIds ? [tsCol, "trade_id"] : isBook ? [tsCol, "is_snapshot", "source"] : [tsCol]);
        if (isBook) {
          for (let i = 0; i < c.is_snapshot!.length; i++) {
            if (c.is_snapshot![i]) snapshots++; // a boolean column, read as it is: true counts
            if (c.source![i] === "rest") restSnapshots++;
          }
        }
        for (let i = 0; i < c[tsCol]!.length; i++) {
          ts.push(Number(c[tsCol]![i]));
          if (withIds) {
            const s = String(c.trade_id![i]);
            if (!/^\d{1,15}$/.test(s)) idsOk = false;
            ids.push(Number(s));
            idTs.push(Number(c[tsCol]![i]));
          }
        }
      } catch (err) {
        p.errors.push(`${f.key}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    p.schema_versions = [...versions].sort();
    const sorted = Float64Array.from(ts).sort();
    p.rows = sorted.length;
    if (sorted.length > 0) {
      p.first_ts_recv_us = sorted[0]!;
      p.last_ts_recv_us = sorted[sorted.length - 1]!;
    }
    if (!isConn)
      p.gaps = largestGaps(
        sorted,
        topGaps,
        disconnects.filter((d) => d.exchange === p.exchange && carries(d, p.stream, p.symbol)),
      );
    if (idsOk && ids.length > 0) p.trade_ids = tradeIdGaps(ids, idTs, topGaps);
    if (isBook) {
      const events = (bookGaps.get(`${p.exchange}/${p.symbol}`) ?? []).sort((a, b) => a.ts_us - b.ts_us);
      p.book = { snapshots, rest_snapshots: restSnapshots, gap_events: events.length, gaps: events.slice(0, Math.max(topGaps, 20)) };
    }
    partitions.push(p);
    times.set(p, sorted);
  }

  // One timeline for the whole report: the data's span on that date, in buckets.
  const firsts = partitions.map((p) => p.first_ts_recv_us).filter((x): x is number => x !== null);
  const lasts = partitions.map((p) => p.last_ts_recv_us).filter((x): x is number => x !== null);
  const dayStart = Date.parse(`${date}T00:00:00Z`) * 1000;
  let start = firsts.length ? Math.min(...firsts) : dayStart;
  const end = lasts.length ? Math.max(...lasts) : dayStart + 86_400e6;
  const bucket = bucketUs(end - start + 1);
  start = dayStart + Math.floor((start - dayStart) / bucket) * bucket;
  const buckets = Math.max(1, Math.ceil((end + 1 - start) / bucket));
  for (const [p, sorted] of times) {
    const counts = new Array<number>(buckets).fill(0);
    for (const t of sorted) counts[Math.min(buckets - 1, Math.floor((t - start) / bucket))]!++;
    p.per_bucket = counts;
  }
  return {
    source: o.objects.describe,
    date,
    dates_available: dates,
    generated_at: new Date(o.now?.() ?? Date.now()).toISOString(),
    timeline: { start_us: start, bucket_us: bucket, buckets },
    partitions,
    disconnects: disconnects.filter((d) => !o.exchange || d.exchange === o.exchange),
    ignored_keys: ignored,
  };
}

/** The connection carried `stream:SYMBOL` (or its `streams` is unknown). */
function carries(d: Disconnect, stream: string, symbol: string): boolean {
  if (d.streams === null) return true;
  return d.streams.split(",").includes(`${stream}:${symbol}`);
}

function largestGaps(sorted: Float64Array, n: number, disconnects: Disconnect[]): Gap[] {
  const top: Array<{ i: number; d: number }> = [];
  for (let i = 1; i < sorted.length; i++) {
    const d = sorted[i]! - sorted[i - 1]!;
    if (top.length < n || d > top[top.length - 1]!.d) {
      top.push({ i, d });
      top.sort((a, b) => b.d - a.d);
      if (top.length > n) top.pop();
    }
  }
  return top.map(({ i, d }) => {
    const from = sorted[i - 1]!;
    const to = sorted[i]!;
    return { from_us: from, to_us: to, seconds: d / 1e6, disconnect: disconnects.find((x) => x.ts_us >= from && x.ts_us <= to) ?? null };
  });
}

function tradeIdGaps(ids: number[], at: number[], n: number): NonNullable<PartitionReport["trade_ids"]> {
  const order = ids.map((_, i) => i).sort((a, b) => ids[a]! - ids[b]!);
  const gaps: TradeIdGap[] = [];
  let distinct = 0;
  let prev = Number.NaN;
  for (const i of order) {
    const id = ids[i]!;
    if (id === prev) continue; // duplicates across connections (rotation overlap)
    distinct++;
    if (!Number.isNaN(prev) && id > prev + 1) gaps.push({ after_id: prev, next_id: id, missing: id - prev - 1, at_us: at[i]! });
    prev = id;
  }
  const first = ids[order[0]!]!;
  const last = ids[order[order.length - 1]!]!;
  gaps.sort((a, b) => b.missing - a.missing);
  return { first, last, distinct, missing: last - first + 1 - distinct, gaps: gaps.slice(0, n) };
}
