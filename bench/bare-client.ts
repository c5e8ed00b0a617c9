/**
 * The bare Bun WebSocket client: the same connections the collector opens, JSON.parse per frame
 * and nothing else. Prints `{"frames":N,"t_ms":…,"lag_p99_ms":…}` every 250 ms on stdout (lag: how
 * late a 20 ms timer fires, p99 of the last 60 s, as the collector measures its own). Used by
 * bench/limit.ts.
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
const lags: number[] = [];
let expect = performance.now() + 20;
setInterval(() => {
  const now = performance.now();
  lags.push(Math.max(0, now - expect));
  if (lags.length > 3000) lags.shift();
  expect = now + 20;
}, 20);
setInterval(() => {
  const sorted = [...lags].sort((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? 0;
  console.log(
    JSON.stringify({
      frames,
      t_ms: performance.now(),
      sink,
      lag_p99_ms: Math.round(p99 * 100) / 100,
      lag_max_ms: Math.round((sorted.at(-1) ?? 0) * 100) / 100,
    }),
  );
}, 250);
