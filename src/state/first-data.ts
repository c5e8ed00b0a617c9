/**
 * @module state/first-data — a subscription is live only once it has delivered (docs/venues.md §0). Binance
 * acknowledges unknown symbols and wrong routes and then sends nothing (docs/venues.md §1.2); this
 * tracker reports every (connection, stream, symbol) with no first event by its deadline.
 */
import type { Stream } from "../schema/rows.ts";

export interface SilentSubscription {
  exchange: string;
  conn_id: string;
  stream: Stream;
  symbol: string;
  /** Epoch ms the connection opened: silent since then. */
  since_ms: number;
}

interface Pending extends SilentSubscription {
  deadlineMs: number;
  reported: boolean;
}

export class FirstDataTracker {
  private readonly byConn = new Map<string, Map<string, Pending>>();

  /** `deadlineMs` per subscription: a stream that pushes rarely (OKX funding-rate: 30–90 s) needs longer. */
  open(exchange: string, connId: string, subs: ReadonlyArray<{ stream: Stream; symbol: string; deadlineMs: number }>, nowMs: number): void {
    const m = new Map<string, Pending>();
    for (const s of subs)
      m.set(`${s.stream}|${s.symbol}`, {
        exchange,
        conn_id: connId,
        stream: s.stream,
        symbol: s.symbol,
        since_ms: nowMs,
        deadlineMs: nowMs + s.deadlineMs,
        reported: false,
      });
    this.byConn.set(connId, m);
  }

  /**
   * First data arrived: the subscription is live. Returns null when nothing changed; otherwise
   * `late` (it had been reported silent) and `complete` (every subscription of the connection is live).
   */
  seen(connId: string, stream: Stream, symbol: string): { late: SilentSubscription | null; complete: boolean } | null {
    const m = this.byConn.get(connId);
    if (!m || m.size === 0) return null;
    const key = `${stream}|${symbol}`;
    const p = m.get(key);
    if (!p) return null;
    m.delete(key);
    return { late: p.reported ? strip(p) : null, complete: m.size === 0 };
  }

  close(connId: string): void {
    this.byConn.delete(connId);
  }

  /** Subscriptions past their deadline, each reported once per connection. */
  check(nowMs: number): SilentSubscription[] {
    const out: SilentSubscription[] = [];
    for (const m of this.byConn.values()) {
      for (const p of m.values()) {
        if (!p.reported && nowMs >= p.deadlineMs) {
          p.reported = true;
          out.push(strip(p));
        }
      }
    }
    return out;
  }

  silent(): SilentSubscription[] {
    const out: SilentSubscription[] = [];
    for (const m of this.byConn.values()) for (const p of m.values()) if (p.reported) out.push(strip(p));
    return out;
  }
}

function strip(p: Pending): SilentSubscription {
  return { exchange: p.exchange, conn_id: p.conn_id, stream: p.stream, symbol: p.symbol, since_ms: p.since_ms };
}
