/**
 * Scope: the simulator's HTTP fault endpoint (docs/simulator.md), as a user of
 * `quantlab-collector simulate` would drive it with curl; raw WebSocket clients observe the effect.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { startSimulator } from "../../src/sim/server.ts";
import { waitFor } from "../helpers/wait.ts";

const sim = startSimulator({ rate: 200, symbols: ["BTCUSDT"], exchanges: ["binance", "okx"] });
const base = `http://127.0.0.1:${sim.port}`;
afterAll(() => sim.stop());

const fault = async (q: string) => {
  const res = await fetch(`${base}/_sim/fault?${q}`, { method: "POST" });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

function client(path: string) {
  const ws = new WebSocket(`${sim.url}${path}`);
  const got = { frames: [] as string[], closed: null as number | null, error: "" };
  ws.onmessage = (ev) => got.frames.push(String(ev.data));
  ws.onclose = (ev) => (got.closed = ev.code);
  ws.onerror = (ev) => (got.error = (ev as ErrorEvent).message);
  return { ws, got };
}

describe("POST /_sim/fault", () => {
  test("kill, dead, reject, heal, skip; bad requests are 400 with a reason", async () => {
    const a = client("/public/stream?streams=btcusdt@trade");
    await waitFor("data", () => a.got.frames.length > 3);
    expect(await fault("kind=kill&venue=binance")).toEqual({ status: 200, body: { ok: true, kind: "kill", sockets: 1 } });
    await waitFor("closed", () => a.got.closed === 1006);

    const b = client("/public/stream?streams=btcusdt@trade");
    await waitFor("data", () => b.got.frames.length > 3);
    expect((await fault("kind=dead&venue=binance")).body).toMatchObject({ ok: true, sockets: 1 });
    await Bun.sleep(50);
    const n = b.got.frames.length;
    await Bun.sleep(300);
    expect(b.got.frames.length).toBe(n); // silent, and still open
    expect(b.got.closed).toBeNull();
    const c = client("/public/stream?streams=btcusdt@trade");
    await waitFor("refused while dead", () => c.got.closed !== null);
    expect(c.got.error).toContain("Expected 101 status code: 503");

    expect((await fault("kind=reject&venue=okx&status=418&retry_after=5")).status).toBe(200);
    const d = client("/ws/v5/public");
    await waitFor("refused with 418", () => d.got.closed !== null);
    expect(d.got.error).toContain("Expected 101 status code: 418");
    expect((await fault("kind=heal")).status).toBe(200);
    await waitFor("data again on the dead socket", () => b.got.frames.length > n);
    b.ws.close();

    const t = client("/public/stream?streams=btcusdt@trade");
    await waitFor("data", () => t.got.frames.length > 2);
    expect((await fault("kind=skip&venue=binance&symbol=BTCUSDT&n=4")).status).toBe(200);
    const n0 = t.got.frames.length;
    const ids = () => t.got.frames.map((f) => JSON.parse(f).data.t as number);
    await waitFor("more trades", () => t.got.frames.length > n0 + 5);
    t.ws.onmessage = null;
    const jumps = ids()
      .slice(1)
      .map((id, i) => id - ids()[i]!);
    expect(jumps.filter((j) => j !== 1)).toEqual([5]);
    t.ws.close();

    const f = client("/ws/v5/public");
    await waitFor("open", () => f.ws.readyState === WebSocket.OPEN);
    const res = await fetch(`${base}/_sim/fault?kind=frame&venue=okx`, { method: "POST", body: "not json" });
    expect(await res.json()).toEqual({ ok: true, kind: "frame", sockets: 1 });
    await waitFor("raw frame received", () => f.got.frames.includes("not json"));
    f.ws.close();

    expect((await fault("kind=skip&venue=bybit&symbol=BTCUSDT")).status).toBe(400);
    expect((await fault("kind=explode")).status).toBe(400);
    expect((await fault("kind=dead")).body).toEqual({ error: "kind=dead needs venue=" });
    expect((await fault("kind=kill&venue=kraken")).status).toBe(400);
    expect((await fetch(`${base}/_sim/fault?kind=kill`)).status).toBe(405);
    const stats = (await (await fetch(`${base}/_sim/stats`)).json()) as { control: Record<string, number> };
    expect(stats.control).toMatchObject({ "binance|dead_peer": 1, "okx|rejected_418": 1 });
  }, 15_000);

  test("liquidation: one on demand, in the venue's format, also while generation is paused", async () => {
    const quiet = startSimulator({ rate: 200, symbols: ["BTCUSDT"] });
    try {
      quiet.pause();
      const qbase = `http://127.0.0.1:${quiet.port}`;
      const post = async (q: string) => (await (await fetch(`${qbase}/_sim/fault?${q}`, { method: "POST" })).json()) as Record<string, any>;
      const open = (path: string, subscribe?: unknown) => {
        const ws = new WebSocket(`${quiet.url}${path}`);
        const frames: any[] = [];
        ws.onmessage = (ev) => frames.push(String(ev.data) === "pong" ? "pong" : JSON.parse(String(ev.data)));
        if (subscribe) ws.onopen = () => ws.send(JSON.stringify(subscribe));
        return { ws, frames };
      };
      const b = open("/market/stream?streams=btcusdt@forceOrder");
      const y = open("/v5/public/linear", { op: "subscribe", args: ["allLiquidation.BTCUSDT"], req_id: "1" });
      const o = open("/ws/v5/public", { op: "subscribe", args: [{ channel: "liquidation-orders", instType: "SWAP" }] });
      await waitFor("open and subscribed", () => b.ws.readyState === WebSocket.OPEN && y.frames.length === 1 && o.frames.length === 1);
      expect(o.frames[0]).toMatchObject({ event: "subscribe", arg: { channel: "liquidation-orders", instType: "SWAP" } });
      expect(await post("kind=liquidation&venue=binance&symbol=BTCUSDT&side=sell")).toEqual({ ok: true, kind: "liquidation", sockets: 1 });
      expect(await post("kind=liquidation&venue=bybit&symbol=BTCUSDT&side=sell")).toMatchObject({ sockets: 1 });
      expect(await post("kind=liquidation&venue=okx&symbol=BTC-USD-SWAP&side=buy")).toMatchObject({ sockets: 1 });
      await waitFor("one liquidation each", () => b.frames.length === 1 && y.frames.length === 2 && o.frames.length === 2);
      expect(b.frames[0]).toMatchObject({ stream: "btcusdt@forceOrder", data: { e: "forceOrder", o: { s: "BTCUSDT", S: "SELL", X: "FILLED" } } });
      // Bybit states the position's side: a sell order closes a long, sent as "Buy".
      expect(y.frames[1]).toMatchObject({ topic: "allLiquidation.BTCUSDT", type: "snapshot", data: [{ s: "BTCUSDT", S: "Buy" }] });
      expect(o.frames[1]).toMatchObject({
        arg: { channel: "liquidation-orders", instType: "SWAP" },
        data: [{ instId: "BTC-USD-SWAP", details: [{ side: "buy" }] }],
      });
      // Only USDT swaps count as rows a collector could record.
      expect(quiet.stats().rows).toEqual({ "binance|liquidation|BTCUSDT": 1, "bybit|liquidation|BTCUSDT": 1 });
      expect((await post("kind=liquidation&venue=okx")).error).toStartWith("kind=liquidation needs symbol=");
      expect((await post("kind=liquidation&venue=okx&symbol=BTCUSDT&side=long")).error).toStartWith("side must be buy or sell");
      for (const c of [b, y, o]) c.ws.close();
    } finally {
      await quiet.stop();
    }
  }, 15_000);
});
