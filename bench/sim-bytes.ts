/**
 * Bytes per row in the files the collector writes from the product simulator (src/sim, realistic
 * series: src/sim/series.ts), against the frames it was sent gzip'd (what tardis-style recorders
 * keep) — the product's own path end to end, every venue and stream, where bench/encoding.ts
 * encodes pre-generated Binance frames in process. Full files only (BUFFER_SIZE rows or more,
 * MIN_FLUSH_GAP_SECONDS=0, no time flush during the run); a stream with no full file is measured
 * on its partial files and marked so.
 *
 *   npx bun bench/sim-bytes.ts [--rate 3000] [--seconds 60] [--symbols BTCUSDT] [--buffer-size 5000] [--keep]
 *
 * --rate is frames/s per venue; liquidations are paced at 10 ms per subscription so that they,
 * too, fill files. Bytes are per frame of each channel: a frame's rows in Parquet (bytes/row of its
 * streams × rows it produced) against the frames gzip'd, each with its receive time in front as
 * tardis-style recorders keep it (the `ts_recv_us` the collector stamped on the frame's rows, ISO
 * µs, as in bench/encoding.ts) and alone. OKX's all-swaps liquidation frames are counted with only
 * the listed symbols' items (the others are not recorded).
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExchangeId } from "../src/schema/rows.ts";
import { startSimulator } from "../src/sim/server.ts";
import { baseEnv, spawnCollector, waitAllConnectionsOpen, simVenues } from "../test/helpers/collector.ts";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : def;
};
const rate = Number(opt("--rate", "3000"));
const seconds = Number(opt("--seconds", "60"));
const symbols = opt("--symbols", "BTCUSDT").split(",");
const bufferSize = Number(opt("--buffer-size", "5000"));
const STREAMS = ["bbo", "trade", "mark_price", "funding", "open_interest", "liquidation", "book"];

const dataDir = mkdtempSync(join(tmpdir(), "qlc-sim-bytes-"));
const sim = startSimulator({ rate, symbols, record: true, liquidationIntervalMs: 10 });
sim.pause();
const col = spawnCollector(
  [],
  baseEnv({
    ...simVenues(sim.url),
    BINANCE_REST_URL: sim.url.replace("ws://", "http://"),
    EXCHANGES: "binance,bybit,okx",
    SYMBOLS: symbols.join(","),
    STREAMS: STREAMS.join(","),
    DATA_DIR: dataDir,
    BUFFER_SIZE: String(bufferSize),
    FLUSH_INTERVAL: "3600",
    MIN_FLUSH_GAP_SECONDS: "0",
  }),
);
await col.waitForLog("status_api_start");
const metrics = () => col.get("/metrics") as Promise<any>;
await waitAllConnectionsOpen(col);
console.log(`sim-bytes: ${rate} frames/s per venue for ${seconds} s, ${symbols.join(",")}, BUFFER_SIZE ${bufferSize}, collector pid ${col.proc.pid}`);
sim.resume();
await Bun.sleep(seconds * 1000);
sim.pause();
const sentRows = Object.values(sim.stats().rows).reduce((a, b) => a + b, 0);
const deadline = performance.now() + 30_000;
for (;;) {
  const m = await metrics();
  if (m.total_events >= sentRows + (m.book_rest?.snapshots ?? 0) || performance.now() > deadline) break;
  await Bun.sleep(100);
}
const end = await metrics();
const code = await col.stop("SIGTERM");

// Bytes per row of each (venue, stream): full files when there are any.
const conn = await (await DuckDBInstance.create(":memory:")).connect();
const files = (
  await conn.runAndReadAll(
    `select filename f, count(*) n from read_parquet('${dataDir}/v1/*/*/*/date=*/*.parquet', hive_partitioning=false, union_by_name=true, filename=true) group by filename`,
  )
).getRowObjects();
const perStream = new Map<string, { full: boolean; bytes: number; rows: number; files: number }>();
for (const { f, n } of files) {
  const path = String(f);
  const parts = path.slice(dataDir.length + 1).split("/"); // v1/<exchange>/<stream>/…
  const key = `${parts[1]}|${parts[2]}`;
  const rows = Number(n);
  const full = rows >= bufferSize;
  const cur = perStream.get(key);
  if (cur && cur.full && !full) continue;
  const acc = cur && cur.full === full ? cur : { full, bytes: 0, rows: 0, files: 0 };
  acc.bytes += statSync(path).size;
  acc.rows += rows;
  acc.files++;
  perStream.set(key, acc);
}
/** Receive times (µs) of the frames that produced a venue's rows of `streams`, in arrival order (one per frame). */
async function receiveTimes(venue: string, streams: string[]): Promise<number[]> {
  const globs = streams.map((s) => `'${dataDir}/v1/${venue}/${s}/*/date=*/*.parquet'`).join(", ");
  const r = await conn.runAndReadAll(
    `select distinct conn_id, recv_seq, ts_recv_us from read_parquet([${globs}], hive_partitioning=false, union_by_name=true)${streams.includes("book") ? " where source = 'ws'" : ""} order by conn_id, recv_seq`,
  );
  return r.getRowObjects().map((o) => Number(o.ts_recv_us));
}

