/**
 * Scope: STORAGE_BACKEND=s3 end to end against a real S3 server on loopback (s3rver):
 * simulator → collector process → spool → Bun.s3 → s3rver, read back with DuckDB;
 * a fault proxy (500, 503, dropped connections, hung requests) in front of s3rver;
 * kill -9 during an outage and restart; credentials never printed or served.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Stream } from "../../src/schema/rows.ts";
import type { Simulator } from "../../src/sim/server.ts";
import { simulator } from "../helpers/sim.ts";
import { baseEnv, spawnCollector, type CollectorProcess } from "../helpers/collector.ts";
import { query, streamGlob } from "../helpers/duck.ts";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startFaultProxy, startS3, type FaultMode, type S3Server } from "../helpers/s3.ts";
import { KEY_RE } from "../helpers/layout.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const MARKET: Stream[] = ["bbo", "trade", "mark_price", "funding", "liquidation"];
const PREFIX = "raw/qlc";

function s3Env(endpoint: string, dataDir: string, sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return baseEnv({
    STORAGE_BACKEND: "s3",
    S3_ENDPOINT: endpoint,
    S3_BUCKET: "market-data",
    S3_PREFIX: PREFIX,
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    DATA_DIR: dataDir,
    BINANCE_WS_URL: sim.url,
    EXCHANGES: "binance",
    SYMBOLS: SYMBOLS.join(","),
    FLUSH_INTERVAL: "0.5",
    MIN_FLUSH_GAP_SECONDS: "0",
    BUFFER_SIZE: "400",
    HEARTBEAT_INTERVAL: "1",
    ...extra,
  });
}

const expectedRows = (sim: Simulator) => Object.values(sim.stats().rows).reduce((a, b) => a + b, 0);

/** Download every object under the prefix into `dest` (same relative keys). */
async function download(s3: S3Server, dest: string): Promise<string[]> {
  const keys = await s3.listKeys(`${PREFIX}/`);
  for (const k of keys) {
    const path = join(dest, k);
    mkdirSync(dirname(path), { recursive: true });
    await Bun.write(path, await s3.client.file(k).bytes());
  }
  return keys;
}

/** Rows per stream and symbol in the downloaded objects equal the simulator's, and no row appears twice. */
async function expectExactlyOnce(root: string, sim: Simulator): Promise<number> {
  const rows = sim.stats().rows;
  let total = 0;
  for (const stream of MARKET) {
    const glob = streamGlob(join(root, PREFIX), "binance", stream);
    const got = await query(`select symbol, count(*) as n, count(distinct (conn_id, recv_seq)) as d from ${glob} group by symbol order by symbol`);
    const want = SYMBOLS.filter((s) => rows[`binance|${stream}|${s}`])
      .sort()
      .map((s) => ({ symbol: s, n: rows[`binance|${stream}|${s}`]!, d: rows[`binance|${stream}|${s}`]! }));
    expect({ stream, got }).toEqual({ stream, got: want });
    total += want.reduce((a, r) => a + r.n, 0);
  }
  return total;
}

function spoolParquet(spool: string): string[] {
  if (!existsSync(spool)) return [];
  return (readdirSync(spool, { recursive: true }) as string[]).filter((f) => f.endsWith(".parquet") && !f.split("/").pop()!.startsWith(".")).sort();
}

/** Everything a collector printed (logs, stderr) plus the status bodies given: must never hold a credential. */
function expectNoCredentials(col: CollectorProcess, bodies: readonly unknown[]): void {
  const text = col.logs.map((l) => JSON.stringify(l)).join("\n") + col.stderr() + JSON.stringify(bodies);
  expect(text.length).toBeGreaterThan(1000);
  expect(text.includes(S3_SECRET_KEY)).toBe(false);
  expect(text.includes(S3_ACCESS_KEY)).toBe(false);
}

