/**
 * Scope: `quantlab-collector inspect` on a real run (simulator, three venues) with an injected
 * Binance outage (sockets dropped, handshakes refused ≥ 2 s) and 3 skipped OKX trade ids: the
 * Binance trade partitions' largest gap spans the outage and is explained by the `disconnect`
 * (1006) of the connection that carried them; OKX trade ids report exactly 3 missing; terminal
 * table, --json and --html agree; the HTML page (no scripts, no network) renders in headless
 * Chromium and its timeline marks the gap and the disconnect. Then the same report after
 * `compact`, and from s3rver. With the `book` stream on and one Bybit book update never sent: the
 * book partitions report their snapshots (Binance's REST anchors counted) and the Bybit symbol's
 * `book_gap` event; `liquidation` partitions are marked sporadic and their gaps never flagged.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { baseEnv, spawnCollector } from "../helpers/collector.ts";
import { chromiumPath, renderPage } from "../helpers/chromium.ts";
import { gapRun, type GapRun } from "../helpers/gap-run.ts";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startS3 } from "../helpers/s3.ts";
import { suite } from "../helpers/suite.ts";
import { tmpDir } from "../helpers/tmp.ts";

/** The outage's end comes from a log line's millisecond timestamp; rows carry µs from another clock: allow 2 ms. */
const LOG_CLOCK_SLACK_US = 2_000;

const dir = suite().use(tmpDir("qlc-inspect-"));
let run: GapRun;
let day = "";

beforeAll(async () => {
  run = await gapRun(join(dir.path, "data"), ["BTCUSDT", "ETHUSDT"], { skipOkxTradeIds: 3, books: true, skipBybitBookUpdate: true });
  day = new Date(run.outage.fromUs / 1000).toISOString().slice(0, 10);
}, 90_000);

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "bin", "quantlab-collector.ts"), ...args], {
    env: baseEnv(env),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, stdout, stderr };
}

function checkReport(r: any) {
  expect(r.date).toBe(day);
  const part = (ex: string, stream: string, sym: string) => r.partitions.find((p: any) => p.exchange === ex && p.stream === stream && p.symbol === sym);
  // Every market partition's rows equal what the simulator sent.
  for (const [k, n] of Object.entries(run.rows)) {
    const [ex, stream, sym] = k.split("|");
    const rest = ex === "binance" && stream === "book" ? (run.restSnapshots[sym!] ?? 0) : 0;
    expect({ k, rows: part(ex!, stream!, sym!)?.rows }).toEqual({ k, rows: n + rest });
  }
  // Liquidations: on every venue, sporadic (gaps listed, never flagged); no other stream is.
  for (const ex of ["binance", "bybit", "okx"])
    for (const sym of ["BTCUSDT", "ETHUSDT"]) expect({ ex, sym, sporadic: part(ex, "liquidation", sym)?.sporadic }).toEqual({ ex, sym, sporadic: true });
  expect(r.partitions.filter((p: any) => p.sporadic).map((p: any) => p.stream)).toEqual(Array(6).fill("liquidation"));
  // Books: snapshots counted (Binance: its REST anchors, one at least per connection), the Bybit skip is one book_gap event.
  for (const sym of ["BTCUSDT", "ETHUSDT"]) {
    const b = part("binance", "book", sym).book;
    expect(b.rest_snapshots).toBe(run.restSnapshots[sym]);
    expect(b.rest_snapshots).toBeGreaterThanOrEqual(2); // before and after the outage
    expect(b.snapshots).toBe(b.rest_snapshots);
    expect(b.gap_events).toBe(0);
  }
  const bybit = part("bybit", "book", "BTCUSDT").book;
  expect(bybit.gap_events).toBe(1);
  expect(bybit.gaps[0].conn_id).toStartWith("bybit-");
  expect(bybit.gaps[0].reason).toMatch(/^BTCUSDT: .+ at update_id \d+$/);
  expect(bybit.snapshots).toBeGreaterThanOrEqual(2); // the subscribe snapshot and the resubscribe's
  expect(bybit.rest_snapshots).toBe(0);
  for (const [ex, sym] of [
    ["bybit", "ETHUSDT"],
    ["okx", "BTCUSDT"],
    ["okx", "ETHUSDT"],
  ])
    expect({ ex, sym, gaps: part(ex!, "book", sym!).book.gap_events }).toEqual({ ex, sym, gaps: 0 });
  expect(part("binance", "trade", "BTCUSDT").book).toBeNull();
  for (const sym of ["BTCUSDT", "ETHUSDT"]) {
    const p = part("binance", "trade", sym);
    const g = p.gaps[0];
    // The largest gap covers the outage and the disconnect inside it explains it.
    expect(g.from_us).toBeLessThanOrEqual(run.outage.fromUs + 1_000_000);
    expect(g.to_us).toBeGreaterThanOrEqual(run.outage.toUs - LOG_CLOCK_SLACK_US);
    expect(g.seconds).toBeGreaterThanOrEqual(2);
    expect(g.disconnect).toMatchObject({ exchange: "binance", close_code: 1006 });
    expect(g.disconnect.conn_id).toStartWith("binance-public-");
    expect(p.schema_versions).toEqual(["v1"]);
    expect(p.trade_ids.missing).toBe(0);
    // Bybit was not disconnected: its largest gap is short and nothing explains it.
    expect(part("bybit", "trade", sym).gaps[0].disconnect).toBeNull();
  }
  expect(part("okx", "trade", "BTCUSDT").trade_ids).toMatchObject({ missing: 3 });
  expect(part("okx", "trade", "BTCUSDT").trade_ids.gaps[0]).toMatchObject({ missing: 3 });
  expect(part("okx", "trade", "ETHUSDT").trade_ids.missing).toBe(0);
  expect(part("bybit", "trade", "BTCUSDT").trade_ids).toBeNull(); // Bybit ids are not contiguous
  expect(r.disconnects.filter((d: any) => d.exchange === "binance" && d.close_code === 1006).length).toBe(2);
}

