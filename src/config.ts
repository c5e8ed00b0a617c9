/** @module config — one zod schema over the environment (README.md "Configuration"); CLI flags override; frozen result. */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseEnv } from "node:util";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { EXCHANGES, OPT_IN_STREAMS, STREAMS, type ExchangeId, type Stream } from "./schema/rows.ts";

export const DEFAULT_SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "AVAXUSDT", "LINKUSDT", "LTCUSDT"];

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

/**
 * Bun (like Node) fires any timer above 2^31−1 ms (~24.8 days) after 1 ms instead (measured: a
 * 3,000,000 s backoff gave thousands of handshakes per second). Every duration therefore has an
 * upper bound, at most this, chosen per setting below.
 */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const positiveSeconds = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `must be a number of seconds from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= Math.min(max, MAX_TIMER_SECONDS), `must be a number of seconds from ${min} to ${max}`);

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An IPv4/IPv6 literal or a DNS name; `999.1.1.1` (all-numeric, not an address) is refused. */
const bindHost = z
  .string()
  .trim()
  .refine(
    (s) => isIP(s.replace(/^\[(.*)\]$/, "$1")) !== 0 || (HOSTNAME.test(s) && !/^[\d.]+$/.test(s)),
    "must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1) or a host name",
  )
  .transform((s) => s.replace(/^\[(.*)\]$/, "$1"));

const wsBaseUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "ws:" || u.protocol === "wss:") && (u.pathname === "/" || u.pathname === "") && !u.search && !u.username;
    } catch {
      return false;
    }
  }, "must be a ws:// or wss:// URL with scheme, host and optional port only (the adapter appends the venue's paths)")
  .transform((s) => s.replace(/\/+$/, ""));

const csv = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

const symbolList = z
  .string()
  .transform(csv)
  .refine((l) => l.length > 0, "must list at least one symbol")
  .refine((l) => l.every((s) => /^[A-Z0-9]{1,20}USDT$/.test(s)), "symbols must be unified USDT perpetual names in upper case, e.g. BTCUSDT,ETHUSDT")
  .transform((l) => [...new Set(l)]);

const exchangeList = z
  .string()
  .transform((s) => csv(s.toLowerCase()))
  .refine((l) => l.length > 0, "must list at least one exchange")
  .refine((l) => l.every((x) => (EXCHANGES as readonly string[]).includes(x)), `must be a comma-separated subset of ${EXCHANGES.join(",")}`)
  .transform((l) => [...new Set(l)] as ExchangeId[]);

/** Default STREAMS: every stream except the opt-in ones (`book`). */
export const DEFAULT_STREAMS: Stream[] = STREAMS.filter((s) => !OPT_IN_STREAMS.has(s));

const streamList = z
  .string()
  .transform((s) => csv(s.toLowerCase()))
  .refine((l) => l.length > 0, "must list at least one stream")
  .refine((l) => l.every((x) => (STREAMS as readonly string[]).includes(x)), `must be a comma-separated subset of ${STREAMS.join(",")}`)
  .transform((l) => [...new Set(l)] as Stream[]);

const httpBaseUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "http:" || u.protocol === "https:") && (u.pathname === "/" || u.pathname === "") && !u.search && !u.username;
    } catch {
      return false;
    }
  }, "must be an http:// or https:// URL with scheme, host and optional port only (the collector appends /fapi/v1/depth)")
  .transform((s) => s.replace(/\/+$/, ""));

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s === "" ? undefined : s));

const EnvSchema = z.object({
  STORAGE_BACKEND: z
    .enum(["local", "s3"], { error: "must be local or s3" })
    .default("local")
    .describe("where files go: local (DATA_DIR) or s3 (S3_*; files wait in SPOOL_DIR until S3 confirms them)"),
  DATA_DIR: z.string().trim().min(1, "must not be empty").default("./data").describe("root of the local Parquet tree (and of the S3 spool)"),
  S3_ENDPOINT: optionalText.describe("S3-compatible endpoint, http(s)://host[:port] (STORAGE_BACKEND=s3)"),
  S3_ACCESS_KEY: optionalText.describe("S3 access key (never logged or served)"),
  S3_SECRET_KEY: optionalText.describe("S3 secret key (never logged or served)"),
  S3_BUCKET: optionalText.describe("S3 bucket name (STORAGE_BACKEND=s3)"),
  S3_PREFIX: z.string().trim().default("").describe("key prefix inside the bucket"),
  S3_REGION: z.string().trim().default("us-east-1").describe("S3 region used for signing"),
  /** STORAGE_BACKEND=s3: encoded files wait here (same hive key) until S3 confirms them. Default <DATA_DIR>/spool. */
  SPOOL_DIR: optionalText.describe("STORAGE_BACKEND=s3: local spool of files waiting for S3 (unset: <DATA_DIR>/spool)"),
  /** Spool size above which new files are refused and the state is ERROR (default 10 GiB). */
  SPOOL_MAX_BYTES: intIn(1024, Number.MAX_SAFE_INTEGER)
    .default(10 * 1024 ** 3)
    .describe("spool size above which new files are refused and the state is ERROR (bytes)"),
  /** One upload attempt is abandoned (and retried) after this long. */
  S3_UPLOAD_TIMEOUT_SECONDS: positiveSeconds(0.1, 3600).default(30).describe("one upload attempt is abandoned (and retried) after this long"),
  /** Cap of the exponential backoff between failed upload attempts. */
  S3_RETRY_MAX_SECONDS: positiveSeconds(0.1, 3600).default(30).describe("cap of the backoff between failed upload attempts"),
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS).describe("unified symbols, comma-separated (OKX maps BTCUSDT to BTC-USDT-SWAP)"),
  EXCHANGES: exchangeList.optional().describe("subset of binance,bybit,okx (unset: all implemented)"),
  /** Streams to record (issue 11): default every stream but `book`, which is opt-in. */
  STREAMS: streamList.default(DEFAULT_STREAMS).describe("streams to record, comma-separated (default: every stream but book, which is opt-in)"),
  /** Bybit order-book depth of the `book` stream: orderbook.{50,200,1000} (OKX `books` is 400 levels, Binance diffs are full depth). */
  BOOK_DEPTH: z
    .enum(["50", "200", "1000"], { error: "must be 50, 200 or 1000 (Bybit orderbook depths)" })
    .default("200")
    .transform(Number)
    .describe("Bybit order-book depth of the book stream: 50, 200 or 1000"),
  /** Binance REST base URL for the order-book anchoring snapshot (`/fapi/v1/depth`), the one REST call. */
  BINANCE_REST_URL: httpBaseUrl
    .default("https://fapi.binance.com")
    .describe("Binance REST base URL for the order-book anchoring snapshot (/fapi/v1/depth), the product's one REST call"),
  /** REST request weight the anchoring snapshots may spend per minute (venue limit 2,400/min per IP; limit=1000 costs 20). */
  BINANCE_REST_WEIGHT_PER_MINUTE: intIn(20, 2400)
    .default(1200)
    .describe("REST request weight the anchoring snapshots may spend per minute (venue limit 2,400; one snapshot costs 20)"),
  STATUS_HOST: bindHost.default("127.0.0.1").describe("status API bind address (0.0.0.0 only on a trusted network)"),
  STATUS_PORT: intIn(0, 65535).default(9100).describe("status API port (0 = any free port)"),
  QUEUE_SIZE: intIn(1, 50_000_000)
    .default(500_000)
    .describe("ingest queue capacity; a full queue drops and counts; also bounds rows in files waiting for failing storage"),
  BUFFER_SIZE: intIn(1, 1_000_000).default(5000).describe("rows per partition that trigger a flush"),
  FLUSH_INTERVAL: positiveSeconds(0.1, 86_400).default(60).describe("seconds: flush a partition whose oldest row is this old"),
  MIN_FLUSH_GAP_SECONDS: positiveSeconds(0, 3600)
    .default(5)
    .describe("never flush a partition sooner than this after its last flush (4 x BUFFER_SIZE flushes anyway)"),
  MAX_INFLIGHT_UPLOADS: intIn(1, 256).default(16).describe("concurrent storage writes"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], { error: "must be debug, info, warn or error" }).default("info").describe("debug, info, warn or error"),
  LOG_FORMAT: z
    .enum(["json", "pretty"], { error: "must be json or pretty" })
    .optional()
    .describe("json (one object per line) or pretty (coloured, for a person); unset: pretty on a terminal, json otherwise"),
  BINANCE_WS_URL: wsBaseUrl.default("wss://fstream.binance.com").describe("Binance base URL: scheme, host, port only (the adapter appends the paths)"),
  BYBIT_WS_URL: wsBaseUrl.default("wss://stream.bybit.com").describe("Bybit base URL (the adapter appends /v5/public/linear)"),
  OKX_WS_URL: wsBaseUrl.default("wss://ws.okx.com:8443").describe("OKX base URL (the adapter appends /ws/v5/public and /ws/v5/business)"),
  HEARTBEAT_INTERVAL: positiveSeconds(1, 86_400).default(30).describe("seconds between heartbeat log lines"),
  /** Length of the rolling windows behind drops_15m, silence_15m, reconnects_15m (default 15 min). */
  STATE_WINDOW_SECONDS: positiveSeconds(1, 86_400).default(900).describe("rolling window behind drops_15m, silence_15m, reconnects_15m"),
  SHUTDOWN_TIMEOUT_SECONDS: positiveSeconds(1, 3600).default(30).describe("bound on the final flush after SIGTERM (keep below the unit's TimeoutStopSec)"),
  /**
   * Testing and troubleshooting: caps the venues' client ping interval (Bybit, OKX: 20 s) in ms, so
   * keepalive behaviour can be exercised in seconds. Leave unset in production.
   */
  WS_PING_INTERVAL_MS: intIn(50, 20_000).optional().describe("testing only: caps the Bybit/OKX client ping interval in ms (venue value 20 s)"),
  /** A subscription with no first event this long after its connection opened is reported silent (docs/venues.md §0). */
  SUBSCRIPTION_DEADLINE_SECONDS: positiveSeconds(1, 86_400)
    .default(60)
    .describe("a subscription with no first event this long after its connection opened is reported silent"),
  /**
   * Testing and troubleshooting: caps every connection's watchdog (data-silence and pong deadlines)
   * in ms. Unset = per connection from its subscriptions and the venue keepalive (docs/venues.md §0).
   */
  WS_WATCHDOG_MAX_MS: intIn(100, 600_000).optional().describe("testing only: caps every connection's watchdog in ms (unset: from its subscriptions)"),
  /**
   * A handshake not completed this long after the attempt started is abandoned and retried with
   * backoff: Bun's client waits ~124 s on a peer that accepts TCP and never answers (measured).
   */
  WS_CONNECT_TIMEOUT_SECONDS: positiveSeconds(1, 600).default(10).describe("a handshake not completed in this time is abandoned and retried with backoff"),
  /**
   * Binance trades (docs/schema-v1.md §2, docs/venues.md §1.1): `trade` = `<sym>@trade` on /public, one row per fill (default);
   * `aggTrade` = `<sym>@aggTrade` on /market, fills aggregated over 100 ms, trade_id = aggregate id.
   */
  BINANCE_TRADE_STREAM: z
    .enum(["trade", "aggTrade"], { message: 'must be "trade" or "aggTrade"' })
    .default("trade")
    .describe("trade (<sym>@trade, one row per fill) or aggTrade (<sym>@aggTrade, aggregated over 100 ms)"),
  /** Cap of the reconnect backoff (docs/venues.md §0: about 0.5 s growing to 30 s, full jitter). */
  WS_BACKOFF_MAX_SECONDS: positiveSeconds(1, 3600).default(30).describe("cap of the reconnect backoff (0.5 s doubling, full jitter)"),
  /** After HTTP 418/429 on a handshake the next reconnect waits at least this long (docs/venues.md §1.3). */
  WS_RATE_LIMIT_BACKOFF_SECONDS: positiveSeconds(1, 3600).default(60).describe("after HTTP 418/429 on a handshake the next reconnect waits at least this long"),
  /** Replace connections of venues with a lifetime cap (Binance 24 h) this long after open, make-before-break. */
  WS_ROTATE_AFTER_SECONDS: positiveSeconds(1, 86_400)
    .default(82_800)
    .describe("Binance connections are replaced make-before-break after this long (venue cut: 24 h)"),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Omit<Env, "EXCHANGES"> {
  EXCHANGES: ExchangeId[];
}

/** STORAGE_BACKEND=s3: where files go and how requests are signed (storage/s3.ts S3Settings, plus the key prefix). */
export interface S3Config {
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
  prefix: string;
}

type S3Keys = "STORAGE_BACKEND" | "S3_ENDPOINT" | "S3_BUCKET" | "S3_ACCESS_KEY" | "S3_SECRET_KEY" | "S3_REGION" | "S3_PREFIX";

/**
 * The S3 settings, or null with local storage: the one accessor the collector's storage and compact
 * read. loadConfig validates them through this (a required one missing is a ConfigError naming it),
 * so for a loaded configuration it never throws.
 */
export function s3Settings(c: Readonly<Pick<Config, S3Keys>>): S3Config | null {
  if (c.STORAGE_BACKEND !== "s3") return null;
  // Checked in this order (the first missing one is named).
  return {
    endpoint: requiredForS3("S3_ENDPOINT", c.S3_ENDPOINT),
    bucket: requiredForS3("S3_BUCKET", c.S3_BUCKET),
    region: c.S3_REGION,
    accessKey: requiredForS3("S3_ACCESS_KEY", c.S3_ACCESS_KEY),
    secretKey: requiredForS3("S3_SECRET_KEY", c.S3_SECRET_KEY),
    prefix: c.S3_PREFIX,
  };
}

function requiredForS3(key: string, value: string | undefined): string {
  if (!value) throw new ConfigError(`invalid configuration: ${key} is required when STORAGE_BACKEND=s3`);
  return value;
}

export interface CliOverrides {
  symbols?: string;
  exchanges?: string;
  storage?: string;
  dataDir?: string;
  statusPort?: string;
  streams?: string;
  statusHost?: string;
  logLevel?: string;
  logFormat?: string;
  flushInterval?: string;
  bufferSize?: string;
  queueSize?: string;
  maxInflightUploads?: string;
  shutdownTimeout?: string;
}

/** Setting → command-line flag (and the CliOverrides property commander derives from it). */
export const FLAG_FOR: Record<string, string> = {
  SYMBOLS: "--symbols",
  EXCHANGES: "--exchanges",
  STORAGE_BACKEND: "--storage",
  DATA_DIR: "--data-dir",
  STATUS_PORT: "--status-port",
  STREAMS: "--streams",
  STATUS_HOST: "--status-host",
  LOG_LEVEL: "--log-level",
  LOG_FORMAT: "--log-format",
  FLUSH_INTERVAL: "--flush-interval",
  BUFFER_SIZE: "--buffer-size",
  QUEUE_SIZE: "--queue-size",
  MAX_INFLIGHT_UPLOADS: "--max-inflight-uploads",
  SHUTDOWN_TIMEOUT_SECONDS: "--shutdown-timeout",
};

/** `--status-host` → `statusHost` (commander's property name). */
function flagProperty(flag: string): keyof CliOverrides {
  return flag.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof CliOverrides;
}

/** Validate env + flags; throws ConfigError with one line naming the key. */
export function loadConfig(env: Record<string, string | undefined>, flags: CliOverrides = {}, available: readonly ExchangeId[] = EXCHANGES): Readonly<Config> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined) input[key] = v;
  }
  const fromFlag = new Set<string>();
  const set = (key: string, v: string | undefined) => {
    if (v !== undefined) {
      input[key] = v;
      fromFlag.add(key);
    }
  };
  for (const [key, flag] of Object.entries(FLAG_FOR)) set(key, flags[flagProperty(flag)]);

  const res = EnvSchema.safeParse(input);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const key = String(issue.path[0] ?? "config");
    const shown = input[key] === undefined ? "" : ` (got ${JSON.stringify(redactValue(key, input[key]!))})`;
    const name = fromFlag.has(key) ? `${FLAG_FOR[key]} (${key})` : key;
    throw new ConfigError(`invalid configuration: ${name} ${issue.message}${shown}`);
  }
  const e = res.data;
  const exchanges = e.EXCHANGES ?? [...available];
  const missing = exchanges.filter((x) => !available.includes(x));
  if (missing.length > 0)
    throw new ConfigError(`invalid configuration: EXCHANGES: ${missing.join(",")} not supported by this build (supported: ${available.join(",")})`);
  if (e.STORAGE_BACKEND === "s3") {
    const s3 = s3Settings(e);
    if (s3 && !isHttpUrl(s3.endpoint))
      throw new ConfigError("invalid configuration: S3_ENDPOINT must be an http:// or https:// URL without user info, e.g. https://s3.eu-west-1.amazonaws.com");
    // Bun's S3 client attaches an ambient session token to every request even when the client is
    // built with explicit keys (measured: sessionToken "" or undefined does not suppress it).
    for (const key of ["AWS_SESSION_TOKEN", "S3_SESSION_TOKEN"]) {
      if (env[key])
        throw new ConfigError(
          `invalid configuration: ${key} is set in the environment; Bun's S3 client would sign every request with it next to S3_ACCESS_KEY: unset it (the collector uses static keys)`,
        );
    }
  }
  return Object.freeze({ ...e, EXCHANGES: exchanges });
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
  } catch {
    return false;
  }
}

