/** @module sim/server — the loopback exchange simulator: one Bun.serve port speaking every venue's protocol. */
import type { Server, ServerWebSocket } from "bun";
import type { ExchangeId } from "../schema/rows.ts";
import { binanceSim } from "./binance.ts";
import { bybitSim } from "./bybit.ts";
import { okxSim } from "./okx.ts";
import { handleControl } from "./control.ts";
import { Market, type SimDeliver, type SimFrame, type SimSocketData, type SimVenue } from "./types.ts";

export interface SimulatorOptions {
  host?: string;
  port?: number;
  /** Frames per second per venue, spread over its subscriptions by weight. */
  rate?: number;
  symbols?: readonly string[];
  exchanges?: readonly ExchangeId[];
  /** Binance server ping interval (the venue uses 3 min). */
  binancePingMs?: number;
  /** Bybit cuts a socket that has not sent `{"op":"ping"}` for this long (default 10 min, docs/venues.md §2.4). */
  bybitPingTimeoutMs?: number;
  /** OKX closes a socket with code 4004 after this long without traffic (default 30 s, docs/venues.md §3.4). */
  okxIdleCloseMs?: number;
  /** OKX drops a socket this long after its `notice` 64008 (default 60 s). */
  okxNoticeCloseMs?: number;
  /** Binance closes a connection at this age (stand-in for its 24 h cut; default never). */
  binanceMaxAgeMs?: number;
  seed?: number;
  /** Stop generating after this many frames per venue (deterministic tests). */
  maxFramesPerVenue?: number;
  /** Keep every data frame sent, for field-by-field comparison in tests. */
  record?: boolean;
  /**
   * Liquidation pacing per subscription (Binance per symbol, default 1000 ms as on the venue; Bybit
   * per symbol, 500 ms; OKX the all-swaps feed, 1000 ms). Lower it to get more in a short test.
   */
  liquidationIntervalMs?: number;
}

export interface SentFrame {
  venue: ExchangeId;
  connection: number;
  text: string;
}

export interface SimStats {
  frames: Record<string, number>;
  /** Rows the collector should write: key "exchange|stream|symbol". */
  rows: Record<string, number>;
  connectionsOpened: Record<string, number>;
  openConnections: Record<string, number>;
  /** Protocol events seen or enforced by the venues: "bybit|ping", "okx|idle_close", "okx|subscribe_error"… */
  control: Record<string, number>;
}

export interface Simulator {
  readonly port: number;
  readonly url: string;
  stats(): SimStats;
  sent(): SentFrame[];
  pause(): void;
  resume(): void;
  /** Send a raw text frame to every open socket of a venue (malformed-input tests). */
  inject(venue: ExchangeId, text: string): number;
  /**
   * Drop every socket of a venue abruptly (no close frame). Generation pauses and frames already
   * sent get a moment to reach the client first, so "every frame sent while a connection was up"
   * is exactly what the client received. Resolves with the number of sockets dropped.
   */
  killConnections(venue?: ExchangeId): Promise<number>;
  /** Announce a planned disconnect on every socket of a venue (OKX `notice` 64008); returns sockets notified. */
  notice(venue: ExchangeId): number;
  /**
   * Dead peer: the venue's open sockets stay open but get nothing (no data, no server pings, no
   * pongs or replies). New handshakes fail with 503 until `heal` (a dead host), or with
   * `acceptNew` succeed normally (only the current sockets died). Returns sockets affected.
   */
  deadPeer(venue: ExchangeId, opts?: { acceptNew?: boolean }): number;
  /** Handshakes to the venue are answered with this HTTP status (418/429) and Retry-After until `heal`. */
  rejectHandshakes(venue: ExchangeId, status: number, retryAfterSeconds: number): void;
  /** End deadPeer / rejectHandshakes for a venue (or all). */
  heal(venue?: ExchangeId): void;
  /** The next trade of `symbol` skips n ids (Binance, OKX); false if the venue has no contiguous ids. */
  skipTradeIds(venue: ExchangeId, symbol: string, n: number): boolean;
  /** The venue's true order book of a symbol (null: no book yet). */
  book(venue: ExchangeId, symbol: string): { update_id: number; bids: [string, string][]; asks: [string, string][] } | null;
  /** Book faults: skip n updates (applied, never sent) or a venue reset (Bybit u=1 snapshot, OKX seqId < prevSeqId). */
  bookFault(venue: ExchangeId, symbol: string, kind: "skip" | "reset", n: number): boolean;
  /** REST faults (Binance depth endpoint): the next `status429` answers are 429 with Retry-After; every answer waits `slowMs`. */
  restFault(f: { status429?: number; retryAfterSeconds?: number; slowMs?: number }): void;
  /**
   * Send one liquidation now on every socket subscribed to `symbol`'s liquidation stream (OKX: the
   * all-swaps feed; `symbol` may also be any instId, e.g. BTC-USD-SWAP). `side` is the liquidation
   * order's side (default random). Counted in stats like generated frames; returns sockets sent to.
   */
  injectLiquidation(venue: ExchangeId, symbol: string, side?: "buy" | "sell"): number;
  stop(): Promise<void>;
}

