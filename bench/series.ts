/**
 * Realistic market series for benchmarks, pre-generated: the product simulator's market model
 * (src/sim/series.ts: prices on the tick grid moving in small steps, sizes on the lot grid with a
 * heavy tail, trades in bursts) printed as Binance USDⓈ-M combined-stream frames, byte-for-byte in
 * the venue's field order, with contiguous ids and event times that advance the way a live feed's
 * do at a given rate. The collector parses them as live data, and bytes/row on disk can be
 * compared with the raw frames.
 *
 * Deterministic for a seed (xorshift), so two runs compare like with like.
 */
import { INSTRUMENTS, Instrument, Rng, type InstrumentSpec } from "../src/sim/series.ts";

/** The benches' symbols: the simulator's first ten (src/sim/series.ts), with their grids. */
export const BENCH_SYMBOLS: readonly InstrumentSpec[] = INSTRUMENTS.slice(0, 10);

interface SymbolState {
  inst: Instrument;
  lower: string;
  updateId: number;
  tradeId: number;
  /** Resting quantity in lots per price level (ticks), for depth diffs. */
  levels: Map<number, number>;
}

export interface SeriesFrame {
  /** "bbo" (bookTicker) or "trade"; each frame is one row. */
  kind: "bbo" | "trade";
  text: string;
}

export class SeriesGenerator {
  private readonly rng: Rng;
  private readonly syms: SymbolState[];
  /** Virtual event time (ms); advances by the mean gap between frames. */
  private nowMs: number;
  private readonly gapMs: number;

  /** `framesPerSec`: the rate the series imitates (sets how event times advance). */
  constructor(seed = 1, symbols: readonly InstrumentSpec[] = BENCH_SYMBOLS, framesPerSec = 100_000, startMs = Date.UTC(2026, 10, 25, 12)) {
    this.rng = new Rng(seed);
    this.nowMs = startMs;
    this.gapMs = 1000 / framesPerSec;
    this.syms = symbols.map((spec, i) => ({
      inst: new Instrument(spec, this.rng),
      lower: spec.symbol.toLowerCase(),
      updateId: 8_000_000_000_000 + i * 1_000_000_000,
      tradeId: 6_000_000_000 + i * 100_000_000,
      levels: new Map(),
    }));
  }

  private random(): number {
    return this.rng.random();
  }

  /** Fills `out` with n frames: ~80 % bookTicker, ~20 % trade events (in bursts: ~30 % of the frames). */
  frames(n: number): SeriesFrame[] {
    const out: SeriesFrame[] = [];
    while (out.length < n) {
      this.nowMs += this.gapMs * (0.2 + this.random() * 1.6);
      const st = this.syms[Math.floor(this.random() * this.syms.length)]!;
      const { inst } = st;
      const S = inst.spec.symbol;
      inst.move();
      const E = Math.floor(this.nowMs);
      if (this.random() < 0.8) {
        st.updateId += 1 + Math.floor(this.random() * 6);
        const text = `{"stream":"${st.lower}@bookTicker","data":{"e":"bookTicker","u":${st.updateId},"s":"${S}","b":"${inst.px(inst.bidTicks)}","B":"${inst.qty(inst.lots())}","a":"${inst.px(inst.askTicks)}","A":"${inst.qty(inst.lots())}","T":${E - 1},"E":${E}}}`;
        out.push({ kind: "bbo", text });
      } else {
        // A burst: one taker order walking 1–12 resting orders at one timestamp (cut short when `out` is full).
        for (const f of inst.burst()) {
          const text = `{"stream":"${st.lower}@trade","data":{"e":"trade","E":${E},"T":${E - 1},"s":"${S}","t":${++st.tradeId},"p":"${inst.px(f.ticks)}","q":"${inst.qty(f.lots)}","X":"MARKET","m":${f.sell}}}`;
          out.push({ kind: "trade", text });
          if (out.length >= n) break;
        }
      }
    }
    return out;
  }

