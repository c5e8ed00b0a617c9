/**
 * Realistic market series for benchmarks (not the product simulator): prices that move on the
 * symbol's tick grid in small steps, quantities on its lot grid with a heavy tail, contiguous ids,
 * trades in bursts (one aggressive order filling several resting orders at one timestamp), and
 * event times that advance the way a live feed's do. Output is Binance USDⓈ-M combined-stream
 * frames, byte-for-byte in the venue's field order, so the collector parses them as live data and
 * bytes/row on disk can be compared with the raw frames.
 *
 * Deterministic for a seed (xorshift), so two runs compare like with like.
 */

export interface SymbolSpec {
  symbol: string;
  /** Starting price. */
  price: number;
  /** Price tick and quantity lot (Binance USDⓈ-M exchangeInfo PRICE_FILTER / LOT_SIZE, rounded). */
  tick: number;
  lot: number;
}

export const BENCH_SYMBOLS: readonly SymbolSpec[] = [
  { symbol: "BTCUSDT", price: 97_000, tick: 0.1, lot: 0.001 },
  { symbol: "ETHUSDT", price: 3_500, tick: 0.01, lot: 0.001 },
  { symbol: "BNBUSDT", price: 650, tick: 0.01, lot: 0.01 },
  { symbol: "SOLUSDT", price: 180, tick: 0.01, lot: 0.01 },
  { symbol: "XRPUSDT", price: 2.2, tick: 0.0001, lot: 0.1 },
  { symbol: "DOGEUSDT", price: 0.32, tick: 0.00001, lot: 1 },
  { symbol: "ADAUSDT", price: 0.9, tick: 0.0001, lot: 1 },
  { symbol: "AVAXUSDT", price: 35, tick: 0.001, lot: 1 },
  { symbol: "LINKUSDT", price: 20, tick: 0.001, lot: 0.01 },
  { symbol: "LTCUSDT", price: 100, tick: 0.01, lot: 0.001 },
];

const decimals = (step: number) => Math.max(0, Math.round(-Math.log10(step)));

interface SymbolState {
  spec: SymbolSpec;
  lower: string;
  pxDec: number;
  qtyDec: number;
  /** Best bid in ticks; ask = bid + spread. */
  bidTicks: number;
  spreadTicks: number;
  updateId: number;
  tradeId: number;
  /** Open interest in OKX contracts (0.01 of the base coin each for these swaps). */
  oiContracts: number;
  /** Resting quantity in lots per price level (ticks), for depth diffs. */
  levels: Map<number, number>;
}

export interface SeriesFrame {
  /** "bbo" (bookTicker) or "trade"; each frame is one row. */
  kind: "bbo" | "trade";
  text: string;
}

export class SeriesGenerator {
  private s: number;
  private readonly syms: SymbolState[];
  /** Virtual event time (ms); advances by the mean gap between frames. */
  private nowMs: number;
  private readonly gapMs: number;

  /** `framesPerSec`: the rate the series imitates (sets how event times advance). */
  constructor(seed = 1, symbols: readonly SymbolSpec[] = BENCH_SYMBOLS, framesPerSec = 100_000, startMs = Date.UTC(2026, 10, 25, 12)) {
    this.s = seed >>> 0 || 1;
    this.nowMs = startMs;
    this.gapMs = 1000 / framesPerSec;
    this.syms = symbols.map((spec, i) => ({
      spec,
      lower: spec.symbol.toLowerCase(),
      pxDec: decimals(spec.tick),
      qtyDec: decimals(spec.lot),
      bidTicks: Math.round(spec.price / spec.tick),
      spreadTicks: 1,
      updateId: 8_000_000_000_000 + i * 1_000_000_000,
      tradeId: 6_000_000_000 + i * 100_000_000,
      oiContracts: Math.round((2e9 / spec.price) * 100),
      levels: new Map(),
    }));
  }

  /** Uniform in [0, 1). */
  private random(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }

  /** Lots with a heavy tail: mostly 1–10 lots, sometimes hundreds. */
  private lots(): number {
    const u = this.random();
    return 1 + Math.floor(Math.exp(-Math.log(1 - u) * 0.9 + this.random() * 1.5) - 1);
  }

  private px(st: SymbolState, ticks: number): string {
    return (ticks * st.spec.tick).toFixed(st.pxDec);
  }

  private qty(st: SymbolState, lots: number): string {
    return (lots * st.spec.lot).toFixed(st.qtyDec);
  }

  /** The book moves: mostly nothing, sometimes a tick, rarely a few; the spread is 1 tick, sometimes 2. */
  private move(st: SymbolState): void {
    const u = this.random();
    if (u < 0.08) st.bidTicks += this.random() < 0.5 ? -1 : 1;
    else if (u < 0.085) st.bidTicks += Math.round((this.random() - 0.5) * 8);
    st.spreadTicks = this.random() < 0.9 ? 1 : 2;
  }

