/**
 * Scope (issue "Data that quants' own tools read without a fight"): a collector run against the
 * simulator with an injected Binance disconnect, every stream recorded (`liquidation`, and the
 * opt-in `book` with its bool and list<double> columns); then every stream folder is read by DuckDB, Polars
 * `scan_parquet`, pyarrow `parquet.read_table` and `dataset(partitioning='hive')`, and pandas
 * `read_parquet` with no option beyond hive partitioning: identical row counts (= rows sent) and
 * every column at its documented v1 type. Then every recipe of docs/reading.md runs on the same data.
 * Needs python3 + pip (a venv made once under the cache dir); without them the test says so and skips.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { columnsFor, type ColumnType } from "../../src/schema/v1.ts";
import type { FileStream } from "../../src/schema/rows.ts";
import { REPO } from "../helpers/collector.ts";
import { query, sqlString } from "../helpers/duck.ts";
import { gapRun, type GapRun } from "../helpers/gap-run.ts";
import { parquetGlob, streamFolder } from "../helpers/layout.ts";
import { pythonReaders, runPython } from "../helpers/python.ts";
import { tmpDir } from "../helpers/tmp.ts";

/** The outage's end comes from a log line's millisecond timestamp; rows carry µs from another clock: allow 2 ms. */
const LOG_CLOCK_SLACK_US = 2_000;

const py = await pythonReaders();
if ("skip" in py) console.warn(`[readers] SKIPPED: ${py.skip}`);

/** Documented type → what each reader reports (pandas: `?` marks a column holding nulls). */
const EXPECTED: Record<string, Record<ColumnType, string[]>> = {
  duckdb: { utf8: ["VARCHAR"], int64: ["BIGINT"], float64: ["DOUBLE"], bool: ["BOOLEAN"], list_f64: ["DOUBLE[]"] },
  "polars.scan_parquet": { utf8: ["String"], int64: ["Int64"], float64: ["Float64"], bool: ["Boolean"], list_f64: ["List(Float64)"] },
  "pyarrow.parquet.read_table": { utf8: ["string"], int64: ["int64"], float64: ["double"], bool: ["bool"], list_f64: ["list<element: double not null>"] },
  "pyarrow.dataset": { utf8: ["string"], int64: ["int64"], float64: ["double"], bool: ["bool"], list_f64: ["list<element: double not null>"] },
  // pandas' default NumPy dtypes: a nullable int64 that holds nulls becomes float64 (docs/reading.md).
  "pandas.read_parquet": {
    utf8: ["str", "object", "str?", "object?"],
    int64: ["int64"],
    float64: ["float64", "float64?"],
    bool: ["bool"],
    list_f64: ["object"],
  },
};

