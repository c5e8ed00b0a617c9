/**
 * A fast replay sender for benchmarks, separate from the product simulator: it serves Binance's
 * combined-stream routes (`/public/stream?streams=…`, `/market/stream?streams=…`) on loopback and
 * sends pre-serialized frames (bench/series.ts) — paced at a given rate, or as fast as the reader
 * takes them (`"max"`: send until the socket reports backpressure, continue on `drain`). Nothing
 * is built per frame while sending, so the sender is not the ceiling it measures.
 *
 * /public sockets get the replay ring (bookTicker + trade frames, 1 row each); /market sockets get
 * one markPrice@1s frame per symbol per second (2 rows each), as the venue sends.
 */
import type { ServerWebSocket } from "bun";
import { SeriesGenerator } from "./series.ts";

export interface ReplaySender {
  /** ws://127.0.0.1:<port> — give it to the collector as BINANCE_WS_URL. */
  url: string;
  /** Frames/s over all /public sockets, or "max". */
  setRate(rate: number | "max"): void;
  pause(): void;
  resume(): void;
  /** Frames and rows handed to the sockets (not dropped by them) since start. */
  stats(): { frames: number; rows: number; dropped: number };
  stop(): Promise<void>;
}

interface Sock {
  route: "public" | "market";
  backpressured: boolean;
}

export function startReplaySender(o: { ring: string[]; gen: SeriesGenerator }): ReplaySender {
  const ring = o.ring;
  let pos = 0;
  let rate: number | "max" = 0;
  let paused = true;
  let frames = 0;
  let rows = 0;
  let dropped = 0;
  const publics = new Set<ServerWebSocket<Sock>>();
  const markets = new Set<ServerWebSocket<Sock>>();
  let credit = 0;
  let lastMs = performance.now();

  /** Sends up to n frames round-robin over the /public sockets; stops at backpressure. */
  function sendPublic(n: number): void {
    for (const ws of publics) {
      if (ws.data.backpressured) continue;
      let i = 0;
      for (; i < n; i++) {
        const r = ws.send(ring[pos]!);
        if (r === 0) {
          dropped++;
          ws.data.backpressured = true;
          break;
        }
        pos = pos + 1 === ring.length ? 0 : pos + 1;
        frames++;
        rows++;
        if (r === -1) {
          ws.data.backpressured = true;
          i++;
          break;
        }
      }
      n -= i;
      if (n <= 0) return;
    }
  }

  const pump = setInterval(() => {
    const now = performance.now();
    const dt = now - lastMs;
    lastMs = now;
    if (paused || publics.size === 0) return;
    if (rate === "max") {
      sendPublic(50_000);
      return;
    }
    credit = Math.min(credit + (dt * rate) / 1000, rate * 0.05); // at most 50 ms of catch-up
    const n = Math.floor(credit);
    credit -= n;
    sendPublic(n);
  }, 1);

  const marks = setInterval(() => {
    if (paused) return;
    const texts = o.gen.markPrices();
    for (const ws of markets)
      for (const t of texts)
        if (ws.send(t) !== 0) {
          frames++;
          rows += 2;
        }
  }, 1000);

  const server = Bun.serve<Sock>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const path = new URL(req.url).pathname;
      const route = path === "/public/stream" ? "public" : path === "/market/stream" ? "market" : null;
      if (!route) return new Response("not found", { status: 404 });
      return srv.upgrade(req, { data: { route, backpressured: false } }) ? undefined : new Response("upgrade failed", { status: 400 });
    },
    websocket: {
      // Large enough that a burst never trips the default limit; backpressure is reported by send().
      backpressureLimit: 16 * 1024 * 1024,
      perMessageDeflate: false,
      open(ws) {
        (ws.data.route === "public" ? publics : markets).add(ws);
      },
      drain(ws) {
        ws.data.backpressured = false;
        if (rate === "max" && !paused) sendPublic(50_000);
      },
      message() {},
      close(ws) {
        publics.delete(ws);
        markets.delete(ws);
      },
    },
  });

  return {
    url: `ws://127.0.0.1:${server.port}`,
    setRate(r) {
      rate = r;
      credit = 0;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      lastMs = performance.now();
      credit = 0;
    },
    stats: () => ({ frames, rows, dropped }),
    async stop() {
      clearInterval(pump);
      clearInterval(marks);
      for (const ws of [...publics, ...markets]) ws.close();
      await server.stop(true);
    },
  };
}
