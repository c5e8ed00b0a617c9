/** @module inspect/command — `quantlab-collector inspect <DATA_DIR|s3://bucket/prefix>`: table (default), --json, --html. */
import { loadConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { checkSelection, objectsFor } from "../compact/command.ts";
import { renderHtml, renderTable } from "./render.ts";
import { inspect } from "./scan.ts";

export interface InspectFlags {
  date?: string;
  exchange?: string;
  stream?: string;
  symbol?: string;
  json?: boolean;
  html?: string;
  top: number;
}

/** Writes the report; returns the exit code (0; 1 when some file could not be read). */
export async function runInspect(
  source: string,
  flags: InspectFlags,
  env: Record<string, string | undefined>,
  out: (s: string) => void,
  writeFile: (path: string, text: string) => Promise<unknown>,
): Promise<number> {
  checkSelection(flags);
  let config;
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(source);
  if (s3) {
    // Endpoint, region and keys from the environment (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION); bucket and prefix from the URL.
    config = loadConfig({ ...env, STORAGE_BACKEND: "s3", S3_BUCKET: s3[1]!, S3_PREFIX: s3[2]! });
  } else if (source.startsWith("s3:")) {
    throw new ConfigError(`invalid argument: ${JSON.stringify(source)} is not s3://bucket[/prefix]`);
  } else {
    config = loadConfig({ ...env, STORAGE_BACKEND: "local" }, { dataDir: source });
  }
  const report = await inspect({
    objects: objectsFor(config),
    date: flags.date,
    exchange: flags.exchange,
    stream: flags.stream,
    symbol: flags.symbol,
    topGaps: flags.top,
  });
  if (flags.html) await writeFile(flags.html, renderHtml(report));
  out(flags.json ? JSON.stringify(report, null, 1) + "\n" : renderTable(report) + (flags.html ? `\nHTML report: ${flags.html}\n` : ""));
  return report.partitions.some((p) => p.errors.length > 0) ? 1 : 0;
}
