/**
 * @module run/monitors — the once-a-second tick (event rates, REST weight, silent subscriptions,
 * stream silences, state) and the periodic `heartbeat` log. Timing comes from an injectable clock.
 */
import type { TimerClock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { FirstDataTracker } from "../state/first-data.ts";
import type { Metrics } from "../state/metrics.ts";
import type { SilenceTracker } from "../state/silence.ts";
import type { Snapshot } from "../state/snapshot.ts";

export const TICK_MS = 1000;

export interface MonitorDeps {
  clock: TimerClock;
  log: Logger;
  metrics: Metrics;
  firstData: FirstDataTracker;
  silence: SilenceTracker;
  /** REST weight spent in the last minute (Binance book anchoring); absent when no book is recorded. */
  restWeightUsed?: (nowMs: number) => number;
  /** Re-derive the collector state (run/health). */
  evaluateState(): void;
  snapshot(): Snapshot;
  heartbeatMs: number;
}

/** Calls `fn` every `ms` on `clock` until the returned function is called. */
export function every(clock: TimerClock, ms: number, fn: () => void): () => void {
  let cancel = clock.after(ms, run);
  function run(): void {
    cancel = clock.after(ms, run);
    fn();
  }
  return () => cancel();
}

export function tick(d: MonitorDeps): void {
  const now = d.clock.nowMs();
  d.metrics.sampleRates();
  if (d.restWeightUsed) d.metrics.bookRest.weightUsed1m = d.restWeightUsed(now);
  for (const sub of d.firstData.check(now)) {
    d.metrics.silentSubscriptionsTotal++;
    d.log.warn("subscription_silent", {
      exchange: sub.exchange,
      conn_id: sub.conn_id,
      stream: sub.stream,
      symbol: sub.symbol,
      waited_ms: now - sub.since_ms,
      hint: "acknowledged (or not rejected) but no data: unknown symbol, wrong route, or a very quiet market",
    });
  }
  for (const ev of d.silence.check(now)) {
    d.metrics.recordSilence(now);
    d.log.warn("silence_start", { exchange: ev.exchange, stream: ev.stream, symbol: ev.symbol, silent_ms: ev.silentMs });
  }
  d.evaluateState();
}

export function heartbeat(log: Logger, s: Snapshot): void {
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

/** The collector's monitors: HEARTBEAT_INTERVAL from the config, the REST weight when books are on. */
export function startCollectorMonitors(
  config: Readonly<Config>,
  p: Omit<MonitorDeps, "heartbeatMs" | "restWeightUsed"> & { books: { anchor: { weightUsed(nowMs: number): number } } | null },
): () => void {
  const { books, ...d } = p;
  return startMonitors({
    ...d,
    ...(books ? { restWeightUsed: (now: number) => books.anchor.weightUsed(now) } : {}),
    heartbeatMs: config.HEARTBEAT_INTERVAL * 1000,
  });
}

/** Starts the tick and the heartbeat; the returned function stops both. */
export function startMonitors(d: MonitorDeps): () => void {
  const stops = [every(d.clock, TICK_MS, () => tick(d)), every(d.clock, d.heartbeatMs, () => heartbeat(d.log, d.snapshot()))];
  return () => {
    for (const stop of stops) stop();
  };
}
