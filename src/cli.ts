/** @module cli — commander front end: `run` (default), `simulate`, --version; one-line errors, exit codes. */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { startCollector } from "./app.ts";
import { loadConfig, readEnvFile, type CliOverrides } from "./config.ts";
import { ConfigError, describeError } from "./errors.ts";
import { adapters } from "./exchanges/index.ts";
import { DEFAULT_GRACE_MINUTES, runCompact, type CompactFlags } from "./compact/command.ts";
import { runInspect, type InspectFlags } from "./inspect/command.ts";
import { createLogger } from "./log.ts";
import { EXCHANGES, type ExchangeId } from "./schema/rows.ts";
import { SIM_DEFAULT_SYMBOLS, startSimulator } from "./sim/server.ts";
import { versionLine } from "./version.ts";

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_CONFIG = 2;

interface RunFlags extends CliOverrides {
  envFile?: string;
}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return Number(v);
  };
}

async function run(flags: RunFlags): Promise<number> {
  let env: Record<string, string | undefined> = process.env;
  // The compiled binary never autoloads a stray .env; an env file is read only when named.
  if (flags.envFile) env = { ...readEnvFile(flags.envFile), ...process.env };
  const available = EXCHANGES.filter((x) => adapters[x] !== undefined);
  const config = loadConfig(env, flags, available);
  const log = createLogger(config.LOG_LEVEL);
  const collector = await startCollector(config, log, { handleSignals: true });
  return collector.done;
}

async function simulate(o: { port: number; host: string; rate: number; symbols?: string; exchanges?: string; pingSeconds: number; seed: number; binanceMaxAgeSeconds: number; okxNoticeCloseSeconds: number }): Promise<number> {
  const log = createLogger("info");
  const exchanges = o.exchanges ? (o.exchanges.split(",").map((s) => s.trim()) as ExchangeId[]) : undefined;
  const bad = exchanges?.find((x) => !EXCHANGES.includes(x));
  if (bad) throw new ConfigError(`invalid option: --exchanges ${bad} is not one of ${EXCHANGES.join(",")}`);
  const sim = startSimulator({ host: o.host, port: o.port, rate: o.rate, symbols: o.symbols ? o.symbols.split(",") : SIM_DEFAULT_SYMBOLS, exchanges, binancePingMs: o.pingSeconds * 1000, seed: o.seed, binanceMaxAgeMs: o.binanceMaxAgeSeconds * 1000, okxNoticeCloseMs: o.okxNoticeCloseSeconds * 1000 });
  log.info("sim_start", { url: sim.url, rate_per_venue: o.rate, hint: `BINANCE_WS_URL=${sim.url} BYBIT_WS_URL=${sim.url} OKX_WS_URL=${sim.url} npm start`, faults: `curl -X POST 'http://${o.host}:${sim.port}/_sim/fault?kind=kill&venue=binance' (docs/simulator.md)` });
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

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  let result: Promise<number> = Promise.resolve(EXIT_OK);
  program
    .name("quantlab-collector")
    .description("Records public WebSocket market data (bbo, trade, mark price, funding, open interest) from Binance, Bybit and OKX into Parquet (schema v1).")
    .version(versionLine(), "-v, --version", "print version, commit and schema version")
    .exitOverride()
    .addHelpText("after", '\nCollector options (--symbols, --exchanges, --storage, --data-dir, --status-port, --env-file):\n  quantlab-collector run --help   (they work without "run" too)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const addRunOptions = (cmd: Command) =>
    cmd
      .option("--symbols <list>", "comma-separated unified symbols (env SYMBOLS), e.g. BTCUSDT,ETHUSDT")
      .option("--exchanges <list>", "comma-separated subset of binance,bybit,okx (env EXCHANGES)")
      .addOption(new Option("--storage <backend>", "storage backend (env STORAGE_BACKEND)").choices(["local", "s3"]))
      .option("--data-dir <dir>", "root directory for local Parquet files (env DATA_DIR)")
      .option("--status-port <port>", "status API port (env STATUS_PORT)")
      .option("--env-file <path>", "read configuration from this env file (values already in the environment win)");

  addRunOptions(program.command("run", { isDefault: true }).description("run the collector (default command)")).action((flags: RunFlags) => {
    result = run(flags);
  });

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
    .option("--binance-max-age-seconds <n>", "Binance closes connections at this age (stand-in for its 24 h cut; 0 = never)", intArg("--binance-max-age-seconds", 0, 86_400), 0)
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
  curl -X POST "http://127.0.0.1:9300/_sim/fault?kind=frame&venue=bybit" -d "not json"   malformed frame
  curl http://127.0.0.1:9300/_sim/stats`,
    )
    .action((o) => {
      result = simulate(o);
    });

  program
    .command("compact")
    .description("merge each closed UTC day (or hour) of every exchange/stream/symbol into one sorted, verified file (docs/compact.md)")
    .option("--granularity <day|hour>", "period merged into one file", "day")
    .option("--date <YYYY-MM-DD>", "only this UTC day (default: every closed period)")
    .option("--exchange <name>", "only this exchange")
    .option("--stream <name>", "only this stream")
    .option("--symbol <SYM>", "only this symbol")
    .option("--grace-minutes <n>", "leave a period alone until this long after its end", intArg("--grace-minutes", 0, 100_000), DEFAULT_GRACE_MINUTES)
    .option("--dry-run", "list what would be compacted, change nothing")
    .addOption(new Option("--storage <backend>", "storage backend (env STORAGE_BACKEND)").choices(["local", "s3"]))
    .option("--data-dir <dir>", "root directory of local Parquet files (env DATA_DIR)")
    .option("--env-file <path>", "read configuration from this env file (values already in the environment win)")
    .action((o: CompactFlags & { storage?: string; dataDir?: string; envFile?: string }) => {
      result = (async () => {
        const env = o.envFile ? { ...readEnvFile(o.envFile), ...process.env } : process.env;
        const config = loadConfig(env, { storage: o.storage, dataDir: o.dataDir });
        return runCompact(config, o, createLogger(config.LOG_LEVEL), env);
      })();
    });

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
      result = runInspect(source, o, env, (s) => process.stdout.write(s), (path, text) => Bun.write(path, text));
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return await result;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed as one line by commander.
      return err.exitCode === 0 ? EXIT_OK : EXIT_CONFIG;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`quantlab-collector: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    process.stderr.write(`quantlab-collector: ${describeError(err)}\n`);
    return EXIT_RUNTIME;
  }
}
