/**
 * @module inspect/scan — what a day of data holds, per (exchange, stream, symbol) partition: rows,
 * files, first/last receive time, the largest gaps between rows and whether a `disconnect` in the
 * exchange's connection stream explains each, trade-id gaps where ids are contiguous, schema
 * versions. Reads only the columns it needs (parquet-wasm), never changes anything.
 */
import { initParquetWasm } from "../pipeline/wasm-init.ts";
import { at } from "../compact/columns.ts";
import { isTempObject } from "../compact/compact.ts";
import { readMetadata } from "../compact/table.ts";
import { SPORADIC_STREAMS, STREAMS, type Stream } from "../schema/rows.ts";
import { parseObjectKey, type ParsedKey } from "../storage/paths.ts";
import type { ObjectInfo, Objects } from "../storage/objects.ts";
import { FileColumns } from "./columns.ts";
import { readConnectionEvents, type ConnectionEvents } from "./events.ts";
import { carries, fillTimeline, largestGaps, tradeIdGaps } from "./gaps.ts";
import type { InspectReport, PartitionReport } from "./report.ts";

export type { BookGapEvent, Disconnect, Gap, InspectReport, PartitionReport, TradeIdGap } from "./report.ts";

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

type StoredFile = ParsedKey & { key: string; size: number };

/** The files of one (exchange, stream, symbol) on the inspected date. */
interface PartitionFiles {
  /** `exchange/stream/symbol` */
  id: string;
  exchange: string;
  stream: string;
  symbol: string;
  files: StoredFile[];
}

export async function inspect(o: InspectOptions): Promise<InspectReport> {
  await initParquetWasm();
  const topGaps = o.topGaps ?? 5;
  const { keys, ignored } = knownKeys(await o.objects.list());
  const dates = [...new Set(keys.map((k) => k.date))].sort();
  const date = o.date ?? dates[dates.length - 1] ?? new Date(o.now?.() ?? Date.now()).toISOString().slice(0, 10);
  const ofDay = keys.filter(
    (k) => k.date === date && (!o.exchange || k.exchange === o.exchange) && (!o.symbol || k.symbol === o.symbol || k.stream === "connection"),
  );
  const groups = byPartition(ofDay);

  // Disconnects (and book_gap events) of every exchange in view (the connection stream is read even when --stream filters it out).
  const events = await readConnectionEvents(
    o.objects,
    groups.filter((g) => g.stream === "connection").flatMap((g) => g.files),
  );

  const partitions: PartitionReport[] = [];
  const times = new Map<PartitionReport, Float64Array>();
  for (const g of [...groups].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (o.stream && g.stream !== o.stream) continue;
    if (o.symbol && g.symbol !== o.symbol) continue;
    const { report, sorted } = await scanPartition(o.objects, g, date, topGaps, events);
    partitions.push(report);
    times.set(report, sorted);
  }
  return {
    source: o.objects.describe,
    date,
    dates_available: dates,
    generated_at: new Date(o.now?.() ?? Date.now()).toISOString(),
    timeline: fillTimeline(date, times),
    partitions,
    disconnects: events.disconnects.filter((d) => !o.exchange || d.exchange === o.exchange),
    ignored_keys: ignored,
  };
}

/** Objects in the v1 layout of a known stream; others are counted (a writer's temp files are not). */
function knownKeys(objects: ObjectInfo[]): { keys: StoredFile[]; ignored: number } {
  let ignored = 0;
  const keys: StoredFile[] = [];
  for (const obj of objects) {
    const k = parseObjectKey(obj.key);
    if (!k || !KNOWN_STREAMS.has(k.stream)) {
      if (!isTempObject(obj.key)) ignored++;
      continue;
    }
    keys.push({ ...k, key: obj.key, size: obj.size });
  }
  return { keys, ignored };
}

