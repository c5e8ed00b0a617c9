/**
 * @module storage/spool-recovery — files an earlier run left in the spool (kill -9, power loss, a
 * shutdown during an outage) are queued for upload before newer ones, oldest first. Stale temp files
 * of a writer that died mid-write and emptied folders are removed on the way.
 */
import { readdir, rm, rmdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Clock } from "../clock.ts";
import { describeError, StorageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { SpoolEntry, SpoolFiles } from "./spool-files.ts";

/** Temp files of a writer that died mid-write are removed after this long (a live writer renames within ms). */
const STALE_TMP_MS = 10 * 60_000;

export interface RecoveryOptions {
  dir: string;
  files: SpoolFiles;
  /** Queues a found file behind those already queued. */
  enqueue(e: SpoolEntry): void;
  /** Called once the scan has queued what it found. */
  onRecovered(): void;
  /** Where the files go, for logs. */
  storage: string;
  clock: Clock;
  log: Logger;
}

interface Found {
  key: string;
  size: number;
  mtimeMs: number;
}

/**
 * The earlier run's files are queued once the spool has been scanned successfully. A start-up probe
 * that fails (directory missing or not writable yet) leaves it to the first put that succeeds, so
 * those files are not stranded until the next restart.
 */
export class SpoolRecovery {
  private recovered = false;
  private recovering: Promise<void> | null = null;
  private errorLogged = false;

  constructor(private readonly o: RecoveryOptions) {}

  /** Scan once (concurrent callers share the scan); throws SPOOL_UNREADABLE when the spool cannot be read. */
  ensure(): Promise<void> {
    if (this.recovered) return Promise.resolve();
    this.recovering ??= this.recover()
      .then(() => {
        this.recovered = true;
        this.o.onRecovered();
      })
      .catch((err: unknown) => {
        throw new StorageError("SPOOL_UNREADABLE", `cannot scan spool ${this.o.dir}: ${describeError(err)}`);
      })
      .finally(() => {
        this.recovering = null;
      });
    return this.recovering;
  }

  /** After a put: retry a scan that has not succeeded yet; its failure is logged once per process, never thrown. */
  async retry(): Promise<void> {
    if (this.recovered) return;
    await this.ensure().catch((err: unknown) => {
      if (this.errorLogged) return;
      this.errorLogged = true; // every put retries, the log need not repeat it
      this.o.log.error("write_error", {
        storage: this.o.storage,
        error: describeError(err),
        action: `files of an earlier run in ${this.o.dir} are not queued for upload: make the spool directory readable by the collector's user; retried with the next file`,
      });
    });
  }

  private async recover(): Promise<void> {
    const now = this.o.clock.nowMs();
    const found: Found[] = [];
    await this.walk(this.o.dir, now, found);
    found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.key < b.key ? -1 : 1));
    // A late scan (after a failed start-up probe) also sees this run's files: those are queued already.
    const fresh = found.filter((f) => !this.o.files.has(f.key));
    for (const f of fresh) this.o.enqueue({ key: f.key, size: f.size, sinceMs: f.mtimeMs, attempts: 0 });
    const oldest = fresh[0];
    if (!oldest) return;
    this.o.log.info("spool_recovered", {
      files: fresh.length,
      bytes: fresh.reduce((a, f) => a + f.size, 0),
      oldest_age_s: Math.round((now - oldest.mtimeMs) / 1000),
      spool_dir: this.o.dir,
      note: "files left by an earlier run are uploaded first",
    });
  }

  /** Collects the spooled files under `dir`; true when `dir` ended up empty (then the caller removes it). */
  private async walk(dir: string, now: number, found: Found[]): Promise<boolean> {
    let empty = true;
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      if (d.isDirectory()) {
        if (await this.walk(p, now, found)) await rmdir(p).catch(() => {});
        else empty = false;
      } else if (d.name.endsWith(".parquet") && !d.name.startsWith(".")) {
        const st = await stat(p);
        found.push({ key: relative(this.o.dir, p).split(sep).join("/"), size: st.size, mtimeMs: st.mtimeMs });
        empty = false;
      } else if (d.name.endsWith(".tmp") && now - (await stat(p)).mtimeMs > STALE_TMP_MS) {
        await rm(p, { force: true }); // a partial file of a writer that died mid-write
      } else {
        empty = false;
      }
    }
    return empty;
  }
}
