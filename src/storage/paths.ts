/**
 * @module storage/paths — object keys of the on-disk / S3 layout (README "Data: Parquet schema v1"):
 *
 *   v1/<exchange>/<stream>/<SYMBOL>/date=<YYYY-MM-DD>/<file>.parquet
 *
 * `date=` is the only hive key. exchange, stream and symbol are plain path segments: `exchange` and
 * `symbol` are also columns inside every file, and a path key with the same name as a file column
 * makes pandas / pyarrow.parquet.read_table (partition inferred as dictionary) and
 * pyarrow.dataset(partitioning='hive') (inferred as string) fail or disagree (docs/reading.md).
 */
import { SCHEMA_VERSION } from "../version.ts";

export interface KeyParts {
  exchange: string;
  stream: string;
  symbol: string;
  /** ts_recv_us of the file's first row: names the file and picks the UTC date partition. */
  firstTsRecvUs: number;
  instanceId: string;
  /** Per-process file counter: with instanceId, makes names unique across restarts and instances. */
  seq: number;
}

/** UTC calendar date (YYYY-MM-DD) of a microsecond timestamp. */
export function utcDate(tsUs: number): string {
  return new Date(Math.floor(tsUs / 1000)).toISOString().slice(0, 10);
}

/** Folder (no trailing slash) of one (exchange, stream, symbol, UTC date) partition. */
export function partitionDir(p: { exchange: string; stream: string; symbol: string; date: string }): string {
  return `${SCHEMA_VERSION}/${p.exchange}/${p.stream}/${p.symbol}/date=${p.date}`;
}

export function objectKey(p: KeyParts): string {
  return `${partitionDir({ ...p, date: utcDate(p.firstTsRecvUs) })}/${p.firstTsRecvUs}-${p.instanceId}-${p.seq}.parquet`;
}

export interface ParsedKey {
  exchange: string;
  stream: string;
  symbol: string;
  date: string;
  /** File name (last segment), e.g. `1764590000000000-ab12cd34-7.parquet`. */
  file: string;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Parse a key relative to a data root or S3 prefix (`v1/<ex>/<stream>/<SYM>/date=<D>/<file>.parquet`).
 * Returns null for anything else (other versions, the old hive-keyed layout, temp files): callers
 * count and skip those, never build a path from an unparsed string.
 */
export function parseObjectKey(key: string): ParsedKey | null {
  const parts = key.split("/");
  if (parts.length !== 6 || parts[0] !== SCHEMA_VERSION) return null;
  const [, exchange, stream, symbol, dateSeg, file] = parts as [string, string, string, string, string, string];
  if (!SEGMENT.test(exchange) || !SEGMENT.test(stream) || !SEGMENT.test(symbol)) return null;
  if (!dateSeg.startsWith("date=") || !DATE.test(dateSeg.slice(5))) return null;
  if (!file.endsWith(".parquet") || file.startsWith(".") || file.includes("/")) return null;
  return { exchange, stream, symbol, date: dateSeg.slice(5), file };
}
