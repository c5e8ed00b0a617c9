/**
 * Bytes per row on disk for full files (BUFFER_SIZE = 5,000 rows) of realistic data (bench/series.ts),
 * with the product's encoder settings (encodeParquet: float64 dictionary-coded where values repeat) and
 * with the alternatives parquet-wasm offers, against the raw venue frames gzip'd (what tardis-style
 * recorders keep). Frames are parsed by the real Binance adapter
 * (open interest: the OKX adapter) and buffered by the real ColumnBuilder, exactly as the collector does.
 *
 *   npx bun bench/encoding.ts [--rows 5000]
 */
import { tableToIPC } from "apache-arrow";
import { Compression, Encoding, Table as WasmTable, writeParquet, WriterPropertiesBuilder } from "parquet-wasm/esm";
import { binance } from "../src/exchanges/binance.ts";
import { okx } from "../src/exchanges/okx.ts";
import type { ExchangeAdapter } from "../src/exchanges/types.ts";
import { ColumnBuilder } from "../src/pipeline/column-builder.ts";
import type { ColumnBatch } from "../src/pipeline/columns.ts";
import { encodeParquet } from "../src/pipeline/encode.ts";
import { batchToArrow } from "../src/pipeline/arrow-table.ts";
import { initParquetWasm } from "../src/pipeline/wasm-init.ts";
import type { FileStream, Row } from "../src/schema/rows.ts";
import { DICTIONARY_COLUMNS } from "../src/schema/v1.ts";
import { BENCH_SYMBOLS, SeriesGenerator } from "./series.ts";

const args = process.argv.slice(2);
const ri = args.indexOf("--rows");
const N = ri >= 0 ? Number(args[ri + 1]) : 5000;
await initParquetWasm();

