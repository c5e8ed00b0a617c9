/**
 * @module run/venues — the configured venues: per exchange its adapter, the streams it records, its
 * connection plans and (once started) one supervisor. Owns the connection counts (open slots,
 * planned sockets) and the lookup of a live connection by id.
 */
import { systemClock, type TimerClock } from "../clock.ts";
import type { Config } from "../config.ts";
import { configuredAdapters } from "../exchanges/index.ts";
import type { ConnectionPlan, ExchangeAdapter } from "../exchanges/types.ts";
import type { Logger } from "../log.ts";
import type { ExchangeId, Stream } from "../schema/rows.ts";
import type { Connection } from "../ws/connection.ts";
import type { ConnectionOptions } from "../ws/types.ts";
import { Supervisor, type SupervisorHooks } from "../ws/supervisor.ts";

/** Bound on a make-before-break wait for first data (OKX drops ~60 s after notice 64008). */
export const ROTATE_DEADLINE_MS = 30_000;

const BASE_URL_KEY = { binance: "BINANCE_WS_URL", bybit: "BYBIT_WS_URL", okx: "OKX_WS_URL" } as const;

export interface Venue {
  exchange: ExchangeId;
  adapter: ExchangeAdapter;
  /** STREAMS / --streams that this venue delivers (book is opt-in; a venue without a stream skips it). */
  streams: Stream[];
  plans: ConnectionPlan[];
  options: ConnectionOptions;
}

export interface ConnectionCounts {
  open: number;
  planned: number;
}

/** The venues of the configuration, with the adapters it selects (Binance trade stream, book depth). */
export function createVenues(config: Readonly<Config>, instanceId: string, clock: TimerClock = systemClock): Venues {
  const adapters = configuredAdapters({ binanceTradeStream: config.BINANCE_TRADE_STREAM, bookDepth: config.BOOK_DEPTH as 50 | 200 | 1000 });
  return new Venues(config, adapters, instanceId, clock);
}

export class Venues {
  readonly list: readonly Venue[];
  private readonly supervisors = new Map<ExchangeId, Supervisor>();
  private stopped = false;

  constructor(
    config: Readonly<Config>,
    /** The configured venues' adapters (also what the books and the ingest symbol table read). */
    readonly adapters: Readonly<Record<ExchangeId, ExchangeAdapter>>,
    instanceId: string,
    /** Time of every socket's timers (watchdog, keepalive, backoff, rotation); tests drive their own. */
    clock: TimerClock = systemClock,
  ) {
    this.list = config.EXCHANGES.map((exchange) => {
      const adapter = adapters[exchange];
      const streams = adapter.streams.filter((st) => config.STREAMS.includes(st));
      const ka = adapter.keepalive;
      const cappedPing = config.WS_PING_INTERVAL_MS !== undefined && ka.pingIntervalMs > 0;
      const options: ConnectionOptions = {
        instanceId,
        backoff: { baseMs: 500, maxMs: config.WS_BACKOFF_MAX_SECONDS * 1000 },
        stableAfterMs: 60_000,
        controlGapMs: 250,
        keepalive: cappedPing ? { ...ka, pingIntervalMs: Math.min(ka.pingIntervalMs, config.WS_PING_INTERVAL_MS ?? ka.pingIntervalMs) } : ka,
        watchdogCapMs: config.WS_WATCHDOG_MAX_MS,
        maxAgeMs: adapter.maxConnectionAgeMs ? Math.min(adapter.maxConnectionAgeMs, config.WS_ROTATE_AFTER_SECONDS * 1000) : 0,
        rateLimitFloorMs: config.WS_RATE_LIMIT_BACKOFF_SECONDS * 1000,
        connectTimeoutMs: config.WS_CONNECT_TIMEOUT_SECONDS * 1000,
        clock,
      };
      return { exchange, adapter, streams, plans: adapter.connections(config[BASE_URL_KEY[exchange]], config.SYMBOLS, streams), options };
    });
  }

  /** Opens every planned socket (once; a no-op after stop(): a signal during start-up opens nothing). */
  start(hooks: SupervisorHooks, log: Logger): void {
    if (this.stopped || this.supervisors.size > 0) return;
    for (const v of this.list) this.supervisors.set(v.exchange, new Supervisor(v.adapter, v.plans, hooks, log, v.options, ROTATE_DEADLINE_MS));
    for (const sup of this.supervisors.values()) sup.start();
  }

  stop(): void {
    this.stopped = true;
    for (const sup of this.supervisors.values()) sup.stop();
  }

  /** A connection alive now (during a rotation, either of a slot), by conn_id. */
  readonly findConnection = (connId: string): Connection | undefined => {
    for (const sup of this.supervisors.values()) {
      const conn = sup.connections().find((c) => c.connId === connId);
      if (conn) return conn;
    }
    return undefined;
  };

  /** Per exchange: plans with an open socket (an overlap counts once) and sockets planned. */
  stats(): Record<string, ConnectionCounts> {
    return Object.fromEntries(this.list.map((v) => [v.exchange, { open: this.supervisors.get(v.exchange)?.openSlots() ?? 0, planned: v.plans.length }]));
  }

  totals(): ConnectionCounts {
    let open = 0;
    let planned = 0;
    for (const c of Object.values(this.stats())) {
      open += c.open;
      planned += c.planned;
    }
    return { open, planned };
  }

  /** The streams recorded per exchange (the /streams body). */
  streamsByExchange(): Record<string, Stream[]> {
    return Object.fromEntries(this.list.map((v) => [v.exchange, [...v.streams]]));
  }
}