  /** One `markPrice@1s` frame per symbol at `atMs` (default: the virtual time) — 2 rows each: mark_price + funding. */
  markPrices(atMs = this.nowMs): string[] {
    const E = Math.floor(atMs);
    const next = Math.ceil(E / 28_800_000) * 28_800_000;
    return this.syms.map(({ inst, lower }) => {
      const mid = inst.mid();
      const d = inst.pxDec + 2;
      return `{"stream":"${lower}@markPrice@1s","data":{"e":"markPriceUpdate","E":${E},"s":"${inst.spec.symbol}","p":"${mid.toFixed(d)}","P":"${(mid * 1.0001).toFixed(d)}","i":"${(mid * 0.9999).toFixed(d)}","r":"0.00010000","T":${next}}}`;
    });
  }

  /**
   * One OKX `open-interest` push per symbol (the venue pushes about every 3 s when it changed):
   * contracts move by a few hundred, oiCcy = contracts × ctVal, oiUsd at the mid price.
   */
  openInterest(atMs = this.nowMs): string[] {
    const ts = Math.floor(atMs);
    return this.syms.map(({ inst }) => {
      const oi = inst.stepOpenInterest();
      const ccy = oi * inst.spec.ctVal;
      const mid = inst.mid();
      const instId = `${inst.spec.symbol.replace(/USDT$/, "")}-USDT-SWAP`;
      return `{"arg":{"channel":"open-interest","instId":"${instId}"},"data":[{"instType":"SWAP","instId":"${instId}","oi":"${oi}","oiCcy":"${ccy.toFixed(2)}","oiUsd":"${(ccy * mid).toFixed(1)}","ts":"${ts}"}]}`;
    });
  }

  /** A Binance `forceOrder` for the first symbol: an IOC order through the book, filled at a nearby average price. */
  liquidation(atMs = this.nowMs): string {
    const { inst, lower } = this.syms[0]!;
    const o = inst.liquidation();
    const E = Math.floor(atMs);
    const q = inst.qty(o.lots);
    return `{"stream":"${lower}@forceOrder","data":{"e":"forceOrder","E":${E},"o":{"s":"${inst.spec.symbol}","S":"${o.sell ? "SELL" : "BUY"}","o":"LIMIT","f":"IOC","q":"${q}","p":"${inst.px(o.limitTicks)}","ap":"${inst.px(o.avgTicks)}","X":"FILLED","l":"${q}","z":"${q}","T":${E - 1}}}}`;
  }

  /**
   * A Binance `depthUpdate` (`@depth@100ms`) for the first symbol: 3–25 levels changed near the top
   * (most within 20 ticks of it), sizes in lots, about one in five a delete (qty 0); ids chained by `pu`.
   */
  depth(atMs = this.nowMs): string {
    const st = this.syms[0]!;
    const { inst } = st;
    inst.move();
    const E = Math.floor(atMs);
    const n = 3 + Math.floor(this.random() * 23);
    const bids: string[] = [];
    const asks: string[] = [];
    for (let k = 0; k < n; k++) {
      const bid = this.random() < 0.5;
      const away = Math.floor(-Math.log(1 - this.random()) * 6);
      const ticks = bid ? inst.bidTicks - away : inst.askTicks + away;
      const del = st.levels.has(ticks) && this.random() < 0.2;
      const lots = del ? 0 : inst.lots() * (1 + away);
      if (del) st.levels.delete(ticks);
      else st.levels.set(ticks, lots);
      (bid ? bids : asks).push(`["${inst.px(ticks)}","${inst.qty(lots)}"]`);
    }
    const pu = st.updateId;
    const U = pu + 1 + Math.floor(this.random() * 50);
    st.updateId = U + Math.floor(this.random() * 400);
    return `{"stream":"${st.lower}@depth@100ms","data":{"e":"depthUpdate","E":${E},"T":${E - 1},"s":"${inst.spec.symbol}","U":${U},"u":${st.updateId},"pu":${pu},"b":[${bids.join(",")}],"a":[${asks.join(",")}]}}`;
  }
}
