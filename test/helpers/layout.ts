/**
 * Test helpers: the ONE place tests spell the documented file layout (README "Data: Parquet schema v1"):
 *   <dataDir>/v1/<exchange>/<stream>/<SYMBOL>/date=<YYYY-MM-DD>/<file>.parquet
 * Written independently of src/storage/paths.ts on purpose: tests check the product against the docs.
 */

export interface GlobParts {
  /** Each part is a glob pattern; default `*`. */
  exchange?: string;
  stream?: string;
  symbol?: string;
  /** YYYY-MM-DD or a glob. */
  date?: string;
  /** File-name glob; default `*.parquet`. */
  file?: string;
}

/** Glob of the Parquet files under `root` (a DATA_DIR, a spool dir, or "" for relative S3 keys). */
export function parquetGlob(root: string, p: GlobParts = {}): string {
  const rel = `v1/${p.exchange ?? "*"}/${p.stream ?? "*"}/${p.symbol ?? "*"}/date=${p.date ?? "*"}/${p.file ?? "*.parquet"}`;
  return root === "" ? rel : `${root}/${rel}`;
}

/** A stream's folder, as handed to a reader (`<root>/v1/<exchange>/<stream>`). */
export function streamFolder(root: string, exchange: string, stream: string): string {
  return `${root}/v1/${exchange}/${stream}`;
}

/** Regex a key relative to the data root (or S3 prefix) must match. */
export const KEY_RE = /^v1\/([a-z]+)\/([a-z_]+)\/([A-Z0-9]+)\/date=(\d{4}-\d{2}-\d{2})\/(\d{16})-([0-9a-f]{8})-(\d+)\.parquet$/;

/** SQL expression for the stream name of a row read with `filename = true` (stream is a path segment). */
export const STREAM_FROM_FILENAME = `regexp_extract(filename, '/v1/[^/]+/([^/]+)/', 1)`;
