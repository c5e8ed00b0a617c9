/** Scope: configuration — defaults, flags over env, and one-line errors naming the key (exit 2 from the CLI). */
import { describe, expect, test } from "bun:test";
import { DEFAULT_SYMBOLS, loadConfig, redact } from "../src/config.ts";
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
    const c = loadConfig({ SYMBOLS: "ETHUSDT", STATUS_PORT: "9200", DATA_DIR: "/x" }, { symbols: " BTCUSDT, SOLUSDT,BTCUSDT ", statusPort: "9300", dataDir: "/y", exchanges: "binance" }, ["binance"]);
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

  test("an invalid secret is never echoed back, and redact() hides keys", () => {
    const c = loadConfig({ STORAGE_BACKEND: "s3", S3_ENDPOINT: "http://127.0.0.1:1", S3_BUCKET: "b", S3_ACCESS_KEY: "AKIDEXAMPLE", S3_SECRET_KEY: "s3cr3t-value" });
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
    expect(r.out).toBe("");
  });
});
