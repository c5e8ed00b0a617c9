/**
 * @module sim/control — fault injection over HTTP on the simulator's own port, so users of
 * `quantlab-collector simulate` can break things with curl (docs/simulator.md):
 *   POST /_sim/fault?kind=kill&venue=binance           drop every socket (after sent frames arrive)
 *   POST /_sim/fault?kind=dead&venue=okx[&new=accept]  dead peer: silent open sockets, 503 on new ones (or accepted)
 *   POST /_sim/fault?kind=reject&venue=binance&status=429&retry_after=30
 *   POST /_sim/fault?kind=heal[&venue=okx]             end dead/reject
 *   POST /_sim/fault?kind=notice&venue=okx             OKX notice 64008, then a drop later
 *   POST /_sim/fault?kind=skip&venue=binance&symbol=BTCUSDT&n=5   next trade skips 5 ids
 *   POST /_sim/fault?kind=liquidation&venue=okx&symbol=BTCUSDT[&side=sell]   one liquidation now
 *   POST /_sim/fault?kind=frame&venue=bybit  (body)    send the body as a raw text frame (malformed input)
 *   POST /_sim/fault?kind=pause | kind=resume          stop / restart data generation
 *   GET  /_sim/stats                                   frames, rows, connections, control counters
 *   GET  /_sim/book?venue=okx&symbol=BTCUSDT            the venue's true order book {update_id, bids, asks}
 *   POST /_sim/fault?kind=book_skip&venue=okx&symbol=BTCUSDT&n=1   n book updates applied, never sent (a gap)
 *   POST /_sim/fault?kind=book_reset&venue=bybit&symbol=BTCUSDT    Bybit u=1 snapshot / OKX seqId < prevSeqId
 *   POST /_sim/fault?kind=rest_429&n=3[&retry_after=1]  the next n REST depth answers are 429
 *   POST /_sim/fault?kind=rest_slow&ms=2000             every REST depth answer waits ms (0 = off)
 */
import type { ExchangeId } from "../schema/rows.ts";
import type { Simulator } from "./server.ts";

const VENUES: readonly ExchangeId[] = ["binance", "bybit", "okx"];

const json = (body: unknown, status = 200) => Response.json(body, { status });

export async function handleControl(req: Request, url: URL, sim: Simulator): Promise<Response> {
  if (url.pathname === "/_sim/stats" && req.method === "GET") return json(sim.stats());
  if (url.pathname === "/_sim/book" && req.method === "GET") {
    const v = url.searchParams.get("venue") as ExchangeId | null;
    const symbol = url.searchParams.get("symbol") ?? "";
    if (!v || !VENUES.includes(v) || symbol === "") return json({ error: "GET /_sim/book needs venue= and symbol=" }, 400);
    const book = sim.book(v, symbol);
    return book ? json(book) : json({ error: "no book for this venue and symbol (not subscribed yet)" }, 404);
  }
  if (url.pathname !== "/_sim/fault") return json({ error: "unknown control path; see docs/simulator.md" }, 404);
  if (req.method !== "POST") return json({ error: "use POST" }, 405);
  const q = url.searchParams;
  const kind = q.get("kind") ?? "";
  const venueParam = q.get("venue");
  if (venueParam !== null && !VENUES.includes(venueParam as ExchangeId)) return json({ error: `venue must be one of ${VENUES.join(",")}` }, 400);
  const venue = (venueParam ?? undefined) as ExchangeId | undefined;
  const need = (): ExchangeId => {
    if (!venue) throw new BadRequest(`kind=${kind} needs venue=`);
    return venue;
  };
  const int = (name: string, min: number, max: number, dflt?: number): number => {
    const raw = q.get(name);
    const n = raw === null ? dflt : Number(raw);
    if (n === undefined || !Number.isInteger(n) || n < min || n > max) throw new BadRequest(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
  try {
    switch (kind) {
      case "kill":
        return json({ ok: true, kind, sockets: await sim.killConnections(venue) });
      case "dead":
        return json({ ok: true, kind, sockets: sim.deadPeer(need(), { acceptNew: q.get("new") === "accept" }) });
      case "reject": {
        const v = need();
        sim.rejectHandshakes(v, int("status", 400, 599, 429), int("retry_after", 0, 86_400, 60));
        return json({ ok: true, kind, venue: v });
      }
      case "heal":
        sim.heal(venue);
        return json({ ok: true, kind });
      case "notice":
        return json({ ok: true, kind, sockets: sim.notice(need()) });
      case "skip": {
        const symbol = q.get("symbol");
        if (!symbol) throw new BadRequest("kind=skip needs symbol=");
        const ok = sim.skipTradeIds(need(), symbol, int("n", 1, 1_000_000, 1));
        return ok ? json({ ok, kind }) : json({ error: "this venue's trade ids are not contiguous" }, 400);
      }
      case "liquidation": {
        const symbol = q.get("symbol");
        if (!symbol || !/^[A-Za-z0-9-]{1,40}$/.test(symbol)) throw new BadRequest("kind=liquidation needs symbol= (unified, or an OKX instId)");
        const side = q.get("side");
        if (side !== null && side !== "buy" && side !== "sell") throw new BadRequest("side must be buy or sell (the liquidation order's side)");
        return json({ ok: true, kind, sockets: sim.injectLiquidation(need(), symbol, side ?? undefined) });
      }
      case "frame": {
        const text = await req.text();
        if (text === "") throw new BadRequest("kind=frame needs the frame text as the request body");
        return json({ ok: true, kind, sockets: sim.inject(need(), text) });
      }
      case "book_skip":
      case "book_reset": {
        const symbol = q.get("symbol");
        if (!symbol) throw new BadRequest(`kind=${kind} needs symbol=`);
        const ok = sim.bookFault(need(), symbol, kind === "book_skip" ? "skip" : "reset", int("n", 1, 1_000_000, 1));
        return ok ? json({ ok, kind }) : json({ error: "this venue has no such book fault" }, 400);
      }
      case "rest_429":
        sim.restFault({ status429: int("n", 0, 1_000_000, 1), retryAfterSeconds: int("retry_after", 0, 3600, 1) });
        return json({ ok: true, kind });
      case "rest_slow":
        sim.restFault({ slowMs: int("ms", 0, 600_000, 1000) });
        return json({ ok: true, kind });
      case "pause":
        sim.pause();
        return json({ ok: true, kind });
      case "resume":
        sim.resume();
        return json({ ok: true, kind });
      default:
        return json(
          {
            error: "kind must be one of kill, dead, reject, heal, notice, skip, liquidation, frame, pause, resume, book_skip, book_reset, rest_429, rest_slow",
          },
          400,
        );
    }
  } catch (err) {
    if (err instanceof BadRequest) return json({ error: err.message }, 400);
    throw err;
  }
}

class BadRequest extends Error {}
