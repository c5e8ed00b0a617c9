/**
 * @module storage/objects — list / get / put / delete over the data root: a local DATA_DIR or an
 * S3 bucket + prefix (Bun's S3 client, built only from explicit settings, as storage/s3.ts).
 * Keys are relative to the root (`v1/<exchange>/…`); a put is atomic (local: temp + fsync +
 * rename; S3: one PUT), so a reader never sees a partial compacted file.
 */
import { open, readdir, readFile, rm } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { createLocalStorage } from "./local.ts";
import { s3Client, s3Error, type S3Settings } from "./s3.ts";
import { normalisePrefix } from "./spool.ts";

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface Objects {
  readonly describe: string;
  /** Every object under `v1/` (keys relative to the root), in no particular order. */
  list(): Promise<ObjectInfo[]>;
  get(key: string): Promise<Uint8Array>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

export function localObjects(root: string): Objects {
  const local = createLocalStorage(root);
  return {
    describe: `local:${root}`,
    async list() {
      const out: ObjectInfo[] = [];
      const walk = async (dir: string): Promise<void> => {
        let entries;
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (err) {
          if ((err as { code?: string }).code === "ENOENT") return;
          throw err;
        }
        for (const d of entries) {
          const p = join(dir, d.name);
          if (d.isDirectory()) await walk(p);
          else if (d.isFile()) out.push({ key: relative(root, p).split(sep).join("/"), size: (await Bun.file(p).size) ?? 0 });
        }
      };
      await walk(join(root, "v1"));
      return out;
    },
    async get(key) {
      return new Uint8Array(await readFile(join(root, key)));
    },
    put: (key, bytes) => local.put(key, bytes),
    async delete(key) {
      const p = join(root, key);
      await rm(p, { force: true });
      // fsync the directory so the unlink survives a power loss before the next step.
      const dh = await open(dirname(p), "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    },
  };
}

/** S3: list pages of 1000 keys (ListObjectsV2 continuation), GET, PUT, DELETE. */
export function s3Objects(s: S3Settings, prefix: string): Objects {
  const client = s3Client(s);
  const p = normalisePrefix(prefix);
  const wrap = async <T>(op: string, key: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw s3Error(op, key, err, s);
    }
  };
  return {
    describe: `s3://${s.bucket}/${p}`,
    async list() {
      const out: ObjectInfo[] = [];
      let token: string | undefined;
      do {
        const page = await wrap("LIST", `${p}v1/`, () => client.list({ prefix: `${p}v1/`, maxKeys: 1000, ...(token ? { continuationToken: token } : {}) }));
        for (const c of page.contents ?? []) if (c.key.startsWith(p)) out.push({ key: c.key.slice(p.length), size: c.size ?? 0 });
        token = page.isTruncated ? page.nextContinuationToken : undefined;
      } while (token);
      return out;
    },
    get: (key) => wrap("GET", p + key, () => client.file(p + key).bytes()),
    put: (key, bytes) => wrap("PUT", p + key, async () => void (await client.write(p + key, bytes, { type: "application/vnd.apache.parquet" }))),
    delete: (key) => wrap("DELETE", p + key, () => client.delete(p + key)),
  };
}
