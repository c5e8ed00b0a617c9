/** @module app — composition root: adapters → connections → queue → writer → storage; state, status, signals. */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { redact, type Config } from "./config.ts";
import { ConfigError, describeError } from "./errors.ts";
import { configuredAdapters } from "./exchanges/index.ts";
import type { ExchangeAdapter } from "./exchanges/types.ts";
import type { Logger } from "./log.ts";
import { createWorkerEncoder } from "./pipeline/encoder.ts";
import { BoundedQueue } from "./pipeline/queue.ts";
import { Writer } from "./pipeline/writer.ts";
import type { ExchangeId, RecordRow, Stream } from "./schema/rows.ts";
import { buildSnapshot, type Snapshot } from "./state/snapshot.ts";
import { Metrics } from "./state/metrics.ts";
import { SilenceTracker } from "./state/silence.ts";
import { LagMonitor } from "./state/lag.ts";
import { TradeIdGapTracker } from "./state/trade-gaps.ts";
import { FirstDataTracker } from "./state/first-data.ts";
import { deriveState, stateReasons, type CollectorState, type StateInputs } from "./state/state.ts";
import { explainBindError, startStatusServer, type StatusServer } from "./status/server.ts";
import { processFacts } from "./status/process.ts";
import { createLocalStorage } from "./storage/local.ts";
import { createS3Store } from "./storage/s3.ts";
import { createSpoolingStorage } from "./storage/spool.ts";
import type { Storage } from "./storage/types.ts";
import { COLLECTOR_VERSION, BUILD_COMMIT_ID, SCHEMA_VERSION } from "./version.ts";
import { Supervisor } from "./ws/supervisor.ts";
import { BookAnchor } from "./books/anchor.ts";
import { BookTracker } from "./books/tracker.ts";
import { fetchText } from "./books/rest-fetch.ts";
import { nowUs } from "./clock.ts";
import { createIngestHooks, subscribedSymbols } from "./ingest.ts";

/** Bound on a make-before-break wait for first data (OKX drops ~60 s after notice 64008, exchanges.md §3.4). */
const ROTATE_DEADLINE_MS = 30_000;

const BASE_URL_KEY = { binance: "BINANCE_WS_URL", bybit: "BYBIT_WS_URL", okx: "OKX_WS_URL" } as const;

export interface RunningCollector {
  instanceId: string;
  statusPort: number;
  snapshot(): Snapshot;
  /** Resolves with the exit code once shutdown has finished. */
  done: Promise<number>;
  shutdown(signal: string): Promise<number>;
}

