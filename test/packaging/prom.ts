/**
 * Prometheus text exposition (0.0.4) read with a real parser from the npm registry
 * (parse-prometheus-text-format, prom2json-compatible), plus the strict checks that parser
 * is lenient about: every sample line well-formed, every family typed and documented,
 * no family declared twice, no sample lost, names in Prometheus conventions.
 */
import parsePrometheusTextFormat, { type PromFamily } from "parse-prometheus-text-format";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Metrics } from "../../src/state/metrics.ts";
import { buildSnapshot, NO_WRITES, type Snapshot, type WriteFacts } from "../../src/state/snapshot.ts";
import { REPO } from "../helpers/collector.ts";

export const PREFIX = "quantlab_collector_";
/** The standard process metrics (process_cpu_seconds_total, …) are exported without the prefix. */
export const PROCESS_PREFIX = "process_";
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\n"])*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|Inf)|\+Inf|NaN)( -?\d+)?$/;

export interface Exposition {
  families: Map<string, PromFamily>;
  /** Value of one series; labels must match exactly. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

export function parseExposition(text: string): Exposition {
  const problems: string[] = [];
  if (!text.endsWith("\n")) problems.push("exposition must end with a newline");
  const declared = new Map<string, { help: boolean; type: string | null }>();
  let sampleLines = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
      const [, kind, name, rest] = line.match(/^# (HELP|TYPE) (\S+) ?(.*)$/) ?? [];
      if (!name || !NAME.test(name)) {
        problems.push(`bad metric name in: ${line}`);
        continue;
      }
      const d = declared.get(name) ?? { help: false, type: null };
      if (kind === "HELP") {
        if (d.help) problems.push(`HELP twice for ${name}`);
        if (!rest) problems.push(`empty HELP for ${name}`);
        d.help = true;
      } else {
        if (d.type) problems.push(`TYPE twice for ${name}`);
        if (rest !== "counter" && rest !== "gauge" && rest !== "histogram") problems.push(`TYPE of ${name} is ${rest}, expected counter, gauge or histogram`);
        d.type = rest ?? null;
      }
      declared.set(name, d);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = line.match(SAMPLE);
    if (!m) {
      problems.push(`malformed sample line: ${line}`);
      continue;
    }
    sampleLines++;
    const base = m[1]!.replace(/_(bucket|sum|count)$/, "");
    if (!declared.get(m[1]!)?.type && declared.get(base)?.type !== "histogram") problems.push(`sample before its # TYPE: ${line}`);
  }
  const parsed = parsePrometheusTextFormat(text);
  const families = new Map<string, PromFamily>();
  let parsedSamples = 0;
  for (const f of parsed) {
    if (families.has(f.name)) problems.push(`family ${f.name} appears twice`);
    families.set(f.name, f);
    parsedSamples +=
      f.type === "HISTOGRAM" ? f.metrics.reduce((a, x) => a + Object.keys((x as { buckets?: object }).buckets ?? {}).length + 2, 0) : f.metrics.length;
    if (!f.name.startsWith(PREFIX) && !f.name.startsWith(PROCESS_PREFIX)) problems.push(`${f.name} lacks the ${PREFIX} prefix`);
    if (f.type !== "COUNTER" && f.type !== "GAUGE" && f.type !== "HISTOGRAM") problems.push(`${f.name} parsed as ${f.type}`);
    if (!f.help) problems.push(`${f.name} has no HELP`);
    if (f.type === "COUNTER" && !f.name.endsWith("_total")) problems.push(`counter ${f.name} must end in _total`);
    if (f.type === "GAUGE" && f.name.endsWith("_total")) problems.push(`gauge ${f.name} must not end in _total`);
    if (f.type !== "HISTOGRAM") for (const s of f.metrics) if (!Number.isFinite(Number(s.value))) problems.push(`${f.name} has non-numeric value ${s.value}`);
  }
  if (parsedSamples !== sampleLines) problems.push(`parser read ${parsedSamples} samples from ${sampleLines} sample lines`);
  if (problems.length > 0) throw new Error(`invalid Prometheus exposition:\n  ${problems.join("\n  ")}`);
  return {
    families,
    value(name, labels = {}) {
      const f = families.get(name);
      const want = JSON.stringify(Object.entries(labels).sort());
      const s = f?.metrics.find((x) => JSON.stringify(Object.entries(x.labels ?? {}).sort()) === want);
      return s === undefined ? undefined : Number(s.value);
    },
  };
}

/** Metric names documented in the table of docs/operations.md ("| `quantlab_collector_…` | type | …"). */
export function documentedMetrics(): string[] {
  const doc = readFileSync(join(REPO, "docs", "operations.md"), "utf8");
  return [...doc.matchAll(/^\| `((?:quantlab_collector|process)_[a-z0-9_]+)`/gm)].map((m) => m[1]!);
}

/** A snapshot with every counter non-zero and every label present (parse reasons, exchanges, streams). */
export function richSnapshot(): Snapshot {
  const now = Date.now();
  const m = new Metrics(["binance", "bybit", "okx"], 900_000, now - 65_000);
  for (let i = 0; i < 7; i++) m.recordEvent("binance", "bbo", now - 100);
  for (let i = 0; i < 3; i++) m.recordEvent("okx", "trade", now - 50);
  m.recordEvent("okx", "funding", now - 20);
  m.recordFiltered("okx", "liquidation", 5);
  m.recordDrop(now);
  m.recordDrop(now);
  m.recordSilence(now);
  m.recordReconnect("okx", now);
  m.recordReconnect("okx", now);
  m.recordReconnect("bybit", now);
  m.recordParseError("bad_json");
  m.recordParseError("bad_json");
  m.recordParseError("invalid_row");
  for (let i = 0; i < 4; i++)
    m.recordSubscribeError({ exchange: "bybit", conn_id: "bybit-linear-x-1", topics: [`tickers.FOO${i}USDT`], error: "error:handler not found", ts_ms: now });
  m.silentSubscriptionsTotal = 3;
  m.tradeIdGapsTotal = 9;
  m.tradeIdGapsByExchange.binance = 9;
  m.recordTradeIdJump("okx");
  const writes: WriteFacts = {
    ...NO_WRITES,
    writer: { ...NO_WRITES.writer, total_written: 900, files_written: 12, pending_events: 35, active_buffers: 5, in_flight_uploads: 2, upload_failures: 5 },
    writeErrorsTotal: 6,
    lastWriteTsMs: now - 2000,
  };
  m.recordParseError("unknown_event:fooUpdate");
  m.recordParseError("bookTicker:missing:b");
  return buildSnapshot({
    metrics: m,
    writes,
    queueSize: 250,
    queueCapacity: 1000,
    state: "DEGRADED",
    stateSinceMs: now - 1000,
    stateReasons: ["drops"],
    symbols: ["BTCUSDT"],
    streams: { binance: ["bbo"] },
    nowMs: now,
    rssBytes: 123.4 * 1048576,
    connections: { binance: { open: 2, planned: 2 }, bybit: { open: 0, planned: 0 }, okx: { open: 1, planned: 2 } },
    lag: { p50: 0.4, p99: 2.5, max: 7.25, samples: 600 },
    process: {
      cpu_seconds: 12.5,
      open_fds: 42,
      max_fds: 65536,
      start_time_seconds: (now - 65_000) / 1000,
      lag_histogram: { buckets: [300, 500, 590, 598, 599, 600, 600, 600, 600, 600, 600], sumSeconds: 0.6, count: 600 },
      build: { version: "0.1.0", commit: "abc123", schema_version: "v1" },
    },
    silentSubscriptions: [
      { exchange: "binance", conn_id: "binance-public-x-1", stream: "bbo", symbol: "FAKEUSDT", since_ms: now - 90_000 },
      { exchange: "binance", conn_id: "binance-public-x-1", stream: "trade", symbol: "FAKEUSDT", since_ms: now - 90_000 },
    ],
  });
}
