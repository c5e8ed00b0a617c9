/** @module sim/types — what a simulated venue implements; the server owns sockets, pacing and faults. */
import type { ExchangeId, Stream } from "../schema/rows.ts";

export interface SimFrame {
  text: string;
  rows: { stream: Stream; symbol: string }[];
}

/** A liquidation asked for on demand: `symbol` unified (or, on OKX, any instId); `side` the order's side. */
export interface LiquidationRequest {
  symbol: string;
  side?: "buy" | "sell";
}

/**
 * One subscription able to produce frames. `emit()` returns the frame text and the rows it stands
 * for, or null when it has nothing now (a liquidation stream pushes at most one frame per interval).
 */
export interface SimSubscription {
  /** The venue's own name for it (e.g. "btcusdt@bookTicker"). */
  name: string;
  symbol: string;
  weight: number;
  emit(nowMs: number): SimFrame | null;
  /** Liquidation streams: a liquidation on demand (control `kind=liquidation`), outside the pacing. */
  inject?(nowMs: number, req: LiquidationRequest): SimFrame | null;
}

export interface SimSocketData {
  venue: ExchangeId;
  path: string;
  query: string;
  id: number;
  subs: SimSubscription[];
  /** Venue-specific per-connection state. */
  state: Record<string, unknown>;
  /** Last frame received from the client / last data frame sent to it (ms), kept by the server. */
  lastRecvMs: number;
  lastSentMs: number;
}

export interface SimSocket {
  readonly data: SimSocketData;
  send(text: string): number;
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(data?: string): void;
}

/** A venue's own per-socket state, typed: set when the socket opens, read by that venue's handlers. */
export class SocketStates<S> {
  private readonly states = new WeakMap<SimSocket, S>();

  constructor(private readonly venue: ExchangeId) {}

  set(ws: SimSocket, state: S): S {
    this.states.set(ws, state);
    return state;
  }

  get(ws: SimSocket): S {
    const state = this.states.get(ws);
    if (state === undefined) throw new Error(`sim ${this.venue}: socket ${ws.data.id} has no state (a frame before open)`);
    return state;
  }
}

export interface SimVenue {
  readonly id: ExchangeId;
  accepts(path: string): boolean;
  /** Called once the socket is open (URL-subscribed streams are set up here). */
  open(ws: SimSocket): void;
  /** A text frame from the client: control messages (subscribe, ping). */
  message(ws: SimSocket, text: string): void;
  /** Interval of server-initiated WebSocket pings (0 = none). */
  serverPingMs(): number;
  /** Called every few ms per open socket: the venue's own keepalive rules (idle close, ping deadline). */
  tick?(ws: SimSocket, nowMs: number): void;
  /** Announce a planned disconnect on this socket (OKX `notice` 64008); false if the venue has none. */
  notice?(ws: SimSocket): boolean;
  /** The next trade of `symbol` (unified) skips `n` trade ids (contiguous-id venues); false if ids are not contiguous. */
  skipTrades?(symbol: string, n: number): boolean;
  /** The venue's true order book of `symbol` (sim/book), or null if it has none yet. */
  book?(symbol: string): { update_id: number; bids: [string, string][]; asks: [string, string][] } | null;
  /** Book faults: `skip` n updates (applied, never sent) or a venue `reset`; false if unsupported. */
  bookFault?(symbol: string, kind: "skip" | "reset", n: number): boolean;
  /** A REST request to this venue (Binance `/fapi/v1/depth`); null = not a path it serves. */
  rest?(url: URL): { status: number; body: string } | null;
  /** Name of the subscription that carries `symbol`'s liquidations (OKX: the one all-swaps feed). */
  liquidationSub?(symbol: string): string;
}

/**
 * Liquidation pacing per subscription; `liquidationIntervalMs` (simulator option) overrides it.
 * The first one comes one interval after subscribing, so a long interval is a quiet market.
 */
export function paced(intervalMs: number): (nowMs: number) => boolean {
  let last = Date.now();
  return (now) => {
    if (now - last < intervalMs) return false;
    last = now;
    return true;
  };
}

/** Sends a frame outside the generator (a book snapshot on subscribe) and counts it in the stats. */
export type SimDeliver = (ws: SimSocket, out: { text: string; rows: { stream: Stream; symbol: string }[] }) => void;

/** Counts simulator-side protocol events ("bybit|ping", "okx|idle_close"…) for tests. */
export type SimCount = (key: string) => void;

/** Per-symbol random walk shared by the venue generators (deterministic with a seed). */
export class Market {
  private readonly px = new Map<string, number>();
  private readonly ids = new Map<string, number>();
  private readonly skips = new Map<string, number>();
  private seed: number;

  constructor(seed = 42) {
    this.seed = seed >>> 0 || 1;
  }

  random(): number {
    // xorshift32: reproducible payloads for a given seed.
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 4294967296;
  }

  price(symbol: string): number {
    let p = this.px.get(symbol);
    if (p === undefined) p = BASE_PRICES[symbol] ?? 10 + Object.keys(BASE_PRICES).length;
    p = p * (1 + (this.random() - 0.5) * 0.0004);
    this.px.set(symbol, p);
    return p;
  }

  nextId(key: string, start = 1_000_000): number {
    const id = (this.ids.get(key) ?? start) + 1 + (this.skips.get(key) ?? 0);
    this.skips.delete(key);
    this.ids.set(key, id);
    return id;
  }

  /** Fault injection: the next id of `key` jumps by n (n ids never sent: a measurable loss). */
  skipNext(key: string, n: number): void {
    this.skips.set(key, (this.skips.get(key) ?? 0) + n);
  }

  /** Lower-case hex digits from the seeded generator (UUID-like ids, connection ids). */
  hex(n: number): string {
    let out = "";
    while (out.length < n)
      out += Math.floor(this.random() * 0x10000)
        .toString(16)
        .padStart(4, "0");
    return out.slice(0, n);
  }

  /** Format with the tick size's decimals, as venues send prices: a decimal string. */
  fmt(x: number, decimals: number): string {
    return x.toFixed(decimals);
  }
}

const BASE_PRICES: Record<string, number> = {
  BTCUSDT: 64000,
  ETHUSDT: 3100,
  BNBUSDT: 580,
  SOLUSDT: 145,
  XRPUSDT: 0.52,
  DOGEUSDT: 0.12,
  ADAUSDT: 0.45,
  AVAXUSDT: 28,
  LINKUSDT: 14,
  LTCUSDT: 72,
};

export function decimalsFor(price: number): number {
  return price >= 1000 ? 1 : price >= 10 ? 2 : price >= 1 ? 3 : 5;
}