describe("inspect", () => {
  test("--json: rows per partition, the outage gap explained by its disconnect, OKX trade-id gap", async () => {
    const r = await cli(["inspect", join(dir.path, "data"), "--date", day, "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    checkReport(JSON.parse(r.stdout));
  });

  test("terminal table (default) and --html: the page renders in headless Chromium and marks the gap", async () => {
    const html = join(dir.path, "report.html");
    const r = await cli(["inspect", join(dir.path, "data"), "--html", html]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const line = r.stdout.split("\n").find((l) => /^binance\s+trade\s+BTCUSDT\s/.test(l))!;
    expect(line).toMatch(/yes: binance-public-\S+ 1006 closed by peer/);
    expect(r.stdout).toMatch(/okx BTCUSDT: 3 missing after id \d+/);
    // Liquidation gaps are never "no" (sporadic); the Bybit book_gap is listed under books.
    for (const l of r.stdout.split("\n").filter((x) => /^\w+\s+liquidation\s/.test(x))) expect(l).toMatch(/  (- \(sporadic stream\)|yes: .+|-)\s+-\s+v1$/); // "-" alone: one row, no gap
    expect(r.stdout.split("\n").filter((x) => /^\w+\s+liquidation\s/.test(x)).length).toBe(6);
    expect(r.stdout).toMatch(/\n  bybit BTCUSDT: \d+ snapshot\(s\), 1 book_gap event\(s\)\n    \d{4}-\d\d-\d\d [\d:.]+  bybit-\S+  \S/);
    expect(r.stdout).toMatch(/\n  binance BTCUSDT: \d+ snapshot\(s\) \(\d+ REST\), 0 book_gap event\(s\)\n/);
    const page = readFileSync(html, "utf8");
    expect(page).not.toMatch(/<script|https?:\/\/|<link /i); // self-contained: no scripts, nothing fetched

    const chromium = chromiumPath();
    if (!chromium) {
      console.warn("SKIP HTML rendering: chromium not installed (Debian package 'chromium'; .ci/run installs it when it can)");
      return;
    }
    const png = join(dir.path, "report.png");
    const dom = await renderPage(chromium, html, png);
    expect(existsSync(png) && statSync(png).size > 10_000).toBe(true);
    const row = dom.split("<tr").find((t) => t.includes('data-partition="binance/trade/BTCUSDT"'))!;
    expect(row).toBeDefined();
    const gap = /<rect class="gap explained" data-from-us="(\d+)" data-to-us="(\d+)"/.exec(row)!;
    expect(gap).not.toBeNull();
    expect(Number(gap[1])).toBeLessThanOrEqual(run.outage.fromUs + 1_000_000);
    expect(Number(gap[2])).toBeGreaterThanOrEqual(run.outage.toUs - LOG_CLOCK_SLACK_US);
    expect(row).toMatch(/<g class="disconnect" data-ts-us="\d+">/);
    expect(row).toContain("explained (binance-public-");
    // Sporadic liquidations: never a warning row, never an unexplained gap drawn.
    const liq = dom.split("<tr").filter((t) => /data-partition="\w+\/liquidation\//.test(t));
    expect(liq.length).toBe(6);
    for (const t of liq) {
      expect(t).not.toMatch(/^ class="warn"|class="gap unexplained"|class="empty"/);
      expect(t).toContain("sporadic stream");
    }
    const book = dom.split("<tr").find((t) => t.includes('data-partition="bybit/book/BTCUSDT"'))!;
    expect(book).toMatch(/<g class="book-gap" data-ts-us="\d+">/);
    expect(book).toContain("1 book_gap event<");
  }, 120_000);

  test("after compact, and read from S3: the same report", async () => {
    const s3dir = join(dir.path, "s3");
    const s3 = await startS3(s3dir);
    try {
      const data = join(dir.path, "data");
      const c = spawnCollector(["compact"], baseEnv({ DATA_DIR: data, QLC_COMPACT_NOW_MS: String(Date.now() + 2 * 86_400_000) }));
      expect(await c.proc.exited).toBe(0);
      const glob = new Bun.Glob("v1/**/*.parquet");
      let n = 0;
      for await (const k of glob.scan({ cwd: data })) {
        expect(k.split("/").pop()!).toStartWith("compacted-");
        await s3.client.write(`lake/${k}`, await Bun.file(join(data, k)).bytes());
        n++;
      }
      expect(n).toBeGreaterThan(10);
      const local = await cli(["inspect", data, "--date", day, "--json"]);
      expect(local.code).toBe(0);
      checkReport(JSON.parse(local.stdout));
      const remote = await cli(["inspect", `s3://${s3.bucket}/lake`, "--date", day, "--json"], { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY });
      expect({ code: remote.code, stderr: remote.stderr }).toEqual({ code: 0, stderr: "" });
      const rr = JSON.parse(remote.stdout);
      checkReport(rr);
      expect(rr.source).toBe(`s3://${s3.bucket}/lake/`);
      expect(remote.stdout).not.toContain(S3_SECRET_KEY);
    } finally {
      await s3.close();
    }
  }, 90_000);

  test("bad arguments: one line, exit 2", async () => {
    const r = await cli(["inspect", join(dir.path, "data"), "--date", "yesterday"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual(['quantlab-collector: invalid option: --date must be YYYY-MM-DD (got "yesterday")']);
  });
});
