/** @module run/storage — the configured storage: a local Parquet tree, or a local spool in front of S3. */
import { join } from "node:path";
import type { Config } from "../config.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { createLocalStorage } from "../storage/local.ts";
import { createS3Store } from "../storage/s3.ts";
import { createSpoolingStorage } from "../storage/spool.ts";
import type { Storage } from "../storage/types.ts";

export function createStorage(config: Readonly<Config>, log: Logger): Storage {
  if (config.STORAGE_BACKEND !== "s3") return createLocalStorage(config.DATA_DIR);
  const { S3_ENDPOINT: endpoint, S3_BUCKET: bucket, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey } = config;
  // loadConfig refuses STORAGE_BACKEND=s3 without these; checked again here so the types need no `!`.
  if (!endpoint || !bucket || !accessKey || !secretKey)
    throw new ConfigError("STORAGE_BACKEND=s3 needs S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY and S3_SECRET_KEY");
  const store = createS3Store({ endpoint, bucket, region: config.S3_REGION, accessKey, secretKey });
  return createSpoolingStorage({
    dir: config.SPOOL_DIR ?? join(config.DATA_DIR, "spool"),
    prefix: config.S3_PREFIX,
    store,
    maxInflight: config.MAX_INFLIGHT_UPLOADS,
    maxBytes: config.SPOOL_MAX_BYTES,
    uploadTimeoutMs: config.S3_UPLOAD_TIMEOUT_SECONDS * 1000,
    backoff: { baseMs: Math.min(500, config.S3_RETRY_MAX_SECONDS * 1000), maxMs: config.S3_RETRY_MAX_SECONDS * 1000 },
    log,
  });
}