function redactValue(key: string, v: string): string {
  return isSecretKey(key) ? "***" : v.length > 80 ? v.slice(0, 80) + "…" : v;
}

function isSecretKey(key: string): boolean {
  return key === "S3_ACCESS_KEY" || key === "S3_SECRET_KEY";
}

/** The configuration as it may be logged or served: secrets replaced. */
export function redact(c: Readonly<Config>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) out[k] = isSecretKey(k) && v ? "***" : v;
  return out;
}

/** Read an env file (KEY=VALUE lines). Values already in the environment win. */
export function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`invalid configuration: --env-file ${path}: ${(err as { code?: string }).code ?? "cannot read"}`);
  }
  return parseEnv(text) as Record<string, string>;
}

/** The settings the collector reads (the schema's keys). */
export function settingKeys(): string[] {
  return Object.keys(EnvSchema.shape);
}

export interface MisspelledKey {
  key: string;
  likely: string;
}

/**
 * Environment variables that look like a misspelled setting (`QUEUESIZE`, `FLUSH_INTERVALL`): upper
 * case, not a setting, and within a small edit distance of one. Such a key is otherwise silently
 * ignored and its default used. Only names of 6+ characters are compared (short system variables
 * such as `PWD`, `TERM` never match) and at most 2 edits, fewer than a quarter of the name.
 */
