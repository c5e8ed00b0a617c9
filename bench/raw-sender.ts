/**
 * A replay sender that costs (almost) nothing per frame, so that on a small machine the collector,
 * not the sender, is what saturates: a raw TCP server (Bun.listen) that answers the WebSocket
 * handshake itself (RFC 6455 §4.2.2) and then writes server frames that were framed once, up front,
 * into one buffer: sending n frames is one `write()` of a slice of that buffer, not n `ws.send()`
 * calls. Same routes, frames and interface as bench/replay-sender.ts (which uses Bun's WebSocket
 * server, one send per frame, and topped out near 200k frames/s on 2 shared cores beside the
 * collector). Client frames (close, pong) are read and ignored; no permessage-deflate.
 */
import { createHash } from "node:crypto";
import type { Socket } from "bun";
import type { ReplaySender } from "./replay-sender.ts";
import type { SeriesGenerator } from "./series.ts";

interface Conn {
  route: "public" | "market" | null;
  head: string;
  /** Bytes accepted for sending but not yet taken by the kernel. */
  pending: Uint8Array | null;
}

const enc = new TextEncoder();

/** One unmasked server text frame (FIN, opcode 1). */
function frameBytes(text: string): Uint8Array {
  const payload = enc.encode(text);
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + n);
  out[0] = 0x81;
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, head);
  return out;
}

export function startRawReplaySender(o: { ring: string[]; gen: SeriesGenerator }): ReplaySender {
  // The ring framed once: frame i is bytes [offsets[i], offsets[i + 1]).
  const framed = o.ring.map(frameBytes);
  const offsets = new Float64Array(framed.length + 1);
  for (let i = 0; i < framed.length; i++) offsets[i + 1] = offsets[i]! + framed[i]!.length;
  const all = new Uint8Array(offsets[framed.length]!);
  framed.forEach((f, i) => all.set(f, offsets[i]!));
  const ringLen = framed.length;

  let pos = 0;
  let rate: number | "max" = 0;
  let paused = true;
  let frames = 0;
  let rows = 0;
  let credit = 0;
  let lastMs = performance.now();
  const publics = new Set<Socket<Conn>>();
  const markets = new Set<Socket<Conn>>();

  /** Writes what it can; keeps the rest pending. Returns false while bytes are still pending. */
  function flush(s: Socket<Conn>): boolean {
    const p = s.data.pending;
    if (!p) return true;
    const w = s.write(p);
    if (w < 0) return false;
    s.data.pending = w >= p.length ? null : p.subarray(w);
    return s.data.pending === null;
  }

  function push(s: Socket<Conn>, bytes: Uint8Array): void {
    if (s.data.pending) {
      const both = new Uint8Array(s.data.pending.length + bytes.length);
      both.set(s.data.pending);
      both.set(bytes, s.data.pending.length);
      s.data.pending = both;
    } else s.data.pending = bytes;
    flush(s);
  }

  /** Up to n ring frames, round-robin over the /public sockets that have nothing pending. */
  function sendPublic(n: number): void {
    for (const s of publics) {
      if (n <= 0) return;
      if (!flush(s)) continue;
      const k = Math.min(n, ringLen - pos);
      push(s, all.subarray(offsets[pos]!, offsets[pos + k]!));
      pos = pos + k === ringLen ? 0 : pos + k;
      frames += k;
      rows += k;
      n -= k;
    }
  }

  const pump = setInterval(() => {
    const now = performance.now();
    const dt = now - lastMs;
    lastMs = now;
    if (paused || publics.size === 0) return;
    if (rate === "max") {
      sendPublic(20_000);
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
    for (const s of markets)
      for (const t of texts) {
        push(s, frameBytes(t));
        frames++;
        rows += 2;
      }
  }, 1000);

  const listener = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { route: null, head: "", pending: null };
      },
      data(s, chunk) {
        if (s.data.route !== null) return; // client frames (close, pong): ignored
        s.data.head += new TextDecoder().decode(chunk);
        const end = s.data.head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = s.data.head.slice(0, end);
        const path = (head.split(" ")[1] ?? "").split("?")[0];
        const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1];
        const route = path === "/public/stream" ? "public" : path === "/market/stream" ? "market" : null;
        if (!route || !key) {
          s.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
          s.end();
          return;
        }
        const accept = createHash("sha1")
          .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
          .digest("base64");
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        s.data.route = route;
        s.data.head = "";
        (route === "public" ? publics : markets).add(s);
      },
      drain(s) {
        if (flush(s) && rate === "max" && !paused && s.data.route === "public") sendPublic(20_000);
      },
      close(s) {
        publics.delete(s);
        markets.delete(s);
      },
      error(s) {
        publics.delete(s);
        markets.delete(s);
      },
    },
  });

  return {
    url: `ws://127.0.0.1:${listener.port}`,
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
    stats: () => ({ frames, rows, dropped: 0 }),
    async stop() {
      clearInterval(pump);
      clearInterval(marks);
      for (const s of [...publics, ...markets]) s.end();
      listener.stop(true);
    },
  };
}
