/**
 * @module storage/spool-admission — lets a file into the spool only while it fits: SPOOL_MAX_BYTES
 * (files held plus files being written) and a disk with room. A refusal sets the ERROR input
 * (`isFull`, `spool_full` log, once per episode); the next file that fits clears it.
 */
import { describeError, StorageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { SpoolFiles } from "./spool-files.ts";
import type { Storage } from "./types.ts";

export interface AdmissionOptions {
  /** Where admitted files are made durable (temp + fsync + rename). */
  local: Storage;
  files: SpoolFiles;
  dir: string;
  maxBytes: number;
  log: Logger;
}

export class SpoolAdmission {
  /** Bytes of files being written right now: counted against the limit before they land. */
  private reserved = 0;
  private full = false;

  constructor(private readonly o: AdmissionOptions) {}

  /** A file was refused and none admitted since (SPOOL_MAX_BYTES or a full disk): the ERROR input. */
  get isFull(): boolean {
    return this.full;
  }

  /** Make `bytes` durable in the spool under `key`, or throw (SPOOL_FULL, or the disk's error). */
  async admit(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const { files, maxBytes } = this.o;
    if (files.bytes + this.reserved + bytes.length > maxBytes) {
      const msg = `spool holds ${files.bytes} B in ${files.count} files; SPOOL_MAX_BYTES=${maxBytes}: file refused (the writer keeps its rows and retries)`;
      this.markFull("SPOOL_MAX_BYTES", msg);
      throw new StorageError("SPOOL_FULL", msg);
    }
    this.reserved += bytes.length;
    try {
      await this.o.local.put(key, bytes, signal);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ENOSPC" || code === "EDQUOT") this.markFull("disk full", describeError(err));
      throw err;
    } finally {
      this.reserved -= bytes.length;
    }
    if (this.full) {
      this.full = false;
      this.o.log.info("spool_full", { resolved: true, spool_files: files.count, spool_bytes: files.bytes });
    }
  }

  private markFull(reason: string, err: string): void {
    if (this.full) return;
    this.full = true;
    this.o.log.error("spool_full", {
      reason,
      spool_dir: this.o.dir,
      spool_files: this.o.files.count,
      spool_bytes: this.o.files.bytes,
      spool_max_bytes: this.o.maxBytes,
      error: err,
      action:
        "files are not reaching S3 fast enough: fix S3 access first (see upload_error), then free disk space or raise SPOOL_MAX_BYTES; until then new rows wait in memory and are dropped once the queue is full",
    });
  }
}
