/**
 * @module sim/series — the market model behind every simulated value (docs/simulator.md "What the
 * data looks like"): per symbol a best bid on the instrument's tick grid that mostly stays put and
 * sometimes moves a tick (rarely a few), a spread of 1 tick (sometimes 2), sizes on the lot grid
 * with a heavy tail, trades in bursts (one taker order filling several resting orders, walking the
 * book a tick at a time), a mark price a few hundredths of a tick off the mid, a funding rate and an
 * open interest that drift slowly. Venue simulators (and the benches, bench/series.ts) draw from it
 * and print the values in each venue's own frame format; ids stay with the venue (sim/types Market).
 *
 * Deterministic for a seed: every draw comes from one xorshift32 source.
 */

/** Where the model's draws come from (sim/types Market is one, seeded). */
export interface RandomSource {
  /** Uniform in [0, 1). */
  random(): number;
}

/** xorshift32: reproducible draws for a given seed. */
export class Rng implements RandomSource {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }

  random(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
}

export interface InstrumentSpec {
  symbol: string;
  /** Starting price. */
  price: number;
  /** Price tick and quantity lot in the base coin (Binance USDⓈ-M exchangeInfo PRICE_FILTER / LOT_SIZE, rounded). */
  tick: number;
  lot: number;
  /** OKX contract value in the base coin (OKX sizes are contracts, lot 1). */
  ctVal: number;
}

/** The symbols the simulator and the benches list, with their venues' grids. */
export const INSTRUMENTS: readonly InstrumentSpec[] = [
  { symbol: "BTCUSDT", price: 97_000, tick: 0.1, lot: 0.001, ctVal: 0.01 },
  { symbol: "ETHUSDT", price: 3_500, tick: 0.01, lot: 0.001, ctVal: 0.1 },
  { symbol: "BNBUSDT", price: 650, tick: 0.01, lot: 0.01, ctVal: 0.01 },
  { symbol: "SOLUSDT", price: 180, tick: 0.01, lot: 0.01, ctVal: 1 },
  { symbol: "XRPUSDT", price: 2.2, tick: 0.0001, lot: 0.1, ctVal: 100 },
  { symbol: "DOGEUSDT", price: 0.32, tick: 0.00001, lot: 1, ctVal: 1000 },
  { symbol: "ADAUSDT", price: 0.9, tick: 0.0001, lot: 1, ctVal: 100 },
  { symbol: "AVAXUSDT", price: 35, tick: 0.001, lot: 1, ctVal: 1 },
  { symbol: "LINKUSDT", price: 20, tick: 0.001, lot: 0.01, ctVal: 1 },
  { symbol: "LTCUSDT", price: 100, tick: 0.01, lot: 0.001, ctVal: 1 },
  { symbol: "1000PEPEUSDT", price: 0.012, tick: 0.0000001, lot: 1, ctVal: 10 },
  { symbol: "SUIUSDT", price: 3.5, tick: 0.0001, lot: 0.1, ctVal: 1 },
];

const BY_SYMBOL = new Map(INSTRUMENTS.map((s) => [s.symbol, s]));

/** Decimals of a grid step (0.001 → 3). */
export const decimals = (step: number) => Math.max(0, Math.round(-Math.log10(step)));

/**
 * A listed symbol's spec; any other symbol gets a stable made-up one (price 1–100 from its name,
 * 4–5 significant digits of tick, lot 0.1), so every symbol a test lists has a grid.
 */
export function instrumentSpec(symbol: string): InstrumentSpec {
  const known = BY_SYMBOL.get(symbol);
  if (known) return known;
  let h = 2166136261;
  for (let i = 0; i < symbol.length; i++) h = Math.imul(h ^ symbol.charCodeAt(i), 16777619) >>> 0;
  const price = 1 + (h % 9900) / 100;
  return { symbol, price, tick: price >= 10 ? 0.001 : 0.0001, lot: 0.1, ctVal: 1 };
}

/** One fill of a burst: a price in ticks and a size in lots, the taker's side for the whole burst. */
export interface Fill {
  ticks: number;
  lots: number;
  /** The taker sold (hit the bid): Binance `m` true, Bybit `S` "Sell". */
  sell: boolean;
}

/** A liquidation order: an IOC through the book, filled at a nearby average price. */
export interface LiquidationOrder {
  sell: boolean;
  lots: number;
  avgTicks: number;
  limitTicks: number;
}

/** One symbol's state. Prices are integers in ticks; text is printed with the grid's decimals. */
export class Instrument {
  readonly pxDec: number;
  readonly qtyDec: number;
  /** Best bid in ticks; the ask is `bidTicks + spreadTicks`. */
  bidTicks: number;
  spreadTicks = 1;
  /** Price of the last trade (ticks). */
  lastTicks: number;
  /** Mark minus mid, and mark minus index, in hundredths of a tick. */
  private premium = 0;
  private basis = 0;
  /** Funding rate in units of 1e-8 (0.0001 = 10,000). */
  private fundingE8 = 10_000;
  /** Open interest in OKX contracts (`ctVal` of the base coin each), about $2bn to start. */
  oiContracts: number;
  /** Widest open-interest step (contracts): about $600k, 0.03 % of it. */
  private readonly oiStep: number;

  constructor(
    readonly spec: InstrumentSpec,
    private readonly rng: RandomSource,
  ) {
    this.pxDec = decimals(spec.tick);
    this.qtyDec = decimals(spec.lot);
    this.bidTicks = Math.round(spec.price / spec.tick);
    this.lastTicks = this.bidTicks;
    this.oiContracts = Math.max(1, Math.round(2e9 / spec.price / spec.ctVal));
    this.oiStep = Math.max(2, Math.round(582_000 / (spec.price * spec.ctVal)));
  }

