/** @module log — JSON lines on stdout: one object per line with ts, level, event. */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogEvent =
  | "collector_start"
  | "collector_stop"
  | "config_loaded"
  | "ws_connect"
  | "ws_disconnect"
  | "ws_reconnect_scheduled"
  | "ws_rotate"
  | "ws_error"
  | "subscribe_sent"
  | "subscribe_ack"
  | "subscribe_error"
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
  | "subscription_silent"
  | "subscription_live"
  | "shutdown_signal"
  | "shutdown_timeout"
  | "status_api_start"
  | "status_api_error"
  | "fatal_error"
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

export function createLogger(minLevel: LogLevel = "info", write: LogWriter = stdoutWriter): Logger {
  const min = LEVEL_RANK[minLevel];
  const log = (level: LogLevel, event: LogEvent, fields?: Record<string, unknown>): void => {
    if (LEVEL_RANK[level] < min) return;
    write(JSON.stringify({ ts: new Date().toISOString(), level, event, ...fields }));
  };
  return {
    log,
    info: (e, f) => log("info", e, f),
    warn: (e, f) => log("warn", e, f),
    error: (e, f) => log("error", e, f),
    debug: (e, f) => log("debug", e, f),
  };
}

/** A logger that drops everything (unit tests, benchmarks). */
export const silentLogger: Logger = createLogger("error", () => {});
