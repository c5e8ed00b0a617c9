/**
 * @module sim/bybit — Bybit v5 public linear on loopback (docs/venues.md §2): `/v5/public/linear`,
 * `subscribe` with batch-wide failure (one bad or duplicate topic fails the whole request, nothing
 * of it is subscribed), JSON ping → pong in both documented shapes, `orderbook.1` snapshots,
 * `publicTrade` batches, `tickers` snapshot then deltas that omit unchanged fields.
 * Keepalive rule: a socket that has not pinged for `pingTimeoutMs` is cut. The venue's own rule
 * (~10 min without ping *and* data, §2.4) is looser; enforcing pings regardless of data lets a
 * test prove the client pings while data flows.
 */
import type { Stream } from "../schema/rows.ts";
import type { Market, SimCount, SimDeliver, SimFrame, SimSocket, SimSubscription, SimVenue } from "./types.ts";
import { paced, SocketStates } from "./types.ts";
import { SimBooks, type Level } from "./book.ts";

export interface BybitSimOptions {
  market: Market;
  symbols: readonly string[];
  pingTimeoutMs: number;
  count: SimCount;
  /** allLiquidation pushes at most every this many ms per symbol (venue: 500, docs/venues.md §2.5). */
  liquidationIntervalMs?: number;
  /** Sends and counts a frame outside the generator (the book snapshot on subscribe). */
  deliver?: SimDeliver;
}

const TOPIC = /^(orderbook\.1|orderbook\.50|orderbook\.200|orderbook\.1000|publicTrade|tickers|allLiquidation)\.([A-Z0-9]+)$/;

interface BybitState {
  topics: Set<string>;
  lastPingMs: number;
  pings: number;
  connId: string;
}