describe("S3 storage", () => {
  test("happy path: every row reaches S3 under S3_PREFIX with the hive layout, read back with DuckDB; no credential in output", async () => {
    using dir = tmpDir();
    await using s3 = await startS3(join(dir.path, "s3rver"));
    const FRAMES = 2000;
    await using sim = simulator({ rate: 2000, record: true, maxFramesPerVenue: FRAMES, exchanges: ["binance"], symbols: SYMBOLS });
    const data = join(dir.path, "data");
    await using col = spawnCollector([], s3Env(s3.endpoint, data, sim));
    await col.waitForLog("status_api_start");
    await waitFor("simulator to send every frame", () => sim.stats().frames.binance === FRAMES, 20_000);
    const want = expectedRows(sim);
    await waitFor(
      "every row uploaded",
      async () => {
        const m = await col.get("/metrics");
        return m.writer.total_written === want && m.writer.spool_files === 0 && m.writer.in_flight_uploads === 0;
      },
      20_000,
    );
    const bodies = [
      await col.get("/metrics"),
      await col.get("/status"),
      await col.get("/health"),
      await col.get("/streams"),
      await col.get("/metrics/prometheus"),
    ] as const;
    const m = bodies[0];
    expect(m.writer.upload_failures).toBe(0);
    expect(m.writer.files_uploaded).toBeGreaterThan(0);
    expect(m.writer.spool_bytes).toBe(0);
    expect(bodies[1].state).toBe("READY");
    expect(bodies[4]).toContain("quantlab_collector_spool_files 0");
    expect(bodies[4]).toMatch(/quantlab_collector_files_uploaded_total [1-9]/);
    const hb = col.logs.filter((l) => l.event === "heartbeat").at(-1)!;
    expect(hb.writer).toMatchObject({ spool_files: expect.any(Number), spool_bytes: expect.any(Number), spool_oldest_age_seconds: expect.any(Number) });
    expect(await col.stop("SIGTERM")).toBe(0);
    const stop = await col.waitForLog("collector_stop");

    const dl = join(dir.path, "download");
    const keys = await download(s3, dl);
    // Every file the writer wrote is in S3 (market data and connection rows), with the layout of README.md "Data: Parquet schema v1".
    expect(keys.length).toBe((stop.writer as { files_written: number }).files_written);
    expect(keys.length).toBe((stop.writer as { files_uploaded: number }).files_uploaded);
    for (const k of keys) expect({ k, ok: k.startsWith("raw/qlc/") && KEY_RE.exec(k.slice("raw/qlc/".length))?.[1] === "binance" }).toEqual({ k, ok: true });
    expect(await expectExactlyOnce(dl, sim)).toBe(want);
    // Values equal the frames sent (bbo, field by field).
    const sent = sim.sent().map((f) => JSON.parse(f.text).data as Record<string, any>);
    for (const s of SYMBOLS) {
      const bbo = await query(`select * from ${streamGlob(join(dl, PREFIX), "binance", "bbo")} where symbol = '${s}' order by recv_seq`);
      expect(bbo.map((r) => [r.ts_event_ms, r.bid_px, r.bid_qty, r.ask_px, r.ask_qty, r.update_id])).toEqual(
        sent.filter((d) => d.e === "bookTicker" && d.s === s).map((d) => [d.E, Number(d.b), Number(d.B), Number(d.a), Number(d.A), d.u]),
      );
    }
    expect(spoolParquet(join(data, "spool"))).toEqual([]); // deleted after S3 confirmed
    expectNoCredentials(col, bodies);
  });

  test("outage through a fault proxy (500, 503, dropped connections, hung requests): DEGRADED then READY, every row exactly once, same keys retried, RSS bounded", async () => {
    using dir = tmpDir();
    await using s3 = await startS3(join(dir.path, "s3rver"));
    await using proxy = await startFaultProxy(s3.port);
    const RATE = 400;
    const FRAMES = RATE * 18;
    await using sim = simulator({ rate: RATE, maxFramesPerVenue: FRAMES, exchanges: ["binance"], symbols: SYMBOLS });
    const data = join(dir.path, "data");
    await using col = spawnCollector(
      [],
      s3Env(proxy.endpoint, data, sim, { MAX_INFLIGHT_UPLOADS: "4", S3_UPLOAD_TIMEOUT_SECONDS: "1", S3_RETRY_MAX_SECONDS: "1" }),
    );
    await col.waitForLog("status_api_start");
    await waitFor("READY", async () => (await col.get("/status")).state === "READY", 10_000);

    const samples: Array<{ mode: FaultMode; state: string; rss: number; spool: number; failures: number; pending: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await col.get("/metrics").catch(() => null);
        if (m)
          samples.push({
            mode: proxy.mode,
            state: m.state,
            rss: m.rss_mb,
            spool: m.writer.spool_files,
            failures: m.writer.upload_failures,
            pending: m.writer.pending_events,
          });
        await Bun.sleep(200);
      }
    })();
    for (const mode of ["500", "503", "drop", "hang"] as FaultMode[]) {
      proxy.setMode(mode);
      await Bun.sleep(mode === "hang" ? 4000 : 2500);
    }
    proxy.setMode("pass");
    await proxy.releaseHeld(); // abandoned PUTs now land late: the same keys, written again
    await waitFor("simulator to send every frame", () => sim.stats().frames.binance === FRAMES, 30_000);
    const want = expectedRows(sim);
    await waitFor(
      "every row uploaded after the outage",
      async () => {
        const m = await col.get("/metrics");
        return m.writer.total_written === want && m.writer.spool_files === 0 && m.writer.in_flight_uploads === 0;
      },
      30_000,
    );
    await waitFor("READY again", async () => (await col.get("/status")).state === "READY", 10_000);
    sampling = false;
    await sampler;
    const m = await col.get("/metrics");
    const bodies = [m, await col.get("/status"), await col.get("/metrics/prometheus")];
    expect(await col.stop("SIGTERM")).toBe(0);

    // Every fault was exercised and every failed attempt counted.
    for (const mode of ["500", "503", "drop", "hang"]) expect(proxy.stats.byOutcome[mode] ?? 0).toBeGreaterThan(0);
    expect(m.writer.upload_failures).toBeGreaterThanOrEqual((proxy.stats.byOutcome["500"] ?? 0) + (proxy.stats.byOutcome["503"] ?? 0));
    expect(m.write_errors_total).toBeGreaterThanOrEqual(m.writer.upload_failures);
    const failedLogs = col.logs.filter((l) => l.event === "upload_error" && l.attempt !== undefined);
    expect(failedLogs.map((l) => String(l.error).split(":")[0])).toEqual(expect.arrayContaining(["InternalError", "SlowDown", "UPLOAD_TIMEOUT"]));
    // State went DEGRADED during the outage and back to READY after it.
    const changes = col.logs.filter((l) => l.event === "state_change");
    const iDegraded = changes.findIndex((l) => l.to === "DEGRADED" && (l.reasons as string[]).some((r) => r.includes("S3 uploads failing")));
    expect(iDegraded).toBeGreaterThanOrEqual(0);
    expect(changes.slice(iDegraded).map((l) => l.to)).toContain("READY");
    expect(col.logs.some((l) => l.event === "upload_recovered")).toBe(true);
    // Retries (and late abandoned PUTs) wrote the same keys: more PUTs than objects, no extra objects.
    const dl = join(dir.path, "download");
    const keys = await download(s3, dl);
    const puts = [...proxy.stats.putsByPath.entries()].filter(([p]) => p.startsWith(`/market-data/${PREFIX}/`));
    expect(new Set(puts.map(([p]) => p.slice("/market-data/".length))).size).toBe(keys.length);
    expect(puts.some(([, n]) => n >= 2)).toBe(true);
    const stop = await col.waitForLog("collector_stop"); // shutdown flushes the disconnect rows: one more file
    expect(keys.length).toBe((stop.writer as { files_written: number }).files_written);
    expect(keys.length).toBe((stop.writer as { files_uploaded: number }).files_uploaded);
    expect(await expectExactlyOnce(dl, sim)).toBe(want);
    // RAM: files waited on disk. Rows not yet in S3 never piled up in memory: the writer held at
    // most ~4 s of traffic (its 0.5 s buffers) through an 11.5 s outage, while the spool grew.
    const during = samples.filter((s) => s.mode !== "pass");
    const peakSpool = Math.max(...during.map((s) => s.spool));
    const rss = samples.map((s) => s.rss);
    console.log(
      `[s3 outage] samples=${samples.length} peak spool files=${peakSpool} writer pending max=${Math.max(...during.map((s) => s.pending))} rss min/max MB=${Math.min(...rss)}/${Math.max(...rss)} upload_failures=${m.writer.upload_failures} proxy=${JSON.stringify(proxy.stats.byOutcome)} objects=${keys.length} puts=${puts.reduce((a, [, n]) => a + n, 0)}`,
    );
    expect(peakSpool).toBeGreaterThan(5);
    expect(Math.max(...during.map((s) => s.pending))).toBeLessThan(RATE * 4);
    expect(Math.max(...rss)).toBeLessThan(400);
    expect(during.some((s) => s.state === "DEGRADED")).toBe(true);
    expectNoCredentials(col, bodies);
  }, 90_000);

  test("kill -9 while S3 is down, restart with S3 up: every spooled file uploaded first, no key lost or duplicated", async () => {
    using dir = tmpDir();
    await using s3 = await startS3(join(dir.path, "s3rver"));
    await using proxy = await startFaultProxy(s3.port);
    proxy.setMode("503");
    const FRAMES = 2000;
    await using sim = simulator({ rate: 2000, maxFramesPerVenue: FRAMES, exchanges: ["binance"], symbols: SYMBOLS });
    const data = join(dir.path, "data");
    const spool = join(dir.path, "spool-elsewhere");
    const env = s3Env(proxy.endpoint, data, sim, { SPOOL_DIR: spool, S3_RETRY_MAX_SECONDS: "0.5" });
    await using first = spawnCollector([], env);
    await first.waitForLog("status_api_start");
    await waitFor("simulator to send every frame", () => sim.stats().frames.binance === FRAMES, 20_000);
    const want = expectedRows(sim);
    await waitFor(
      "every row durable in the spool",
      async () => {
        const m = await first.get("/metrics");
        return m.writer.total_written === want && m.writer.upload_failures > 0 && m.writer.pending_events === 0;
      },
      20_000,
    );
    const before = await first.get("/metrics");
    expect(before.state).toBe("DEGRADED");
    expect(before.writer.spool_files).toBeGreaterThan(3);
    expect(before.writer.spool_oldest_age_seconds).toBeGreaterThan(0);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    const spooled = spoolParquet(spool);
    expect(spooled.length).toBeGreaterThanOrEqual(before.writer.spool_files);
    expect(await s3.listKeys()).toEqual([]); // nothing reached S3

    proxy.setMode("pass");
    await using second = spawnCollector([], env);
    const rec = await second.waitForLog("spool_recovered");
    expect(rec.files).toBe(spooled.length);
    await waitFor("spool drained", async () => (await second.get("/metrics")).writer.spool_files === 0, 20_000);
    expect(await second.stop("SIGTERM")).toBe(0);
    const keys = await s3.listKeys(`${PREFIX}/`);
    // Every spooled file is an object under the same key; the first PUTs of the second run were the recovered files.
    for (const f of spooled) expect(keys).toContain(`${PREFIX}/${f}`);
    const order = [...proxy.stats.putsByPath.keys()]
      .slice(0, spooled.length)
      .map((p) => p.slice(`/market-data/${PREFIX}/`.length))
      .sort();
    expect(order).toEqual(spooled);
    for (const [p, n] of proxy.stats.putsByPath) expect({ p, n }).toEqual({ p, n: 1 });
    expect(spoolParquet(spool)).toEqual([]);
    const dl = join(dir.path, "download");
    await download(s3, dl);
    expect(await expectExactlyOnce(dl, sim)).toBe(want);
    expectNoCredentials(first, []);
    expectNoCredentials(second, []);
  }, 60_000);

  test("spool over SPOOL_MAX_BYTES while S3 is down: ERROR with the operator's action; S3 back: READY and every row exactly once", async () => {
    using dir = tmpDir();
    await using s3 = await startS3(join(dir.path, "s3rver"));
    await using proxy = await startFaultProxy(s3.port);
    proxy.setMode("503");
    const FRAMES = 3000;
    await using sim = simulator({ rate: 1000, maxFramesPerVenue: FRAMES, exchanges: ["binance"], symbols: SYMBOLS });
    await using col = spawnCollector([], s3Env(proxy.endpoint, join(dir.path, "data"), sim, { SPOOL_MAX_BYTES: "20000", S3_RETRY_MAX_SECONDS: "0.5" }));
    await col.waitForLog("status_api_start");
    const full = await col.waitForLog("spool_full", () => true, 20_000);
    expect(full.action).toContain("raise SPOOL_MAX_BYTES");
    const st = await waitFor(
      "ERROR",
      async () => {
        const s = await col.get("/status");
        return s.state === "ERROR" ? s : null;
      },
      10_000,
    );
    expect(st.reasons).toEqual(expect.arrayContaining([expect.stringContaining("spool full")]));
    const m = await col.get("/metrics");
    expect(m.writer.spool_bytes).toBeLessThanOrEqual(20000);
    expect(m.writer.pending_events).toBeGreaterThan(0); // the refused rows wait in the writer, not lost
    await waitFor("simulator to send every frame", () => sim.stats().frames.binance === FRAMES, 20_000);
    proxy.setMode("pass");
    const want = expectedRows(sim);
    await waitFor(
      "every row uploaded",
      async () => {
        const x = await col.get("/metrics");
        return x.writer.total_written === want && x.writer.spool_files === 0 && x.writer.pending_events === 0;
      },
      40_000,
    );
    await waitFor("READY again", async () => (await col.get("/status")).state === "READY", 10_000);
    expect(await col.stop("SIGTERM")).toBe(0);
    const dl = join(dir.path, "download");
    await download(s3, dl);
    expect(await expectExactlyOnce(dl, sim)).toBe(want);
    expect(col.logs.some((l) => l.event === "spool_full" && l.resolved === true)).toBe(true);
  }, 60_000);

  test("bad S3 configuration exits 2 with one line naming the key, never echoing the secret", async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ S3_BUCKET: "" }, "S3_BUCKET is required when STORAGE_BACKEND=s3"],
      [{ S3_SECRET_KEY: "" }, "S3_SECRET_KEY is required"],
      [{ S3_ACCESS_KEY: "" }, "S3_ACCESS_KEY is required"],
      [{ S3_ENDPOINT: "s3.example.com" }, "S3_ENDPOINT must be an http:// or https:// URL"],
      [{ AWS_SESSION_TOKEN: "tok" }, "AWS_SESSION_TOKEN is set in the environment"],
      [{ SPOOL_MAX_BYTES: "12" }, "SPOOL_MAX_BYTES must be a whole number from 1024"],
      [{ S3_UPLOAD_TIMEOUT_SECONDS: "0" }, "S3_UPLOAD_TIMEOUT_SECONDS must be a number of seconds"],
    ];
    for (const [patch, msg] of cases) {
      const env = baseEnv({ STORAGE_BACKEND: "s3", S3_ENDPOINT: "http://127.0.0.1:9", S3_BUCKET: "b", S3_ACCESS_KEY, S3_SECRET_KEY, ...patch });
      const p = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "bin", "quantlab-collector.ts")], { env, stdout: "pipe", stderr: "pipe" });
      const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
      expect({ patch, code, lines: err.trim().split("\n").length }).toEqual({ patch, code: 2, lines: 1 });
      expect(err).toContain(msg);
      expect(err.includes(S3_SECRET_KEY)).toBe(false);
      // stdout: only the same reason as a JSON fatal_error line (log pipelines see it), no secret.
      const fatal = out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(fatal.map((l) => [l.event, l.exit_code])).toEqual([["fatal_error", 2]]);
      expect(fatal[0].error).toContain(msg);
      expect(out.includes(S3_SECRET_KEY)).toBe(false);
    }
  });
});
