/** @module config — one zod schema over the environment (spec §8); CLI flags override; frozen result. */
import { readFileSync } from "node:fs";
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

const positiveSeconds = (min: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `must be a number of seconds ≥ ${min}`)
    .transform(Number)
    .refine((n) => n >= min, `must be a number of seconds ≥ ${min}`);

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

const optionalText = z.string().trim().optional().transform((s) => (s === "" ? undefined : s));

const EnvSchema = z.object({
  STORAGE_BACKEND: z.enum(["local", "s3"], { error: "must be local or s3" }).default("local"),
  DATA_DIR: z.string().trim().min(1, "must not be empty").default("./data"),
  S3_ENDPOINT: optionalText,
  S3_ACCESS_KEY: optionalText,
  S3_SECRET_KEY: optionalText,
  S3_BUCKET: optionalText,
  S3_PREFIX: z.string().trim().default(""),
  S3_REGION: z.string().trim().default("us-east-1"),
  /** STORAGE_BACKEND=s3: encoded files wait here (same hive key) until S3 confirms them. Default <DATA_DIR>/spool. */
  SPOOL_DIR: optionalText,
  /** Spool size above which new files are refused and the state is ERROR (default 10 GiB). */
  SPOOL_MAX_BYTES: intIn(1024, Number.MAX_SAFE_INTEGER).default(10 * 1024 ** 3),
  /** One upload attempt is abandoned (and retried) after this long. */
  S3_UPLOAD_TIMEOUT_SECONDS: positiveSeconds(0.1).default(30),
  /** Cap of the exponential backoff between failed upload attempts. */
  S3_RETRY_MAX_SECONDS: positiveSeconds(0.1).default(30),
  SYMBOLS: symbolList.default(DEFAULT_SYMBOLS),
  EXCHANGES: exchangeList.optional(),
  /** Streams to record (issue 11): default every stream but `book`, which is opt-in. */
  STREAMS: streamList.default(DEFAULT_STREAMS),
  /** Bybit order-book depth of the `book` stream: orderbook.{50,200,1000} (OKX `books` is 400 levels, Binance diffs are full depth). */
  BOOK_DEPTH: z.enum(["50", "200", "1000"], { error: "must be 50, 200 or 1000 (Bybit orderbook depths)" }).default("200").transform(Number),
  /** Binance REST base URL for the order-book anchoring snapshot (`/fapi/v1/depth`), the one REST call. */
  BINANCE_REST_URL: httpBaseUrl.default("https://fapi.binance.com"),
  /** REST request weight the anchoring snapshots may spend per minute (venue limit 2,400/min per IP; limit=1000 costs 20). */
  BINANCE_REST_WEIGHT_PER_MINUTE: intIn(20, 2400).default(1200),
  STATUS_HOST: z.string().trim().min(1, "must not be empty").default("127.0.0.1"),
  STATUS_PORT: intIn(0, 65535).default(9100),
  QUEUE_SIZE: intIn(1, 50_000_000).default(500_000),
  BUFFER_SIZE: intIn(1, 1_000_000).default(5000),
  FLUSH_INTERVAL: positiveSeconds(0.1).default(60),
  MIN_FLUSH_GAP_SECONDS: positiveSeconds(0).default(5),
  MAX_INFLIGHT_UPLOADS: intIn(1, 256).default(16),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], { error: "must be debug, info, warn or error" }).default("info"),
  BINANCE_WS_URL: wsBaseUrl.default("wss://fstream.binance.com"),
  BYBIT_WS_URL: wsBaseUrl.default("wss://stream.bybit.com"),
  OKX_WS_URL: wsBaseUrl.default("wss://ws.okx.com:8443"),
  HEARTBEAT_INTERVAL: positiveSeconds(1).default(30),
  /** Length of the rolling windows behind drops_15m, silence_15m, reconnects_15m (default 15 min). */
  STATE_WINDOW_SECONDS: positiveSeconds(1).default(900),
  SHUTDOWN_TIMEOUT_SECONDS: positiveSeconds(1).default(30),
  /**
   * Testing and troubleshooting: caps the venues' client ping interval (Bybit, OKX: 20 s) in ms, so
   * keepalive behaviour can be exercised in seconds. Leave unset in production.
   */
  WS_PING_INTERVAL_MS: intIn(50, 20_000).optional(),
  /** A subscription with no first event this long after its connection opened is reported silent (spec §6). */
  SUBSCRIPTION_DEADLINE_SECONDS: positiveSeconds(1).default(60),
  /**
   * Testing and troubleshooting: caps every connection's watchdog (data-silence and pong deadlines)
   * in ms. Unset = per connection from its subscriptions and the venue keepalive (spec §6).
   */
  WS_WATCHDOG_MAX_MS: intIn(100, 600_000).optional(),
  /**
   * A handshake not completed this long after the attempt started is abandoned and retried with
   * backoff: Bun's client waits ~124 s on a peer that accepts TCP and never answers (measured).
   */
  WS_CONNECT_TIMEOUT_SECONDS: positiveSeconds(1).default(10),
  /**
   * Binance trades (spec §2): `trade` = `<sym>@trade` on /public, one row per fill (default);
   * `aggTrade` = `<sym>@aggTrade` on /market, fills aggregated over 100 ms, trade_id = aggregate id.
   */
  BINANCE_TRADE_STREAM: z.enum(["trade", "aggTrade"], { message: 'must be "trade" or "aggTrade"' }).default("trade"),
  /** Cap of the reconnect backoff (spec §6: about 0.5 s growing to 30 s, full jitter). */
  WS_BACKOFF_MAX_SECONDS: positiveSeconds(1).default(30),
  /** After HTTP 418/429 on a handshake the next reconnect waits at least this long (exchanges.md §1.3). */
  WS_RATE_LIMIT_BACKOFF_SECONDS: positiveSeconds(1).default(60),
  /** Replace connections of venues with a lifetime cap (Binance 24 h) this long after open, make-before-break. */
  WS_ROTATE_AFTER_SECONDS: positiveSeconds(1).default(82_800),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Omit<Env, "EXCHANGES"> {
  EXCHANGES: ExchangeId[];
}

