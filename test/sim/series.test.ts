/**
 * Scope: sim/series and the venue simulators that print it — the values are realistic (issue 10
 * item 8, docs/simulator.md "What the data looks like"): prices on the instrument's tick grid and
 * sizes on its lot grid, printed with the grid's decimals as the venues do; the mid moving by small
 * steps; trade ids contiguous unless a gap is injected (then exactly that gap); trades in bursts;
 * mark price near the mid; funding and open interest drifting slowly; books on the grids and
 * never crossed. Frames are read by raw WebSocket clients, as the collector would receive them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SimBook, type Level } from "../../src/sim/book.ts";
import { decimals, Instrument, instrumentSpec, Rng } from "../../src/sim/series.ts";
import { Market } from "../../src/sim/types.ts";
import { simulator, type DisposableSimulator } from "../helpers/sim.ts";
import { waitFor } from "../helpers/wait.ts";

const SYMBOLS = ["BTCUSDT", "DOGEUSDT"];
const FRAMES = 4000;
const SKIP = 5;

/** Decimals printed in a decimal text; null if it is not a plain positive decimal. */
function printed(text: unknown): number | null {
  if (typeof text !== "string" || !/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) return null;
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** The value in grid steps: an integer when the text is on the grid (printed with exactly the grid's decimals). */
function steps(text: unknown, step: number): number {
  expect(printed(text)).toBe(decimals(step));
  const n = Number(text) / step;
  expect(Math.abs(n - Math.round(n))).toBeLessThan(1e-6);
  return Math.round(n);
}

const tick = (s: string) => instrumentSpec(s).tick;
const lot = (s: string) => instrumentSpec(s).lot;
/** OKX sizes are contracts, lot 1. */
const CONTRACT = 1;

describe("sim/series model", () => {
  test("deterministic for a seed; the mid mostly stays, moves a tick sometimes, a few rarely; sizes on the lot grid with a heavy tail", () => {
    const run = (seed: number) => {
      const inst = new Instrument(instrumentSpec("BTCUSDT"), new Rng(seed));
      const out: number[] = [];
      for (let i = 0; i < 20_000; i++) {
        inst.move();
        out.push(inst.bidTicks, inst.spreadTicks, inst.lots());
      }
      return out;
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
    const xs = run(9);
    const moves = new Map<number, number>();
    const lotsSeen: number[] = [];
    for (let i = 3; i < xs.length; i += 3) {
      const d = xs[i]! - xs[i - 3]!;
      moves.set(d, (moves.get(d) ?? 0) + 1);
      expect([1, 2]).toContain(xs[i + 1]!);
      lotsSeen.push(xs[i + 2]!);
    }
    const n = xs.length / 3 - 1;
    expect((moves.get(0) ?? 0) / n).toBeGreaterThan(0.85);
    expect(((moves.get(1) ?? 0) + (moves.get(-1) ?? 0)) / n).toBeGreaterThan(0.05);
    expect(Math.max(...[...moves.keys()].map(Math.abs))).toBeLessThanOrEqual(4);
    expect(lotsSeen.every((l) => Number.isInteger(l) && l >= 1)).toBe(true);
    lotsSeen.sort((a, b) => a - b);
    expect(lotsSeen[Math.floor(n / 2)]!).toBeLessThanOrEqual(10); // mostly a few lots
    expect(lotsSeen[n - 1]!).toBeGreaterThan(100); // sometimes hundreds
  });

  test("a burst is 1–12 fills of one side, at the touch, walking away one tick at a time", () => {
    const inst = new Instrument(instrumentSpec("ETHUSDT"), new Rng(5));
    const sizes = new Set<number>();
    for (let b = 0; b < 2000; b++) {
      inst.move();
      const fills = [...inst.burst()];
      sizes.add(fills.length);
      const sell = fills[0]!.sell;
      expect(fills[0]!.ticks).toBe(sell ? inst.bidTicks : inst.askTicks);
      for (let k = 1; k < fills.length; k++) {
        expect(fills[k]!.sell).toBe(sell);
        expect((fills[k]!.ticks - fills[k - 1]!.ticks) * (sell ? -1 : 1) + 0).toBeOneOf([0, 1]);
      }
    }
    expect(Math.min(...sizes)).toBe(1);
    expect(Math.max(...sizes)).toBe(12);
  });

  test("a book follows the instrument on its grids: never crossed, 10–40 levels a side, deltas rebuild it exactly", () => {
    const m = new Market(11);
    const inst = m.instrument("DOGEUSDT");
    const book = new SimBook(m, inst);
    const mirror = { bids: new Map<string, string>(), asks: new Map<string, string>() };
    const load = (side: Map<string, string>, levels: Level[]) => levels.forEach(([p, q]) => side.set(p, q));
    load(mirror.bids, book.levels().bids);
    load(mirror.asks, book.levels().asks);
    let nearTouch = 0;
    const N = 5000;
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < 3; k++) inst.move();
      const ch = book.step();
      for (const [side, levels] of [
        [mirror.bids, ch.bids],
        [mirror.asks, ch.asks],
      ] as const) {
        expect(new Set(levels.map((l) => l[0])).size).toBe(levels.length); // a price once per message
        for (const [p, q] of levels) {
          steps(p, tick("DOGEUSDT"));
          if (q === "0") side.delete(p);
          else side.set(p, String(steps(q, lot("DOGEUSDT")) * lot("DOGEUSDT")));
        }
      }
      const lv = book.levels();
      expect(lv.bids.length).toBeGreaterThanOrEqual(10);
      expect(lv.bids.length).toBeLessThanOrEqual(40);
      expect(lv.asks.length).toBeGreaterThanOrEqual(10);
      expect(lv.asks.length).toBeLessThanOrEqual(40);
      expect(Number(lv.bids[0]![0])).toBeLessThan(Number(lv.asks[0]![0]));
      const bestBid = steps(lv.bids[0]![0], tick("DOGEUSDT"));
      if (Math.abs(bestBid - inst.bidTicks) <= 2) nearTouch++;
    }
    const sorted = (side: Map<string, string>, dir: number) => [...side.entries()].sort((a, b) => dir * (Number(a[0]) - Number(b[0])));
    expect(sorted(mirror.bids, -1)).toEqual(book.levels().bids);
    expect(sorted(mirror.asks, 1)).toEqual(book.levels().asks);
    expect(nearTouch / N).toBeGreaterThan(0.8); // the book's touch is the instrument's
  });
});

describe("venue simulators print the series", () => {
  let sim: DisposableSimulator;
  const received: Record<string, string[]> = { binance: [], bybit: [], okx: [] };
  /** Data frames received (not subscribe replies), per venue: comparable with the simulator's count of frames sent. */
  const dataFrames: Record<string, number> = { binance: 0, bybit: 0, okx: 0 };
  const replies: Record<string, number> = { binance: 0, bybit: 0, okx: 0 };
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    sim = simulator({ rate: 4000, symbols: SYMBOLS, maxFramesPerVenue: FRAMES, liquidationIntervalMs: 20, seed: 17 });
    const open = (venue: string, path: string, sub?: unknown) => {
      const ws = new WebSocket(`${sim.url}${path}`);
      if (sub) ws.onopen = () => ws.send(JSON.stringify(sub));
      ws.onmessage = (ev) => {
        const text = String(ev.data);
        received[venue]!.push(text);
        if (/^\{"(event|success)":/.test(text)) replies[venue]!++;
        else dataFrames[venue]!++;
      };
      sockets.push(ws);
      return new Promise<void>((resolve) => ws.addEventListener("open", () => resolve()));
    };
    sim.pause();
    const lower = SYMBOLS.map((s) => s.toLowerCase());
    const inst = (s: string) => `${s.replace(/USDT$/, "")}-USDT-SWAP`;
    await Promise.all([
      open("binance", `/public/stream?streams=${lower.flatMap((s) => [`${s}@bookTicker`, `${s}@trade`, `${s}@depth@100ms`]).join("/")}`),
      open("binance", `/market/stream?streams=${lower.flatMap((s) => [`${s}@markPrice@1s`, `${s}@forceOrder`]).join("/")}`),
      open("bybit", "/v5/public/linear", {
        op: "subscribe",
        args: SYMBOLS.flatMap((s) => [`orderbook.1.${s}`, `publicTrade.${s}`, `tickers.${s}`, `allLiquidation.${s}`, `orderbook.50.${s}`]),
      }),
      open("okx", "/ws/v5/public", {
        op: "subscribe",
        args: [
          ...SYMBOLS.flatMap((s) => ["bbo-tbt", "mark-price", "funding-rate", "open-interest", "books"].map((channel) => ({ channel, instId: inst(s) }))),
          { channel: "liquidation-orders", instType: "SWAP" },
        ],
      }),
      open("okx", "/ws/v5/business", { op: "subscribe", args: SYMBOLS.map((s) => ({ channel: "trades-all", instId: inst(s) })) }),
    ]);
    // Every subscription is in place before the first data frame.
    // Bybit: one reply; OKX: one per arg (10 + the liquidation feed on public, 2 on business).
    await waitFor("subscribed", () => replies.bybit === 1 && replies.okx === 13);
    sim.resume();
    await waitFor("half the frames", () => (sim.stats().frames.binance ?? 0) >= FRAMES / 2);
    expect(sim.skipTradeIds("binance", "BTCUSDT", SKIP)).toBe(true);
    expect(sim.skipTradeIds("okx", "DOGEUSDT", SKIP)).toBe(true);
    await waitFor("all frames", () => ["binance", "bybit", "okx"].every((v) => (sim.stats().frames[v] ?? 0) >= FRAMES));
    const sent = sim.stats().frames;
    await waitFor("all received", () => ["binance", "bybit", "okx"].every((v) => dataFrames[v] === sent[v]));
  });

  afterAll(async () => {
    for (const ws of sockets) ws.close();
    await sim.stop();
  });

  const data = (venue: string) => received[venue]!.map((t) => JSON.parse(t) as Record<string, any>);

  /**
   * Trades one fill per frame come in bursts: runs of consecutive frames with one trade time, one
   * side and the price walking away from the touch by 0 or 1 tick a fill (one taker order).
   */
  function expectBursts(trades: { time: unknown; sell: boolean; ticks: number }[]): void {
    const runs: number[] = [];
    let run = 1;
    trades.forEach((t, i) => {
      const prev = trades[i - 1];
      const walk = prev ? (t.ticks - prev.ticks) * (t.sell ? -1 : 1) : -1;
      if (prev && t.time === prev.time && t.sell === prev.sell && (walk === 0 || walk === 1)) run++;
      else {
        if (i > 0) runs.push(run);
        run = 1;
      }
    });
    runs.push(run);
    const inBursts = runs.filter((r) => r > 1).reduce((a, r) => a + r, 0);
    expect(inBursts / trades.length).toBeGreaterThan(0.5); // most fills belong to a multi-fill order
    expect(Math.max(...runs)).toBeGreaterThanOrEqual(6);
  }

  /** Mid moves between consecutive bbo of one symbol, in half ticks: small steps. */
  function expectSmallMoves(mids: number[]): void {
    expect(mids.length).toBeGreaterThan(100);
    const d = mids.slice(1).map((x, i) => Math.abs(x - mids[i]!));
    const within = (k: number) => d.filter((x) => x <= k).length / d.length;
    expect(within(2)).toBeGreaterThan(0.7); // mostly unchanged or one tick
    expect(within(20)).toBeGreaterThan(0.99);
    expect(Math.max(...d)).toBeLessThanOrEqual(60);
    expect(d.some((x) => x > 0)).toBe(true); // it does move
  }

  test("Binance: bookTicker, trades (contiguous ids, bursts, the injected gap exactly), mark price, liquidations and depth on the grids", () => {
    const msgs = data("binance").map((f) => f.data);
    for (const s of SYMBOLS) {
      const bbo = msgs.filter((d) => d.e === "bookTicker" && d.s === s);
      const mids = bbo.map((d) => {
        const b = steps(d.b, tick(s));
        const a = steps(d.a, tick(s));
        steps(d.B, lot(s));
        steps(d.A, lot(s));
        expect(a - b).toBeOneOf([1, 2]);
        return a + b;
      });
      expectSmallMoves(mids);
      const trades = msgs.filter((d) => d.e === "trade" && d.s === s);
      expect(trades.length).toBeGreaterThan(100);
      const gaps: number[] = [];
      trades.forEach((d, i) => {
        steps(d.p, tick(s));
        steps(d.q, lot(s));
        if (i > 0 && d.t !== trades[i - 1]!.t + 1) gaps.push(d.t - trades[i - 1]!.t - 1);
      });
      expect(gaps).toEqual(s === "BTCUSDT" ? [SKIP] : []);
      expectBursts(trades.map((d) => ({ time: d.T, sell: d.m, ticks: steps(d.p, tick(s)) })));
      const marks = msgs.filter((d) => d.e === "markPriceUpdate" && d.s === s);
      expect(marks.length).toBeGreaterThan(5);
      for (const d of marks) {
        for (const k of ["p", "i", "P"]) steps(d[k], tick(s) / 100);
        expect(Math.abs(Number(d.p) - Number(d.i))).toBeLessThanOrEqual(tick(s) * 6);
        expect(Math.abs(Number(d.r))).toBeLessThan(0.0075);
      }
      const rates = marks.map((d) => Number(d.r));
      for (let i = 1; i < rates.length; i++) expect(Math.abs(rates[i]! - rates[i - 1]!)).toBeLessThanOrEqual(1e-6); // drifts: a few 1e-8 per step
      const liq = msgs.filter((d) => d.e === "forceOrder" && d.o.s === s);
      expect(liq.length).toBeGreaterThan(0);
      for (const { o } of liq) {
        steps(o.p, tick(s));
        steps(o.ap, tick(s));
        expect(steps(o.l, lot(s))).toBeLessThanOrEqual(steps(o.z, lot(s)));
        expect(o.S === "SELL" ? Number(o.p) < Number(o.ap) : Number(o.p) > Number(o.ap)).toBe(true); // the limit is through the fill
      }
      const depth = msgs.filter((d) => d.e === "depthUpdate" && d.s === s);
      expect(depth.length).toBeGreaterThan(50);
      for (const d of depth)
        for (const [p, q] of [...d.b, ...d.a]) {
          steps(p, tick(s));
          if (q !== "0") steps(q, lot(s));
        }
    }
  });

  test("Bybit: orderbook.1, publicTrade bursts (one message per taker order), tickers and liquidations on the grids", () => {
    const msgs = data("bybit").filter((f) => typeof f.topic === "string");
    for (const s of SYMBOLS) {
      const mids = msgs
        .filter((f) => f.topic === `orderbook.1.${s}`)
        .map((f) => {
          const b = steps(f.data.b[0][0], tick(s));
          const a = steps(f.data.a[0][0], tick(s));
          steps(f.data.b[0][1], lot(s));
          steps(f.data.a[0][1], lot(s));
          expect(a).toBeGreaterThan(b);
          return a + b;
        });
      expectSmallMoves(mids);
      const trades = msgs.filter((f) => f.topic === `publicTrade.${s}`);
      const sizes = trades.map((f) => f.data.length as number);
      expect(Math.max(...sizes)).toBeGreaterThan(2);
      for (const f of trades) {
        const side = f.data[0].S;
        for (const t of f.data) {
          expect(t.S).toBe(side);
          steps(t.p, tick(s));
          steps(t.v, lot(s));
        }
      }
      for (const f of msgs.filter((x) => x.topic === `tickers.${s}`)) {
        for (const k of ["markPrice", "indexPrice"]) if (k in f.data) steps(f.data[k], tick(s) / 100);
        for (const k of ["lastPrice", "bid1Price"]) if (k in f.data) steps(f.data[k], tick(s));
        if ("openInterest" in f.data) steps(f.data.openInterest, lot(s));
      }
      const liq = msgs.filter((f) => f.topic === `allLiquidation.${s}`).flatMap((f) => f.data);
      expect(liq.length).toBeGreaterThan(0);
      for (const l of liq) {
        steps(l.p, tick(s));
        steps(l.v, lot(s));
      }
      for (const f of msgs.filter((x) => x.topic === `orderbook.50.${s}`))
        for (const [p, q] of [...f.data.b, ...f.data.a]) {
          steps(p, tick(s));
          if (q !== "0") steps(q, lot(s));
        }
    }
  });

  test("OKX: bbo-tbt, trades-all (contiguous ids, the injected gap exactly), mark, funding, open interest, books and liquidations on the grids", () => {
    const msgs = data("okx").filter((f) => f.arg && Array.isArray(f.data));
    for (const s of SYMBOLS) {
      const instId = `${s.replace(/USDT$/, "")}-USDT-SWAP`;
      const of = (channel: string) => msgs.filter((f) => f.arg.channel === channel && f.arg.instId === instId).map((f) => f.data[0]);
      const mids = of("bbo-tbt").map((d) => {
        steps(d.bids[0][1], CONTRACT);
        steps(d.asks[0][1], CONTRACT);
        return steps(d.bids[0][0], tick(s)) + steps(d.asks[0][0], tick(s));
      });
      expectSmallMoves(mids);
      const trades = of("trades-all");
      expect(trades.length).toBeGreaterThan(100);
      const gaps: number[] = [];
      trades.forEach((d, i) => {
        steps(d.px, tick(s));
        steps(d.sz, CONTRACT);
        if (i > 0 && Number(d.tradeId) !== Number(trades[i - 1]!.tradeId) + 1) gaps.push(Number(d.tradeId) - Number(trades[i - 1]!.tradeId) - 1);
      });
      expect(gaps).toEqual(s === "DOGEUSDT" ? [SKIP] : []);
      expectBursts(trades.map((d) => ({ time: d.ts, sell: d.side === "sell", ticks: steps(d.px, tick(s)) })));
      for (const d of of("mark-price")) steps(d.markPx, tick(s) / 100);
      const rates = of("funding-rate").map((d) => Number(d.fundingRate));
      expect(rates.length).toBeGreaterThan(5);
      for (let i = 1; i < rates.length; i++) expect(Math.abs(rates[i]! - rates[i - 1]!)).toBeLessThanOrEqual(1e-6); // drifts: a few 1e-8 per step
      const ois = of("open-interest");
      expect(ois.length).toBeGreaterThan(5);
      for (const d of ois) {
        const oi = steps(d.oi, CONTRACT);
        expect(Number(d.oiCcy)).toBeCloseTo(oi * instrumentSpec(s).ctVal, 6);
      }
      // Drifts: well under 0.5 % between pushes (several steps of ±0.015 % may come between two).
      for (let i = 1; i < ois.length; i++) expect(Math.abs(Number(ois[i]!.oi) / Number(ois[i - 1]!.oi) - 1)).toBeLessThan(0.005);
      for (const d of of("books"))
        for (const [p, q] of [...d.bids, ...d.asks]) {
          steps(p, tick(s));
          if (q !== "0") steps(q, CONTRACT);
        }
    }
    const liq = msgs.filter((f) => f.arg.channel === "liquidation-orders").flatMap((f) => f.data);
    expect(liq.length).toBeGreaterThan(0);
    for (const item of liq) {
      const s = item.instId.replace(/-USD[TC]?-SWAP$/, "USDT");
      for (const d of item.details) {
        steps(d.bkPx, tick(s));
        steps(d.sz, CONTRACT);
      }
    }
  });
});
