/** @module exchanges — the adapter registry. A new venue is one file and one line here. */
import type { ExchangeId } from "../schema/rows.ts";
import { binance } from "./binance.ts";
import { bybit } from "./bybit.ts";
import { okx } from "./okx.ts";
import type { ExchangeAdapter } from "./types.ts";

export const adapters = { binance, bybit, okx } satisfies Record<ExchangeId, ExchangeAdapter>;

/**
 * Test and lab knob (env `WS_PING_INTERVAL_MS`, read by the CLI): shorten the client ping interval
 * of every venue that pings (Bybit, OKX) so keepalive tests take seconds, not minutes. Only lowers
 * the venues' documented values; idle and pong deadlines stay as they are. Returns an error text
 * for an invalid value, null when applied or unset.
 */
export function overridePingInterval(value: string | undefined): string | null {
  if (value === undefined || value.trim() === "") return null;
  const ms = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || ms < 50 || ms > 20_000) return "must be a whole number of milliseconds from 50 to 20000";
  for (const id of Object.keys(adapters) as ExchangeId[]) {
    const a: ExchangeAdapter = adapters[id];
    if (a.keepalive.pingIntervalMs > 0) (adapters as Record<ExchangeId, ExchangeAdapter>)[id] = { ...a, keepalive: { ...a.keepalive, pingIntervalMs: Math.min(ms, a.keepalive.pingIntervalMs) } };
  }
  return null;
}