export async function startCollector(config: Readonly<Config>, log: Logger, opts: { handleSignals?: boolean } = {}): Promise<RunningCollector> {
  const instanceId = randomBytes(4).toString("hex");
  const startedAt = Date.now();
  const metrics = new Metrics(config.EXCHANGES, config.STATE_WINDOW_SECONDS * 1000, startedAt);
  const queue = new BoundedQueue<RecordRow>(config.QUEUE_SIZE);
  const storage: Storage = config.STORAGE_BACKEND === "s3" ? createS3Storage(config, metrics, log) : createLocalStorage(config.DATA_DIR);
  const encoder = createWorkerEncoder();
  const writer = new Writer(queue, storage, encoder, metrics, log, {
    bufferSize: config.BUFFER_SIZE,
    flushIntervalMs: config.FLUSH_INTERVAL * 1000,
    minFlushGapMs: config.MIN_FLUSH_GAP_SECONDS * 1000,
    maxInflightUploads: config.MAX_INFLIGHT_UPLOADS,
    instanceId,
    collectorVersion: COLLECTOR_VERSION,
    retryBudget: 3,
    retryBackoff: { baseMs: 500, maxMs: 30_000 },
    // Files waiting for storage may hold as many rows as the queue (and never less than a healthy
    // pipeline has in flight: every upload slot with a hard-capped buffer); past that the queue fills
    // and drops are counted.
    maxBacklogRows: Math.max(config.QUEUE_SIZE, 4 * config.BUFFER_SIZE * config.MAX_INFLIGHT_UPLOADS),
    // Only what was subscribed becomes a partition (ingest refuses anything else first).
    symbols: Object.fromEntries(config.EXCHANGES.map((ex) => [ex, config.SYMBOLS])),
  });
  const silence = new SilenceTracker();
  const lag = new LagMonitor();
  const tradeGaps = new TradeIdGapTracker();
  const firstData = new FirstDataTracker();
  const adapters = configuredAdapters({ binanceTradeStream: config.BINANCE_TRADE_STREAM, bookDepth: config.BOOK_DEPTH as 50 | 200 | 1000 });
  const contiguousIds = new Set(config.EXCHANGES.filter((ex) => adapters[ex].contiguousTradeIds));

  log.info("collector_start", {
    version: COLLECTOR_VERSION,
    commit: BUILD_COMMIT_ID,
    schema_version: SCHEMA_VERSION,
    instance_id: instanceId,
    pid: process.pid,
    storage: storage.describe,
    config: redact(config),
  });

  // --- ingestion -----------------------------------------------------------------------------
  const supervisors: Supervisor[] = [];
  const supervisorOf: Partial<Record<ExchangeId, Supervisor>> = {};
  const findConnection = (connId: string) => supervisors.flatMap((s) => s.connections()).find((c) => c.connId === connId);
  // The book stream (opt-in): continuity per (connection, symbol), resync, Binance REST anchoring.
  const booksOn = config.STREAMS.includes("book");
  let books: BookTracker | null = null;
  const anchor = booksOn
    ? new BookAnchor({
        fetchText,
        log,
        metrics,
        onRow: (row) => hooks.onRow(row),
        isOpen: (connId) => findConnection(connId)?.open === true,
        lastRecvSeq: (connId, symbol) => books?.lastRecvSeq(connId, symbol) ?? 0,
        nowUs,
        weightPerMinute: config.BINANCE_REST_WEIGHT_PER_MINUTE,
      })
    : null;
  books = booksOn ? new BookTracker({ metrics, log, adapters, record: (row) => writer.record(row), findConnection, anchor, restBaseUrl: (ex) => (ex === "binance" ? config.BINANCE_REST_URL : undefined), nowUs }) : null;
  const hooks = createIngestHooks({
    metrics,
    queue,
    record: (row) => writer.record(row),
    log,
    silence,
    firstData,
    tradeGaps,
    contiguousIds,
    subscriptionDeadlineMs: config.SUBSCRIPTION_DEADLINE_SECONDS * 1000,
    openSlots: (ex) => supervisorOf[ex]?.openSlots() ?? 0,
    findConnection,
    onConnectivityChange: () => evaluateState(),
    ...(books ? { books } : {}),
    subscribed: subscribedSymbols(config.EXCHANGES, config.SYMBOLS, (ex, sym) => adapters[ex].venueSymbol(sym)),
  });

  const streamsByExchange: Record<string, Stream[]> = {};
  for (const ex of config.EXCHANGES) {
    const adapter: ExchangeAdapter = adapters[ex]!;
    // STREAMS / --streams: what is recorded (book is opt-in); a venue without a stream skips it.
    const streams = adapter.streams.filter((st) => config.STREAMS.includes(st));
    streamsByExchange[ex] = streams;
    metrics.declareExchange(ex, streams, adapter.contiguousTradeIds);
    const plans = adapter.connections(config[BASE_URL_KEY[ex]], config.SYMBOLS, streams);
    metrics.connections[ex]!.planned = plans.length;
    const ka = adapter.keepalive;
    const keepalive = config.WS_PING_INTERVAL_MS !== undefined && ka.pingIntervalMs > 0 ? { ...ka, pingIntervalMs: Math.min(ka.pingIntervalMs, config.WS_PING_INTERVAL_MS) } : ka;
    const maxAgeMs = adapter.maxConnectionAgeMs ? Math.min(adapter.maxConnectionAgeMs, config.WS_ROTATE_AFTER_SECONDS * 1000) : 0;
    const sup = new Supervisor(adapter, plans, hooks, log, {
      instanceId,
      backoff: { baseMs: 500, maxMs: config.WS_BACKOFF_MAX_SECONDS * 1000 },
      stableAfterMs: 60_000,
      controlGapMs: 250,
      keepalive,
      watchdogCapMs: config.WS_WATCHDOG_MAX_MS,
      maxAgeMs,
      rateLimitFloorMs: config.WS_RATE_LIMIT_BACKOFF_SECONDS * 1000,
      connectTimeoutMs: config.WS_CONNECT_TIMEOUT_SECONDS * 1000,
    }, ROTATE_DEADLINE_MS);
    supervisors.push(sup);
    supervisorOf[ex] = sup;
    for (const sym of config.SYMBOLS) for (const st of streams) silence.watch(ex, st, sym, adapter.silenceThresholdMs(st), startedAt);
  }

  // --- state ---------------------------------------------------------------------------------
  let state: CollectorState = "OFFLINE";
  let stateSince = startedAt;
  // ERROR clears as soon as a file is written after the last failed write (local storage): the
  // writer keeps the failed files and retries them with backoff (up to 30 s apart), but the
  // storage works again. (With S3 the last-write time is an upload, not the spool's disk.)
  let seenWriteErrors = 0;
  let lastWriteErrorMs = 0;
  const writerFailingNow = (now: number): boolean => {
    if (metrics.writeErrorsTotal !== seenWriteErrors) {
      seenWriteErrors = metrics.writeErrorsTotal;
      lastWriteErrorMs = now;
    }
    const wroteSince = config.STORAGE_BACKEND === "local" && metrics.lastWriteTsMs !== null && metrics.lastWriteTsMs > lastWriteErrorMs;
    return metrics.writerFailing && !wroteSince;
  };
  const stateInputs = (now: number): StateInputs => {
    const c = metrics.connectionTotals();
    return {
      fatalError: metrics.fatalError,
      writerFailing: writerFailingNow(now),
      uploadsFailing: metrics.uploadsFailing,
      spoolFull: metrics.spoolFull,
      connectionsOpen: c.open,
      connectionsPlanned: c.planned,
      queueUtilizationPct: queue.utilizationPct(),
      drops15m: metrics.drops.sum(now),
    };
  };
  // Start-up: the state is OFFLINE until a socket opens. It is logged once settled — a socket
  // open, or every planned socket failed its first attempt (then OFFLINE is logged as it happens,
  // not at the first heartbeat). During shutdown the state is frozen: closing sockets on purpose
  // is not a degradation.
  let stateLogged = false;
  let stateFrozen = false;
  function evaluateState(): void {
    if (stateFrozen) return;
    const now = Date.now();
    const inputs = stateInputs(now);
    const next = deriveState(inputs);
    const settled = inputs.connectionsOpen > 0 || Object.values(metrics.reconnectTotal).reduce((a, b) => a + b, 0) >= inputs.connectionsPlanned || next === "ERROR";
    if (next !== state || (!stateLogged && settled)) {
      const level = next === "ERROR" ? "error" : next === "READY" ? "info" : "warn";
      log.log(level, "state_change", { from: stateLogged ? state : "STARTING", to: next, reasons: stateReasons(inputs) });
      stateLogged = true;
      if (next !== state) stateSince = now;
      state = next;
    }
  }
  const snapshot = (): Snapshot => {
    const now = Date.now();
    evaluateState();
    return buildSnapshot({
      metrics,
      queueSize: queue.size,
      queueCapacity: queue.capacity,
      state,
      stateSinceMs: stateSince,
      stateReasons: stateReasons(stateInputs(now)),
      symbols: config.SYMBOLS,
      streams: streamsByExchange,
      nowMs: now,
      rssBytes: process.memoryUsage.rss(),
      lag: lag.stats(),
      silentSubscriptions: firstData.silent(),
      process: { ...processFacts(), lag_histogram: lag.histogram(), build: { version: COLLECTOR_VERSION, commit: BUILD_COMMIT_ID, schema_version: SCHEMA_VERSION } },
    });
  };

  const timers: ReturnType<typeof setInterval>[] = [];
  timers.push(
    setInterval(() => {
      const now = Date.now();
      metrics.sampleRates();
      if (anchor) metrics.bookRest.weightUsed1m = anchor.weightUsed(now);
      for (const sub of firstData.check(now)) {
        metrics.silentSubscriptionsTotal++;
        log.warn("subscription_silent", { exchange: sub.exchange, conn_id: sub.conn_id, stream: sub.stream, symbol: sub.symbol, waited_ms: now - sub.since_ms, hint: "acknowledged (or not rejected) but no data: unknown symbol, wrong route, or a very quiet market" });
      }
      for (const ev of silence.check(now)) {
        metrics.recordSilence(now);
        log.warn("silence_start", { exchange: ev.exchange, stream: ev.stream, symbol: ev.symbol, silent_ms: ev.silentMs });
      }
      evaluateState();
    }, 1000),
  );
  timers.push(setInterval(() => heartbeat(), config.HEARTBEAT_INTERVAL * 1000));
  function heartbeat(): void {
    const s = snapshot();
    log.info("heartbeat", {
      state: s.status.state,
      queue_pct: s.status.metrics.queue_pct,
      silence_15m: s.status.metrics.silence_15m,
      drops: s.metrics.dropped_events_total,
      drops_15m: s.status.metrics.drops_15m,
      reconnects: s.metrics.ws_reconnect_total,
      reconnects_15m: s.status.metrics.reconnects_15m,
      rss_mb: s.status.metrics.rss_mb,
      event_loop_lag_ms: s.metrics.event_loop_lag_ms,
      events_per_sec: s.metrics.events_per_sec,
      total_events: s.metrics.total_events,
      parse_errors: s.metrics.parse_errors_total,
      writer: s.metrics.writer,
    });
  }

  // --- shutdown (handlers first, so a signal during start-up still drains and exits 0) --------
  let status: StatusServer | null = null;
  let shutdownPromise: Promise<number> | null = null;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  async function shutdown(signal: string): Promise<number> {
    if (shutdownPromise) {
      log.warn("shutdown_signal", { signal, note: "shutdown already in progress; flush continues" });
      return shutdownPromise;
    }
    shutdownPromise = (async () => {
      log.info("shutdown_signal", { signal, queue_size: queue.size, pending_events: writer.pendingEvents() });
      // State and silence tracking stop first: a slow final flush must not raise silences or
      // state changes about streams the collector itself is closing.
      stateFrozen = true;
      for (const t of timers) clearInterval(t);
      for (const s of supervisors) s.stop();
      anchor?.stop();
      // Let the sockets report their close, so the connection stream records the disconnects.
      const closeDeadline = Date.now() + 2000;
      while (metrics.connectionTotals().open > 0 && Date.now() < closeDeadline) await Bun.sleep(20);
      const shutdownDeadline = Date.now() + config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
      const res = await writer.close(config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
      if (!res.complete) {
        // Every event is written or counted as dropped (spec §1): rows the storage did not take in time are lost.
        metrics.recordDrop(Date.now(), res.unwrittenRows);
        log.error("shutdown_timeout", { unwritten_rows: res.unwrittenRows, timeout_s: config.SHUTDOWN_TIMEOUT_SECONDS, note: "counted in dropped_events_total" });
      }
      if (storage.close) {
        // Spooled files are durable: whatever is not uploaded now is uploaded by the next start.
        const left = await storage.close(Math.max(0, shutdownDeadline - Date.now()));
        if (left.pendingFiles > 0) log.warn("spool_pending", { files: left.pendingFiles, bytes: left.pendingBytes, note: "kept in SPOOL_DIR; uploaded first on the next start" });
      }
      lag.stop();
      const s = snapshot();
      log.info("collector_stop", {
        signal,
        uptime_s: s.health.uptime,
        total_events: s.metrics.total_events,
        events_total_by_stream: s.metrics.events_total_by_stream,
        dropped_events_total: s.metrics.dropped_events_total,
        trade_id_gaps_total: s.metrics.trade_id_gaps_total,
        ...(booksOn ? { book_gaps_total: s.metrics.book_gaps_total, book_rest: s.metrics.book_rest } : {}),
        effective_data_loss_rate_pct: s.metrics.effective_data_loss_rate_pct,
        parse_errors_total: s.metrics.parse_errors_total,
        ws_reconnect_total: s.metrics.ws_reconnect_total,
        silence_intervals_total: s.metrics.silence_intervals_total,
        writer: s.metrics.writer,
        unwritten_rows: res.unwrittenRows,
      });
      await status?.stop();
      await encoder.close();
      const code = res.complete ? 0 : 1;
      resolveDone(code);
      return code;
    })();
    return shutdownPromise;
  }

  if (opts.handleSignals) {
    // A registered handler replaces the default kill; a second signal must not abort the flush (bun-notes §8).
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
    process.on("uncaughtException", (err) => {
      metrics.fatalError = describeError(err);
      log.error("fatal_error", { error: describeError(err) });
      evaluateState();
    });
    process.on("unhandledRejection", (err) => {
      metrics.fatalError = describeError(err);
      log.error("fatal_error", { error: describeError(err) });
      evaluateState();
    });
  }

  // --- start ---------------------------------------------------------------------------------
  try {
    status = startStatusServer(config.STATUS_HOST, config.STATUS_PORT, snapshot, log);
  } catch (err) {
    for (const t of timers) clearInterval(t);
    await encoder.close();
    // A configuration problem (exit 2: systemd does not restart-loop on it), named in one line.
    throw new ConfigError(await explainBindError(config.STATUS_HOST, config.STATUS_PORT, err));
  }
  log.info("status_api_start", { host: config.STATUS_HOST, port: status.port });
  await writer.start();
  lag.start();
  evaluateState();
  // A signal during start-up has already run the shutdown: open nothing more.
  if (!shutdownPromise) for (const s of supervisors) s.start();

  return { instanceId, statusPort: status.port, snapshot, done, shutdown };
}

/** STORAGE_BACKEND=s3: a local spool in front of Bun's S3 client (loadConfig guarantees the S3_* keys). */
function createS3Storage(config: Readonly<Config>, metrics: Metrics, log: Logger): Storage {
  const store = createS3Store({ endpoint: config.S3_ENDPOINT!, bucket: config.S3_BUCKET!, region: config.S3_REGION, accessKey: config.S3_ACCESS_KEY!, secretKey: config.S3_SECRET_KEY! });
  return createSpoolingStorage({
    dir: config.SPOOL_DIR ?? join(config.DATA_DIR, "spool"),
    prefix: config.S3_PREFIX,
    store,
    maxInflight: config.MAX_INFLIGHT_UPLOADS,
    maxBytes: config.SPOOL_MAX_BYTES,
    uploadTimeoutMs: config.S3_UPLOAD_TIMEOUT_SECONDS * 1000,
    backoff: { baseMs: Math.min(500, config.S3_RETRY_MAX_SECONDS * 1000), maxMs: config.S3_RETRY_MAX_SECONDS * 1000 },
    metrics,
    log,
  });
}
