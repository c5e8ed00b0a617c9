/**
 * Scope: the S3 spool (src/storage/spool.ts) against a scripted object store: durable-then-upload,
 * concurrency bound, backoff between failed rounds, per-attempt deadline with a bound on abandoned
 * requests, SPOOL_MAX_BYTES → ERROR input, recovery of an earlier run's files (oldest first), close;
 * and src/storage/s3.ts scrubbing credentials out of a real Bun S3Client error. Time is a ManualClock:
 * backoff pauses and deadlines pass only when a test advances it; file I/O is real and awaited by event.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { createS3Store, type ObjectStore } from "../../src/storage/s3.ts";
import { createSpoolingStorage, normalisePrefix, type SpoolingStorage, type SpoolOptions } from "../../src/storage/spool.ts";
import { ManualClock } from "../helpers/clock.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

type Behaviour = (key: string, attempt: number) => Promise<void>;

function fakeStore(behaviour: Behaviour, clock: { nowMs(): number } = { nowMs: Date.now }) {
  const calls: Array<{ key: string; at: number; bytes: number }> = [];
  const attempts = new Map<string, number>();
  const objects = new Map<string, Uint8Array>();
  let open = 0;
  let maxOpen = 0;
  const store: ObjectStore & { calls: typeof calls; objects: typeof objects; maxOpen: () => number; open: () => number } = {
    describe: "fake://bucket",
    calls,
    objects,
    maxOpen: () => maxOpen,
    open: () => open,
    async write(key, bytes) {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      calls.push({ key, at: clock.nowMs(), bytes: bytes.length });
      open++;
      maxOpen = Math.max(maxOpen, open);
      try {
        await behaviour(key, n);
        objects.set(key, bytes.slice());
      } finally {
        open--;
      }
    },
  };
  return store;
}

function setup(dir: string, store: ObjectStore, patch: Partial<SpoolOptions> = {}) {
  const logs: Record<string, unknown>[] = [];
  const log = createLogger("debug", (l) => logs.push(JSON.parse(l)));
  const clock = new ManualClock();
  const backoff = { baseMs: 40, maxMs: 200 };
  const opts: SpoolOptions = { dir, prefix: "raw", store, maxInflight: 4, maxBytes: 1 << 20, uploadTimeoutMs: 2000, backoff, log, clock };
  const spool = createSpoolingStorage({ ...opts, ...patch });
  return { spool, stats: () => spool.stats(), logs };
}

/**
 * Let the spool's file I/O run and, whenever no upload is running, move the clock to its next timer
 * (a backoff pause ending), until `done`. No timer fires while an attempt is in flight, so a deadline
 * never expires because the machine is slow.
 */
function drive(clock: ManualClock, spool: SpoolingStorage, what: string, done: () => boolean) {
  return waitFor(
    what,
    () => {
      if (done()) return true;
      if (spool.stats().uploadsInFlight === 0 && clock.pending > 0) clock.advanceToNext();
      return false;
    },
    15_000,
    5,
  );
}

const uploadErrors = (logs: Record<string, unknown>[]) => logs.filter((l) => l.event === "upload_error");

const key = (i: number) => `v1/binance/trade/BTCUSDT/date=2026-11-24/${1_000_000 + i}-abcd0123-${i}.parquet`;
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const parquetIn = (dir: string) => (existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(".parquet")) : []);

