/**
 * @module sim/binance — Binance USDⓈ-M protocol on loopback: /public and /market routes, combined
 * (`/stream?streams=`) and raw (`/ws/…`) access, SUBSCRIBE/ack, server pings (docs/venues.md §1).
 * A stream on the wrong route, or for a symbol the simulator does not list, is acknowledged and
 * never delivers — exactly the venue's silent failure.
 */
import type { LiquidationRequest, Market, SimFrame, SimSocket, SimSubscription, SimVenue } from "./types.ts";
import { paced } from "./types.ts";
import { SimBooks } from "./book.ts";
import { TradeTape } from "./series.ts";

type Route = "public" | "market";

const ROUTE_OF: Record<string, Route> = {
  bookTicker: "public",
  trade: "public",
  depth: "public",
  "depth@100ms": "public",
  aggTrade: "market",
  markPrice: "market",
  "markPrice@1s": "market",
  forceOrder: "market",
};

export interface BinanceSimOptions {
  market: Market;
  symbols: readonly string[];
  pingIntervalMs: number;
  /** Close a connection at this age (stand-in for the venue's 24 h cut, docs/venues.md §1.4); 0 = never. */
  maxAgeMs?: number;
  /** At most one liquidation per symbol per this many ms (venue: 1000, docs/venues.md §1.5). */
  liquidationIntervalMs?: number;
}

