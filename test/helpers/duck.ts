/** Test helpers: read Parquet back with DuckDB — an independent reader, not our own code. */
import { DuckDBInstance } from "@duckdb/node-api";

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

/** Hive-partitioned read of every file under a data dir for one stream. */
export function streamGlob(dataDir: string, exchange: string, stream: string): string {
  return `read_parquet(${sqlString(`${dataDir}/v1/exchange=${exchange}/stream=${stream}/*/*/*.parquet`)}, hive_partitioning = false)`;
}
