/**
 * @module sim/okx — OKX v5 public channels on loopback (docs/venues.md §3): `/ws/v5/public` (bbo-tbt,
 * mark-price, funding-rate, open-interest) and `/ws/v5/business` (trades-all), one ack or one 60018
 * error per arg, text `ping` → `pong`, close 4004 "No data received in 30s." after `idleCloseMs`
 * without traffic, and `notice` 64008 followed by a drop `noticeCloseMs` later.
 */
import type { Stream } from "../schema/rows.ts";
import type { Market, SimCount, SimDeliver, SimFrame, SimSocket, SimSubscription, SimVenue } from "./types.ts";
import { paced, SocketStates } from "./types.ts";
import { TradeTape } from "./series.ts";
import { SimBooks, type Level } from "./book.ts";

export interface OkxSimOptions {
  market: Market;
  symbols: readonly string[];
  idleCloseMs: number;
  noticeCloseMs: number;
  count: SimCount;
  /** Sends and counts a frame outside the generator (the book snapshot on subscribe). */
  deliver?: SimDeliver;
  /** liquidation-orders pushes at most one frame per this many ms (default 1000). */
  liquidationIntervalMs?: number;
}

/**
 * Swaps the simulator does not list, sent on the all-swaps liquidation feed like every other:
 * another USDT swap, a coin-margined and a USDC-margined one. A collector never records them.
 */
export const OKX_SIM_OTHER_SWAPS = ["CNPY-USDT-SWAP", "BTC-USD-SWAP", "ETH-USDC-SWAP"];

type Route = "public" | "business";

/** Which URL serves which channel; a channel on the wrong URL answers 60018 (§3.1). */
const ROUTE_OF: Record<string, Route> = {
  "bbo-tbt": "public",
  "mark-price": "public",
  "funding-rate": "public",
  "open-interest": "public",
  "trades-all": "business",
  "liquidation-orders": "public",
  books: "public",
};

interface OkxState {
  route: Route;
  args: Set<string>;
  connId: string;
  closing: boolean;
}

