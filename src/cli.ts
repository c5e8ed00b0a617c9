/** @module cli — commander front end: `run` (default), `check-config`, `simulate`, --version; one-line errors, exit codes. */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { startCollector } from "./app.ts";
import { configSources, loadConfig, misspelledKeys, readEnvFile, redact, settingDocs, type CliOverrides, type Config } from "./config.ts";
import { ConfigError, describeError } from "./errors.ts";
import { adapters } from "./exchanges/index.ts";
// compact, inspect and book-check are loaded when their command runs: the collector itself never
// pays for their modules (Arrow, parquet-wasm and DuckDB glue: ~9 MB of RSS, bench/memory.ts).
import type { CompactFlags } from "./compact/command.ts";
import type { InspectFlags } from "./inspect/command.ts";
import { createLogger, defaultLogFormat, type LogFormat, type Logger } from "./log.ts";
import { EXCHANGES, type ExchangeId } from "./schema/rows.ts";
import { versionLine } from "./version.ts";
import type { VenueBookRule } from "./books/rebuild.ts";

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_CONFIG = 2;
/** `compact --grace-minutes` default: compact/compact.ts DEFAULT_GRACE_MINUTES, kept equal by test/cli.test.ts (that module is loaded only when compact runs). */
export const COMPACT_GRACE_MINUTES = 30;

interface RunFlags extends CliOverrides {
  envFile?: string;
}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return Number(v);
  };
}

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
const useColor = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

/**
 * The log format for lines written before the configuration is valid (fatal_error): the flag or
 * LOG_FORMAT when readable, else JSON off a terminal.
 */
let fatalFormat: LogFormat = defaultLogFormat();

interface Resolved {
  config: Readonly<Config>;
  env: Record<string, string | undefined>;
  fileEnv: Record<string, string>;
}

function resolve(flags: RunFlags): Resolved {
  // The compiled binary never autoloads a stray .env; an env file is read only when named.
  const fileEnv = flags.envFile ? readEnvFile(flags.envFile) : {};
  const env: Record<string, string | undefined> = { ...fileEnv, ...process.env };
  const wanted = flags.logFormat ?? env.LOG_FORMAT;
  if (wanted === "json" || wanted === "pretty") fatalFormat = wanted;
  const available = EXCHANGES.filter((x) => adapters[x] !== undefined);
  return { config: loadConfig(env, flags, available), env, fileEnv };
}

function warnMisspelled(env: Record<string, string | undefined>, log: Logger): void {
  for (const m of misspelledKeys(env)) {
    log.warn("config_warning", { key: m.key, likely: m.likely, note: `${m.key} is not a setting and is ignored: did you mean ${m.likely}?` });
  }
}

async function run(flags: RunFlags): Promise<number> {
  const { config, env } = resolve(flags);
  const log = createLogger(config.LOG_LEVEL, undefined, config.LOG_FORMAT ?? defaultLogFormat(), useColor());
  warnMisspelled(env, log);
  const collector = await startCollector(config, log, { handleSignals: true });
  return collector.done;
}

/** `check-config`: the resolved configuration, redacted, with the source of each value; exit 0, or 2 when invalid. */
function checkConfig(flags: RunFlags & { json?: boolean }): number {
  const { config, env, fileEnv } = resolve(flags);
  const sources = configSources(process.env, fileEnv, flags);
  const shown = redact(config);
  const warnings = misspelledKeys(env);
  if (flags.json) {
    const settings = Object.fromEntries(Object.keys(sources).map((k) => [k, { value: shown[k] ?? null, source: sources[k] }]));
    process.stdout.write(JSON.stringify({ valid: true, settings, warnings }) + "\n");
    return EXIT_OK;
  }
  const width = Math.max(...Object.keys(sources).map((k) => k.length));
  const lines = Object.keys(sources).map((k) => {
    const v = shown[k];
    const text = v === undefined ? "(unset)" : v === "" ? '""' : Array.isArray(v) ? v.join(",") : String(v);
    return `${k.padEnd(width)}  ${text}  [${sources[k]}]`;
  });
  for (const w of warnings) lines.push(`warning: ${w.key} is not a setting and is ignored: did you mean ${w.likely}?`);
  lines.push(`configuration valid${flags.envFile ? ` (env file ${flags.envFile})` : ""}`);
  process.stdout.write(lines.join("\n") + "\n");
  return EXIT_OK;
}