export function bybitSim(o: BybitSimOptions): SimVenue {
  const known = new Set(o.symbols.map((s) => s.toUpperCase()));
  const m = o.market;
  const uuid = () => `${m.hex(8)}-${m.hex(4)}-5${m.hex(3)}-${m.hex(4)}-${m.hex(12)}`;
  // One true book per symbol: a snapshot on every subscribe, then deltas; `u` +1 per message.
  const books = new SimBooks(m, () => 53_935_000 + Math.floor(m.random() * 300));
  const bookFrame = (topic: string, type: "snapshot" | "delta", S: string, bids: Level[], asks: Level[], u: number, now: number) => ({
    text: JSON.stringify({
      topic,
      type,
      ts: now,
      data: { s: S, b: bids, a: asks, u, seq: m.nextId("bybit:seq", 112_603_120_000) },
      cts: now - 1,
    }),
    rows: [{ stream: "book" as Stream, symbol: S }],
  });
  const bookSnapshot = (topic: string, S: string, now: number) => {
    const b = books.of(S);
    const lv = b.book.levels();
    return bookFrame(topic, "snapshot", S, lv.bids, lv.asks, b.id, now);
  };

  function depthBook(topic: string, S: string): SimSubscription {
    return {
      name: topic,
      symbol: S,
      weight: 5,
      emit(now) {
        const b = books.of(S);
        books.skipQueued(b, () => b.id++);
        if (b.faults.reset) {
          // Service restart: a snapshot with u=1 (docs/venues.md §2.5), then deltas from 2.
          b.faults.reset = false;
          b.book.step();
          b.id = 1;
          return bookSnapshot(topic, S, now);
        }
        const ch = b.book.step();
        b.id++;
        return bookFrame(topic, "delta", S, ch.bids, ch.asks, b.id, now);
      },
    };
  }

  function orderbook(S: string): SimSubscription {
    const inst = m.instrument(S);
    return {
      name: `orderbook.1.${S}`,
      symbol: S,
      weight: 10,
      emit(now) {
        inst.move();
        // Level 1 is snapshot-only; `ts` precedes `type` in the venue's text (§2.5).
        const text = JSON.stringify({
          topic: `orderbook.1.${S}`,
          ts: now,
          type: "snapshot",
          data: {
            s: S,
            b: [[inst.px(inst.bidTicks), inst.qty(inst.lots())]],
            a: [[inst.px(inst.askTicks), inst.qty(inst.lots())]],
            u: m.nextId(`bybit:${S}:u`, 72_212_000),
            seq: m.nextId("bybit:seq", 112_603_120_000, 1 + Math.floor(m.random() * 20)),
          },
          cts: now - 1,
        });
        return { text, rows: [{ stream: "bbo", symbol: S }] };
      },
    };
  }

  function trades(S: string): SimSubscription {
    const inst = m.instrument(S);
    let last = inst.lastTicks;
    return {
      name: `publicTrade.${S}`,
      symbol: S,
      weight: 4,
      emit(now) {
        // One message per taker order: its fills (a burst), sorted by match time, sharing one cross sequence (§2.5).
        inst.move();
        const fills = [...inst.burst()];
        const seq = m.nextId("bybit:seq", 112_603_120_000, 1 + Math.floor(m.random() * 20));
        const n = fills.length;
        const data = fills.map((f, k) => {
          // Tick direction against the previous trade: a zero tick keeps the last direction's sign.
          const L = f.ticks > last ? "PlusTick" : f.ticks < last ? "MinusTick" : f.sell ? "ZeroMinusTick" : "ZeroPlusTick";
          last = f.ticks;
          return {
            T: now - n + k,
            s: S,
            S: f.sell ? "Sell" : "Buy",
            v: inst.qty(f.lots),
            p: inst.px(f.ticks),
            L,
            i: uuid(),
            BT: false,
            RPI: m.random() < 0.1,
            seq,
          };
        });
        return {
          text: JSON.stringify({ topic: `publicTrade.${S}`, type: "snapshot", ts: now, data }),
          rows: data.map(() => ({ stream: "trade" as Stream, symbol: S })),
        };
      },
    };
  }

  function tickers(S: string): SimSubscription {
    const inst = m.instrument(S);
    let sentSnapshot = false;
    return {
      name: `tickers.${S}`,
      symbol: S,
      weight: 3,
      emit(now) {
        inst.move();
        inst.stepMark();
        // Open interest in the base coin (OKX's contracts × ctVal, the same market).
        const oi = inst.stepOpenInterest() * inst.spec.ctVal;
        const mark = inst.mark();
        const all: Record<string, string> = {
          markPrice: inst.fine(mark),
          indexPrice: inst.fine(inst.index()),
          fundingRate: inst.funding().toFixed(8),
          nextFundingTime: String(Math.ceil(now / 28_800_000) * 28_800_000),
          openInterest: oi.toFixed(inst.qtyDec),
          openInterestValue: (oi * mark).toFixed(2),
        };
        const extra = { lastPrice: inst.px(inst.lastTicks), bid1Price: inst.px(inst.bidTicks), bid1Size: inst.qty(inst.lots()) };
        let data: Record<string, string>;
        let type: "snapshot" | "delta";
        if (!sentSnapshot) {
          sentSnapshot = true;
          type = "snapshot";
          data = {
            symbol: S,
            tickDirection: "ZeroMinusTick",
            price24hPcnt: "-0.00506",
            lastPrice: extra.lastPrice,
            markPrice: all.markPrice!,
            indexPrice: all.indexPrice!,
            openInterest: all.openInterest!,
            openInterestValue: all.openInterestValue!,
            fundingIntervalHour: "8",
            fundingCap: "0.005",
            nextFundingTime: all.nextFundingTime!,
            fundingRate: all.fundingRate!,
            bid1Price: extra.bid1Price,
            bid1Size: extra.bid1Size,
            preOpenPrice: "",
            preQty: "",
            curPreListingPhase: "",
          };
        } else {
          // Deltas carry only changed fields (§2.5): any subset, sometimes none of a stream's fields.
          type = "delta";
          data = { symbol: S };
          for (const [k, v] of Object.entries(all)) if (m.random() < 0.3) data[k] = v;
          for (const [k, v] of Object.entries(extra)) if (m.random() < 0.5) data[k] = v;
          if (Object.keys(data).length === 1) data.lastPrice = extra.lastPrice;
        }
        const rows: { stream: Stream; symbol: string }[] = [];
        if ("markPrice" in data || "indexPrice" in data) rows.push({ stream: "mark_price", symbol: S });
        if ("fundingRate" in data || "nextFundingTime" in data) rows.push({ stream: "funding", symbol: S });
        if ("openInterest" in data || "openInterestValue" in data) rows.push({ stream: "open_interest", symbol: S });
        return {
          text: JSON.stringify({ topic: `tickers.${S}`, type, data, cs: m.nextId("bybit:seq", 112_603_120_000, 1 + Math.floor(m.random() * 20)), ts: now }),
          rows,
        };
      },
    };
  }

  function liquidations(S: string): SimSubscription {
    const inst = m.instrument(S);
    // `S` is the POSITION's side: Buy = a long was liquidated, i.e. a sell order (docs/venues.md §2.5).
    const frame = (now: number, side?: "buy" | "sell", n = 1): SimFrame => {
      const data = Array.from({ length: n }, (_, k) => {
        const liq = inst.liquidation(side);
        return { T: now - 300 + k, s: S, S: liq.sell ? "Buy" : "Sell", v: inst.qty(liq.lots), p: inst.px(liq.avgTicks) };
      });
      return {
        text: JSON.stringify({ topic: `allLiquidation.${S}`, type: "snapshot", ts: now, data }),
        rows: data.map(() => ({ stream: "liquidation" as Stream, symbol: S })),
      };
    };
    const due = paced(o.liquidationIntervalMs ?? 500);
    return {
      name: `allLiquidation.${S}`,
      symbol: S,
      weight: 1,
      emit: (now) => (due(now) ? frame(now, undefined, 1 + Math.floor(m.random() * 2)) : null),
      inject: (now, req) => frame(now, req.side),
    };
  }

  function reply(ws: SimSocket, st: BybitState, op: string, reqId: unknown, success: boolean, retMsg: string): void {
    ws.send(JSON.stringify({ success, ret_msg: retMsg, conn_id: st.connId, req_id: typeof reqId === "string" ? reqId : "", op }));
  }

  function subscribe(ws: SimSocket, st: BybitState, args: unknown, reqId: unknown): void {
    const topics = Array.isArray(args) ? args : [];
    // Batch-wide failure: the first bad or duplicate topic rejects the request; nothing is added (§2.2).
    for (const t of topics) {
      const hit = typeof t === "string" ? TOPIC.exec(t) : null;
      if (!hit || !known.has(hit[2]!)) {
        o.count("bybit|subscribe_error");
        return reply(ws, st, "subscribe", reqId, false, `error:handler not found,topic:${String(t)}`);
      }
      if (st.topics.has(t as string)) {
        o.count("bybit|subscribe_error");
        return reply(ws, st, "subscribe", reqId, false, `error:already subscribed,topic:${String(t)}`);
      }
    }
    const snapshots: string[] = [];
    for (const t of topics as string[]) {
      st.topics.add(t);
      const [, kind, S] = TOPIC.exec(t)!;
      if (kind!.startsWith("orderbook.") && kind !== "orderbook.1") {
        ws.data.subs.push(depthBook(t, S!));
        snapshots.push(t);
        continue;
      }
      ws.data.subs.push(
        kind === "orderbook.1" ? orderbook(S!) : kind === "publicTrade" ? trades(S!) : kind === "allLiquidation" ? liquidations(S!) : tickers(S!),
      );
    }
    reply(ws, st, "subscribe", reqId, true, "");
    // The first book message after a subscribe is a snapshot (docs/venues.md §2.5).
    for (const t of snapshots) {
      const out = bookSnapshot(t, TOPIC.exec(t)![2]!, Date.now());
      if (o.deliver) o.deliver(ws, out);
      else ws.send(out.text);
    }
  }

  function unsubscribe(ws: SimSocket, st: BybitState, args: unknown, reqId: unknown): void {
    const topics = (Array.isArray(args) ? args : []).filter((t): t is string => typeof t === "string");
    for (const t of topics) {
      st.topics.delete(t);
      ws.data.subs = ws.data.subs.filter((s) => s.name !== t);
    }
    o.count("bybit|unsubscribe");
    reply(ws, st, "unsubscribe", reqId, true, "");
  }

  const states = new SocketStates<BybitState>("bybit");

  return {
    id: "bybit",
    accepts: (path) => path === "/v5/public/linear",
    serverPingMs: () => 0,
    open(ws) {
      const st: BybitState = { topics: new Set(), lastPingMs: Date.now(), pings: 0, connId: `${m.hex(20)}-ctw7` };
      states.set(ws, st);
    },
    message(ws, text) {
      const st = states.get(ws);
      let msg: { op?: unknown; args?: unknown; req_id?: unknown };
      try {
        msg = JSON.parse(text);
      } catch {
        return; // no documented reply to a non-JSON frame
      }
      if (msg.op === "ping") {
        st.lastPingMs = Date.now();
        st.pings++;
        o.count("bybit|ping");
        // Which pong shape linear sends today is uncertain (§2.4): alternate between both.
        if (st.pings % 2 === 1) reply(ws, st, "ping", msg.req_id, true, "pong");
        else ws.send(JSON.stringify({ req_id: typeof msg.req_id === "string" ? msg.req_id : "", op: "pong", args: [String(Date.now())], conn_id: st.connId }));
      } else if (msg.op === "subscribe") {
        subscribe(ws, st, msg.args, msg.req_id);
      } else if (msg.op === "unsubscribe") {
        unsubscribe(ws, st, msg.args, msg.req_id);
      } else {
        reply(ws, st, String(msg.op ?? ""), msg.req_id, false, `error:unsupported op ${String(msg.op).slice(0, 20)}`);
      }
    },
    book: (symbol) => books.view(symbol),
    bookFault: (symbol, kind, n) => books.fault(symbol, kind, n, true),
    liquidationSub: (symbol) => `allLiquidation.${symbol.toUpperCase()}`,
    tick(ws, now) {
      const st = states.get(ws);
      if (now - st.lastPingMs <= o.pingTimeoutMs) return;
      st.lastPingMs = Infinity; // count the cut once
      o.count("bybit|idle_close");
      ws.terminate();
    },
  };
}
