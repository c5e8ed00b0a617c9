/** @module exchanges — the adapter registry. A new venue is one file and one line here. */
import type { ExchangeId } from "../schema/rows.ts";
import { binance } from "./binance.ts";
import { bybit } from "./bybit.ts";
import { okx } from "./okx.ts";
import type { ExchangeAdapter } from "./types.ts";

export const adapters = { binance, bybit, okx } satisfies Record<ExchangeId, ExchangeAdapter>;
