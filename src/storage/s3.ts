/** @module storage/s3 — one PUT per object through Bun's S3 client (Bun's own SigV4 signing), built only from our config. */
import { S3Client } from "bun";
import { StorageError } from "../errors.ts";

/** What the spool uploader needs from an object store; tests substitute a fake. */
export interface ObjectStore {
  /** Location for logs: endpoint host, bucket and prefix, never credentials. */
  readonly describe: string;
  /** PUT `bytes` at `key` (the full object key, prefix included). Rejects on any failure. */
  write(key: string, bytes: Uint8Array): Promise<void>;
}

export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

/**
 * Bun's S3 client built from our settings alone. Every option is passed explicitly: Bun would otherwise fill endpoint, bucket, region and keys from
 * ambient S3_* / AWS_* variables read at process start (https://bun.sh/docs/api/s3, credentials). Path-style addressing
 * (`virtualHostedStyle: false`) works with AWS, MinIO, R2 and s3rver alike.
 */
export function s3Client(s: S3Settings): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    bucket: s.bucket,
    region: s.region,
    accessKeyId: s.accessKey,
    secretAccessKey: s.secretKey,
    virtualHostedStyle: false,
  });
}

/** A failed S3 call as a StorageError: the server's code (else the error's name), `<op> <key>: <message>` with the credentials scrubbed. */
export function s3Error(op: string, key: string, err: unknown, s: S3Settings): StorageError {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === "string" && e.code ? e.code : typeof e.name === "string" ? e.name : "S3_ERROR";
  const secrets = [s.secretKey, s.accessKey].filter((x) => x.length >= 4);
  return new StorageError(code, scrub(`${op} ${key}: ${typeof e.message === "string" ? e.message : String(err)}`, secrets));
}

/** One PUT per object through s3Client. */
export function createS3Store(s: S3Settings): ObjectStore {
  const client = s3Client(s);
  const host = safeHost(s.endpoint);
  return {
    describe: `s3://${s.bucket} at ${host}`,
    async write(key, bytes) {
      try {
        // s3.write sends exactly one PUT and never retries: the spool owns retries.
        await client.write(key, bytes, { type: "application/vnd.apache.parquet" });
      } catch (err) {
        throw s3Error("PUT", key, err, s);
      }
    },
  };
}

/** Replace any credential that a server or runtime message might echo. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join("***");
  return out;
}

function safeHost(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(invalid endpoint)";
  }
}
