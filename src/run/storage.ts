/** @module run/storage — the configured storage: a local Parquet tree, or a local spool in front of S3. */
import { join } from "node:path";
import { s3Settings, type Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { createLocalStorage } from "../storage/local.ts";
import { createS3Store } from "../storage/s3.ts";
import { createSpoolingStorage } from "../storage/spool.ts";
import type { Storage } from "../storage/types.ts";

export function createStorage(config: Readonly<Config>, log: Logger): Storage {
  const s3 = s3Settings(config);
  if (!s3) return createLocalStorage(config.DATA_DIR);
  const store = createS3Store(s3);
  return createSpoolingStorage({
    dir: config.SPOOL_DIR ?? join(config.DATA_DIR, "spool"),
    prefix: s3.prefix,
    store,
    maxInflight: config.MAX_INFLIGHT_UPLOADS,
    maxBytes: config.SPOOL_MAX_BYTES,
    uploadTimeoutMs: config.S3_UPLOAD_TIMEOUT_SECONDS * 1000,
    backoff: { baseMs: Math.min(500, config.S3_RETRY_MAX_SECONDS * 1000), maxMs: config.S3_RETRY_MAX_SECONDS * 1000 },
    log,
  });
}
