/** @module storage/spool-files — the files waiting in the spool, oldest first: their bytes on disk and the gauges that show them. */
import { rm } from "node:fs/promises";
import { join } from "node:path";

export interface SpoolEntry {
  /** Hive key, relative to the spool directory (also the object key after the prefix). */
  key: string;
  size: number;
  /** When the file entered the spool (mtime for files recovered from an earlier run). */
  sinceMs: number;
  attempts: number;
}

/** The spool's contents: count, bytes and the oldest file's age are read from here (UploadStats). */
export class SpoolFiles {
  private readonly entries = new Map<string, SpoolEntry>(); // insertion order = oldest first
  private bytesTotal = 0;

  constructor(private readonly dir: string) {}

  get count(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.bytesTotal;
  }

  /** When the oldest file entered the spool (ms), null when empty. */
  get oldestMs(): number | null {
    const first = this.entries.values().next();
    return first.done ? null : first.value.sinceMs;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** False when the key is already there (a late scan that sees this run's files). */
  add(e: SpoolEntry): boolean {
    if (this.entries.has(e.key)) return false;
    this.entries.set(e.key, e);
    this.bytesTotal += e.size;
    return true;
  }

  remove(e: SpoolEntry): void {
    if (!this.entries.delete(e.key)) return;
    this.bytesTotal -= e.size;
  }

  /** The file's bytes, read back from disk for every attempt (waiting files cost no RAM); null when it is gone. */
  async read(e: SpoolEntry): Promise<Uint8Array | null> {
    try {
      return await Bun.file(join(this.dir, e.key)).bytes();
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return null;
      throw err;
    }
  }

  /** Uploaded: delete the file, then forget it. */
  async discard(e: SpoolEntry): Promise<void> {
    await rm(join(this.dir, e.key), { force: true });
    this.remove(e);
  }
}
