/** @module state/silence — staleness intervals for mark_price / funding / open_interest (never bbo/trade). */
import type { Stream } from "../schema/rows.ts";

export const SILENCE_MONITORED: ReadonlySet<Stream> = new Set(["mark_price", "funding", "open_interest"]);

interface Track {
  exchange: string;
  stream: Stream;
  symbol: string;
  thresholdMs: number;
  /** null until the stream's first event: a stream that never delivered is down, not silent. */
  lastEventMs: number | null;
  silentSinceMs: number | null;
}

/** A silence interval that opened (`check`) or ended (`onEvent`). */
export interface SilenceEvent {
  exchange: string;
  stream: Stream;
  symbol: string;
  silentMs: number;
}

export class SilenceTracker {
  /** Every watched stream, for `check` (keyed once at `watch`, never per event). */
  private readonly tracks = new Map<string, Track>();
  /** stream → exchange → symbol → track: the per-event lookup, without building a key string. */
  private readonly index = new Map<Stream, Map<string, Map<string, Track>>>();

  /**
   * Watch a stream. Its clock starts at its first event: a stream whose connection never
   * delivered is reported as a connection down (state, ws_disconnect) or a silent subscription
   * (first-data deadline), never as a silence interval. `_nowMs` is kept for callers' symmetry.
   */
  watch(exchange: string, stream: Stream, symbol: string, thresholdMs: number, _nowMs?: number): void {
    if (!SILENCE_MONITORED.has(stream)) return;
    const t: Track = { exchange, stream, symbol, thresholdMs, lastEventMs: null, silentSinceMs: null };
    this.tracks.set(`${exchange}|${stream}|${symbol}`, t);
    let byExchange = this.index.get(stream);
    if (byExchange === undefined) this.index.set(stream, (byExchange = new Map()));
    let bySymbol = byExchange.get(exchange);
    if (bySymbol === undefined) byExchange.set(exchange, (bySymbol = new Map()));
    bySymbol.set(symbol, t);
  }

  /** Record an event; returns the end of a silence interval when one was open. */
  onEvent(exchange: string, stream: Stream, symbol: string, nowMs: number): SilenceEvent | null {
    // bbo, trade, book and liquidation rows (nearly all of them) stop at the first lookup, as before.
    const t = this.index.get(stream)?.get(exchange)?.get(symbol);
    if (t === undefined) return null;
    t.lastEventMs = nowMs;
    if (t.silentSinceMs === null) return null;
    const ev: SilenceEvent = { exchange, stream, symbol, silentMs: nowMs - t.silentSinceMs };
    t.silentSinceMs = null;
    return ev;
  }

  /** Open an interval for every stream past its threshold; each interval is reported once. */
  check(nowMs: number): SilenceEvent[] {
    const opened: SilenceEvent[] = [];
    for (const t of this.tracks.values()) {
      if (t.lastEventMs !== null && t.silentSinceMs === null && nowMs - t.lastEventMs > t.thresholdMs) {
        t.silentSinceMs = t.lastEventMs;
        opened.push({ exchange: t.exchange, stream: t.stream, symbol: t.symbol, silentMs: nowMs - t.lastEventMs });
      }
    }
    return opened;
  }

  openIntervals(): number {
    let n = 0;
    for (const t of this.tracks.values()) if (t.silentSinceMs !== null) n++;
    return n;
  }
}
