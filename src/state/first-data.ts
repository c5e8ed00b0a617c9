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
  /** Its key in {@link Subscriptions.all}. */
  key: string;
}

/** One connection's subscriptions still waiting for first data. */
interface Subscriptions {
  /** In subscription order (what `check` and `silent` report in), keyed `stream|symbol`. */
  all: Map<string, Pending>;
  /** stream → symbol → pending: the per-row lookup, without building a key string per row. */
  index: Map<Stream, Map<string, Pending>>;
}

export class FirstDataTracker {
  private readonly byConn = new Map<string, Subscriptions>();

  /** `deadlineMs` per subscription: a stream that pushes rarely (OKX funding-rate: 30–90 s) needs longer. */
  open(exchange: string, connId: string, subs: ReadonlyArray<{ stream: Stream; symbol: string; deadlineMs: number }>, nowMs: number): void {
    const all = new Map<string, Pending>();
    const index = new Map<Stream, Map<string, Pending>>();
    for (const s of subs) {
      const key = `${s.stream}|${s.symbol}`;
      const p: Pending = {
        exchange,
        conn_id: connId,
        stream: s.stream,
        symbol: s.symbol,
        since_ms: nowMs,
        deadlineMs: nowMs + s.deadlineMs,
        reported: false,
        key,
      };
      all.set(key, p);
      let bySymbol = index.get(s.stream);
      if (bySymbol === undefined) index.set(s.stream, (bySymbol = new Map()));
      bySymbol.set(s.symbol, p);
    }
    this.byConn.set(connId, { all, index });
  }

  /**
   * First data arrived: the subscription is live. Returns null when nothing changed; otherwise
   * `late` (it had been reported silent) and `complete` (every subscription of the connection is live).
   */
  seen(connId: string, stream: Stream, symbol: string): { late: SilentSubscription | null; complete: boolean } | null {
    const c = this.byConn.get(connId);
    if (!c || c.all.size === 0) return null;
    const bySymbol = c.index.get(stream);
    const p = bySymbol?.get(symbol);
    if (p === undefined || bySymbol === undefined) return null;
    bySymbol.delete(symbol);
    c.all.delete(p.key);
    return { late: p.reported ? strip(p) : null, complete: c.all.size === 0 };
  }

  close(connId: string): void {
    this.byConn.delete(connId);
  }

  /** Subscriptions past their deadline, each reported once per connection. */
  check(nowMs: number): SilentSubscription[] {
    const out: SilentSubscription[] = [];
    for (const c of this.byConn.values()) {
      for (const p of c.all.values()) {
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
    for (const c of this.byConn.values()) for (const p of c.all.values()) if (p.reported) out.push(strip(p));
    return out;
  }
}

function strip(p: Pending): SilentSubscription {
  return { exchange: p.exchange, conn_id: p.conn_id, stream: p.stream, symbol: p.symbol, since_ms: p.since_ms };
}