/** Files grouped by partition, in the order of the listing. */
function byPartition(files: StoredFile[]): PartitionFiles[] {
  const groups = new Map<string, PartitionFiles>();
  for (const k of files) {
    const id = `${k.exchange}/${k.stream}/${k.symbol}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { id, exchange: k.exchange, stream: k.stream, symbol: k.symbol, files: [] }));
    g.files.push(k);
  }
  return [...groups.values()];
}

/** What a partition's files hold, read column by column; a file that cannot be read is listed in `errors`. */
async function scanPartition(
  objects: Objects,
  g: PartitionFiles,
  date: string,
  topGaps: number,
  events: ConnectionEvents,
): Promise<{ report: PartitionReport; sorted: Float64Array }> {
  const isConn = g.stream === "connection";
  const isBook = g.stream === "book";
  const p: PartitionReport = {
    exchange: g.exchange,
    stream: g.stream,
    symbol: g.symbol,
    date,
    rows: 0,
    files: g.files.length,
    compacted_files: g.files.filter((f) => f.file.startsWith("compacted-")).length,
    bytes: g.files.reduce((a, f) => a + f.size, 0),
    first_ts_recv_us: null,
    last_ts_recv_us: null,
    schema_versions: [],
    gaps: [],
    trade_ids: null,
    sporadic: SPORADIC_STREAMS.has(g.stream as Stream),
    book: null,
    per_bucket: [],
    errors: [],
  };
  const acc = new PartitionRows(isConn ? "ts_us" : "ts_recv_us", g.stream === "trade" && CONTIGUOUS_TRADE_IDS.has(g.exchange), isBook);
  for (const f of g.files) {
    try {
      acc.add(await objects.get(f.key));
    } catch (err) {
      p.errors.push(`${f.key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  p.schema_versions = [...acc.versions].sort();
  const sorted = Float64Array.from(acc.ts).sort();
  p.rows = sorted.length;
  p.first_ts_recv_us = sorted[0] ?? null;
  p.last_ts_recv_us = sorted[sorted.length - 1] ?? null;
  if (!isConn)
    p.gaps = largestGaps(
      sorted,
      topGaps,
      events.disconnects.filter((d) => d.exchange === p.exchange && carries(d, p.stream, p.symbol)),
    );
  if (acc.idsOk) p.trade_ids = tradeIdGaps(acc.ids, acc.idTs, topGaps);
  if (isBook) {
    const gaps = (events.bookGaps.get(`${p.exchange}/${p.symbol}`) ?? []).sort((a, b) => a.ts_us - b.ts_us);
    p.book = { snapshots: acc.snapshots, rest_snapshots: acc.restSnapshots, gap_events: gaps.length, gaps: gaps.slice(0, Math.max(topGaps, 20)) };
  }
  return { report: p, sorted };
}

/** The columns a partition's report needs, accumulated file by file. */
class PartitionRows {
  readonly ts: number[] = [];
  readonly ids: number[] = [];
  readonly idTs: number[] = [];
  readonly versions = new Set<string>();
  snapshots = 0;
  restSnapshots = 0;
  /** Trade ids are all integers (checked only where ids are contiguous). */
  idsOk: boolean;

  constructor(
    private readonly tsCol: string,
    private readonly withIds: boolean,
    private readonly isBook: boolean,
  ) {
    this.idsOk = withIds;
  }

  add(bytes: Uint8Array): void {
    this.versions.add(readMetadata(bytes).get("schema_version") ?? "(none)");
    const c = new FileColumns(bytes, this.withIds ? [this.tsCol, "trade_id"] : this.isBook ? [this.tsCol, "is_snapshot", "source"] : [this.tsCol]);
    if (this.isBook) {
      for (const snapshot of c.cells("is_snapshot")) if (snapshot) this.snapshots++;
      for (const source of c.cells("source")) if (source === "rest") this.restSnapshots++;
    }
    const ts = c.cells(this.tsCol);
    for (const t of ts) this.ts.push(Number(t));
    if (!this.withIds) return;
    for (const [i, id] of c.cells("trade_id").entries()) {
      const s = String(id);
      if (!/^\d{1,15}$/.test(s)) this.idsOk = false;
      this.ids.push(Number(s));
      this.idTs.push(Number(at(ts, i)));
    }
  }
}
