/**
 * @module run/trackers — what is watched on every recorded subscription: stream silences, first
 * data, trade-id continuity, event-loop lag; and the per-venue series declared at 0 from the start.
 */
import type { ExchangeId } from "../schema/rows.ts";
import { FirstDataTracker } from "../state/first-data.ts";
import { LagMonitor } from "../state/lag.ts";
import type { Metrics } from "../state/metrics.ts";
import { SilenceTracker } from "../state/silence.ts";
import { TradeIdGapTracker } from "../state/trade-gaps.ts";
import type { Venue } from "./venues.ts";

export interface Trackers {
  silence: SilenceTracker;
  firstData: FirstDataTracker;
  tradeGaps: TradeIdGapTracker;
  lag: LagMonitor;
  /** Venues whose trade ids are consecutive per symbol: a jump is a measured loss. */
  contiguousIds: ReadonlySet<ExchangeId>;
}

export function createTrackers(venues: readonly Venue[], symbols: readonly string[], metrics: Metrics, startedAtMs: number): Trackers {
  const silence = new SilenceTracker();
  for (const v of venues) {
    metrics.declareExchange(v.exchange, v.streams, v.adapter.contiguousTradeIds);
    for (const sym of symbols) for (const st of v.streams) silence.watch(v.exchange, st, sym, v.adapter.silenceThresholdMs(st), startedAtMs);
  }
  const contiguousIds = new Set(venues.filter((v) => v.adapter.contiguousTradeIds).map((v) => v.exchange));
  return { silence, firstData: new FirstDataTracker(), tradeGaps: new TradeIdGapTracker(), lag: new LagMonitor(), contiguousIds };
}
