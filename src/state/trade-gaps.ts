/**
 * @module state/trade-gaps — missing trade ids on venues whose ids are contiguous per symbol
 * (Binance `@trade` `t`, OKX `trades-all` `tradeId`; exchanges.md §5 "General"). A jump of k ids
 * means k-1 trades the venue made and we never received: real, measured loss. Ids at or below the
 * last seen (reconnect overlap, rotation duplicates) are not gaps and do not move the cursor.
 */

export interface TradeGap {
  exchange: string;
  symbol: string;
  afterId: number;
  nextId: number;
  missing: number;
}

export class TradeIdGapTracker {
  private readonly last = new Map<string, number>();

  /** Returns the gap this id reveals, or null. Non-numeric ids are ignored. */
  observe(exchange: string, symbol: string, tradeId: string): TradeGap | null {
    if (!/^\d{1,16}$/.test(tradeId)) return null;
    const id = Number(tradeId);
    if (!Number.isSafeInteger(id)) return null;
    const key = `${exchange}|${symbol}`;
    const prev = this.last.get(key);
    if (prev !== undefined && id <= prev) return null;
    this.last.set(key, id);
    if (prev === undefined || id === prev + 1) return null;
    return { exchange, symbol, afterId: prev, nextId: id, missing: id - prev - 1 };
  }
}
