/** @module storage/local — files under DATA_DIR: temp name, fsync, rename (a reader never sees a partial file). */
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { StorageError } from "../errors.ts";
import type { Storage } from "./types.ts";

let tmpCounter = 0;

export function createLocalStorage(root: string): Storage {
  async function writeAtomic(path: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    // Leading dot + .tmp: invisible to `**/*.parquet` globs until the rename.
    const tmp = join(dir, `.${process.pid}-${++tmpCounter}.tmp`);
    const fh = await open(tmp, "w", 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true }); // e.g. ENOSPC: leave no partial temp file behind
      throw err;
    }
    await fh.close();
    if (signal?.aborted) {
      // Shutdown gave up on this file: its rows are counted as dropped, so it must not appear.
      await rm(tmp, { force: true });
      throw new StorageError("ABORTED", `write of ${path} abandoned at shutdown`);
    }
    try {
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    // fsync the directory so the rename itself survives a power loss.
    const dh = await open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  const wrap = (op: string, err: unknown): StorageError => {
    const e = err as { code?: string; message?: string };
    return new StorageError(e.code ?? "EIO", `${op} failed under ${root}: ${e.message ?? String(err)}`);
  };

  return {
    describe: `local:${root}`,
    async probe() {
      const probePath = join(root, `.probe-${process.pid}.tmp`);
      try {
        await mkdir(root, { recursive: true });
        await writeAtomic(probePath, new Uint8Array([1]));
        await rm(probePath, { force: true });
      } catch (err) {
        throw wrap("write probe", err);
      }
    },
    async put(key, bytes, signal) {
      try {
        await writeAtomic(join(root, key), bytes, signal);
      } catch (err) {
        if (err instanceof StorageError) throw err;
        throw wrap(`write ${key}`, err);
      }
    },
    async removeLeftovers() {
      return removeTempFiles(root);
    },
  };
}

/** `.<pid>-<n>.tmp` (writeAtomic) and `.probe-<pid>.tmp`: the writing process's pid. */
const TMP_PID = /^\.(?:probe-)?(\d+)(?:-\d+)?\.tmp$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/**
 * Removes `*.tmp` files under `root` left by a process that was killed between write and rename
 * (they are never renamed; a reader never sees them, but they take disk). A temp file whose name
 * carries the pid of a live process (another collector on the same directory) is kept.
 */
export async function removeTempFiles(root: string): Promise<{ removed: number; kept: number }> {
  let removed = 0;
  let kept = 0;
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // missing or unreadable: nothing of ours to clean
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.isFile() && e.name.endsWith(".tmp")) {
        const m = TMP_PID.exec(e.name);
        if (m && alive(Number(m[1]))) {
          kept++;
          continue;
        }
        await rm(path, { force: true });
        removed++;
      }
    }
  }
  await walk(root);
  return { removed, kept };
}
