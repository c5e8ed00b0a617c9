/**
 * The bare Bun WebSocket client: the same connections the collector opens, JSON.parse per frame
 * and nothing else. Prints `{"frames":N,"t_ms":…}` every 250 ms on stdout. Used by bench/limit.ts.
 *
 *   bun bench/bare-client.ts ws://127.0.0.1:PORT/public/stream?streams=… [more urls…]
 */
let frames = 0;
let sink = 0;
for (const url of process.argv.slice(2)) {
  const ws = new WebSocket(url);
  ws.onmessage = (ev) => {
    const v = JSON.parse(ev.data as string);
    if (v.data) sink++;
    frames++;
  };
  ws.onclose = () => process.exit(0);
}
setInterval(() => console.log(JSON.stringify({ frames, t_ms: performance.now(), sink })), 250);
