/**
 * Scope: the `liquidation` stream end to end, all three venues against the simulator (issue 11):
 * every liquidation the simulator sent for a configured symbol — generated and injected on demand —
 * is one row in the Parquet files with the documented side (the liquidation ORDER's side; Bybit's
 * position side converted), price, quantity and times, read back with DuckDB. OKX's all-swaps
 * feed: items of other swaps (listed but not configured, unlisted USDT swaps, coin- and
 * USDC-margined swaps) are counted in filtered_events_total, never recorded and never errors.
 * Liquidations raise no first-data alarm, but a refused subscription is still rejected.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { simulator, type DisposableSimulator } from "../helpers/sim.ts";
import { suite } from "../helpers/suite.ts";
import { baseEnv, spawnCollector, type CollectorProcess, simVenues } from "../helpers/collector.ts";
import type { MetricsBody } from "../../src/state/snapshot.ts";
import { query, streamGlob } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
/** Unknown to the simulator: Binance acknowledges it and stays silent, Bybit and OKX refuse it. */
const UNKNOWN = "FOOUSDT";
const INST = new Set(SYMBOLS.map((s) => `${s.slice(0, -4)}-USDT-SWAP`));
const res = suite();
const dir = res.use(tmpDir());
let sim: DisposableSimulator;
let col: CollectorProcess;
let m: MetricsBody;
let prom: string;
let exitCode: number;

type Liq = [
  exchange: string,
  symbol: string,
  side: string,
  price: number | null,
  avg: number | null,
  qty: number,
  orig: number | null,
  status: string | null,
  tsTrade: number | null,
  last: number | null,
  posSide: string | null,
  bkLoss: number | null,
];

/** What the simulator sent, per the venues' documented mapping; `others` = OKX items of swaps not configured. */
function sentLiquidations(): { rows: Liq[]; others: number } {
  const rows: Liq[] = [];
  let others = 0;
  for (const f of sim.sent()) {
    if (!/forceOrder|allLiquidation|liquidation-orders/.test(f.text)) continue; // cheap: most frames are not liquidations
    const j = JSON.parse(f.text);
    if (f.venue === "binance" && j.data?.e === "forceOrder") {
      const o = j.data.o;
      rows.push(["binance", o.s, o.S === "SELL" ? "sell" : "buy", Number(o.p), Number(o.ap), Number(o.z), Number(o.q), o.X, o.T, Number(o.l), null, null]);
    } else if (f.venue === "bybit" && String(j.topic).startsWith("allLiquidation.")) {
      // Bybit's S is the position's side: Buy = a long was liquidated = a sell order.
      for (const d of j.data)
        rows.push([
          "bybit",
          d.s,
          d.S === "Buy" ? "sell" : "buy",
          Number(d.p),
          null,
          Number(d.v),
          null,
          null,
          d.T,
          null,
          d.S === "Buy" ? "long" : "short",
          null,
        ]);
    } else if (f.venue === "okx" && j.arg?.channel === "liquidation-orders") {
      for (const item of j.data) {
        if (!INST.has(item.instId)) {
          others += item.details.length;
          continue;
        }
        for (const d of item.details)
          rows.push([
            "okx",
            item.instId.replace("-USDT-SWAP", "USDT"),
            d.side,
            Number(d.bkPx),
            null,
            Number(d.sz),
            null,
            null,
            Number(d.ts),
            null,
            d.posSide,
            Number(d.bkLoss),
          ]);
      }
    }
  }
  return { rows, others };
}

const sentBy = (ex: string) => sentLiquidations().rows.filter((r) => r[0] === ex).length;

beforeAll(async () => {
  sim = res.use(simulator({ rate: 1500, record: true, liquidationIntervalMs: 100 }));
  col = spawnCollector(
    [],
    baseEnv({
      ...simVenues(sim.url),
      DATA_DIR: dir.path,
      SYMBOLS: [...SYMBOLS, UNKNOWN].join(","),
      FLUSH_INTERVAL: "1",
      MIN_FLUSH_GAP_SECONDS: "0",
      SUBSCRIPTION_DEADLINE_SECONDS: "2",
    }),
  );
  res.use(col);
  await col.waitForLog("status_api_start");
  await waitFor(
    "liquidations from every venue and other swaps on the OKX feed",
    () => ["binance", "bybit", "okx"].every((ex) => sentBy(ex) >= 15) && sentLiquidations().others >= 10,
    30_000,
    250,
  );
  // On demand, with a known side: a long closed on each venue, and OKX items the collector must not record.
  for (const v of ["binance", "bybit", "okx"] as const) expect(sim.injectLiquidation(v, "BTCUSDT", "sell")).toBe(1);
  expect(sim.injectLiquidation("okx", "BTC-USD-SWAP", "buy")).toBe(1); // coin-margined: set aside by the parser
  expect(sim.injectLiquidation("okx", "XRPUSDT", "buy")).toBe(1); // a listed swap that is not configured
  await waitFor(
    "the unknown symbol's silent Binance streams reported",
    async () => (await col.get("/metrics")).silent_subscriptions.some((s: any) => s.symbol === UNKNOWN && s.stream === "bbo"),
    15_000,
  );
  sim.pause();
  const want = Object.entries(sim.stats().rows)
    .filter(([k]) => SYMBOLS.includes(k.split("|")[2]!))
    .reduce((a, [, n]) => a + n, 0);
  const others = sentLiquidations().others;
  await waitFor(
    "collector received every row and counted every other swap",
    async () => {
      const x = await col.get("/metrics");
      return x.total_events === want && x.filtered_events_total.okx?.liquidation === others;
    },
    15_000,
  );
  m = await col.get("/metrics");
  prom = await col.get("/metrics/prometheus");
  exitCode = await col.stop("SIGTERM");
}, 90_000);