export function misspelledKeys(env: Record<string, string | undefined>): MisspelledKey[] {
  const keys = settingKeys();
  const known = new Set([...keys, "AWS_SESSION_TOKEN", "S3_SESSION_TOKEN", "CWD"]);
  const out: MisspelledKey[] = [];
  for (const name of Object.keys(env)) {
    if (known.has(name) || name.length < 6 || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
    let best: string | null = null;
    let bestD = Infinity;
    for (const k of keys) {
      const d = editDistance(name, k);
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    if (best !== null && bestD <= 2 && bestD * 4 < best.length) out.push({ key: name, likely: best });
  }
  return out;
}

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export type ValueSource = "default" | "env file" | "environment" | "flag";

/**
 * Where each setting's value comes from, in precedence order: flag > environment > env file >
 * default (values already in the environment win over `--env-file`, as systemd's do).
 */
export function configSources(
  processEnv: Record<string, string | undefined>,
  fileEnv: Record<string, string | undefined>,
  flags: CliOverrides,
): Record<string, ValueSource> {
  const out: Record<string, ValueSource> = {};
  for (const key of settingKeys()) {
    const flag = FLAG_FOR[key];
    if (flag && flags[flagProperty(flag)] !== undefined) out[key] = "flag";
    else if (processEnv[key] !== undefined) out[key] = "environment";
    else if (fileEnv[key] !== undefined) out[key] = "env file";
    else out[key] = "default";
  }
  return out;
}

export interface SettingDoc {
  key: string;
  /** The default as text (`unset` for optional settings without one). */
  default: string;
  meaning: string;
  flag?: string;
}

/** Every setting with its default and meaning, read from the schema itself (`run --help`, docs). */
export function settingDocs(): SettingDoc[] {
  return Object.entries(EnvSchema.shape).map(([key, schema]) => {
    const dv: unknown = schema instanceof z.ZodDefault ? schema.def.defaultValue : undefined;
    const shown = dv === undefined ? "unset" : Array.isArray(dv) ? dv.join(",") : String(dv);
    return { key, default: shown === "" ? '""' : shown, meaning: schema.description ?? "", flag: FLAG_FOR[key] };
  });
}
