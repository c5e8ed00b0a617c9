/**
 * Test helpers: run the real collector as a child process and read its JSON logs and status API.
 * A CollectorProcess is async-disposable: `await using col = spawnCollector(…)` kills it (SIGKILL)
 * if the test has not stopped it, however the test ends.
 */
import { join } from "node:path";
import type { HealthBody, MetricsBody, StatusBody, StreamsBody } from "../../src/state/snapshot.ts";

export const REPO = join(import.meta.dir, "..", "..");
export const ENTRY = join(REPO, "bin", "quantlab-collector.ts");

export interface LogLine {
  ts: string;
  level: string;
  event: string;
  [k: string]: unknown;
}

/** The status API's replies by path (src/state/snapshot.ts): what `get` resolves with. */
export interface StatusReplies {
  "/health": HealthBody;
  "/streams": StreamsBody;
  "/metrics": MetricsBody;
  "/status": StatusBody;
  "/metrics/prometheus": string;
}

export interface CollectorProcess extends AsyncDisposable {
  proc: ReturnType<typeof Bun.spawn>;
  logs: LogLine[];
  stderr: () => string;
  statusPort: () => number;
  get<P extends keyof StatusReplies>(path: P): Promise<StatusReplies[P]>;
  /** Any other path: an error body (404/405 JSON). */
  get(path: string): Promise<unknown>;
  waitForLog(event: string, pred?: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Environment for a test collector: nothing inherited that could change its behaviour. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", STATUS_PORT: "0", LOG_LEVEL: "info", ...extra };
}

/** Every venue's WebSocket URL pointed at one simulator: spread into baseEnv's argument. */
export function simVenues(url: string): Record<"BINANCE_WS_URL" | "BYBIT_WS_URL" | "OKX_WS_URL", string> {
  return { BINANCE_WS_URL: url, BYBIT_WS_URL: url, OKX_WS_URL: url };
}

/** Resolves once every venue's planned sockets are open (the status API's `connections`); polls every 50 ms. */
export async function waitAllConnectionsOpen(col: CollectorProcess): Promise<void> {
  const allOpen = (m: MetricsBody) => Object.values(m.connections).every((c) => c.planned > 0 && c.open >= c.planned);
  while (!allOpen(await col.get("/metrics"))) await Bun.sleep(50);
}

export function spawnCollector(args: string[], env: Record<string, string>, cmd: string[] = [process.execPath, ENTRY]): CollectorProcess {
  const proc = Bun.spawn([...cmd, ...args], { env, stdout: "pipe", stderr: "pipe", cwd: env.CWD ?? REPO });
  const logs: LogLine[] = [];
  let err = "";
  const waiters = new Set<() => void>();
  (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          logs.push(JSON.parse(line));
        } catch {
          logs.push({ ts: "", level: "raw", event: "non_json_stdout", line });
        }
        for (const w of waiters) w();
      }
    }
  })();
  (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) err += dec.decode(chunk, { stream: true });
  })();

  const cp: CollectorProcess = {
    proc,
    logs,
    stderr: () => err,
    statusPort() {
      const l = logs.find((x) => x.event === "status_api_start");
      if (!l) throw new Error("status API not started yet");
      return l.port as number;
    },
    async get(path: string): Promise<never> {
      const res = await fetch(`http://127.0.0.1:${cp.statusPort()}${path}`);
      return (path.endsWith("prometheus") ? res.text() : res.json()) as Promise<never>;
    },
    waitForLog(event, pred = () => true, timeoutMs = 20_000) {
      return new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const hit = logs.find((l) => l.event === event && pred(l));
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no '${event}' log within ${timeoutMs} ms; stderr: ${err.slice(0, 500)}; last logs: ${JSON.stringify(logs.slice(-5))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      return await proc.exited;
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
  return cp;
}