describe("spool", () => {
  test("put is durable in the spool first, uploaded under prefix + key, deleted after; concurrency ≤ MAX_INFLIGHT_UPLOADS", async () => {
    using d = tmpDir();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = fakeStore(() => gate);
    const { spool, stats } = setup(d.path, store);
    await spool.probe();
    for (let i = 0; i < 10; i++) await spool.put(key(i), bytes(100 + i));
    // Everything is on disk before any upload finished.
    expect(parquetIn(d.path).length).toBe(10);
    expect(stats()).toMatchObject({ spoolFiles: 10, spoolBytes: 1045, uploadsInFlight: 4 });
    expect(stats().spoolOldestMs).not.toBeNull();
    release();
    await waitFor("spool drained", () => stats().spoolFiles === 0, 15_000, 5);
    expect(store.maxOpen()).toBe(4);
    expect([...store.objects.keys()].sort()).toEqual([...Array(10).keys()].map((i) => `raw/${key(i)}`).sort());
    expect(store.objects.get(`raw/${key(3)}`)).toEqual(bytes(103));
    expect(parquetIn(d.path)).toEqual([]);
    expect(stats()).toMatchObject({ filesUploaded: 10, uploadFailures: 0, uploadsInFlight: 0, spoolBytes: 0 });
    expect(stats().spoolOldestMs).toBeNull();
  });

  test("failed attempts: counted, DEGRADED input set, retried on the same key after a jittered exponential backoff (≥ base/2, ≤ cap), cleared on success", async () => {
    using d = tmpDir();
    const clock = new ManualClock();
    // What the DEGRADED input said when each retry reached the store (attempt 1 sees the healthy state).
    const failingAtAttempt: boolean[] = [];
    let spoolRef: SpoolingStorage | null = null;
    const store = fakeStore(async (_k, n) => {
      failingAtAttempt.push(spoolRef?.stats().uploadsFailing ?? false);
      if (n <= 4) throw Object.assign(new Error("injected"), { code: "SlowDown" });
    }, clock);
    const { spool, stats, logs } = setup(d.path, store, { maxInflight: 1, clock });
    spoolRef = spool;
    await spool.probe();
    await spool.put(key(1), bytes(10));
    // The spool really waits each announced delay: not a millisecond less, and no longer.
    for (let failed = 1; failed <= 4; failed++) {
      await waitFor(`failure ${failed}`, () => uploadErrors(logs).length === failed);
      const delay = uploadErrors(logs)[failed - 1]?.retry_in_ms as number;
      clock.advance(delay - 1);
      expect(stats().uploadsInFlight).toBe(0);
      clock.advance(1);
      expect(stats().uploadsInFlight).toBe(1);
    }
    await waitFor("uploaded", () => stats().filesUploaded === 1);
    // Set by the first failure, still set on every retry, cleared by the success.
    expect(failingAtAttempt).toEqual([false, true, true, true, true]);
    expect(stats().uploadsFailing).toBe(false);
    expect(stats().uploadFailures).toBe(4);
    expect(new Set(store.calls.map((c) => c.key))).toEqual(new Set([`raw/${key(1)}`]));
    const errs = uploadErrors(logs);
    expect(errs.map((l) => l.attempt)).toEqual([1, 2, 3, 4]);
    // Full jitter: each announced delay is ≥ base/2 and ≤ the step's cap (base·2^(step-1), at most
    // maxMs); the store saw the retries exactly that far apart.
    const delays = errs.map((l) => l.retry_in_ms as number);
    delays.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(20);
      expect(ms).toBeLessThanOrEqual(Math.min(200, 40 * 2 ** i));
    });
    const at = store.calls.map((c) => c.at);
    expect(at.slice(1).map((t, i) => t - (at[i] ?? 0))).toEqual(delays);
    expect(errs[0]?.action).toContain("retried");
    expect(logs.some((l) => l.event === "upload_recovered")).toBe(true);
  });

  test("a hung request is abandoned at the deadline and retried on the same key; abandoned requests are bounded", async () => {
    using d = tmpDir();
    const clock = new ManualClock();
    const hung: Array<() => void> = [];
    let hang = true;
    const store = fakeStore(() => (hang ? new Promise<void>((r) => hung.push(r)) : Promise.resolve()), clock);
    const { spool, stats, logs } = setup(d.path, store, { maxInflight: 2, uploadTimeoutMs: 50, backoff: { baseMs: 10, maxMs: 20 }, clock });
    await spool.probe();
    for (let i = 0; i < 6; i++) await spool.put(key(i), bytes(10));
    // Two requests hang; at their deadline both are abandoned (still open) and retried one at a time.
    await waitFor("two requests open", () => store.calls.length === 2);
    clock.advance(50);
    await waitFor("two deadlines", () => stats().uploadFailures === 2);
    for (const n of [3, 4]) {
      clock.advanceToNext(); // the backoff pause ends: one probing request
      await waitFor(`request ${n}`, () => store.calls.length === n);
      clock.advance(50);
      await waitFor(`deadline ${n}`, () => stats().uploadFailures === n);
    }
    clock.advanceToNext(); // the pause ends, but 2 × MAX_INFLIGHT_UPLOADS requests are open and abandoned
    // The spool announces that it stopped.
    const blocked = logs.find((l) => l.event === "upload_error" && l.code === "ABANDONED_REQUESTS");
    expect(blocked?.abandoned).toBe(4);
    expect(store.calls.length).toBe(4);
    expect(stats().uploadFailures).toBe(4);
    expect(logs.filter((l) => l.event === "upload_error" && String(l.error).startsWith("UPLOAD_TIMEOUT"))).toHaveLength(4);
    // Another file arrives (the pump runs again): still blocked, no fifth request, and no timer that could start one.
    await spool.put(key(6), bytes(10));
    expect(store.calls.length).toBe(4);
    expect(clock.pending).toBe(0);
    // Never more than 2 × MAX_INFLIGHT_UPLOADS open requests (in flight + abandoned).
    expect(store.maxOpen()).toBe(4);
    // The endpoint answers again: the abandoned PUTs land late (same key, same bytes), the rest is retried.
    hang = false;
    for (const r of hung.splice(0)) r();
    await drive(clock, spool, "drained", () => stats().spoolFiles === 0);
    expect(store.objects.size).toBe(7);
    const perKey = new Map<string, number>();
    for (const c of store.calls) perKey.set(c.key, (perKey.get(c.key) ?? 0) + 1);
    expect([...perKey.values()].some((n) => n >= 2)).toBe(true); // a key written twice: idempotent
    expect(stats().filesUploaded).toBe(7);
    expect(stats().uploadsFailing).toBe(false);
  });

  test("SPOOL_MAX_BYTES: a file that does not fit is refused, the ERROR input is set with an operator action; cleared once uploads drain it", async () => {
    using d = tmpDir();
    const clock = new ManualClock();
    let up = false;
    const store = fakeStore(async () => {
      if (!up) throw Object.assign(new Error("down"), { code: "ConnectionRefused" });
    });
    const { spool, stats, logs } = setup(d.path, store, { maxBytes: 250, backoff: { baseMs: 10, maxMs: 20 }, clock });
    await spool.probe();
    await spool.put(key(1), bytes(100));
    await spool.put(key(2), bytes(100));
    const err = await spool.put(key(3), bytes(100)).catch((e) => e);
    expect(err.code).toBe("SPOOL_FULL");
    expect(stats().spoolFull).toBe(true);
    expect(parquetIn(d.path).length).toBe(2);
    const full = logs.find((l) => l.event === "spool_full");
    expect(full?.action).toContain("SPOOL_MAX_BYTES");
    up = true;
    await drive(clock, spool, "drained", () => stats().spoolFiles === 0);
    await spool.put(key(3), bytes(100)); // the writer's retry
    expect(stats().spoolFull).toBe(false);
    await drive(clock, spool, "uploaded", () => stats().filesUploaded === 3);
  });

  test("start-up recovery: files of an earlier run are uploaded first, oldest first; stale temp files removed, fresh ones kept", async () => {
    using d = tmpDir();
    const nowS = Math.floor(Date.now() / 1000);
    const old = nowS - 3600;
    const files = [key(3), key(1), key(2)];
    files.forEach((k, i) => {
      const p = join(d.path, k);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, bytes(50 + i, i));
      utimesSync(p, old + i * 60, old + i * 60); // key(3) oldest, then key(1), key(2)
    });
    const dirOf = dirname(join(d.path, key(1)));
    writeFileSync(join(dirOf, ".999-1.tmp"), "partial");
    utimesSync(join(dirOf, ".999-1.tmp"), old, old);
    writeFileSync(join(dirOf, ".999-2.tmp"), "being written right now");
    mkdirSync(join(d.path, "v1/okx/bbo/X/date=2026-01-01"), { recursive: true }); // empty: removed
    const store = fakeStore(async () => {});
    const { spool, stats, logs } = setup(d.path, store, { maxInflight: 1, clock: new ManualClock(nowS * 1000) });
    await spool.probe();
    await spool.put(key(9), bytes(5)); // a new file queues behind the recovered ones
    const rec = logs.find((l) => l.event === "spool_recovered");
    expect(rec).toMatchObject({ files: 3, bytes: 50 + 51 + 52, oldest_age_s: 3600 });
    await waitFor("drained", () => stats().spoolFiles === 0, 15_000, 5);
    expect(store.calls.map((c) => c.key)).toEqual([key(3), key(1), key(2), key(9)].map((k) => `raw/${k}`));
    expect(store.objects.get(`raw/${key(1)}`)).toEqual(bytes(51, 1));
    expect(existsSync(join(dirOf, ".999-1.tmp"))).toBe(false);
    expect(existsSync(join(dirOf, ".999-2.tmp"))).toBe(true);
    expect(existsSync(join(d.path, "v1/okx"))).toBe(false);
  });

  test("a failed start-up probe does not strand an earlier run's files: the first successful put queues them", async () => {
    using d = tmpDir();
    for (const i of [1, 2]) {
      const p = join(d.path, key(i));
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, bytes(40 + i, i));
    }
    // The probe's own file cannot be written (a non-empty directory sits at its path): probe fails.
    const blocker = join(d.path, `.probe-${process.pid}.tmp`);
    mkdirSync(join(blocker, "x"), { recursive: true });
    const store = fakeStore(async () => {});
    const clock = new ManualClock();
    const { spool, stats, logs } = setup(d.path, store, { clock });
    await expect(spool.probe()).rejects.toThrow();
    // Nothing uploaded, nothing queued, nothing scheduled: no upload can start before a put succeeds.
    expect(store.calls).toEqual([]);
    expect(stats()).toMatchObject({ spoolFiles: 0, uploadsInFlight: 0 });
    expect(clock.pending).toBe(0);
    rmSync(blocker, { recursive: true });
    await spool.put(key(9), bytes(5));
    await waitFor("drained", () => stats().spoolFiles === 0 && store.objects.size === 3, 15_000, 5);
    expect([...store.objects.keys()].sort()).toEqual([key(1), key(2), key(9)].map((k) => `raw/${k}`).sort());
    expect(store.objects.get(`raw/${key(2)}`)).toEqual(bytes(42, 2));
    expect(logs.filter((l) => l.event === "spool_recovered")).toEqual([expect.objectContaining({ files: 2, bytes: 41 + 42 })]);
    expect(parquetIn(d.path)).toEqual([]);
  });

  test("last_write_ts is the last upload S3 confirmed, not the last file spooled", async () => {
    using d = tmpDir();
    const clock = new ManualClock();
    let down = true;
    const store = fakeStore(async () => {
      if (down) throw Object.assign(new Error("503 SlowDown"), { code: "SlowDown" });
    }, clock);
    const { spool, stats } = setup(d.path, store, { clock });
    await spool.probe();
    await spool.put(key(1), bytes(10));
    await waitFor("a failed upload", () => stats().uploadFailures > 0, 15_000, 5);
    expect(stats().lastUploadMs).toBeNull();
    const before = clock.nowMs();
    down = false;
    await drive(clock, spool, "uploaded", () => stats().filesUploaded === 1);
    expect(stats().lastUploadMs).toBeGreaterThanOrEqual(before);
    // Stamped when the store confirmed the retry, after the backoff pause.
    expect(stats().lastUploadMs).toBe(store.calls.at(-1)?.at ?? null);
    expect(stats().lastUploadMs).toBeGreaterThan(before);
  });

  test("close waits while uploads make progress and reports nothing pending", async () => {
    using d = tmpDir();
    const { promise: gate, resolve: release } = Promise.withResolvers<void>();
    const store = fakeStore(() => gate);
    const { spool, stats } = setup(d.path, store);
    await spool.probe();
    for (const i of [1, 2]) await spool.put(key(i), bytes(10));
    await waitFor("both uploads at the store", () => store.calls.length === 2, 15_000, 5);
    const closing = spool.close(10_000);
    // Uploads are running and nothing fails: close keeps waiting (time stands still, so no deadline).
    expect(await Promise.race([closing, Promise.resolve("waiting")])).toBe("waiting");
    release();
    expect(await closing).toEqual({ pendingFiles: 0, pendingBytes: 0 });
    expect(stats().filesUploaded).toBe(2);
  });

  test("close with uploads failing returns at once: the files stay in the spool for the next start, no timer is left", async () => {
    using d = tmpDir();
    const clock = new ManualClock();
    const store = fakeStore(async () => {
      throw Object.assign(new Error("down"), { code: "ConnectionRefused" });
    });
    const { spool, stats } = setup(d.path, store, { clock });
    await spool.probe();
    await spool.put(key(1), bytes(10));
    await waitFor("a failed upload", () => stats().uploadFailures === 1, 15_000, 5);
    expect(clock.pending).toBe(1); // the backoff wake-up
    expect(await spool.close(10_000)).toEqual({ pendingFiles: 1, pendingBytes: 10 });
    expect(clock.pending).toBe(0);
    expect(parquetIn(d.path)).toHaveLength(1);
  });

  test("close stops waiting at its deadline while an upload hangs", async () => {
    using d = tmpDir();
    const clock = new ManualClock();
    const store = fakeStore(() => new Promise<void>(() => {}));
    const { spool, stats } = setup(d.path, store, { clock, uploadTimeoutMs: 60_000 });
    await spool.probe();
    await spool.put(key(1), bytes(10));
    await waitFor("the upload at the store", () => store.calls.length === 1, 15_000, 5);
    const closing = spool.close(1000);
    expect(await Promise.race([closing, Promise.resolve("waiting")])).toBe("waiting");
    clock.advance(1000);
    expect(await closing).toEqual({ pendingFiles: 1, pendingBytes: 10 });
    expect(stats().uploadsInFlight).toBe(1);
  });

  test("S3_PREFIX normalisation", () => {
    expect(["", "/", "raw", "raw/", "/raw/x/", " a/b "].map(normalisePrefix)).toEqual(["", "", "raw/", "raw/", "raw/x/", "a/b/"]);
  });
});

describe("s3 store", () => {
  test("a server error that echoes the credentials reaches the log scrubbed; the request is signed with Bun's SigV4", async () => {
    const SECRET = "unit-secret-7f1e9b2c";
    const ACCESS = "UNITACCESSKEY42";
    let auth = "";
    const srv = http.createServer((req, res) => {
      auth = String(req.headers.authorization ?? "");
      req.resume();
      res.writeHead(403, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>denied for ${ACCESS} / ${SECRET}</Message></Error>`);
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    try {
      const store = createS3Store({
        endpoint: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
        bucket: "b",
        region: "eu-west-1",
        accessKey: ACCESS,
        secretKey: SECRET,
      });
      const err = await store.write("raw/k.parquet", bytes(3)).catch((e) => e);
      expect(err.code).toBe("AccessDenied");
      expect(err.message).toContain("denied for ***");
      expect(err.message.includes(SECRET) || err.message.includes(ACCESS)).toBe(false);
      expect(store.describe.includes(SECRET) || store.describe.includes(ACCESS)).toBe(false);
      expect(auth).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS}/\\d{8}/eu-west-1/s3/aws4_request`));
    } finally {
      srv.close();
    }
  });
});