export function binanceSim(o: BinanceSimOptions): SimVenue {
  const known = new Set(o.symbols.map((s) => s.toLowerCase()));
  // One true book per symbol; diffs carry U (first id), u (last id), pu (previous u); ids step by 1–3.
  const books = new SimBooks(o.market, () => 11_270_657_000_000 + Math.floor(o.market.random() * 1000));
  const advance = (b: { id: number }) => {
    const pu = b.id;
    b.id = pu + 1 + Math.floor(o.market.random() * 3);
    return { U: pu + 1, u: b.id, pu };
  };

  function subscription(route: Route, name: string, combined: boolean): SimSubscription | null {
    const at = name.indexOf("@");
    if (at <= 0) return null;
    const sym = name.slice(0, at);
    const kind = name.slice(at + 1);
    if (!known.has(sym) || ROUTE_OF[kind] !== route) return null; // acknowledged, never delivers
    const S = sym.toUpperCase();
    const wrap = (data: Record<string, unknown>) => JSON.stringify(combined ? { stream: name, data } : data);
    const m = o.market;
    const inst = m.instrument(S);
    switch (kind) {
      case "bookTicker":
        return {
          name,
          symbol: S,
          weight: 10,
          emit(now) {
            inst.move();
            return {
              text: wrap({
                e: "bookTicker",
                // The book's update id: steps by 1–6 (other book events in between).
                u: m.nextId(`${S}:u`, 400_000_000, 1 + Math.floor(m.random() * 6)),
                s: S,
                b: inst.px(inst.bidTicks),
                B: inst.qty(inst.lots()),
                a: inst.px(inst.askTicks),
                A: inst.qty(inst.lots()),
                T: now - 2,
                E: now,
                st: 1,
                ps: S,
              }),
              rows: [{ stream: "bbo", symbol: S }],
            };
          },
        };
      case "trade": {
        // One fill per frame; a burst's fills go out back to back (`more`) with contiguous ids.
        const tape = new TradeTape(inst);
        return {
          name,
          symbol: S,
          weight: 1, // a burst start: its fills (3.4 on average) follow back to back
          more: () => tape.more(),
          emit(now) {
            const fill = tape.next();
            return {
              text: wrap({
                e: "trade",
                E: now,
                T: now - 1,
                s: S,
                t: m.nextId(`${S}:t`, 7_967_419_000),
                p: inst.px(fill.ticks),
                q: inst.qty(fill.lots),
                X: "MARKET",
                m: fill.sell,
                st: 1,
              }),
              rows: [{ stream: "trade", symbol: S }],
            };
          },
        };
      }
      case "aggTrade": {
        // One aggregate per burst and price: the fills of one taker order at one price (ids f..l);
        // a burst that walks the book gives several, back to back.
        const tape = new TradeTape(inst);
        return {
          name,
          symbol: S,
          weight: 1, // a burst start: its aggregates follow back to back
          more: () => tape.more(),
          emit(now) {
            const first = tape.next();
            let lots = first.lots;
            let fills = 1;
            while (tape.peek()?.ticks === first.ticks) {
              lots += tape.next().lots;
              fills++;
            }
            const f = m.nextId(`${S}:t`, 7_967_419_000);
            const l = fills > 1 ? m.nextId(`${S}:t`, 7_967_419_000, fills - 1) : f;
            return {
              text: wrap({
                e: "aggTrade",
                E: now,
                s: S,
                a: m.nextId(`${S}:a`, 5_933_014),
                p: inst.px(first.ticks),
                q: inst.qty(lots),
                f,
                l,
                T: now - 1,
                m: first.sell,
              }),
              rows: [{ stream: "trade", symbol: S }],
            };
          },
        };
      }
      case "depth":
      case "depth@100ms":
        return {
          name,
          symbol: S,
          weight: 5,
          emit(now) {
            const b = books.of(S);
            books.skipQueued(b, () => advance(b));
            const ch = b.book.step();
            const ids = advance(b);
            return {
              text: wrap({ e: "depthUpdate", E: now, T: now - 1, s: S, U: ids.U, u: ids.u, pu: ids.pu, b: ch.bids, a: ch.asks }),
              rows: [{ stream: "book", symbol: S }],
            };
          },
        };
      case "markPrice":
      case "markPrice@1s":
        return {
          name,
          symbol: S,
          weight: 1,
          emit(now) {
            inst.move();
            inst.stepMark();
            const nextFunding = Math.ceil(now / 28_800_000) * 28_800_000;
            const mark = inst.mark();
            const index = inst.index();
            return {
              text: wrap({
                e: "markPriceUpdate",
                E: now,
                s: S,
                p: inst.fine(mark),
                i: inst.fine(index),
                // Estimated settle price: between index and mark.
                P: inst.fine((mark + index) / 2),
                r: inst.funding().toFixed(8),
                T: nextFunding,
              }),
              rows: [
                { stream: "mark_price", symbol: S },
                { stream: "funding", symbol: S },
              ],
            };
          },
        };
      case "forceOrder": {
        // The venue's format (docs/venues.md §1.5, live frames of 2026-10): `o.S` the order's side,
        // `z` accumulated fill, `l` last fill, `ps`/`st` inside `o`.
        const frame = (now: number, side?: "buy" | "sell"): SimFrame => {
          const liq = inst.liquidation(side);
          const last = 1 + Math.floor(m.random() * liq.lots);
          const o = {
            s: S,
            S: liq.sell ? "SELL" : "BUY",
            o: "LIMIT",
            f: "IOC",
            q: inst.qty(liq.lots),
            p: inst.px(liq.limitTicks),
            ap: inst.px(liq.avgTicks),
            X: "FILLED",
            l: inst.qty(last),
            z: inst.qty(liq.lots),
            T: now - 1,
            ps: S,
            st: 1,
          };
          return { text: wrap({ e: "forceOrder", E: now, o }), rows: [{ stream: "liquidation", symbol: S }] };
        };
        const due = paced(o.liquidationIntervalMs ?? 1000);
        return {
          name,
          symbol: S,
          weight: 1,
          emit: (now) => (due(now) ? frame(now) : null),
          inject: (now, req: LiquidationRequest) => frame(now, req.side),
        };
      }
      default:
        return null;
    }
  }

  function add(ws: SimSocket, names: string[]): void {
    const route = ws.data.state.route as Route;
    const combined = ws.data.state.combined as boolean;
    const active = ws.data.state.names as Set<string>;
    for (const n of names) {
      // Stream names are case-sensitive: an upper-case symbol is a different (silent) stream.
      if (active.has(n)) continue;
      active.add(n);
      const sub = subscription(route, n, combined);
      if (sub) ws.data.subs.push(sub);
    }
  }

  return {
    id: "binance",
    accepts: (path) => /^\/(public|market)\/(stream|ws)(\/|$)/.test(path),
    serverPingMs: () => o.pingIntervalMs,
    open(ws) {
      const match = /^\/(public|market)\/(stream|ws)\/?(.*)$/.exec(ws.data.path)!;
      ws.data.state = { route: match[1], combined: match[2] === "stream", names: new Set<string>(), openedMs: Date.now(), closing: false };
      const params = new URLSearchParams(ws.data.query);
      const names = match[2] === "stream" ? (params.get("streams") ?? "").split("/") : match[3]!.split("/");
      add(
        ws,
        names.filter((n) => n !== ""),
      );
    },
    message(ws, text) {
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        ws.send(JSON.stringify({ code: 3, msg: "Invalid JSON: expected value at line 1 column 1" }));
        return;
      }
      const m = msg as { method?: unknown; params?: unknown; id?: unknown };
      if (typeof m.id !== "number" || !Number.isInteger(m.id) || m.id < 0) {
        ws.send(JSON.stringify({ code: 2, msg: "Invalid request: request ID must be an unsigned integer" }));
        return;
      }
      if (m.method === "SUBSCRIBE" && Array.isArray(m.params) && m.params.every((p) => typeof p === "string")) {
        add(ws, m.params as string[]);
        ws.send(JSON.stringify({ result: null, id: m.id }));
      } else if (m.method === "LIST_SUBSCRIPTIONS") {
        ws.send(JSON.stringify({ result: [...(ws.data.state.names as Set<string>)], id: m.id }));
      } else {
        ws.send(
          JSON.stringify({
            code: 2,
            msg: `Invalid request: unknown variant ${String(m.method)}, expected one of SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY at line 1 column 28`,
          }),
        );
      }
    },
    tick(ws, now) {
      const st = ws.data.state as { openedMs: number; closing: boolean };
      if (!o.maxAgeMs || st.closing || now - st.openedMs < o.maxAgeMs) return;
      // A close frame after the data already sent: the client loses nothing it was sent.
      st.closing = true;
      ws.close(1001, "connection lifetime exceeded (simulated 24 h cut)");
    },
    skipTrades(symbol, n) {
      o.market.skipNext(`${symbol.toUpperCase()}:t`, n);
      return true;
    },
    book: (symbol) => books.view(symbol),
    // A Binance "reset" is just a gap: the REST snapshot re-anchors.
    bookFault: (symbol, kind, n) => books.fault(symbol, kind, n, false),
    rest(url) {
      // GET /fapi/v1/depth?symbol=BTCUSDT&limit=1000 → {lastUpdateId, E, T, bids, asks} (docs/venues.md §1.5).
      if (url.pathname !== "/fapi/v1/depth") return null;
      const S = (url.searchParams.get("symbol") ?? "").toUpperCase();
      if (!known.has(S.toLowerCase())) return { status: 400, body: JSON.stringify({ code: -1121, msg: "Invalid symbol." }) };
      const b = books.of(S);
      const now = Date.now();
      const lv = b.book.levels();
      return { status: 200, body: JSON.stringify({ lastUpdateId: b.id, E: now, T: now - 1, bids: lv.bids, asks: lv.asks }) };
    },
    liquidationSub: (symbol) => `${symbol.toLowerCase()}@forceOrder`,
  };
}
