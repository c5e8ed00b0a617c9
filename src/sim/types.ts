/** @module sim/types — what a simulated venue implements; the server owns sockets, pacing and faults. */
import type { ExchangeId, Stream } from "../schema/rows.ts";
import { Instrument, instrumentSpec, Rng } from "./series.ts";

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
  /** True when the next frame belongs with the one just emitted (the fills of one taker order): the server sends it at once. */
  more?(): boolean;
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

/**
 * The simulator's market: one seeded draw source (sim/series Rng), one Instrument per symbol shared
 * by the three venues (the same asset trades at the same prices everywhere; each venue prints it in
 * its own format), and the venues' ids: contiguous per key, with gaps only on demand.
 */
export class Market extends Rng {
  private readonly instruments = new Map<string, Instrument>();
  private readonly ids = new Map<string, number>();
  private readonly skips = new Map<string, number>();

  constructor(seed = 42) {
    super(seed);
  }

  /** The symbol's market state (unified symbol, e.g. BTCUSDT), created on first use. */
  instrument(symbol: string): Instrument {
    let inst = this.instruments.get(symbol);
    if (!inst) this.instruments.set(symbol, (inst = new Instrument(instrumentSpec(symbol), this)));
    return inst;
  }

  /** The next id of `key`: the last one + `step` (+ any gap asked for with skipNext). */
  nextId(key: string, start = 1_000_000, step = 1): number {
    const id = (this.ids.get(key) ?? start) + step + (this.skips.get(key) ?? 0);
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
}