export interface CliOverrides {
  symbols?: string;
  exchanges?: string;
  storage?: string;
  dataDir?: string;
  statusPort?: string;
  streams?: string;
}

const FLAG_FOR: Record<string, string> = {
  SYMBOLS: "--symbols",
  EXCHANGES: "--exchanges",
  STORAGE_BACKEND: "--storage",
  DATA_DIR: "--data-dir",
  STATUS_PORT: "--status-port",
  STREAMS: "--streams",
};

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
  set("SYMBOLS", flags.symbols);
  set("EXCHANGES", flags.exchanges);
  set("STORAGE_BACKEND", flags.storage);
  set("DATA_DIR", flags.dataDir);
  set("STATUS_PORT", flags.statusPort);
  set("STREAMS", flags.streams);

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
  if (missing.length > 0) throw new ConfigError(`invalid configuration: EXCHANGES: ${missing.join(",")} not supported by this build (supported: ${available.join(",")})`);
  if (e.STORAGE_BACKEND === "s3") {
    for (const key of ["S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY"] as const) {
      if (!e[key]) throw new ConfigError(`invalid configuration: ${key} is required when STORAGE_BACKEND=s3`);
    }
    if (!isHttpUrl(e.S3_ENDPOINT!)) throw new ConfigError("invalid configuration: S3_ENDPOINT must be an http:// or https:// URL without user info, e.g. https://s3.eu-west-1.amazonaws.com");
    // Bun's S3 client attaches an ambient session token to every request even when the client is
    // built with explicit keys (measured: sessionToken "" or undefined does not suppress it).
    for (const key of ["AWS_SESSION_TOKEN", "S3_SESSION_TOKEN"]) {
      if (env[key]) throw new ConfigError(`invalid configuration: ${key} is set in the environment; Bun's S3 client would sign every request with it next to S3_ACCESS_KEY: unset it (the collector uses static keys)`);
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
