/**
 * Scope: `quantlab-collector compact` on files the real collector wrote (simulator, Binance, two
 * symbols, every stream including `liquidation` and the opt-in `book` with its REST anchors, many
 * small files per partition). One file per partition afterwards with exactly the same rows (DuckDB
 * EXCEPT ALL both ways, the book's list<double> level columns and bool `is_snapshot` included),
 * sorted, sources listed in its metadata; book-check rebuilds the same books from the compacted
 * files as from the collector's; a rerun changes
 * nothing; kill -9 after each step (read, put, verify, first delete) leaves sources or the verified
 * file plus sources, and a rerun finishes with the same result; a late file is merged by the next
 * run; the open day is never touched; the same on s3rver (list/get/put/delete with Bun's client).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { baseEnv, ENTRY, spawnCollector, type LogLine } from "../helpers/collector.ts";
import { query, sqlString, streamGlob } from "../helpers/duck.ts";
import { parquetGlob } from "../helpers/layout.ts";
import { recordedRun } from "../helpers/recorded-run.ts";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startS3 } from "../helpers/s3.ts";
import { suite } from "../helpers/suite.ts";
import { tmpDir } from "../helpers/tmp.ts";

const res = suite();
const src = res.use(tmpDir("qlc-compact-src-"));
const work = res.use(tmpDir("qlc-compact-"));
const STREAMS = ["bbo", "trade", "mark_price", "funding", "liquidation", "book", "connection"];
/** Two days after the run: the run's day is closed (beyond any grace). */
const LATER_MS = String(Date.now() + 2 * 86_400_000);

let day = "";
beforeAll(async () => {
  // Liquidations every 20 ms per symbol (the venue's pace is at most 1/s) so the short run has several files of them.
  const run = await recordedRun(
    "binance",
    ["BTCUSDT", "ETHUSDT"],
    src.path,
    3000,
    { BUFFER_SIZE: "30", STREAMS: "bbo,trade,mark_price,funding,liquidation,book" },
    { liquidationIntervalMs: 20 },
  );
  await res.use(run.sim).stop();
  expect(run.exitCode).toBe(0);
  // Every stream has rows in every symbol; the book has WebSocket diffs and REST snapshots (is_snapshot true).
  for (const s of STREAMS.filter((x) => x !== "connection"))
    for (const sym of ["BTCUSDT", "ETHUSDT"]) expect({ s, sym, rows: (run.sim.stats().rows[`binance|${s}|${sym}`] ?? 0) > 0 }).toEqual({ s, sym, rows: true });
  const book = await query(
    `select source, is_snapshot, count(*) n, sum(len(bid_px) + len(ask_px)) levels from ${streamGlob(src.path, "binance", "book")} group by all order by all`,
  );
  expect(book.map((b) => `${b.source}|${b.is_snapshot}`)).toEqual(["rest|true", "ws|false"]);
  expect(Number(book[0]!.n)).toBeGreaterThanOrEqual(2); // one REST anchor per symbol (more only if one came back stale)
  expect(Number(book[1]!.levels)).toBeGreaterThan(0);
  day = readdirSync(join(src.path, "v1/binance/trade/BTCUSDT"))[0]!.slice(5);
}, 60_000);

let copies = 0;
function fresh(): string {
  const d = join(work.path, `c${++copies}`);
  cpSync(src.path, d, { recursive: true });
  return d;
}

/** Keys (relative) of the Parquet files under a data dir. */
function keys(root: string): string[] {
  if (!existsSync(join(root, "v1"))) return [];
  return (readdirSync(join(root, "v1"), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".parquet"))
    .map((f) => `v1/${f}`)
    .sort();
}

async function compactCli(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number | null; signal: string | null; logs: LogLine[]; stderr: string }> {
  const col = spawnCollector(["compact", ...args], baseEnv({ QLC_COMPACT_NOW_MS: LATER_MS, ...env }));
  const code = await col.proc.exited;
  await Bun.sleep(20); // let the log reader take the last lines
  return { code: col.proc.signalCode ? null : code, signal: col.proc.signalCode ? String(col.proc.signalCode) : null, logs: col.logs, stderr: col.stderr() };
}

