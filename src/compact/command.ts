/** @module compact/command — `quantlab-collector compact`: storage from the collector's configuration, one summary, exit code. */
import { s3Settings, type Config } from "../config.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { COLLECTOR_VERSION } from "../version.ts";
import { compact, DEFAULT_GRACE_MINUTES, type Granularity, type Step } from "./compact.ts";
import { localObjects, s3Objects, type Objects } from "../storage/objects.ts";

export interface CompactFlags {
  granularity: string;
  date?: string;
  exchange?: string;
  stream?: string;
  symbol?: string;
  graceMinutes: number;
  dryRun?: boolean;
}

const STEPS: readonly Step[] = ["read", "put", "verify", "delete"];
const NAME = /^[A-Za-z0-9_-]+$/;

export function objectsFor(config: Readonly<Config>): Objects {
  const s3 = s3Settings(config);
  return s3 ? s3Objects(s3, s3.prefix) : localObjects(config.DATA_DIR);
}

/** The selection flags shared by compact and inspect: --date YYYY-MM-DD; --exchange, --stream, --symbol letters, digits, _ or -. Throws ConfigError. */
export function checkSelection(flags: { date?: string; exchange?: string; stream?: string; symbol?: string }): void {
  if (flags.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(flags.date))
    throw new ConfigError(`invalid option: --date must be YYYY-MM-DD (got ${JSON.stringify(flags.date)})`);
  for (const k of ["exchange", "stream", "symbol"] as const) {
    const v = flags[k];
    if (v !== undefined && !NAME.test(v))
      throw new ConfigError(`invalid option: --${k} must be letters, digits, _ or - (got ${JSON.stringify(v.slice(0, 40))})`);
  }
}

/** Returns the exit code: 0 done (or nothing to do), 1 some partition failed (logged; sources kept). */
export async function runCompact(config: Readonly<Config>, flags: CompactFlags, log: Logger, env: Record<string, string | undefined>): Promise<number> {
  if (flags.granularity !== "day" && flags.granularity !== "hour")
    throw new ConfigError(`invalid option: --granularity must be day or hour (got ${JSON.stringify(flags.granularity)})`);
  checkSelection(flags);
  // Testing only: QLC_COMPACT_CRASH_AFTER=<step> kills this process (SIGKILL) right after that step of the first partition.
  const crash = env.QLC_COMPACT_CRASH_AFTER;
  if (crash !== undefined && !STEPS.includes(crash as Step))
    throw new ConfigError(`invalid configuration: QLC_COMPACT_CRASH_AFTER must be one of ${STEPS.join(",")}`);
  // Testing only: QLC_COMPACT_NOW_MS replaces the clock that decides which periods are closed.
  const nowRaw = env.QLC_COMPACT_NOW_MS;
  if (nowRaw !== undefined && !/^\d{13}$/.test(nowRaw))
    throw new ConfigError("invalid configuration: QLC_COMPACT_NOW_MS must be epoch milliseconds (13 digits)");
  const nowMs = nowRaw === undefined ? undefined : Number(nowRaw);
  const report = await compact({
    objects: objectsFor(config),
    granularity: flags.granularity as Granularity,
    now: () => nowMs ?? Date.now(),
    graceMinutes: flags.graceMinutes,
    date: flags.date,
    exchange: flags.exchange,
    stream: flags.stream,
    symbol: flags.symbol,
    dryRun: flags.dryRun,
    collectorVersion: COLLECTOR_VERSION,
    log,
    afterStep: crash ? (s) => void (s === crash && process.kill(process.pid, "SIGKILL")) : undefined,
  });
  return report.errors > 0 ? 1 : 0;
}

export { DEFAULT_GRACE_MINUTES };