/** `run --help`: every setting with its default and meaning, from the schema (one source of truth). */
function settingsHelp(): string {
  const docs = settingDocs();
  const rows = docs.map((d) => `  ${d.key}${d.flag ? `, ${d.flag}` : ""}  (default: ${d.default})\n      ${d.meaning}`);
  return `\nEnvironment variables (default shown; flags win over the environment, the environment over --env-file):\n${rows.join("\n")}\n\nExit codes: 0 clean stop, 1 runtime failure (unwritten rows at shutdown), 2 invalid configuration or status port unusable.`;
}

async function simulate(o: {
  port: number;
  host: string;
  rate: number;
  symbols?: string;
  exchanges?: string;
  pingSeconds: number;
  seed: number;
  binanceMaxAgeSeconds: number;
  okxNoticeCloseSeconds: number;
}): Promise<number> {
  const log = createLogger("info", undefined, defaultLogFormat(), useColor());
  const exchanges = o.exchanges ? (o.exchanges.split(",").map((s) => s.trim()) as ExchangeId[]) : undefined;
  const bad = exchanges?.find((x) => !EXCHANGES.includes(x));
  if (bad) throw new ConfigError(`invalid option: --exchanges ${bad} is not one of ${EXCHANGES.join(",")}`);
  // Loaded only by this command: the collector's own run does not carry the simulator's code (~2 MB resident).
  const { SIM_DEFAULT_SYMBOLS, startSimulator } = await import("./sim/server.ts");
  const sim = startSimulator({
    host: o.host,
    port: o.port,
    rate: o.rate,
    symbols: o.symbols ? o.symbols.split(",") : SIM_DEFAULT_SYMBOLS,
    exchanges,
    binancePingMs: o.pingSeconds * 1000,
    seed: o.seed,
    binanceMaxAgeMs: o.binanceMaxAgeSeconds * 1000,
    okxNoticeCloseMs: o.okxNoticeCloseSeconds * 1000,
  });
  log.info("sim_start", {
    url: sim.url,
    rate_per_venue: o.rate,
    hint: `BINANCE_WS_URL=${sim.url} BYBIT_WS_URL=${sim.url} OKX_WS_URL=${sim.url} npm start`,
    faults: `curl -X POST 'http://${o.host}:${sim.port}/_sim/fault?kind=kill&venue=binance' (docs/simulator.md)`,
  });
  return new Promise<number>((resolve) => {
    const stop = async () => {
      log.info("sim_stop", { stats: sim.stats() });
      await sim.stop();
      resolve(EXIT_OK);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

/** `book-check`: rebuild every book from the files alone; exit 1 on a break no `book_gap` event explains. */
async function bookCheck(dataDir: string, o: { exchange?: string; symbol?: string; date?: string; json?: boolean }): Promise<number> {
  if (o.exchange !== undefined && !(EXCHANGES as readonly string[]).includes(o.exchange))
    throw new ConfigError(`invalid option: --exchange ${o.exchange} is not one of ${EXCHANGES.join(",")}`);
  if (o.symbol !== undefined && !/^[A-Z0-9]{1,20}USDT$/.test(o.symbol))
    throw new ConfigError(`invalid option: --symbol must be a unified symbol such as BTCUSDT (got ${JSON.stringify(o.symbol.slice(0, 40))})`);
  if (o.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(o.date)) throw new ConfigError("invalid option: --date must be YYYY-MM-DD (UTC)");
  const [{ isDirectory, loadBookFiles }, { rebuildBooks }] = await Promise.all([import("./books/files.ts"), import("./books/rebuild.ts")]);
  if (!isDirectory(dataDir)) throw new ConfigError(`invalid option: data directory ${dataDir} does not exist`);
  const rules: Record<string, VenueBookRule> = {};
  for (const ex of EXCHANGES) {
    const a = adapters[ex];
    if (a.bookContinuity) rules[ex] = { rule: a.bookContinuity, restAnchored: a.restBook !== undefined };
  }
  const loaded = await loadBookFiles(dataDir, o);
  const reports = rebuildBooks(loaded.rows, loaded.gaps, rules);
  const bad = reports.filter((r) => r.unexplained_breaks > 0);
  if (o.json) {
    process.stdout.write(JSON.stringify({ files: loaded.files, rows: loaded.rows.length, gap_events: loaded.gaps.length, symbols: reports }) + "\n");
  } else {
    if (reports.length === 0) process.stdout.write(`no book rows under ${dataDir} (files read: ${loaded.files})\n`);
    for (const r of reports) {
      process.stdout.write(
        `${r.exchange} ${r.symbol}: segments=${r.segments} rows=${r.rows} applied=${r.applied} breaks=${r.breaks} unexplained=${r.unexplained_breaks} crossed=${r.crossed} stale_snapshots=${r.stale_snapshots} venue_resets=${r.venue_resets} levels_at_end=${r.final ? `${r.bid_levels}/${r.ask_levels}` : "none (no valid segment at the end)"}\n`,
      );
    }
    process.stdout.write(
      bad.length === 0
        ? "book-check: ok, every break is explained by a book_gap event\n"
        : `book-check: ${bad.length} symbol(s) with unexplained breaks (rows lost between the venue and the files)\n`,
    );
  }
  return bad.length === 0 ? EXIT_OK : EXIT_RUNTIME;
}

/** Hands a command's outcome (its exit code, once done) back to main. */
type SetResult = (exit: Promise<number>) => void;

/** `run` (the default command) and `check-config`: the collector's options. */
function collectorCommands(program: Command, set: SetResult): void {
  const addRunOptions = (cmd: Command) =>
    cmd
      .option("--symbols <list>", "comma-separated unified symbols (env SYMBOLS), e.g. BTCUSDT,ETHUSDT")
      .option("--exchanges <list>", "comma-separated subset of binance,bybit,okx (env EXCHANGES)")
      .addOption(new Option("--storage <backend>", "storage backend (env STORAGE_BACKEND)").choices(["local", "s3"]))
      .option("--data-dir <dir>", "root directory for local Parquet files (env DATA_DIR)")
      .option("--status-host <address>", "status API bind address (env STATUS_HOST)")
      .option("--status-port <port>", "status API port (env STATUS_PORT)")
      .option("--streams <list>", "comma-separated streams to record (env STREAMS); default all but book, e.g. bbo,trade,book")
      .option("--log-level <level>", "debug, info, warn or error (env LOG_LEVEL)")
      .option("--log-format <format>", "json or pretty (env LOG_FORMAT; default pretty on a terminal, json otherwise)")
      .option("--flush-interval <seconds>", "flush a partition whose oldest row is this old (env FLUSH_INTERVAL)")
      .option("--buffer-size <rows>", "rows per partition that trigger a flush (env BUFFER_SIZE)")
      .option("--queue-size <events>", "ingest queue capacity (env QUEUE_SIZE)")
      .option("--max-inflight-uploads <n>", "concurrent storage writes (env MAX_INFLIGHT_UPLOADS)")
      .option("--shutdown-timeout <seconds>", "bound on the final flush after SIGTERM (env SHUTDOWN_TIMEOUT_SECONDS)")
      .option("--env-file <path>", "read configuration from this env file (values already in the environment win)");

  addRunOptions(program.command("run", { isDefault: true }).description("run the collector (default command)"))
    .allowExcessArguments(true)
    .addHelpText("after", settingsHelp)
    .action((flags: RunFlags, cmd: Command) => {
      // `quantlab-collector stats` lands here (run is the default): name it instead of "too many arguments".
      if (cmd.args.length > 0) {
        const commands = (cmd.parent?.commands ?? []).map((c) => c.name()).join(", ");
        throw new ConfigError(`unknown command '${cmd.args[0]}' (commands: ${commands}; see --help)`);
      }
      set(run(flags));
    });

  addRunOptions(
    program
      .command("check-config")
      .description("print the resolved configuration (secrets redacted) with the source of each value and validate it; exit 0 if valid, 2 if not"),
  )
    .option("--json", "one JSON object instead of a table")
    .action((flags: RunFlags & { json?: boolean }) => {
      set(Promise.resolve(checkConfig(flags)));
    });
}

function simulateCommand(program: Command, set: SetResult): void {
  program
    .command("simulate")
    .description("serve the venues' WebSocket protocols on loopback with generated data (offline demo and tests)")
    .option("--port <port>", "port to listen on (0 = any free port)", intArg("--port", 0, 65535), 9300)
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--rate <n>", "frames per second per venue", intArg("--rate", 1, 10_000_000), 200)
    .option("--symbols <list>", "symbols the simulated venues list (others are unknown to them)")
    .option("--exchanges <list>", "venues to simulate (default: all implemented)")
    .option("--ping-seconds <n>", "Binance server ping interval in seconds", intArg("--ping-seconds", 1, 3600), 180)
    .option("--seed <n>", "random seed for reproducible payloads", intArg("--seed", 1, 2 ** 31), 42)
    .option(
      "--binance-max-age-seconds <n>",
      "Binance closes connections at this age (stand-in for its 24 h cut; 0 = never)",
      intArg("--binance-max-age-seconds", 0, 86_400),
      0,
    )
    .option("--okx-notice-close-seconds <n>", "OKX drops a socket this long after its notice 64008", intArg("--okx-notice-close-seconds", 1, 3600), 60)
    .addHelpText(
      "after",
      `
Fault injection (HTTP on the same port; details in docs/simulator.md):
  curl -X POST 'http://127.0.0.1:9300/_sim/fault?kind=kill&venue=binance'    drop every socket
  curl -X POST 'http://127.0.0.1:9300/_sim/fault?kind=dead&venue=okx'        dead peer (silent, no pongs)
  curl -X POST 'http://127.0.0.1:9300/_sim/fault?kind=reject&venue=bybit&status=429&retry_after=30'
  curl -X POST 'http://127.0.0.1:9300/_sim/fault?kind=heal'                  end dead/reject
  curl -X POST 'http://127.0.0.1:9300/_sim/fault?kind=notice&venue=okx'      OKX notice 64008
  curl -X POST 'http://127.0.0.1:9300/_sim/fault?kind=skip&venue=binance&symbol=BTCUSDT&n=5'
  curl -X POST 'http://127.0.0.1:9300/_sim/fault?kind=liquidation&venue=bybit&symbol=BTCUSDT&side=sell'   one liquidation now
  curl -X POST "http://127.0.0.1:9300/_sim/fault?kind=frame&venue=bybit" -d "not json"   malformed frame
  curl http://127.0.0.1:9300/_sim/stats`,
    )
    .action((o) => {
      set(simulate(o));
    });
}

function bookCheckCommand(program: Command, set: SetResult): void {
  program
    .command("book-check")
    .description("rebuild every order book from the Parquet files alone, segment by segment; exit 1 on an unexplained continuity break")
    .argument("<data-dir>", "the DATA_DIR to check")
    .option("--exchange <ex>", "only this exchange")
    .option("--symbol <sym>", "only this unified symbol, e.g. BTCUSDT")
    .option("--date <yyyy-mm-dd>", "only rows received on this UTC date")
    .option("--json", "print one JSON object (with the rebuilt books) instead of text")
    .action((dir: string, o) => {
      set(bookCheck(dir, o));
    });
}

function compactCommand(program: Command, set: SetResult): void {
  program
    .command("compact")
    .description("merge each closed UTC day (or hour) of every exchange/stream/symbol into one sorted, verified file (docs/compact.md)")
    .option("--granularity <day|hour>", "period merged into one file", "day")
    .option("--date <YYYY-MM-DD>", "only this UTC day (default: every closed period)")
    .option("--exchange <name>", "only this exchange")
    .option("--stream <name>", "only this stream")
    .option("--symbol <SYM>", "only this symbol")
    .option("--grace-minutes <n>", "leave a period alone until this long after its end", intArg("--grace-minutes", 0, 100_000), COMPACT_GRACE_MINUTES)
    .option("--dry-run", "list what would be compacted, change nothing")
    .addOption(new Option("--storage <backend>", "storage backend (env STORAGE_BACKEND)").choices(["local", "s3"]))
    .option("--data-dir <dir>", "root directory of local Parquet files (env DATA_DIR)")
    .option("--env-file <path>", "read configuration from this env file (values already in the environment win)")
    .action((o: CompactFlags & { storage?: string; dataDir?: string; envFile?: string }) => {
      set(
        (async () => {
          const env = o.envFile ? { ...readEnvFile(o.envFile), ...process.env } : process.env;
          const config = loadConfig(env, { storage: o.storage, dataDir: o.dataDir });
          const { runCompact } = await import("./compact/command.ts");
          return runCompact(config, o, createLogger(config.LOG_LEVEL), env);
        })(),
      );
    });
}

function inspectCommand(program: Command, set: SetResult): void {
  program
    .command("inspect")
    .description("what a day of data holds: rows, files, gaps and the disconnects that explain them, trade-id gaps (table, --json or --html)")
    .argument("<source>", "a DATA_DIR, or s3://bucket/prefix (endpoint and keys from S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION)")
    .option("--date <YYYY-MM-DD>", "UTC day (default: the latest day present)")
    .option("--exchange <name>", "only this exchange")
    .option("--stream <name>", "only this stream")
    .option("--symbol <SYM>", "only this symbol")
    .option("--top <n>", "largest gaps listed per partition", intArg("--top", 1, 100), 5)
    .option("--json", "print the report as JSON")
    .option("--html <file>", "also write a self-contained HTML page with a coverage timeline per partition")
    .option("--env-file <path>", "read S3 settings from this env file (values already in the environment win)")
    .action((source: string, o: InspectFlags & { envFile?: string }) => {
      const env = o.envFile ? { ...readEnvFile(o.envFile), ...process.env } : process.env;
      set(
        import("./inspect/command.ts").then(({ runInspect }) =>
          runInspect(
            source,
            o,
            env,
            (s) => process.stdout.write(s),
            (path, text) => Bun.write(path, text),
          ),
        ),
      );
    });
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  let result: Promise<number> = Promise.resolve(EXIT_OK);
  program
    .name("quantlab-collector")
    .description(
      "Records public WebSocket market data (bbo, trade, mark price, funding, open interest, liquidations, order books) from Binance, Bybit and OKX into Parquet (schema v1).",
    )
    .version(versionLine(), "-v, --version", "print version, commit and schema version")
    .exitOverride()
    .addHelpText(
      "after",
      '\nCollector options and every environment variable with its default:\n  quantlab-collector run --help   (the options work without "run" too)\nCheck a configuration without starting: quantlab-collector check-config --env-file FILE',
    )
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const set: SetResult = (exit) => (result = exit);
  for (const add of [collectorCommands, simulateCommand, bookCheckCommand, compactCommand, inspectCommand]) add(program, set);

  try {
    await program.parseAsync(argv, { from: "user" });
    return await result;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed as one line by commander.
      if (err.exitCode === 0) return EXIT_OK;
      fatalLine(err.message.replace(/^error: /, ""), EXIT_CONFIG);
      return EXIT_CONFIG;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`quantlab-collector: ${err.message}\n`);
      fatalLine(err.message, EXIT_CONFIG);
      return EXIT_CONFIG;
    }
    process.stderr.write(`quantlab-collector: ${describeError(err)}\n`);
    fatalLine(describeError(err), EXIT_RUNTIME);
    return EXIT_RUNTIME;
  }
}

/**
 * The reason for a failed start also as a `fatal_error` log line on stdout, so journald/jq
 * pipelines that read the JSON logs see it. In pretty format (a person at a terminal) the stderr
 * line already says it.
 */
function fatalLine(error: string, exitCode: number): void {
  if (fatalFormat !== "json") return;
  createLogger("error", undefined, "json").error("fatal_error", { error, exit_code: exitCode });
}
