/** @module storage/paths — hive-style object keys of spec §4. */
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

export function objectKey(p: KeyParts): string {
  return (
    `${SCHEMA_VERSION}/exchange=${p.exchange}/stream=${p.stream}/symbol=${p.symbol}` +
    `/date=${utcDate(p.firstTsRecvUs)}/${p.firstTsRecvUs}-${p.instanceId}-${p.seq}.parquet`
  );
}
