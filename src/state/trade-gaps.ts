/**
 * @module state/trade-gaps — missing trade ids on venues whose ids are contiguous per symbol
 * (Binance `@trade` `t`, OKX `trades-all` `tradeId`; docs/venues.md §4). A jump of k ids
 * means k-1 trades the venue made and we never received: real, measured loss. Ids at or below the
 * last seen (reconnect overlap, rotation duplicates) are not gaps and do not move the cursor.
 *
 * Outliers: one corrupt or re-based id (`t=9007199254740991`) must not count billions of "missing"
 * trades nor freeze the cursor above every later id. A move (forward or back) larger than
 * {@link plausibleJump} for the time since the symbol's previous trade is a `jump`: counted apart,
 * never as gaps, and the sequence re-anchors on the new id (so normal ids after an outlier re-anchor
 * again and are then tracked as usual). The bound — 10,000 ids plus 10,000 ids per second elapsed —
 * is far above any real USDT-perpetual trade rate (the busiest, BTCUSDT on Binance, prints a few
 * hundred to a few thousand trades per second in bursts) so a real outage of any length is still
 * counted as gaps, yet a 64-bit outlier is recognised after any realistic silence.
 */
import { digitsInt } from "../schema/digits.ts";

export interface TradeGap {
  kind: "gap";
  exchange: string;
  symbol: string;
  afterId: number;
  nextId: number;
  missing: number;
}

export interface TradeJump {
  kind: "jump";
  exchange: string;
  symbol: string;
  afterId: number;
  nextId: number;
  /** The largest move accepted as a gap at this point (ids). */
  bound: number;
}

/** Ids a symbol can plausibly advance (or be replayed back) in `elapsedMs` (see the module note). */
export function plausibleJump(elapsedMs: number): number {
  return 10_000 + Math.ceil(Math.max(0, elapsedMs) / 1000) * 10_000;
}

/** The last id seen for one symbol and when; updated in place. */
interface Cursor {
  id: number;
  atMs: number;
}

export class TradeIdGapTracker {
  /** exchange → symbol → cursor: two lookups of strings the caller already holds, no key built per trade. */
  private readonly last = new Map<string, Map<string, Cursor>>();

  /** Returns the gap or jump this id reveals, or null. Non-numeric ids are ignored. */
  observe(exchange: string, symbol: string, tradeId: string, nowMs: number): TradeGap | TradeJump | null {
    const id = digitsInt(tradeId);
    if (id === null) return null;
    let bySymbol = this.last.get(exchange);
    if (bySymbol === undefined) {
      bySymbol = new Map();
      this.last.set(exchange, bySymbol);
    }
    const prev = bySymbol.get(symbol);
    if (prev === undefined) {
      bySymbol.set(symbol, { id, atMs: nowMs });
      return null;
    }
    const afterId = prev.id;
    const bound = plausibleJump(nowMs - prev.atMs);
    if (Math.abs(id - afterId) > bound) {
      prev.id = id;
      prev.atMs = nowMs;
      return { kind: "jump", exchange, symbol, afterId, nextId: id, bound };
    }
    if (id <= afterId) return null;
    prev.id = id;
    prev.atMs = nowMs;
    if (id === afterId + 1) return null;
    return { kind: "gap", exchange, symbol, afterId, nextId: id, missing: id - afterId - 1 };
  }
}
