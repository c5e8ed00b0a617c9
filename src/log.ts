/** @module log — one line per event on stdout: JSON (ts, level, event, …) or, for a person at a terminal, a coloured line. */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogEvent =
  | "collector_start"
  | "collector_stop"
  | "config_warning"
  | "ws_connect"
  | "ws_disconnect"
  | "ws_reconnect_scheduled"
  | "ws_rotate"
  | "ws_error"
  | "subscribe_sent"
  | "subscribe_ack"
  | "subscribe_error"
  | "subscribe_batch_refused"
  | "venue_notice"
  | "parse_error"
  | "state_change"
  | "heartbeat"
  | "silence_start"
  | "silence_end"
  | "flush"
  | "write_error"
  | "write_recovered"
  | "writer_backpressure"
  | "tmp_cleanup"
  | "upload_error"
  | "upload_recovered"
  | "spool_recovered"
  | "spool_full"
  | "spool_pending"
  | "queue_drop"
  | "trade_id_gap"
  | "book_gap"
  | "book_resync"
  | "book_rest_queued"
  | "book_rest_wait"
  | "book_rest_snapshot"
  | "book_rest_stale"
  | "book_rest_error"
  | "book_rest_rate_limited"
  | "book_rest_dropped"
  | "trade_id_jump"
  | "subscription_silent"
  | "subscription_live"
  | "shutdown_signal"
  | "shutdown_timeout"
  | "status_api_start"
  | "status_api_error"
  | "fatal_error"
  | "compact_start"
  | "compact_partition"
  | "compact_recovered"
  | "compact_skip"
  | "compact_error"
  | "compact_done"
  | "sim_start"
  | "sim_stop";

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: LogLevel, event: LogEvent, fields?: Record<string, unknown>): void;
  info(event: LogEvent, fields?: Record<string, unknown>): void;
  warn(event: LogEvent, fields?: Record<string, unknown>): void;
  error(event: LogEvent, fields?: Record<string, unknown>): void;
  debug(event: LogEvent, fields?: Record<string, unknown>): void;
}

export type LogWriter = (line: string) => void;

const stdoutWriter: LogWriter = (line) => {
  process.stdout.write(line + "\n");
};

export type LogFormat = "json" | "pretty";

/** LOG_FORMAT unset: pretty for a person at a terminal, JSON for journald, files and pipes. */
export function defaultLogFormat(isTTY = process.stdout.isTTY === true): LogFormat {
  return isTTY ? "pretty" : "json";
}

export function createLogger(
  minLevel: LogLevel = "info",
  write: LogWriter = stdoutWriter,
  format: LogFormat = "json",
  color = process.stdout.isTTY === true,
): Logger {
  const min = LEVEL_RANK[minLevel];
  const log = (level: LogLevel, event: LogEvent, fields?: Record<string, unknown>): void => {
    if (LEVEL_RANK[level] < min) return;
    const ts = new Date().toISOString();
    write(format === "pretty" ? prettyLine(ts, level, event, fields, color) : JSON.stringify({ ts, level, event, ...fields }));
  };
  return {
    log,
    info: (e, f) => log("info", e, f),
    warn: (e, f) => log("warn", e, f),
    error: (e, f) => log("error", e, f),
    debug: (e, f) => log("debug", e, f),
  };
}

const LEVEL_COLOR: Record<LogLevel, string> = { debug: "\x1b[90m", info: "\x1b[36m", warn: "\x1b[33m", error: "\x1b[31m" };

/** `12:00:01.234 WARN  ws_disconnect exchange=binance code=1006 reason="closed by peer"` (UTC time). */
export function prettyLine(ts: string, level: LogLevel, event: string, fields: Record<string, unknown> | undefined, color: boolean): string {
  const c = (code: string, s: string) => (color ? `${code}${s}\x1b[0m` : s);
  const parts = [c("\x1b[90m", ts.slice(11, 23)), c(LEVEL_COLOR[level], level.toUpperCase().padEnd(5)), c("\x1b[1m", event)];
  for (const [k, v] of Object.entries(fields ?? {})) {
    if (v === undefined) continue;
    const text = typeof v === "string" ? (/^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)) : JSON.stringify(v);
    parts.push(`${c("\x1b[90m", k + "=")}${text}`);
  }
  return parts.join(" ");
}

/** A logger that drops everything (unit tests, benchmarks). */
export const silentLogger: Logger = createLogger("error", () => {});
