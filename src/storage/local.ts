/** @module storage/local — files under DATA_DIR: temp name, fsync, rename (a reader never sees a partial file). */
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { StorageError } from "../errors.ts";
import type { Storage } from "./types.ts";

let tmpCounter = 0;

export function createLocalStorage(root: string): Storage {
  async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
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
    async put(key, bytes) {
      try {
        await writeAtomic(join(root, key), bytes);
      } catch (err) {
        throw wrap(`write ${key}`, err);
      }
    },
  };
}