  get askTicks(): number {
    return this.bidTicks + this.spreadTicks;
  }

  /** Mid price (a half tick when the spread is odd). */
  mid(): number {
    return (this.bidTicks + this.spreadTicks / 2) * this.spec.tick;
  }

  /** Price text of a number of ticks, with the tick's decimals. */
  px(ticks: number): string {
    return (ticks * this.spec.tick).toFixed(this.pxDec);
  }

  /** Quantity text of a number of lots, with the lot's decimals. */
  qty(lots: number): string {
    return (lots * this.spec.lot).toFixed(this.qtyDec);
  }

  /** Lots with a heavy tail: mostly 1–10 lots, sometimes hundreds. */
  lots(): number {
    const u = this.rng.random();
    return 1 + Math.floor(Math.exp(-Math.log(1 - u) * 0.9 + this.rng.random() * 1.5) - 1);
  }

  /** The book moves: mostly nothing, sometimes a tick, rarely a few; the spread is 1 tick, sometimes 2. */
  move(): void {
    const u = this.rng.random();
    if (u < 0.08) this.bidTicks += this.rng.random() < 0.5 ? -1 : 1;
    else if (u < 0.085) this.bidTicks += Math.round((this.rng.random() - 0.5) * 8);
    if (this.bidTicks < 10) this.bidTicks = 10;
    this.spreadTicks = this.rng.random() < 0.9 ? 1 : 2;
  }

  /**
   * A burst: one taker order filling 1 (60 %) or 2–12 resting orders at the touch, walking a tick
   * away now and then. Lazy: each fill is drawn when taken, so a caller may stop early.
   */
  *burst(): Generator<Fill, void, undefined> {
    const n = this.rng.random() < 0.6 ? 1 : 2 + Math.floor(this.rng.random() * 11);
    const sell = this.rng.random() < 0.5;
    let ticks = sell ? this.bidTicks : this.askTicks;
    for (let k = 0; k < n; k++) {
      if (k > 0 && this.rng.random() < 0.3) ticks += sell ? -1 : 1;
      this.lastTicks = ticks;
      yield { ticks, lots: this.lots(), sell };
    }
  }

  /** A liquidation: moves the market, then an IOC order 3× the usual size, average fill near the touch, limit 20–60 ticks through it. */
  liquidation(side?: "buy" | "sell"): LiquidationOrder {
    this.move();
    const drawn = this.rng.random() < 0.5;
    const sell = side ? side === "sell" : drawn;
    const lots = this.lots() * 3;
    const avgTicks = sell ? this.bidTicks - Math.floor(this.rng.random() * 4) : this.askTicks + Math.floor(this.rng.random() * 4);
    const limitTicks = sell ? avgTicks - 20 - Math.floor(this.rng.random() * 40) : avgTicks + 20 + Math.floor(this.rng.random() * 40);
    return { sell, lots, avgTicks, limitTicks };
  }

  /** Open interest moves by up to ±$300k (BTCUSDT: ±300 contracts), never below 1 contract. */
  stepOpenInterest(): number {
    this.oiContracts = Math.max(1, this.oiContracts + Math.round((this.rng.random() - 0.5) * this.oiStep));
    return this.oiContracts;
  }

  /** Premium and basis drift by a few hundredths of a tick, within ±3 ticks; the funding rate by a few 1e-8, within ±0.0075. */
  stepMark(): void {
    this.premium = clamp(this.premium + Math.round((this.rng.random() - 0.5) * 10), -300, 300);
    this.basis = clamp(this.basis + Math.round((this.rng.random() - 0.5) * 10), -300, 300);
    if (this.rng.random() < 0.3) this.fundingE8 = clamp(this.fundingE8 + Math.round((this.rng.random() - 0.5) * 40), -750_000, 750_000);
  }

  /** Mark price on a grid of 1/100 tick (print with `pxDec + 2` decimals). */
  mark(): number {
    return ((this.bidTicks * 100 + this.spreadTicks * 50 + this.premium) * this.spec.tick) / 100;
  }

  /** Index price, `basis` hundredths of a tick under the mark. */
  index(): number {
    return ((this.bidTicks * 100 + this.spreadTicks * 50 + this.premium - this.basis) * this.spec.tick) / 100;
  }

  /** Price text on the 1/100-tick grid of mark and index. */
  fine(price: number): string {
    return price.toFixed(this.pxDec + 2);
  }

  /** Funding rate (a multiple of 1e-8). */
  funding(): number {
    return this.fundingE8 / 1e8;
  }
}

/**
 * A symbol's trades as a venue prints them one fill at a time: the fills of one burst, then (moving
 * the market) the next burst. `more()` is true while the current burst has fills left, so a venue
 * simulator sends them back to back, as a venue sends the fills of one taker order.
 */
export class TradeTape {
  private burst: Iterator<Fill, void> | null = null;
  private pending: Fill | null = null;

  constructor(private readonly inst: Instrument) {}

  next(): Fill {
    if (!this.pending) {
      this.inst.move();
      this.burst = this.inst.burst();
      this.pending = this.burst.next().value as Fill;
    }
    const fill = this.pending;
    const r = this.burst!.next();
    this.pending = r.done ? null : r.value;
    return fill;
  }

  /** The next fill of the current burst, if any (not taken). */
  peek(): Fill | null {
    return this.pending;
  }

  more(): boolean {
    return this.pending !== null;
  }
}

const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);