describe("liquidation stream, end to end", () => {
  test("every liquidation sent for a configured symbol is one row, with the documented side and every mapped field", async () => {
    expect(exitCode).toBe(0);
    const { rows: want } = sentLiquidations();
    for (const ex of ["binance", "bybit", "okx"]) {
      const got = await query(
        `select exchange, symbol, side, price, avg_price, qty, orig_qty, status, ts_trade_ms, last_qty, pos_side, bankruptcy_loss from ${streamGlob(dir.path, ex, "liquidation")}`,
      );
      const exp = want.filter((r) => r[0] === ex);
      expect(exp.length).toBeGreaterThanOrEqual(15);
      const canon = (rs: unknown[][]) => rs.map((r) => JSON.stringify(r)).sort();
      expect({ ex, rows: canon(got.map((r) => Object.values(r))) }).toEqual({ ex, rows: canon(exp) });
      expect(m.events_total_by_exchange[ex]?.liquidation).toBe(exp.length);
    }
    // Both sides occur, and the injected long closures are sells everywhere (Bybit sent them as "Buy").
    const sides = await query(
      `select exchange, side, count(*) n from read_parquet('${dir.path}/v1/*/liquidation/*/*/*.parquet', hive_partitioning = true) group by all order by all`,
    );
    expect(sides.map((r) => `${r.exchange}|${r.side}`)).toEqual(["binance|buy", "binance|sell", "bybit|buy", "bybit|sell", "okx|buy", "okx|sell"]);
    const bybitRaw = sim
      .sent()
      .filter((f) => f.venue === "bybit" && f.text.includes('"allLiquidation.'))
      .map((f) => JSON.parse(f.text).data[0].S);
    expect(new Set(bybitRaw)).toEqual(new Set(["Buy", "Sell"]));
  });

  test("files: one per (exchange, liquidation, symbol) partition, only configured symbols, transport columns set", async () => {
    const parts = await query(
      `select distinct exchange, symbol from read_parquet('${dir.path}/v1/*/liquidation/*/*/*.parquet', hive_partitioning = true) order by all`,
    );
    expect(parts.map((p) => `${p.exchange}|${p.symbol}`)).toEqual(["binance", "bybit", "okx"].flatMap((ex) => [...SYMBOLS].sort().map((s) => `${ex}|${s}`)));
    const [c] = await query(
      `select count(*) n, count(distinct (conn_id, recv_seq)) d, min(ts_recv_us) lo, count(ts_event_ms) e from read_parquet('${dir.path}/v1/binance/liquidation/*/*/*.parquet')`,
    );
    expect(c!.d).toBe(c!.n); // Binance: one liquidation per frame
    expect(c!.e).toBe(c!.n);
    expect(c!.lo as number).toBeGreaterThan(1_700_000_000_000_000);
  });

  test("OKX other swaps: counted in filtered_events_total (/metrics and Prometheus), not recorded, not parse errors", async () => {
    const { others } = sentLiquidations();
    expect(others).toBeGreaterThanOrEqual(12);
    expect(m.filtered_events_total).toEqual({ binance: { liquidation: 0 }, bybit: { liquidation: 0 }, okx: { liquidation: others } });
    expect(prom).toContain(`quantlab_collector_filtered_events_total{exchange="okx",stream="liquidation"} ${others}\n`);
    expect(m.parse_errors_total).toBe(0);
    expect(m.dropped_events_total).toBe(0);
  });

  test("no first-data alarm for liquidations; a refused liquidation subscription is still an error", async () => {
    const silent = m.silent_subscriptions as Array<{ exchange: string; stream: string; symbol: string }>;
    // Binance acknowledged FOOUSDT and sends nothing: its cadenced streams are reported, its liquidations never.
    expect(silent.filter((s) => s.exchange === "binance" && s.symbol === UNKNOWN).map((s) => s.stream)).toEqual(expect.arrayContaining(["bbo", "trade"]));
    expect(silent.filter((s) => s.stream === "liquidation")).toEqual([]);
    expect(col.logs.filter((l) => l.event === "subscription_silent" && l.stream === "liquidation")).toEqual([]);
    // Bybit refuses the unknown symbol's whole request, allLiquidation included.
    const bybit = (m.rejected_subscriptions as Array<{ exchange: string; topics: string[] }>).filter((r) => r.exchange === "bybit");
    expect(bybit.flatMap((r) => r.topics)).toContain(`allLiquidation.${UNKNOWN}`);
    // OKX's one liquidation-orders subscription (by instType) is not affected by the unknown instrument.
    expect(col.logs.filter((l) => l.event === "subscribe_error" && JSON.stringify(l.topics).includes("liquidation"))).toEqual([]);
  });

  test("the connection stream lists the liquidation subscriptions of each socket", async () => {
    const rows = await query(
      `select exchange, conn_id, streams from read_parquet('${dir.path}/v1/*/connection/*/*/*.parquet', hive_partitioning = true) where event = 'connect' order by all`,
    );
    const withLiq = rows.filter((r) => String(r.streams).includes("liquidation:BTCUSDT")).map((r) => String(r.conn_id).split("-").slice(0, 2).join("-"));
    expect(withLiq).toEqual(["binance-market", "bybit-linear", "okx-public"]);
  });
});
