/** Scope: configuration — defaults, flags over env, and one-line errors naming the key (exit 2 from the CLI). */
import { describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SYMBOLS, MAX_TIMER_SECONDS, editDistance, loadConfig, misspelledKeys, redact, s3Settings, settingDocs, settingKeys } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { ENTRY } from "./helpers/collector.ts";

describe("loadConfig", () => {
  test("defaults match the spec", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      STORAGE_BACKEND: "local",
      DATA_DIR: "./data",
      SYMBOLS: DEFAULT_SYMBOLS,
      STATUS_HOST: "127.0.0.1",
      STATUS_PORT: 9100,
      QUEUE_SIZE: 500_000,
      BUFFER_SIZE: 5000,
      FLUSH_INTERVAL: 60,
      MIN_FLUSH_GAP_SECONDS: 5,
      MAX_INFLIGHT_UPLOADS: 16,
      BINANCE_WS_URL: "wss://fstream.binance.com",
      BYBIT_WS_URL: "wss://stream.bybit.com",
      OKX_WS_URL: "wss://ws.okx.com:8443",
    });
    expect(DEFAULT_SYMBOLS).toHaveLength(10);
    expect(Object.isFrozen(c)).toBe(true);
  });

  test("flags override env; lists are trimmed and de-duplicated", () => {
    const c = loadConfig(
      { SYMBOLS: "ETHUSDT", STATUS_PORT: "9200", DATA_DIR: "/x" },
      { symbols: " BTCUSDT, SOLUSDT,BTCUSDT ", statusPort: "9300", dataDir: "/y", exchanges: "binance" },
      ["binance"],
    );
    expect(c.SYMBOLS).toEqual(["BTCUSDT", "SOLUSDT"]);
    expect(c.STATUS_PORT).toBe(9300);
    expect(c.DATA_DIR).toBe("/y");
    expect(c.EXCHANGES).toEqual(["binance"]);
  });

  test("STREAMS: default = every stream but book (opt-in); --streams overrides; book keys have venue defaults", () => {
    const c = loadConfig({});
    expect(c.STREAMS).not.toContain("book");
    expect(c.STREAMS).toEqual(expect.arrayContaining(["bbo", "trade", "mark_price", "funding", "open_interest"]));
    expect(c).toMatchObject({ BOOK_DEPTH: 200, BINANCE_REST_URL: "https://fapi.binance.com", BINANCE_REST_WEIGHT_PER_MINUTE: 1200 });
    const f = loadConfig({ STREAMS: "bbo" }, { streams: " book, trade,book " });
    expect(f.STREAMS).toEqual(["book", "trade"]);
    expect(loadConfig({ BOOK_DEPTH: "1000", BINANCE_REST_URL: "http://127.0.0.1:9300/" }).BINANCE_REST_URL).toBe("http://127.0.0.1:9300");
  });

  test("ws base URL overrides keep scheme, host and port only", () => {
    expect(loadConfig({ BINANCE_WS_URL: "ws://127.0.0.1:9300/" }).BINANCE_WS_URL).toBe("ws://127.0.0.1:9300");
  });

  const invalid: Array<[Record<string, string>, string]> = [
    [{ QUEUE_SIZE: "-1" }, "QUEUE_SIZE"],
    [{ QUEUE_SIZE: "abc" }, "QUEUE_SIZE"],
    [{ BUFFER_SIZE: "0" }, "BUFFER_SIZE"],
    [{ FLUSH_INTERVAL: "soon" }, "FLUSH_INTERVAL"],
    [{ MIN_FLUSH_GAP_SECONDS: "-5" }, "MIN_FLUSH_GAP_SECONDS"],
    [{ MAX_INFLIGHT_UPLOADS: "0" }, "MAX_INFLIGHT_UPLOADS"],
    [{ STATUS_PORT: "70000" }, "STATUS_PORT"],
    [{ STORAGE_BACKEND: "ftp" }, "STORAGE_BACKEND"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ SYMBOLS: "btcusdt" }, "SYMBOLS"],
    [{ SYMBOLS: " , " }, "SYMBOLS"],
    [{ EXCHANGES: "binance,kraken" }, "EXCHANGES"],
    [{ BINANCE_WS_URL: "https://fstream.binance.com" }, "BINANCE_WS_URL"],
    [{ OKX_WS_URL: "wss://ws.okx.com:8443/ws/v5/public" }, "OKX_WS_URL"],
    [{ BYBIT_WS_URL: "not a url" }, "BYBIT_WS_URL"],
    [{ STORAGE_BACKEND: "s3" }, "S3_ENDPOINT"],
    [{ STATUS_HOST: "999.1.1.1" }, "STATUS_HOST"],
    [{ STATUS_HOST: "bad host" }, "STATUS_HOST"],
    [{ STATUS_HOST: "" }, "STATUS_HOST"],
    [{ WS_RATE_LIMIT_BACKOFF_SECONDS: "3000000" }, "WS_RATE_LIMIT_BACKOFF_SECONDS"],
    [{ HEARTBEAT_INTERVAL: "3000000" }, "HEARTBEAT_INTERVAL"],
    [{ S3_UPLOAD_TIMEOUT_SECONDS: "3000000" }, "S3_UPLOAD_TIMEOUT_SECONDS"],
    [{ LOG_FORMAT: "xml" }, "LOG_FORMAT"],
    [{ STORAGE_BACKEND: "s3", S3_ENDPOINT: "http://127.0.0.1:1", S3_BUCKET: "b", S3_ACCESS_KEY: "k" }, "S3_SECRET_KEY"],
  ];
  test.each(invalid)("%j is rejected naming %s", (env, key) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(key);
    expect(msg).not.toContain("\n");
  });

  test("s3Settings: null with local storage; with s3 the checked settings, prefix included; a config missing one is a ConfigError naming it", () => {
    expect(s3Settings(loadConfig({}))).toBeNull();
    const env = { STORAGE_BACKEND: "s3", S3_ENDPOINT: "http://127.0.0.1:1", S3_BUCKET: "b", S3_ACCESS_KEY: "k", S3_SECRET_KEY: "s", S3_PREFIX: "p/q" };
    expect(s3Settings(loadConfig(env))).toEqual({
      endpoint: "http://127.0.0.1:1",
      bucket: "b",
      region: "us-east-1",
      accessKey: "k",
      secretKey: "s",
      prefix: "p/q",
    });
    // Built without loadConfig (which refuses it first): the accessor itself refuses, naming the key.
    expect(() => s3Settings({ ...loadConfig(env), S3_BUCKET: undefined })).toThrow(
      new ConfigError("invalid configuration: S3_BUCKET is required when STORAGE_BACKEND=s3"),
    );
  });

  test("every duration setting has an upper bound below Bun's 2^31-1 ms timer limit", () => {
    // Bun fires a timer above 2^31-1 ms after 1 ms: an unbounded duration becomes a busy loop.
    const durations = settingKeys().filter((k) => /(_SECONDS|_INTERVAL|_MS)$/.test(k));
    expect(durations.length).toBeGreaterThan(12);
    for (const key of durations) {
      const over = key.endsWith("_MS") ? String(2 ** 31) : String(MAX_TIMER_SECONDS + 1);
      expect(() => loadConfig({ [key]: over })).toThrow(key);
    }
  });

  test("STATUS_HOST accepts addresses and host names", () => {
    for (const h of ["127.0.0.1", "0.0.0.0", "::1", "[::1]", "::", "localhost", "collector-1.internal"])
      expect(loadConfig({ STATUS_HOST: h }).STATUS_HOST).toBe(h.replace(/[[\]]/g, ""));
  });

  test("misspelled-looking environment keys name the likely setting; ordinary variables do not", () => {
    expect(editDistance("QUEUESIZE", "QUEUE_SIZE")).toBe(1);
    const env = {
      QUEUESIZE: "5",
      FLUSH_INTERVALL: "3",
      STATUS_PROT: "1",
      PATH: "/bin",
      HOME: "/root",
      HOSTNAME: "x",
      AWS_REGION: "eu",
      JOURNAL_STREAM: "8:1",
      INVOCATION_ID: "x",
      LOGNAME: "q",
      QUEUE_SIZE: "5",
      queue_siz: "1",
    };
    expect(misspelledKeys(env).sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: "FLUSH_INTERVALL", likely: "FLUSH_INTERVAL" },
      { key: "QUEUESIZE", likely: "QUEUE_SIZE" },
      { key: "STATUS_PROT", likely: "STATUS_PORT" },
    ]);
  });

  test("every setting documents its meaning in the schema", () => {
    const docs = settingDocs();
    expect(docs.map((d) => d.key)).toEqual(settingKeys());
    expect(docs.filter((d) => d.meaning.length < 10).map((d) => d.key)).toEqual([]);
    expect(docs.find((d) => d.key === "QUEUE_SIZE")).toMatchObject({ default: "500000", flag: "--queue-size" });
  });

  test("an invalid secret is never echoed back, and redact() hides keys", () => {
    const c = loadConfig({
      STORAGE_BACKEND: "s3",
      S3_ENDPOINT: "http://127.0.0.1:1",
      S3_BUCKET: "b",
      S3_ACCESS_KEY: "AKIDEXAMPLE",
      S3_SECRET_KEY: "s3cr3t-value",
    });
    const shown = JSON.stringify(redact(c));
    expect(shown).not.toContain("s3cr3t-value");
    expect(shown).not.toContain("AKIDEXAMPLE");
  });
});