const SYMBOL = "BTCUSDT";
const gen = new SeriesGenerator(7, BENCH_SYMBOLS, 100_000);
const frames: Record<string, string[]> = { bbo: [], trade: [], markPrice: [], openInterest: [], forceOrder: [], depth: [] };
const rows = { bbo: [], trade: [], mark_price: [], funding: [], open_interest: [], liquidation: [], book: [], connection: [] } as Record<FileStream, Row[]>;
let seq = 0;
/** Receive times as a socket sees them: the frame's event time plus 1.5–4.5 ms of network and venue latency (seeded). */
let rng = 42;
const latencyUs = () => 1500 + ((rng = (rng * 1103515245 + 12345) % 2147483648) % 3000);
/** The receive time, written in front of each raw frame the way tardis-style recorders keep it (ISO, µs). */
const isoUs = (us: number) => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, -1)}${String(us % 1000).padStart(3, "0")}Z`;
const stamped: Record<string, string[]> = {};
function take(text: string, key: string, adapter: ExchangeAdapter = binance): void {
  const eventMs = Number(/"(?:E|ts)":"?(\d+)/.exec(text)?.[1]);
  const tsRecvUs = eventMs * 1000 + latencyUs();
  const res = adapter.parse(text, { connId: `${adapter.id}-public-abcd1234-1`, recvSeq: ++seq, tsRecvUs });
  if (res.kind !== "rows") throw new Error(`unexpected ${res.kind}`);
  frames[key]!.push(text);
  (stamped[key] ??= []).push(`${isoUs(tsRecvUs)} ${text}`);
  for (const r of res.rows) rows[r.stream].push(r);
}
while (rows.bbo.length < N || rows.trade.length < N) {
  for (const f of gen.frames(10_000)) {
    if (!f.text.includes(`"s":"${SYMBOL}"`)) continue;
    if (f.kind === "bbo" && rows.bbo.length < N) take(f.text, "bbo");
    if (f.kind === "trade" && rows.trade.length < N) take(f.text, "trade");
  }
}
for (let k = 0; k < N; k++) {
  gen.frames(50);
  take(gen.markPrices(Date.UTC(2026, 10, 25, 12) + k * 1000)[0]!, "markPrice");
}
// OKX open interest (pushed about every 3 s), Binance liquidations (sporadic) and depth diffs (100 ms).
for (let k = 0; k < N; k++) take(gen.openInterest(Date.UTC(2026, 10, 25, 12) + k * 3000)[0]!, "openInterest", okx);
for (let k = 0; k < N; k++) take(gen.liquidation(Date.UTC(2026, 10, 25, 12) + k * 4000), "forceOrder");
for (let k = 0; k < N; k++) take(gen.depth(Date.UTC(2026, 10, 25, 12) + k * 100), "depth");

function batchOf(stream: FileStream): ColumnBatch {
  const b = new ColumnBuilder(stream, N);
  for (const r of rows[stream]) b.append(r, r.ts_recv_us);
  return b.build();
}

type Variant = (b: WriterPropertiesBuilder, batch: ColumnBatch) => WriterPropertiesBuilder;
const variants: Record<string, Variant> = {
  "baseline (zstd, dict strings, delta int64)": (b) => b,
  "+ BYTE_STREAM_SPLIT float64": (b, batch) =>
    batch.columns.filter((c) => c.type === "float64").reduce((x, c) => x.setColumnEncoding(c.name, Encoding.BYTE_STREAM_SPLIT), b),
  "+ dictionary float64": (b, batch) => batch.columns.filter((c) => c.type === "float64").reduce((x, c) => x.setColumnDictionaryEnabled(c.name, true), b),
  "+ dictionary all": (b) => b.setDictionaryEnabled(true),
  "+ dictionary float64, BSS fallback": (b, batch) =>
    batch.columns
      .filter((c) => c.type === "float64")
      .reduce((x, c) => x.setColumnDictionaryEnabled(c.name, true).setColumnEncoding(c.name, Encoding.BYTE_STREAM_SPLIT), b),
  "+ dictionary float64, DELTA_BYTE_ARRAY ids": (b, batch) =>
    batch.columns.reduce(
      (x, c) =>
        c.type === "float64"
          ? x.setColumnDictionaryEnabled(c.name, true)
          : c.type === "utf8" && !DICTIONARY_COLUMNS.has(c.name)
            ? x.setColumnEncoding(c.name, Encoding.DELTA_BYTE_ARRAY)
            : x,
      b,
    ),
};

variants["+ dictionary float64, GZIP whole file"] = (b, batch) =>
  batch.columns
    .filter((c) => c.type === "float64")
    .reduce((x, c) => x.setColumnDictionaryEnabled(c.name, true), b)
    .setCompression(Compression.GZIP);
// List elements cannot be named through parquet-wasm's one-part column paths: only the default reaches them.
variants["+ BSS default (list elements only)"] = (b, batch) =>
  !batch.columns.some((c) => c.type === "list_f64")
    ? b
    : batch.columns
        .filter((c) => c.type === "bool" || c.type === "float64" || (c.type === "utf8" && DICTIONARY_COLUMNS.has(c.name)))
        .reduce((x, c) => x.setColumnEncoding(c.name, Encoding.PLAIN), b.setEncoding(Encoding.BYTE_STREAM_SPLIT));

const encodeMs: Record<string, number[]> = {};
function encodeWith(batch: ColumnBatch, v: Variant, name = ""): number {
  const t = performance.now();
  let b = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setDictionaryEnabled(false).setMaxRowGroupSize(50_000);
  for (const c of batch.columns) {
    if (c.type === "utf8" && DICTIONARY_COLUMNS.has(c.name)) b = b.setColumnDictionaryEnabled(c.name, true);
    if (c.type === "int64") b = b.setColumnEncoding(c.name, Encoding.DELTA_BINARY_PACKED);
  }
  b = v(b, batch);
  const ipc = tableToIPC(batchToArrow(batch), "stream");
  const n = writeParquet(WasmTable.fromIPCStream(ipc), b.build()).length;
  (encodeMs[name] ??= []).push(performance.now() - t);
  return n;
}

const gz = (texts: string[]) => Bun.gzipSync(new TextEncoder().encode(texts.join("\n") + "\n")).length;
const fmt = (x: number) => x.toFixed(2).padStart(7);

console.log(`bytes per row, ${N}-row files of ${SYMBOL} (realistic series), Binance frames (open interest: OKX)`);
const cases: Array<[string, FileStream[], string]> = [
  ["bbo (bookTicker)", ["bbo"], "bbo"],
  ["trade", ["trade"], "trade"],
  ["mark_price + funding (markPrice@1s: 2 rows per frame, bytes per frame)", ["mark_price", "funding"], "markPrice"],
  ["open_interest (OKX open-interest)", ["open_interest"], "openInterest"],
  ["liquidation (forceOrder)", ["liquidation"], "forceOrder"],
  ["book (depth@100ms diffs, 3-25 levels each)", ["book"], "depth"],
];
for (const [label, streams, fkey] of cases) {
  // The baseline: each raw frame with its receive time in front (a row has ts_recv_us too), gzip'd.
  const raw = gz(stamped[fkey]!);
  const perFrame = (bytes: number) => bytes / frames[fkey]!.length;
  console.log(
    `\n${label}: raw frames with receive time gzip'd ${fmt(perFrame(raw))} B/frame (without the time ${fmt(perFrame(gz(frames[fkey]!)))}; raw ${fmt(frames[fkey]!.join("\n").length / frames[fkey]!.length)})`,
  );
  const product = streams.reduce((a, s) => a + encodeParquet(batchOf(s), { metadata: new Map(), createdBy: "bench" }).length, 0);
  console.log(
    `  ${"encodeParquet (as shipped)".padEnd(44)} ${fmt(perFrame(product))} B/frame  ratio to gzip ${(product / raw).toFixed(2)} (to frames without the time ${(product / gz(frames[fkey]!)).toFixed(2)})`,
  );
  for (const [name, v] of Object.entries(variants)) {
    const bytes = streams.reduce((a, s) => a + encodeWith(batchOf(s), v, name), 0);
    console.log(`  ${name.padEnd(44)} ${fmt(perFrame(bytes))} B/frame  ratio to gzip ${(bytes / raw).toFixed(2)}`);
  }
}

console.log("\nencode time per file (ms, median over the files above, this thread):");
for (const [name, ms] of Object.entries(encodeMs)) console.log(`  ${name.padEnd(44)} ${ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!.toFixed(1)}`);