/** Rows of `a` and `b` are the same multiset, per stream folder. */
async function expectSameRows(a: string, b: string): Promise<number> {
  let total = 0;
  for (const s of STREAMS) {
    const [ra, rb] = [streamGlob(a, "binance", s), streamGlob(b, "binance", s)];
    const [n] = await query(
      `select (select count(*) from ${ra}) a, (select count(*) from ${rb}) b, (select count(*) from (select * from ${ra} except all select * from ${rb})) only_a, (select count(*) from (select * from ${rb} except all select * from ${ra})) only_b`,
    );
    expect({ s, ...n } as Record<string, unknown>).toEqual({ s, a: n!.a, b: n!.a, only_a: 0, only_b: 0 });
    total += n!.a as number;
  }
  return total;
}

const partitionsOf = (ks: string[]) => new Set(ks.map((k) => dirname(k)));

describe("compact (local)", () => {
  let reference: string[] = [];

  test("one sorted, verified file per partition with the same rows; a rerun changes nothing", async () => {
    const d = fresh();
    const before = keys(d);
    expect(before.length).toBeGreaterThan(2 * partitionsOf(before).size); // several files per partition
    const r = await compactCli({ DATA_DIR: d });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const after = keys(d);
    reference = after;
    expect(partitionsOf(after)).toEqual(partitionsOf(before));
    expect(after.length).toBe(partitionsOf(before).size);
    for (const k of after) expect(k.split("/").pop()!).toMatch(new RegExp(`^compacted-${day}-[0-9a-f]{16}\\.parquet$`));
    const rows = await expectSameRows(src.path, d);
    // More source files than partitions for the new streams too (so the merge is exercised).
    for (const s of ["liquidation", "book"])
      expect({ s, merged: before.filter((k) => k.includes(`/${s}/`)).length > after.filter((k) => k.includes(`/${s}/`)).length }).toEqual({ s, merged: true });
    const done = r.logs.find((l) => l.event === "compact_done")!;
    expect(done).toMatchObject({ compacted: after.length, errors: 0, filesBefore: before.length, filesAfter: after.length, rows });

    // Sorted by (ts_recv_us, conn_id, recv_seq); sources listed in the metadata.
    const unsorted = await query(
      `select count(*) n from (select ts_recv_us, conn_id, recv_seq, lag(ts_recv_us) over w pts, lag(conn_id) over w pc, lag(recv_seq) over w ps from read_parquet(${sqlString(parquetGlob(d, { stream: "[!c]*" }))}, union_by_name = true, filename = true, file_row_number = true) window w as (partition by filename order by file_row_number)) where pts is not null and (pts, pc, ps) > (ts_recv_us, conn_id, recv_seq)`,
    );
    expect(unsorted[0]!.n).toBe(0);
    const meta = await query(
      `select decode(key) k, decode(value) v from parquet_kv_metadata(${sqlString(
        join(
          d,
          after.find((k) => k.includes("/trade/BTCUSDT/"))!,
        ),
      )})`,
    );
    const m = Object.fromEntries(meta.map((x) => [x.k, x.v]));
    const sources = before.filter((k) => k.includes("/trade/BTCUSDT/")).map((k) => k.split("/").pop());
    expect(JSON.parse(m.compacted_from as string)).toEqual(sources);
    expect(m).toMatchObject({ schema_version: "v1", exchange: "binance", stream: "trade", symbol: "BTCUSDT", instance_id: "compact" });

    const again = await compactCli({ DATA_DIR: d });
    expect(again.code).toBe(0);
    expect(keys(d)).toEqual(after);
    expect(again.logs.find((l) => l.event === "compact_done")).toMatchObject({ compacted: 0, alreadyCompact: after.length, errors: 0 });
  }, 60_000);

  for (const step of ["read", "put", "verify", "delete"]) {
    test(`kill -9 after step "${step}": sources or the verified file plus sources remain; a rerun finishes identically`, async () => {
      const d = fresh();
      const before = keys(d);
      const crashed = await compactCli({ DATA_DIR: d, QLC_COMPACT_CRASH_AFTER: step });
      expect(crashed.signal).toBe("SIGKILL");
      const mid = keys(d);
      const compacted = mid.filter((k) => k.split("/").pop()!.startsWith("compacted-"));
      const sources = mid.filter((k) => !compacted.includes(k));
      if (step === "read") {
        expect(mid).toEqual(before);
      } else {
        // Exactly one partition got its compacted file (the first); it lost sources only after verification.
        expect(compacted.length).toBe(1);
        expect(reference).toContain(compacted[0]!);
        const lost = before.filter((k) => !mid.includes(k));
        expect(lost.length).toBe(step === "delete" ? 1 : 0);
        expect(sources.length).toBe(before.length - lost.length);
      }
      // Every row is still readable (duplicates allowed only in the crash window).
      for (const s of STREAMS) {
        const [n] = await query(
          `select count(*) n from (select * from ${streamGlob(src.path, "binance", s)} except all select * from ${streamGlob(d, "binance", s)})`,
        );
        expect({ s, missing: n!.n }).toEqual({ s, missing: 0 });
      }
      const rerun = await compactCli({ DATA_DIR: d });
      expect({ code: rerun.code, stderr: rerun.stderr }).toEqual({ code: 0, stderr: "" });
      expect(keys(d)).toEqual(reference);
      await expectSameRows(src.path, d);
      if (step !== "read") expect(rerun.logs.filter((l) => l.event === "compact_recovered").length).toBe(1);
    }, 60_000);
  }

  test("a late file for a compacted day is merged by the next run", async () => {
    const d = fresh();
    const late = keys(d).find((k) => k.includes("/trade/ETHUSDT/"))!;
    const aside = join(work.path, "late.parquet");
    renameSync(join(d, late), aside);
    expect((await compactCli({ DATA_DIR: d })).code).toBe(0);
    renameSync(aside, join(d, late));
    const r = await compactCli({ DATA_DIR: d });
    expect(r.code).toBe(0);
    expect(keys(d)).toEqual(reference);
    await expectSameRows(src.path, d);
  }, 60_000);

  test("the open day (and a day within the grace period) is never touched; --granularity hour", async () => {
    const d = fresh();
    const before = keys(d);
    const now = await compactCli({ DATA_DIR: d, QLC_COMPACT_NOW_MS: String(Date.now()) });
    expect(now.code).toBe(0);
    expect(keys(d)).toEqual(before);
    expect(now.logs.find((l) => l.event === "compact_done")).toMatchObject({ compacted: 0, open: partitionsOf(before).size });
    // 10 minutes after midnight with the default 30-minute grace: still untouched.
    const justAfter = String(Date.parse(`${day}T00:00:00Z`) + 86_400_000 + 10 * 60_000);
    expect((await compactCli({ DATA_DIR: d, QLC_COMPACT_NOW_MS: justAfter })).code).toBe(0);
    expect(keys(d)).toEqual(before);

    const h = await compactCli({ DATA_DIR: d }, ["--granularity", "hour"]);
    expect(h.code).toBe(0);
    const after = keys(d);
    for (const k of after) expect(k.split("/").pop()!).toMatch(new RegExp(`^compacted-${day}T\\d{2}-[0-9a-f]{16}\\.parquet$`));
    expect(after.length).toBe(h.logs.find((l) => l.event === "compact_done")!.partitions as number);
    await expectSameRows(src.path, d);
  }, 60_000);

  test("book-check rebuilds the same books from the compacted files as from the collector's", async () => {
    const d = fresh();
    expect((await compactCli({ DATA_DIR: d })).code).toBe(0);
    expect(
      keys(d)
        .filter((k) => k.includes("/book/"))
        .every((k) => k.split("/").pop()!.startsWith("compacted-")),
    ).toBe(true);
    const check = (dir: string) => {
      const p = Bun.spawnSync([process.execPath, ENTRY, "book-check", dir, "--json"], { stdout: "pipe", stderr: "pipe" });
      return { code: p.exitCode, stderr: p.stderr.toString(), report: JSON.parse(p.stdout.toString() || "null") };
    };
    const [before, after] = [check(src.path), check(d)];
    expect({ code: before.code, stderr: before.stderr }).toEqual({ code: 0, stderr: "" });
    expect({ code: after.code, stderr: after.stderr }).toEqual({ code: 0, stderr: "" });
    expect(before.report.symbols.map((s: { symbol: string }) => s.symbol).sort()).toEqual(["BTCUSDT", "ETHUSDT"]);
    for (const s of before.report.symbols) {
      // Anchored by a REST snapshot, every later diff applied, a real book at the end.
      expect({
        s: s.symbol,
        segments: s.segments,
        unexplained: s.unexplained_breaks,
        crossed: s.crossed,
        final: s.final !== null,
        applied: s.applied > 1,
      }).toEqual({ s: s.symbol, segments: 1, unexplained: 0, crossed: 0, final: true, applied: true });
    }
    // Same rows, books, counts; only the number of files read differs.
    expect({ ...after.report, files: 0 }).toEqual({ ...before.report, files: 0 });
    expect(after.report.files).toBeLessThan(before.report.files);
  }, 60_000);

  test("bad options: one line, exit 2", async () => {
    const r = await compactCli({ DATA_DIR: work.path }, ["--granularity", "week"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual(['quantlab-collector: invalid option: --granularity must be day or hour (got "week")']);
  });
});

describe("compact on S3 (s3rver)", () => {
  test("list/get/put/delete: one file per partition, same rows; kill -9 after put, then mid-delete, then rerun", async () => {
    using s3dir = tmpDir("qlc-compact-s3-");
    const s3 = await startS3(s3dir.path);
    try {
      const PREFIX = "raw";
      for (const k of keys(src.path)) await s3.client.write(`${PREFIX}/${k}`, await Bun.file(join(src.path, k)).bytes());
      const before = await s3.listKeys(`${PREFIX}/`);
      expect(before.length).toBe(keys(src.path).length);
      expect(before.length).toBeLessThan(1000); // s3rver cannot continue a truncated listing (test/helpers/s3.ts)
      const env = { STORAGE_BACKEND: "s3", S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket, S3_ACCESS_KEY, S3_SECRET_KEY, S3_PREFIX: PREFIX };
      const crashed = await compactCli({ ...env, QLC_COMPACT_CRASH_AFTER: "put" });
      expect(crashed.signal).toBe("SIGKILL");
      // A second crash mid-delete (the rerun first finishes the partition the first crash left).
      const crashed2 = await compactCli({ ...env, QLC_COMPACT_CRASH_AFTER: "delete" });
      expect(crashed2.signal).toBe("SIGKILL");
      expect(crashed2.logs.filter((l) => l.event === "compact_recovered").length).toBe(1);
      const r = await compactCli(env);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      const after = await s3.listKeys(`${PREFIX}/`);
      expect(after).toEqual(reference().map((k) => `${PREFIX}/${k}`));
      const dl = join(s3dir.path, "dl");
      for (const k of after) {
        mkdirSync(dirname(join(dl, k)), { recursive: true });
        await Bun.write(join(dl, k), await s3.client.file(k).bytes());
      }
      await expectSameRows(src.path, join(dl, PREFIX));
      expect(JSON.stringify(r.logs)).not.toContain(S3_SECRET_KEY);
    } finally {
      await s3.close();
    }
  }, 90_000);
});

/** The local run's result (compacted names are deterministic: same rows → same name). */
function reference(): string[] {
  const d = join(work.path, "c1");
  return keys(d);
}