interface Channel {
  venue: ExchangeId;
  label: string;
  streams: string[];
  /** The frame's text if it belongs to this channel (OKX liquidations: only the listed symbols' items), else null. */
  take: (j: any, text: string) => string | null;
}
const TICKER_FIELDS = ["markPrice", "indexPrice", "fundingRate", "nextFundingTime", "openInterest", "openInterestValue"];
const listedOkx = new Set(symbols.map((s) => `${s.replace(/USDT$/, "")}-USDT-SWAP`));
const channels: Channel[] = [
  { venue: "binance", label: "bookTicker", streams: ["bbo"], take: (j, t) => (j.data?.e === "bookTicker" ? t : null) },
  { venue: "binance", label: "trade", streams: ["trade"], take: (j, t) => (j.data?.e === "trade" ? t : null) },
  { venue: "binance", label: "markPrice@1s (2 rows)", streams: ["mark_price", "funding"], take: (j, t) => (j.data?.e === "markPriceUpdate" ? t : null) },
  { venue: "binance", label: "forceOrder", streams: ["liquidation"], take: (j, t) => (j.data?.e === "forceOrder" ? t : null) },
  { venue: "binance", label: "depth@100ms (+ REST anchors)", streams: ["book"], take: (j, t) => (j.data?.e === "depthUpdate" ? t : null) },
  { venue: "bybit", label: "orderbook.1", streams: ["bbo"], take: (j, t) => (String(j.topic).startsWith("orderbook.1.") ? t : null) },
  { venue: "bybit", label: "publicTrade (bursts)", streams: ["trade"], take: (j, t) => (String(j.topic).startsWith("publicTrade.") ? t : null) },
  {
    venue: "bybit",
    label: "tickers (rows with a stream field)",
    streams: ["mark_price", "funding", "open_interest"],
    // A delta with none of the streams' fields makes no row (and has no receive time to pair): left out of both sides.
    take: (j, t) => (String(j.topic).startsWith("tickers.") && TICKER_FIELDS.some((k) => k in j.data) ? t : null),
  },
  { venue: "bybit", label: "allLiquidation", streams: ["liquidation"], take: (j, t) => (String(j.topic).startsWith("allLiquidation.") ? t : null) },
  { venue: "bybit", label: "orderbook.50", streams: ["book"], take: (j, t) => (String(j.topic).startsWith("orderbook.50.") ? t : null) },
  ...(
    [
      ["bbo-tbt", "bbo"],
      ["trades-all", "trade"],
      ["mark-price", "mark_price"],
      ["funding-rate", "funding"],
      ["open-interest", "open_interest"],
      ["books", "book"],
    ] as const
  ).map(([ch, stream]): Channel => ({ venue: "okx", label: ch, streams: [stream], take: (j, t) => (j.arg?.channel === ch ? t : null) })),
  {
    venue: "okx",
    label: "liquidation-orders (listed items)",
    streams: ["liquidation"],
    take: (j) => {
      if (j.arg?.channel !== "liquidation-orders") return null;
      const data = (j.data as { instId: string }[]).filter((d) => listedOkx.has(d.instId));
      return data.length ? JSON.stringify({ arg: j.arg, data }) : null;
    },
  },
];
const texts = new Map<Channel, string[]>(channels.map((c) => [c, []]));
for (const f of sim.sent()) {
  const j = JSON.parse(f.text);
  for (const c of channels) {
    if (c.venue !== f.venue) continue;
    const t = c.take(j, f.text);
    if (t !== null) {
      texts.get(c)!.push(t);
      break;
    }
  }
}
const stats = sim.stats();
await sim.stop();
const recvTimes = new Map<Channel, number[]>();
for (const c of channels) if (texts.get(c)!.length > 0) recvTimes.set(c, await receiveTimes(c.venue, c.streams));
if (args.includes("--keep")) console.log(`files kept in ${dataDir}`);
else rmSync(dataDir, { recursive: true, force: true });
const isoUs = (us: number) => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, -1)}${String(us % 1000).padStart(3, "0")}Z`;

const gz = (t: string[]) => Bun.gzipSync(new TextEncoder().encode(t.join("\n") + "\n")).length;
const f2 = (x: number) => x.toFixed(2).padStart(7);
console.log(`sent rows ${sentRows}, received ${end.total_events}, dropped ${end.dropped_events_total}, collector exit ${code}\n`);
console.log(
  `${"venue".padEnd(8)} ${"channel".padEnd(36)} ${"frames".padStart(7)} ${"Parquet".padStart(8)} ${"gz+time".padStart(8)}  ratio ${"gzip".padStart(8)}  ratio  files (rows/file)`,
);
for (const c of channels) {
  const t = texts.get(c)!;
  if (t.length === 0) continue;
  let parquet = 0;
  const notes: string[] = [];
  for (const s of c.streams) {
    const st = perStream.get(`${c.venue}|${s}`);
    const rows = symbols.reduce((a, sym) => a + (stats.rows[`${c.venue}|${s}|${sym}`] ?? 0), 0);
    if (!st) {
      notes.push(`${s}: no file`);
      continue;
    }
    parquet += (st.bytes / st.rows) * rows;
    notes.push(`${s}: ${st.files}${st.full ? "" : " partial"} (${Math.round(st.rows / st.files)})`);
  }
  const raw = gz(t) / t.length;
  const pq = parquet / t.length;
  // Each frame with the receive time of its rows; n/a if the rows do not pair one to one with the frames sent.
  const times = recvTimes.get(c)!;
  const timed = times.length === t.length ? gz(t.map((x, i) => `${isoUs(times[i]!)} ${x}`)) / t.length : NaN;
  const withTime = Number.isNaN(timed) ? `${"n/a".padStart(8)}    n/a` : `${f2(timed)} B  ${(pq / timed).toFixed(2)}`;
  console.log(
    `${c.venue.padEnd(8)} ${c.label.padEnd(36)} ${String(t.length).padStart(7)} ${f2(pq)} B ${withTime} ${f2(raw)} B  ${(pq / raw).toFixed(2)}  ${notes.join(", ")}`,
  );
}
console.log(
  "\nBytes per frame; frames carrying several rows (markPrice, tickers, publicTrade bursts) count all their rows. gz+time: each frame with its receive time in front, gzip'd; gzip: the frames alone.",
);