export function okxSim(o: OkxSimOptions): SimVenue {
  const m = o.market;
  const known = new Set(o.symbols.map((s) => `${s.toUpperCase().replace(/USDT$/, "")}-USDT-SWAP`));
  const unified = (instId: string) => instId.replace("-USDT-SWAP", "USDT");
  // One true book per instrument: snapshot (prevSeqId -1) on subscribe, then updates chained by
  // prevSeqId == previous seqId; ids step by 1–12; ~2% empty heartbeats (prevSeqId == seqId).
  const books = new SimBooks(m, () => 333_794_000_000 + Math.floor(m.random() * 1000), true);
  const okxLevels = (l: Level[]) => l.map(([px, sz]) => [px, sz, "0", sz === "0" ? "0" : String(1 + Math.floor(m.random() * 9))]);
  const bookFrame = (instId: string, action: "snapshot" | "update", bids: Level[], asks: Level[], prevSeqId: number, seqId: number, now: number) => ({
    text: JSON.stringify({
      arg: { channel: "books", instId },
      action,
      data: [{ asks: okxLevels(asks), bids: okxLevels(bids), ts: String(now), checksum: 0, prevSeqId, seqId }],
    }),
    rows: [{ stream: "book" as Stream, symbol: unified(instId) }],
  });
  const bookSnapshot = (instId: string, now: number) => {
    const b = books.of(unified(instId));
    const lv = b.book.levels();
    return bookFrame(instId, "snapshot", lv.bids, lv.asks, -1, b.id, now);
  };
  function booksSub(instId: string): SimSubscription {
    const S = unified(instId);
    return {
      name: `books:${instId}`,
      symbol: S,
      weight: 5,
      emit(now) {
        const b = books.of(S);
        books.skipQueued(b, () => (b.id += 1 + Math.floor(m.random() * 12)));
        const prev = b.id;
        if (m.random() < 0.02) return bookFrame(instId, "update", [], [], prev, prev, now);
        const ch = b.book.step();
        if (b.faults.reset) {
          // After maintenance the ids restart: seqId < prevSeqId, then normal chaining (docs/venues.md §3.5).
          b.faults.reset = false;
          b.id = 1 + Math.floor(m.random() * 10);
        } else b.id = prev + 1 + Math.floor(m.random() * 12);
        return bookFrame(instId, "update", ch.bids, ch.asks, prev, b.id, now);
      },
    };
  }

  function subscription(channel: string, instId: string): SimSubscription {
    const S = unified(instId);
    const inst = m.instrument(S);
    const arg = { channel, instId };
    const frame = (data: Record<string, unknown>, stream: Stream) => ({ text: JSON.stringify({ arg, data: [data] }), rows: [{ stream, symbol: S }] });
    // trades-all: weight 1 starts a burst, whose fills (3.4 on average) follow back to back.
    const weight = { "bbo-tbt": 10, "trades-all": 1, "mark-price": 2, "funding-rate": 1, "open-interest": 1 }[channel] ?? 1;
    // trades-all: one fill per message; a burst's fills go out back to back (`more`) with contiguous ids.
    const tape = channel === "trades-all" ? new TradeTape(inst) : null;
    return {
      name: `${channel}:${instId}`,
      symbol: S,
      weight,
      ...(tape ? { more: () => tape.more() } : {}),
      emit(now) {
        inst.move();
        // Times are ms strings; sizes are contracts (§3.5), lot 1 here.
        switch (channel) {
          case "bbo-tbt": {
            const lv = (ticks: number) => [inst.px(ticks), String(inst.lots()), "0", String(1 + Math.floor(m.random() * 9))];
            return frame(
              {
                asks: [lv(inst.askTicks)],
                bids: [lv(inst.bidTicks)],
                ts: String(now),
                seqId: m.nextId(`okx:${instId}:seq`, 363_996_000, 1 + Math.floor(m.random() * 12)),
              },
              "bbo",
            );
          }
          case "trades-all": {
            const fill = tape!.next();
            // Exactly one trade per message on trades-all (§3.5).
            return frame(
              {
                instId,
                tradeId: String(m.nextId(`okx:${instId}:trade`, 130_639_000)),
                px: inst.px(fill.ticks),
                sz: String(fill.lots),
                side: fill.sell ? "sell" : "buy",
                source: "0",
                ts: String(now - 1),
              },
              "trade",
            );
          }
          case "mark-price":
            inst.stepMark();
            return frame({ instType: "SWAP", instId, markPx: inst.fine(inst.mark()), ts: String(now) }, "mark_price");
          case "funding-rate": {
            inst.stepMark();
            const fundingTime = Math.ceil(now / 28_800_000) * 28_800_000;
            return frame(
              {
                formulaType: "noRate",
                fundingRate: inst.funding().toFixed(16),
                fundingTime: String(fundingTime),
                impactValue: "",
                instId,
                instType: "SWAP",
                interestRate: "",
                method: "current_period",
                maxFundingRate: "0.00375",
                minFundingRate: "-0.00375",
                nextFundingRate: "",
                nextFundingTime: String(fundingTime + 28_800_000),
                premium: ((inst.mark() - inst.index()) / inst.index()).toFixed(16),
                settFundingRate: "0.0001699799259033",
                settState: "settled",
                ts: String(now),
              },
              "funding",
            );
          }
          default: {
            const oi = inst.stepOpenInterest();
            const ccy = oi * inst.spec.ctVal;
            return frame(
              {
                instType: "SWAP",
                instId,
                oi: String(oi),
                oiCcy: ccy.toFixed(Math.max(0, -Math.floor(Math.log10(inst.spec.ctVal)))),
                oiUsd: (ccy * inst.mark()).toFixed(1),
                ts: String(now),
              },
              "open_interest",
            );
          }
        }
      },
    };
  }

  /**
   * `liquidation-orders` (instType SWAP): one feed for every swap, listed or not (docs/venues.md §3.5).
   * `side` is the order's side, `posSide` the position's (its opposite, or `net`). Rows are counted
   * for the listed symbols only (`rows` in stats): what a collector configured with them records.
   */
  function liquidationFeed(): SimSubscription {
    const pool = [...known, ...OKX_SIM_OTHER_SWAPS];
    const item = (instId: string, now: number, side?: "buy" | "sell") => {
      const [base, quote] = instId.split("-") as [string, string];
      const inst = m.instrument(`${base}USDT`);
      // The bankruptcy price: the liquidation order's limit, through the book.
      const liq = inst.liquidation(side);
      const sell = liq.sell;
      const posSide = m.random() < 0.2 ? "net" : sell ? "long" : "short";
      const detail = {
        bkLoss: m.random() < 0.8 ? "0" : (m.random() * 5).toFixed(4),
        bkPx: inst.px(liq.limitTicks),
        ccy: "",
        posSide,
        side: sell ? "sell" : "buy",
        sz: String(liq.lots),
        ts: String(now - Math.floor(m.random() * 900)),
      };
      return { details: [detail], instFamily: `${base}-${quote}`, instId, instType: "SWAP", uly: `${base}-${quote}` };
    };
    const frame = (items: ReturnType<typeof item>[]): SimFrame => ({
      text: JSON.stringify({ arg: { channel: "liquidation-orders", instType: "SWAP" }, data: items }),
      rows: items.filter((d) => known.has(d.instId)).map((d) => ({ stream: "liquidation" as Stream, symbol: unified(d.instId) })),
    });
    const due = paced(o.liquidationIntervalMs ?? 1000);
    return {
      name: "liquidation-orders:SWAP",
      symbol: "ALL",
      weight: 1,
      emit(now) {
        if (!due(now)) return null;
        const n = 1 + Math.floor(m.random() * 3);
        return frame(Array.from({ length: n }, () => item(pool[Math.floor(m.random() * pool.length)]!, now)));
      },
      inject: (now, req) => frame([item(req.symbol.includes("-") ? req.symbol : `${req.symbol.toUpperCase().replace(/USDT$/, "")}-USDT-SWAP`, now, req.side)]),
    };
  }

  function send(ws: SimSocket, st: OkxState, body: Record<string, unknown>, id: unknown): void {
    ws.send(JSON.stringify({ ...(typeof id === "string" ? { id } : {}), ...body, connId: st.connId }));
  }

  /** The venue's 60018 answer to a subscription it does not serve on this route; `what` = `<channel>,instId:<id>` or `<channel>,instType:<type>`. */
  function refuse(ws: SimSocket, st: OkxState, what: string, id: unknown): void {
    o.count("okx|subscribe_error");
    send(
      ws,
      st,
      {
        event: "error",
        code: "60018",
        msg: `Wrong URL or channel:${what} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`,
      },
      id,
    );
  }

  function subscribe(ws: SimSocket, st: OkxState, args: unknown[], id: unknown): void {
    // One reply per arg; an error concerns only its own arg (§3.2).
    for (const a of args) {
      const arg = (typeof a === "object" && a !== null ? a : {}) as { channel?: unknown; instId?: unknown; instType?: unknown };
      const channel = String(arg.channel ?? "");
      const instId = String(arg.instId ?? "");
      if (channel === "liquidation-orders") {
        // Subscribed by instType; the simulator serves SWAP only.
        if (ROUTE_OF[channel] !== st.route || arg.instType !== "SWAP") {
          refuse(ws, st, `${channel},instType:${String(arg.instType ?? "")}`, id);
          continue;
        }
        if (!st.args.has("liquidation-orders:SWAP")) {
          st.args.add("liquidation-orders:SWAP");
          ws.data.subs.push(liquidationFeed());
        }
        send(ws, st, { event: "subscribe", arg: { channel, instType: "SWAP" } }, id);
        continue;
      }
      if (ROUTE_OF[channel] !== st.route || !known.has(instId)) {
        refuse(ws, st, `${channel},instId:${instId}`, id);
        continue;
      }
      const key = `${channel}:${instId}`;
      const fresh = !st.args.has(key);
      if (fresh) {
        st.args.add(key);
        ws.data.subs.push(channel === "books" ? booksSub(instId) : subscription(channel, instId));
      }
      send(ws, st, { event: "subscribe", arg: { channel, instId } }, id);
      if (fresh && channel === "books") {
        const out = bookSnapshot(instId, Date.now());
        if (o.deliver) o.deliver(ws, out);
        else ws.send(out.text);
      }
    }
  }

  const states = new SocketStates<OkxState>("okx");

  return {
    id: "okx",
    accepts: (path) => path === "/ws/v5/public" || path === "/ws/v5/business",
    serverPingMs: () => 0,
    open(ws) {
      const st: OkxState = { route: ws.data.path.endsWith("business") ? "business" : "public", args: new Set(), connId: m.hex(8), closing: false };
      states.set(ws, st);
    },
    message(ws, text) {
      const st = states.get(ws);
      if (text === "ping") {
        o.count("okx|ping");
        ws.send("pong");
        return;
      }
      let msg: { id?: unknown; op?: unknown; args?: unknown };
      try {
        msg = JSON.parse(text);
      } catch {
        return send(ws, st, { event: "error", code: "60012", msg: `Invalid request: ${text.slice(0, 200)}` }, undefined);
      }
      if (msg.op === "subscribe" && Array.isArray(msg.args)) return subscribe(ws, st, msg.args, msg.id);
      if (msg.op === "unsubscribe" && Array.isArray(msg.args)) {
        o.count("okx|unsubscribe");
        for (const a of msg.args) {
          const arg = (typeof a === "object" && a !== null ? a : {}) as { channel?: unknown; instId?: unknown };
          const key = `${String(arg.channel ?? "")}:${String(arg.instId ?? "")}`;
          st.args.delete(key);
          ws.data.subs = ws.data.subs.filter((x) => x.name !== key);
          send(ws, st, { event: "unsubscribe", arg: { channel: arg.channel, instId: arg.instId } }, msg.id);
        }
        return;
      }
      if (msg.op === "subscribe") return send(ws, st, { event: "error", code: "60012", msg: `Invalid request: ${text.slice(0, 200)}` }, msg.id);
      send(ws, st, { event: "error", code: "60019", msg: `Invalid op: op ${String(msg.op).slice(0, 20)}` }, msg.id);
    },
    tick(ws, now) {
      const st = states.get(ws);
      if (st.closing || now - Math.max(ws.data.lastRecvMs, ws.data.lastSentMs) <= o.idleCloseMs) return;
      // Enforced, so a client that never pings on a quiet connection is disconnected (§3.4).
      st.closing = true;
      o.count("okx|idle_close");
      ws.close(4004, "No data received in 30s.");
    },
    notice(ws) {
      const st = states.get(ws);
      o.count("okx|notice");
      send(ws, st, { event: "notice", code: "64008", msg: "The connection will soon be closed for a service upgrade. Please reconnect." }, undefined);
      // The server drops the connection ~60 s after the notice (§3.4).
      const t = setTimeout(() => {
        if (ws.readyState === 1) ws.terminate();
      }, o.noticeCloseMs);
      t.unref();
      return true;
    },
    book: (symbol) => books.view(symbol),
    bookFault: (symbol, kind, n) => books.fault(symbol, kind, n, true),
    liquidationSub: () => "liquidation-orders:SWAP",
    skipTrades(symbol, n) {
      m.skipNext(`okx:${symbol.toUpperCase().replace(/USDT$/, "")}-USDT-SWAP:trade`, n);
      return true;
    },
  };
}
