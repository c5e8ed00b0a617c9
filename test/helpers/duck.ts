/** Test helpers: read Parquet back with DuckDB — an independent reader, not our own code. */
import { DuckDBInstance } from "@duckdb/node-api";
import { parquetGlob, STREAM_FROM_FILENAME, type GlobParts } from "./layout.ts";

let instance: DuckDBInstance | null = null;

async function conn() {
  instance ??= await DuckDBInstance.create(":memory:");
  return instance.connect();
}

function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  return v;
}

/** Run SQL and return rows as plain objects (BIGINT → number). */
export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const c = await conn();
  try {
    const r = await c.runAndReadAll(sql);
    return r.getRowObjects().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
  } finally {
    c.closeSync();
  }
}

export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Read of every file under a data dir for one (exchange, stream). */
export function streamGlob(dataDir: string, exchange: string, stream: string): string {
  return `read_parquet(${sqlString(parquetGlob(dataDir, { exchange, stream }))}, hive_partitioning = false)`;
}

/**
 * Several streams at once (different column sets: union_by_name), with `stream` recovered from the
 * path (it is a plain path segment, not a column) and `date` from the hive key.
 */
export function streamsRead(dataDir: string, parts: GlobParts = {}): string {
  return `(select *, ${STREAM_FROM_FILENAME} as stream from read_parquet(${sqlString(parquetGlob(dataDir, parts))}, hive_partitioning = true, union_by_name = true, filename = true))`;
}