export const SIM_DEFAULT_SYMBOLS = [
  "BTCUSDT",
  "ETHUSDT",
  "BNBUSDT",
  "SOLUSDT",
  "XRPUSDT",
  "DOGEUSDT",
  "ADAUSDT",
  "AVAXUSDT",
  "LINKUSDT",
  "LTCUSDT",
  "1000PEPEUSDT",
  "SUIUSDT",
];

const TICK_MS = 5;

export function startSimulator(opts: SimulatorOptions = {}): Simulator {
  const market = new Market(opts.seed ?? 42);
  const symbols = opts.symbols ?? SIM_DEFAULT_SYMBOLS;
  const control: Record<string, number> = {};
  const count = (key: string) => {
    control[key] = (control[key] ?? 0) + 1;
  };
  const liq = opts.liquidationIntervalMs !== undefined ? { liquidationIntervalMs: opts.liquidationIntervalMs } : {};
  let deliverFn: SimDeliver = (ws, out) => void ws.send(out.text);
  const all: SimVenue[] = [
    binanceSim({ market, symbols, pingIntervalMs: opts.binancePingMs ?? 180_000, maxAgeMs: opts.binanceMaxAgeMs ?? 0, ...liq }),
    bybitSim({ market, symbols, pingTimeoutMs: opts.bybitPingTimeoutMs ?? 600_000, count, deliver: (ws, out) => deliverFn(ws, out), ...liq }),
    okxSim({
      market,
      symbols,
      idleCloseMs: opts.okxIdleCloseMs ?? 30_000,
      noticeCloseMs: opts.okxNoticeCloseMs ?? 60_000,
      count,
      deliver: (ws, out) => deliverFn(ws, out),
      ...liq,
    }),
  ];
  const venues = all.filter((v) => !opts.exchanges || opts.exchanges.includes(v.id));
  const rate = opts.rate ?? 200;
  const sockets = new Set<ServerWebSocket<SimSocketData>>();
  const frames: Record<string, number> = {};
  const rows: Record<string, number> = {};
  const opened: Record<string, number> = {};
  const sentLog: SentFrame[] = [];
  let paused = false;
  const dead = new Set<ExchangeId>();
  const deadSockets = new WeakSet<ServerWebSocket<SimSocketData>>();
  const isDead = (ws: ServerWebSocket<SimSocketData>) => dead.has(ws.data.venue) || deadSockets.has(ws);
  const rejecting = new Map<ExchangeId, { status: number; retryAfterSeconds: number }>();
  let nextId = 1;
  const credit: Record<string, number> = {};
  const restFaults = { status429: 0, retryAfterSeconds: 1, slowMs: 0 };
  /** Frames sent outside the generator (book snapshots on subscribe) are counted like generated ones. */
  const account = (ws: { readonly data: SimSocketData }, out: { text: string; rows: { stream: string; symbol: string }[] }) => {
    const v = ws.data.venue;
    ws.data.lastSentMs = Date.now();
    frames[v] = (frames[v] ?? 0) + 1;
    for (const r of out.rows) {
      const key = `${v}|${r.stream}|${r.symbol}`;
      rows[key] = (rows[key] ?? 0) + 1;
    }
    if (opts.record) sentLog.push({ venue: v, connection: ws.data.id, text: out.text });
  };
  deliverFn = (ws, out) => {
    if (ws.send(out.text) !== 0) account(ws, out);
  };
  const rr: Record<string, number> = {};

  const server: Server<SimSocketData> = Bun.serve<SimSocketData>({
    hostname: opts.host ?? "127.0.0.1",
    port: opts.port ?? 0,
    development: false,
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname.startsWith("/_sim/")) return handleControl(req, url, sim);
      if (url.pathname.startsWith("/fapi/")) return restAnswer(url);
      const venue = venues.find((v) => v.accepts(url.pathname));
      if (!venue) return new Response("not found", { status: 404 });
      const rej = rejecting.get(venue.id);
      if (rej) {
        count(`${venue.id}|rejected_${rej.status}`);
        return new Response("rate limited (simulated)", { status: rej.status, headers: { "Retry-After": String(rej.retryAfterSeconds) } });
      }
      if (dead.has(venue.id)) return new Response("dead peer (simulated)", { status: 503 });
      const now = Date.now();
      const data: SimSocketData = {
        venue: venue.id,
        path: url.pathname,
        query: url.search,
        id: nextId++,
        subs: [],
        state: {},
        lastRecvMs: now,
        lastSentMs: now,
      };
      if (srv.upgrade(req, { data })) return undefined;
      return new Response("expected a websocket upgrade", { status: 400 });
    },
    websocket: {
      perMessageDeflate: false,
      open(ws) {
        sockets.add(ws);
        opened[ws.data.venue] = (opened[ws.data.venue] ?? 0) + 1;
        const venue = venues.find((v) => v.id === ws.data.venue)!;
        venue.open(ws);
        const pingMs = venue.serverPingMs();
        if (pingMs > 0) ws.data.state.pingTimer = setInterval(() => ws.readyState === 1 && !isDead(ws) && ws.ping("sim"), pingMs);
      },
      message(ws, msg) {
        if (isDead(ws)) return; // a dead peer answers nothing
        ws.data.lastRecvMs = Date.now();
        const venue = venues.find((v) => v.id === ws.data.venue)!;
        venue.message(ws, typeof msg === "string" ? msg : new TextDecoder().decode(msg));
      },
      close(ws) {
        sockets.delete(ws);
        const t = ws.data.state.pingTimer as ReturnType<typeof setInterval> | undefined;
        if (t) clearInterval(t);
      },
    },
  });

  /** The Binance REST depth endpoint on the same port, with its faults (429 + Retry-After, slow answers). */
  async function restAnswer(url: URL): Promise<Response> {
    const venue = venues.find((v) => v.rest);
    count("binance|rest_request");
    if (restFaults.status429 > 0) {
      restFaults.status429--;
      count("binance|rest_429");
      return new Response(JSON.stringify({ code: -1003, msg: "Too many requests (simulated)" }), {
        status: 429,
        headers: { "Retry-After": String(restFaults.retryAfterSeconds) },
      });
    }
    if (restFaults.slowMs > 0) await Bun.sleep(restFaults.slowMs);
    // Computed after the wait: the snapshot is the book as it is when the answer leaves.
    const res = venue?.rest?.(url) ?? null;
    if (!res) return new Response(JSON.stringify({ code: -1, msg: "not found" }), { status: 404 });
    return new Response(res.body, { status: res.status, headers: { "content-type": "application/json" } });
  }

  /** One frame to every socket of a group (same stream, same route), counted as sent. */
  function deliver(venue: ExchangeId, group: Array<{ ws: ServerWebSocket<SimSocketData> }>, out: SimFrame, wall: number): number {
    let sent = 0;
    for (const { ws } of group) {
      if (ws.send(out.text) === 0) continue; // 0 = dropped by the socket: not sent (-1 = queued)
      sent++;
      ws.data.lastSentMs = wall;
      frames[venue] = (frames[venue] ?? 0) + 1;
      for (const r of out.rows) {
        const key = `${venue}|${r.stream}|${r.symbol}`;
        rows[key] = (rows[key] ?? 0) + 1;
      }
      if (opts.record) sentLog.push({ venue, connection: ws.data.id, text: out.text });
    }
    return sent;
  }

  // Generate frames at `rate` per venue, spread over each venue's subscriptions by weight.
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    const elapsed = now - last;
    last = now;
    if (paused) return;
    const wall = Date.now();
    for (const v of venues) {
      if (dead.has(v.id)) continue;
      // Sockets subscribed to the same stream on the same route get the same frame, as on a real
      // venue (a make-before-break overlap sees duplicates, not a split of the events).
      const groups = new Map<string, Array<{ ws: ServerWebSocket<SimSocketData>; i: number }>>();
      const weighted: string[] = [];
      for (const ws of sockets) {
        if (ws.data.venue !== v.id || deadSockets.has(ws)) continue;
        ws.data.subs.forEach((s, i) => {
          const key = `${ws.data.path}|${s.name}`;
          let g = groups.get(key);
          if (!g) {
            groups.set(key, (g = []));
            for (let w = 0; w < s.weight; w++) weighted.push(key);
          }
          g.push({ ws, i });
        });
      }
      if (weighted.length === 0) continue;
      credit[v.id] = (credit[v.id] ?? 0) + (rate * elapsed) / 1000;
      let n = Math.floor(credit[v.id]!);
      credit[v.id]! -= n;
      if (opts.maxFramesPerVenue !== undefined) n = Math.min(n, opts.maxFramesPerVenue - (frames[v.id] ?? 0));
      for (let k = 0; k < n; k++) {
        const group = groups.get(weighted[(rr[v.id] = ((rr[v.id] ?? 0) + 1) % weighted.length)]!)!;
        const sub = group[0]!.ws.data.subs[group[0]!.i]!;
        let out = sub.emit(wall);
        if (out) deliver(v.id, group, out, wall); // null: a paced (liquidation) stream has nothing now
        // The rest of a burst goes out back to back, each frame within this tick's budget.
        while (out && k + 1 < n && sub.more?.() === true) {
          k++;
          out = sub.emit(wall);
          if (out) deliver(v.id, group, out, wall);
        }
      }
    }
  }, TICK_MS);

  // Venue keepalive rules (idle close, ping deadline) run on their own clock, paused or not.
  const watchdog = setInterval(() => {
    const now = Date.now();
    // A dead peer enforces nothing either: it only holds the socket open.
    for (const ws of sockets) if (!isDead(ws)) venues.find((v) => v.id === ws.data.venue)?.tick?.(ws, now);
  }, 50);

  const socketsOf = (venue?: ExchangeId) => [...sockets].filter((ws) => !venue || ws.data.venue === venue);
  const port = server.port!;
  const sim: Simulator = {
    port,
    url: `ws://127.0.0.1:${port}`,
    stats: () => {
      const openConnections: Record<string, number> = {};
      for (const ws of sockets) openConnections[ws.data.venue] = (openConnections[ws.data.venue] ?? 0) + 1;
      return { frames: { ...frames }, rows: { ...rows }, connectionsOpened: { ...opened }, openConnections, control: { ...control } };
    },
    sent: () => sentLog,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    inject(venue, text) {
      const targets = socketsOf(venue);
      for (const ws of targets) {
        ws.send(text);
        ws.data.lastSentMs = Date.now();
      }
      return targets.length;
    },
    notice(venue) {
      const v = venues.find((x) => x.id === venue);
      return socketsOf(venue).filter((ws) => v?.notice?.(ws) === true).length;
    },
    async killConnections(venue) {
      const wasPaused = paused;
      paused = true;
      await Bun.sleep(30); // loopback: frames already handed to the socket reach the client
      const targets = socketsOf(venue);
      for (const ws of targets) ws.terminate();
      paused = wasPaused;
      return targets.length;
    },
    deadPeer(venue, o = {}) {
      const targets = socketsOf(venue);
      if (o.acceptNew) for (const ws of targets) deadSockets.add(ws);
      else dead.add(venue);
      count(`${venue}|dead_peer`);
      return targets.length;
    },
    rejectHandshakes(venue, status, retryAfterSeconds) {
      rejecting.set(venue, { status, retryAfterSeconds });
    },
    heal(venue) {
      for (const v of venue ? [venue] : [...dead, ...rejecting.keys()]) {
        dead.delete(v);
        rejecting.delete(v);
      }
    },
    skipTradeIds(venue, symbol, n) {
      return venues.find((v) => v.id === venue)?.skipTrades?.(symbol, n) ?? false;
    },
    book(venue, symbol) {
      return venues.find((v) => v.id === venue)?.book?.(symbol) ?? null;
    },
    bookFault(venue, symbol, kind, n) {
      return venues.find((v) => v.id === venue)?.bookFault?.(symbol, kind, n) ?? false;
    },
    restFault(f) {
      if (f.status429 !== undefined) restFaults.status429 = f.status429;
      if (f.retryAfterSeconds !== undefined) restFaults.retryAfterSeconds = f.retryAfterSeconds;
      if (f.slowMs !== undefined) restFaults.slowMs = f.slowMs;
    },
    injectLiquidation(venue, symbol, side) {
      const name = venues.find((v) => v.id === venue)?.liquidationSub?.(symbol);
      if (!name) return 0;
      // Grouped like generated frames: sockets on the same route get the same event.
      const groups = new Map<string, Array<{ ws: ServerWebSocket<SimSocketData>; i: number }>>();
      for (const ws of sockets) {
        if (ws.data.venue !== venue || isDead(ws)) continue;
        ws.data.subs.forEach((sub, i) => {
          if (sub.name !== name || !sub.inject) return;
          const key = `${ws.data.path}|${sub.name}`;
          groups.set(key, [...(groups.get(key) ?? []), { ws, i }]);
        });
      }
      let sent = 0;
      const wall = Date.now();
      for (const group of groups.values()) {
        const out = group[0]!.ws.data.subs[group[0]!.i]!.inject!(wall, { symbol, ...(side ? { side } : {}) });
        if (out) sent += deliver(venue, group, out, wall);
      }
      count(`${venue}|liquidation_injected`);
      return sent;
    },
    async stop() {
      clearInterval(ticker);
      clearInterval(watchdog);
      for (const ws of sockets) ws.terminate();
      await server.stop(true);
    },
  };
  return sim;
}