describe.skipIf("skip" in py)("mainstream readers on every stream folder", () => {
  const dir = tmpDir("qlc-readers-");
  let run: GapRun;
  afterAll(() => dir[Symbol.dispose]());

  test("five readers, identical row counts, documented types", async () => {
    run = await gapRun(dir.path, ["BTCUSDT", "ETHUSDT"], { books: true, liquidationIntervalMs: 200 });
    const python = (py as { python: string }).python;
    const folders: Array<{ exchange: string; stream: FileStream; path: string }> = [];
    for (const exchange of readdirSync(join(dir.path, "v1")).sort())
      for (const stream of readdirSync(join(dir.path, "v1", exchange)).sort())
        folders.push({ exchange, stream: stream as FileStream, path: streamFolder(dir.path, exchange, stream) });
    expect(folders.length).toBe(6 + 7 + 7 + 3); // Binance has no open_interest; plus 3 connection folders
    const got = await runPython(
      python,
      join(import.meta.dir, "readers.py"),
      folders.map((f) => f.path),
    );
    const wrong: string[] = [];
    const seenTypes = new Set<string>();
    for (const f of folders) {
      const want =
        f.stream === "connection"
          ? Number((await query(`select count(*) n from read_parquet(${sqlString(parquetGlob(dir.path, { exchange: f.exchange, stream: f.stream }))})`))[0]!.n)
          : Object.entries(run.rows)
              .filter(([k]) => k.startsWith(`${f.exchange}|${f.stream}|`))
              .reduce((a, [, n]) => a + n, 0) +
            (f.exchange === "binance" && f.stream === "book" ? Object.values(run.restSnapshots).reduce((a, n) => a + n, 0) : 0);
      expect(want).toBeGreaterThan(0);
      for (const [reader, res] of Object.entries(got[f.path] as Record<string, { rows?: number; types?: Record<string, string>; error?: string }>)) {
        const ctx = `${reader} on ${f.exchange}/${f.stream}`;
        expect({ ctx, error: res.error ?? null, rows: res.rows }).toEqual({ ctx, error: null, rows: want });
        const cols = columnsFor(f.stream);
        // Every documented column, in order, then only the hive key `date`.
        expect({ ctx, names: Object.keys(res.types!) }).toEqual({ ctx, names: [...cols.map((c) => c.name), "date"] });
        for (const c of cols) {
          const t = res.types![c.name]!;
          const ok = EXPECTED[reader]![c.type].includes(t) || (reader === "pandas.read_parquet" && c.type === "int64" && c.nullable && t === "float64?");
          if (c.type === "bool" || c.type === "list_f64") seenTypes.add(`${reader} ${c.type} ${t}`);
          if (!ok) wrong.push(`${ctx}: ${c.name} (${c.type}) read as ${t}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    // Those files hold every encoding and codec the writer chooses (pipeline/encode.ts), so every reader
    // has read each of them: BYTE_STREAM_SPLIT (OKX open interest in whole contracts), dictionaries
    // (strings, repeating prices, book levels), delta ints and delta strings; ZSTD and GZIP.
    const meta = await query(
      `select distinct unnest(string_split(encodings, ', ')) e, compression c from parquet_metadata(${sqlString(parquetGlob(dir.path, {}))}) order by all`,
    );
    const encodings = new Set(meta.map((m) => String(m.e)));
    for (const e of ["BYTE_STREAM_SPLIT", "RLE_DICTIONARY", "DELTA_BINARY_PACKED", "DELTA_BYTE_ARRAY"])
      expect({ e, seen: encodings.has(e) }).toEqual({ e, seen: true });
    expect([...new Set(meta.map((m) => String(m.c)))].sort()).toEqual(["GZIP", "ZSTD"]);
    // The book's bool and list<double> columns were read (and checked) by every reader.
    expect([...seenTypes].sort()).toEqual(
      Object.keys(EXPECTED)
        .flatMap((r) => (["bool", "list_f64"] as const).map((ty) => `${r} ${ty} ${EXPECTED[r]![ty][0]}`))
        .sort(),
    );
  }, 180_000);

  test("docs/reading.md: every recipe runs; one symbol-day of trades, gaps explained by the disconnect, several streams", async () => {
    const python = (py as { python: string }).python;
    const day = new Date(run.outage.fromUs / 1000).toISOString().slice(0, 10);
    using cwd = tmpDir("qlc-recipes-");
    await Bun.$`ln -s ${dir.path} ${join(cwd.path, "data")}`.quiet();
    const blocks = (await runPython(python, join(import.meta.dir, "recipes.py"), [join(REPO, "docs", "reading.md"), cwd.path, day])) as Array<{
      block: number;
      error?: string;
      vars?: Record<string, { rows: number; columns: string[]; first: Record<string, unknown> | null }>;
    }>;
    const count = async (stream: string) =>
      Number(
        (
          await query(`select count(*) n from read_parquet(${sqlString(parquetGlob(dir.path, { exchange: "binance", stream, symbol: "BTCUSDT", date: day }))})`)
        )[0]!.n,
      );
    const trades = await count("trade");
    const several = trades + (await count("bbo")) + (await count("mark_price"));
    const [liq] = await query(
      `select count(distinct (exchange, symbol, side)) n from read_parquet(${sqlString(parquetGlob(dir.path, { stream: "liquidation", date: day }))})`,
    );
    const [lv] = await query(
      `select sum(len(bid_px)) n from read_parquet(${sqlString(parquetGlob(dir.path, { exchange: "binance", stream: "book", symbol: "BTCUSDT", date: day }))}) where is_snapshot`,
    );
    expect(Number(liq!.n)).toBeGreaterThan(0);
    expect(Number(lv!.n)).toBeGreaterThan(0);
    let seen = { trades: 0, gaps: 0, streams: 0, liqs: 0, book_levels: 0 };
    for (const b of blocks) {
      expect({ block: b.block, error: b.error ?? null }).toEqual({ block: b.block, error: null });
      const v = b.vars!;
      const t = v.trades ?? v.sql_result;
      if (t) {
        expect({ block: b.block, rows: t.rows }).toEqual({ block: b.block, rows: trades });
        seen.trades++;
      }
      if (v.gaps) {
        // The largest gap lies in the injected outage and a disconnect (1006, closed by peer) explains it.
        const g = v.gaps.first!;
        expect(g).not.toBeNull();
        expect(g.close_code).toBe(1006);
        expect(String(g.conn_id)).toStartWith("binance-public-");
        expect(Number(g.prev_us)).toBeLessThanOrEqual(run.outage.fromUs + 1_000_000);
        expect(Number(g.next_us)).toBeGreaterThanOrEqual(run.outage.toUs - LOG_CLOCK_SLACK_US);
        seen.gaps++;
      }
      if (v.liqs) {
        // One row per (exchange, symbol, side) present that day, over every venue.
        expect(v.liqs.columns).toEqual(["exchange", "symbol", "side", "n", "qty"]);
        expect({ block: b.block, rows: v.liqs.rows }).toEqual({ block: b.block, rows: Number(liq!.n) });
        expect(Number(v.liqs.first!.n)).toBeGreaterThan(0);
        seen.liqs++;
      }
      if (v.book_levels) {
        expect({ block: b.block, rows: v.book_levels.rows }).toEqual({ block: b.block, rows: Number(lv!.n) });
        expect(typeof v.book_levels.first!.bid_px).toBe("number");
        seen.book_levels++;
      }
      if (v.streams) {
        expect({ block: b.block, rows: v.streams.rows }).toEqual({ block: b.block, rows: several });
        for (const c of ["price", "bid_px", "mark_price"]) expect(v.streams.columns).toContain(c);
        seen.streams++;
      }
    }
    expect(seen).toEqual({ trades: 5, gaps: 2, streams: 3, liqs: 1, book_levels: 1 });
  }, 60_000);
});