describe("CLI exit codes", () => {
  const run = (args: string[], env: Record<string, string> = {}) => {
    const p = Bun.spawnSync([process.execPath, ENTRY, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, cwd: "/tmp", stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
  };

  test("--version prints version, commit and schema version", () => {
    const r = run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^quantlab-collector \d+\.\d+\.\d+ \(commit \S+, schema v1\)\n$/);
  });

  test("--help lists run and simulate; run --help lists the collector options", () => {
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("simulate");
    const rr = run(["run", "--help"]);
    expect(rr.code).toBe(0);
    for (const flag of ["--symbols", "--exchanges", "--streams", "--storage", "--data-dir", "--status-port", "--env-file"]) expect(rr.out).toContain(flag);
  });

  test.each([
    [["--bogus"], {}, "unknown option"],
    [["--storage", "ftp"], {}, "--storage"],
    [["--status-port", "abc"], {}, "STATUS_PORT"],
    [["--symbols", "btc"], {}, "SYMBOLS"],
    [[], { QUEUE_SIZE: "-1" }, "QUEUE_SIZE"],
    [[], { BINANCE_WS_URL: "http://x" }, "BINANCE_WS_URL"],
    [["simulate", "--rate", "fast"], {}, "--rate"],
    [["--streams", "bbo,depth"], {}, "--streams (STREAMS)"],
    [[], { STREAMS: "" }, "STREAMS"],
    [[], { BOOK_DEPTH: "500" }, "BOOK_DEPTH"],
    [[], { BINANCE_REST_URL: "wss://x" }, "BINANCE_REST_URL"],
  ] as Array<[string[], Record<string, string>, string]>)("%j %j → exit 2, one line naming %s", (args, env, key) => {
    const r = run(args, env);
    expect(r.code).toBe(2);
    const lines = r.err.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(key);
    // The same reason as a JSON fatal_error line on stdout, for log pipelines (journald | jq).
    expectFatalLine(r.out, key);
  });

  test.each([
    [{ STATUS_HOST: "999.1.1.1" }, "STATUS_HOST"],
    [{ WS_RATE_LIMIT_BACKOFF_SECONDS: "3000000" }, "WS_RATE_LIMIT_BACKOFF_SECONDS"],
    [{ HEARTBEAT_INTERVAL: "3000000" }, "HEARTBEAT_INTERVAL"],
    [{ S3_UPLOAD_TIMEOUT_SECONDS: "3000000" }, "S3_UPLOAD_TIMEOUT_SECONDS"],
  ] as Array<[Record<string, string>, string]>)("the issue's invalid value %j exits 2 naming %s", (env, key) => {
    const r = run([], env);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toContain(key);
    expectFatalLine(r.out, key);
  });

  test("an unknown subcommand is named, not 'too many arguments'", () => {
    const r = run(["stats"]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe("quantlab-collector: unknown command 'stats' (commands: run, check-config, simulate, book-check, compact, inspect; see --help)");
  });

  test("run --help lists every environment variable with its default and meaning, and the operator flags", () => {
    const r = run(["run", "--help"]);
    expect(r.code).toBe(0);
    for (const d of settingDocs()) expect(r.out).toContain(`${d.key}${d.flag ? `, ${d.flag}` : ""}  (default: ${d.default})\n      ${d.meaning}`);
    for (const flag of ["--status-host", "--log-level", "--log-format", "--flush-interval", "--buffer-size", "--queue-size"]) expect(r.out).toContain(flag);
  });

  test("check-config prints the resolved, redacted configuration with each value's source; invalid → exit 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "qlc-check-"));
    const envFile = join(dir, "collector.env");
    writeFileSync(
      envFile,
      "QUEUE_SIZE=1234\nBUFFER_SIZE=77\nSTORAGE_BACKEND=s3\nS3_ENDPOINT=http://127.0.0.1:1\nS3_BUCKET=b\nS3_ACCESS_KEY=AKIDEXAMPLE\nS3_SECRET_KEY=s3cr3t-value\nQUEUESIZE=5\n",
    );
    const r = run(["check-config", "--env-file", envFile, "--flush-interval", "7", "--json"], { BUFFER_SIZE: "88" });
    expect(r.code).toBe(0);
    expect(r.out).not.toContain("s3cr3t-value");
    expect(r.out).not.toContain("AKIDEXAMPLE");
    const j = JSON.parse(r.out);
    expect(j.valid).toBe(true);
    expect(j.settings.QUEUE_SIZE).toEqual({ value: 1234, source: "env file" });
    expect(j.settings.BUFFER_SIZE).toEqual({ value: 88, source: "environment" });
    expect(j.settings.FLUSH_INTERVAL).toEqual({ value: 7, source: "flag" });
    expect(j.settings.HEARTBEAT_INTERVAL).toEqual({ value: 30, source: "default" });
    expect(j.settings.S3_SECRET_KEY).toEqual({ value: "***", source: "env file" });
    expect(j.warnings).toEqual([{ key: "QUEUESIZE", likely: "QUEUE_SIZE" }]);

    const t = run(["check-config", "--env-file", envFile]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^QUEUE_SIZE +1234 +\[env file\]$/m);
    expect(t.out).toContain("warning: QUEUESIZE is not a setting and is ignored: did you mean QUEUE_SIZE?");
    expect(t.out.trim().split("\n").at(-1)).toBe(`configuration valid (env file ${envFile})`);

    const bad = run(["check-config"], { FLUSH_INTERVAL: "3000000" });
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
    expect(bad.err).toContain("FLUSH_INTERVAL");
  });
});

function expectFatalLine(stdout: string, key: string): void {
  const lines = stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "");
  expect(lines).toHaveLength(1);
  const j = JSON.parse(lines[0]!);
  expect(j).toMatchObject({ level: "error", event: "fatal_error", exit_code: 2 });
  expect(j.error).toContain(key);
}

