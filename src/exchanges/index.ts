/** @module exchanges — the adapter registry. A new venue is one file and one line here. */
import type { ExchangeId } from "../schema/rows.ts";
import { binance, createBinance, type BinanceTradeStream } from "./binance.ts";
import { bybit, createBybit, type BybitBookDepth } from "./bybit.ts";
import { okx } from "./okx.ts";
import type { ExchangeAdapter } from "./types.ts";

export const adapters = { binance, bybit, okx } satisfies Record<ExchangeId, ExchangeAdapter>;

/** Venue options from the configuration (docs/schema-v1.md §2: Binance trades from `@trade` or `@aggTrade`). */
export interface VenueOptions {
  binanceTradeStream: BinanceTradeStream;
  /** Bybit `orderbook.{depth}` for the book stream (BOOK_DEPTH, default 200). */
  bookDepth?: BybitBookDepth;
}

export function configuredAdapters(o: VenueOptions): Record<ExchangeId, ExchangeAdapter> {
  return {
    ...adapters,
    binance: o.binanceTradeStream === "trade" ? binance : createBinance({ trades: o.binanceTradeStream }),
    bybit: o.bookDepth === undefined || o.bookDepth === 200 ? bybit : createBybit({ bookDepth: o.bookDepth }),
  };
}