  /** Fills `out` with n frames: ~70 % bookTicker, ~30 % trades (in bursts). */
  frames(n: number): SeriesFrame[] {
    const out: SeriesFrame[] = [];
    while (out.length < n) {
      this.nowMs += this.gapMs * (0.2 + this.random() * 1.6);
      const st = this.syms[Math.floor(this.random() * this.syms.length)]!;
      this.move(st);
      const E = Math.floor(this.nowMs);
      if (this.random() < 0.8) {
        st.updateId += 1 + Math.floor(this.random() * 6);
        const text = `{"stream":"${st.lower}@bookTicker","data":{"e":"bookTicker","u":${st.updateId},"s":"${st.spec.symbol}","b":"${this.px(st, st.bidTicks)}","B":"${this.qty(st, this.lots())}","a":"${this.px(st, st.bidTicks + st.spreadTicks)}","A":"${this.qty(st, this.lots())}","T":${E - 1},"E":${E}}}`;
        out.push({ kind: "bbo", text });
      } else {
        // A burst: one taker order walking 1–12 resting orders at one timestamp.
        const burst = this.random() < 0.6 ? 1 : 2 + Math.floor(this.random() * 11);
        const sell = this.random() < 0.5;
        let ticks = sell ? st.bidTicks : st.bidTicks + st.spreadTicks;
        for (let k = 0; k < burst && out.length < n; k++) {
          if (k > 0 && this.random() < 0.3) ticks += sell ? -1 : 1;
          const text = `{"stream":"${st.lower}@trade","data":{"e":"trade","E":${E},"T":${E - 1},"s":"${st.spec.symbol}","t":${++st.tradeId},"p":"${this.px(st, ticks)}","q":"${this.qty(st, this.lots())}","X":"MARKET","m":${sell}}}`;
          out.push({ kind: "trade", text });
        }
      }
    }
    return out;
  }

  /** One `markPrice@1s` frame per symbol at `atMs` (default: the virtual time) — 2 rows each: mark_price + funding. */
  markPrices(atMs = this.nowMs): string[] {
    const E = Math.floor(atMs);
    const next = Math.ceil(E / 28_800_000) * 28_800_000;
    return this.syms.map((st) => {
      const mid = (st.bidTicks + st.spreadTicks / 2) * st.spec.tick;
      const d = st.pxDec + 2;
      return `{"stream":"${st.lower}@markPrice@1s","data":{"e":"markPriceUpdate","E":${E},"s":"${st.spec.symbol}","p":"${mid.toFixed(d)}","P":"${(mid * 1.0001).toFixed(d)}","i":"${(mid * 0.9999).toFixed(d)}","r":"0.00010000","T":${next}}}`;
    });
  }

  /**
   * One OKX `open-interest` push per symbol (the venue pushes about every 3 s when it changed):
   * contracts move by a few hundred lots, oiCcy = contracts × 0.01, oiUsd at the mid price.
   */
  openInterest(atMs = this.nowMs): string[] {
    const ts = Math.floor(atMs);
    return this.syms.map((st) => {
      st.oiContracts = Math.max(1, st.oiContracts + Math.round((this.random() - 0.5) * 600));
      const ccy = st.oiContracts * 0.01;
      const mid = (st.bidTicks + st.spreadTicks / 2) * st.spec.tick;
      const inst = `${st.spec.symbol.replace(/USDT$/, "")}-USDT-SWAP`;
      return `{"arg":{"channel":"open-interest","instId":"${inst}"},"data":[{"instType":"SWAP","instId":"${inst}","oi":"${st.oiContracts}","oiCcy":"${ccy.toFixed(2)}","oiUsd":"${(ccy * mid).toFixed(1)}","ts":"${ts}"}]}`;
    });
  }

  /** A Binance `forceOrder` for the first symbol: an IOC order through the book, filled at a nearby average price. */
  liquidation(atMs = this.nowMs): string {
    const st = this.syms[0]!;
    this.move(st);
    const E = Math.floor(atMs);
    const sell = this.random() < 0.5;
    const q = this.lots() * 3;
    const avg = sell ? st.bidTicks - Math.floor(this.random() * 4) : st.bidTicks + st.spreadTicks + Math.floor(this.random() * 4);
    const limit = sell ? avg - 20 - Math.floor(this.random() * 40) : avg + 20 + Math.floor(this.random() * 40);
    return `{"stream":"${st.lower}@forceOrder","data":{"e":"forceOrder","E":${E},"o":{"s":"${st.spec.symbol}","S":"${sell ? "SELL" : "BUY"}","o":"LIMIT","f":"IOC","q":"${this.qty(st, q)}","p":"${this.px(st, limit)}","ap":"${this.px(st, avg)}","X":"FILLED","l":"${this.qty(st, q)}","z":"${this.qty(st, q)}","T":${E - 1}}}}`;
  }

  /**
   * A Binance `depthUpdate` (`@depth@100ms`) for the first symbol: 3–25 levels changed near the top
   * (most within 20 ticks of it), sizes in lots, about one in five a delete (qty 0); ids chained by `pu`.
   */
  depth(atMs = this.nowMs): string {
    const st = this.syms[0]!;
    this.move(st);
    const E = Math.floor(atMs);
    const n = 3 + Math.floor(this.random() * 23);
    const bids: string[] = [];
    const asks: string[] = [];
    for (let k = 0; k < n; k++) {
      const bid = this.random() < 0.5;
      const away = Math.floor(-Math.log(1 - this.random()) * 6);
      const ticks = bid ? st.bidTicks - away : st.bidTicks + st.spreadTicks + away;
      const del = st.levels.has(ticks) && this.random() < 0.2;
      const lots = del ? 0 : this.lots() * (1 + away);
      if (del) st.levels.delete(ticks);
      else st.levels.set(ticks, lots);
      (bid ? bids : asks).push(`["${this.px(st, ticks)}","${this.qty(st, lots)}"]`);
    }
    const pu = st.updateId;
    const U = pu + 1 + Math.floor(this.random() * 50);
    st.updateId = U + Math.floor(this.random() * 400);
    return `{"stream":"${st.lower}@depth@100ms","data":{"e":"depthUpdate","E":${E},"T":${E - 1},"s":"${st.spec.symbol}","U":${U},"u":${st.updateId},"pu":${pu},"b":[${bids.join(",")}],"a":[${asks.join(",")}]}}`;
  }
}