describe("status port that cannot be bound", () => {
  let holder: Server;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      holder = createServer(() => {}).listen(0, "127.0.0.1", () => {
        port = (holder.address() as { port: number }).port;
        resolve();
      });
    });

  test("exits 2 with one line naming the port, its holder and the setting; a misspelled key was warned about first", async () => {
    await listen();
    try {
      const p = Bun.spawn([process.execPath, ENTRY, "--exchanges", "binance", "--data-dir", mkdtempSync(join(tmpdir(), "qlc-port-"))], {
        env: { PATH: process.env.PATH ?? "", STATUS_PORT: String(port), BINANCE_WS_URL: "ws://127.0.0.1:1", QUEUESIZE: "10" },
        cwd: "/tmp",
        stdout: "pipe",
        stderr: "pipe",
      });
      const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
      expect(code).toBe(2);
      const lines = err.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${port} is already in use`);
      expect(lines[0]).toContain(`(pid ${process.pid})`); // this test process holds it
      expect(lines[0]).toContain("STATUS_PORT");
      const logs = out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(logs.find((l) => l.event === "config_warning")).toMatchObject({ level: "warn", key: "QUEUESIZE", likely: "QUEUE_SIZE" });
      expect(logs.at(-1)).toMatchObject({ event: "fatal_error", exit_code: 2 });
      expect(logs.at(-1).error).toBe(lines[0]!.replace(/^quantlab-collector: /, ""));
    } finally {
      holder.close();
    }
  });

  test("under a terminal (pseudo-TTY) the logs are pretty, coloured lines, not JSON", async () => {
    if (!Bun.which("script")) {
      console.log("SKIP pretty-log test: `script` (util-linux) not installed");
      return;
    }
    await listen();
    try {
      const cmd = `${process.execPath} ${ENTRY} --exchanges binance --data-dir /tmp/qlc-pretty-unused --status-port ${port}`;
      const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], {
        env: { PATH: process.env.PATH ?? "", TERM: "xterm", BINANCE_WS_URL: "ws://127.0.0.1:1" },
        cwd: "/tmp",
        stdout: "pipe",
        stderr: "pipe",
        stdin: "ignore",
      });
      const [code, out] = await Promise.all([p.exited, new Response(p.stdout).text()]);
      expect(code).toBe(2);
      expect(out).toMatch(/\d\d:\d\d:\d\d\.\d{3}\S* \x1b\[36mINFO \x1b\[0m \x1b\[1mcollector_start\x1b\[0m/);
      expect(out).not.toContain('{"ts"');
      expect(out).toContain(`port ${port} is already in use`);
    } finally {
      holder.close();
    }
  });
});
