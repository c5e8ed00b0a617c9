/**
 * Scope: a real Prometheus server (Debian package `prometheus`) scraping the compiled binary with
 * the scrape config printed in docs/operations.md and the alert rules of
 * deploy/quantlab-collector.rules.yml, then running every query of docs/grafana-dashboard.json.
 * Proves the documented config is valid (`promtool check config`), the target is scraped
 * healthily, the rules load, no alert is even pending during a healthy start or after a clean
 * stop (except the target being down), and each panel's PromQL parses and returns series.
 * Skipped, saying so, where `prometheus`/`promtool` are not installed (.ci/run installs them
 * when it can).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startSimulator, type Simulator } from "../../src/sim/server.ts";
import { baseEnv, REPO, spawnCollector, type CollectorProcess } from "../helpers/collector.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { builtBinary, run } from "./build.ts";

const PATH = `${process.env.PATH ?? ""}:/usr/bin:/bin`;
const work = tmpDir("qlc-promsrv-");
let skip: string | null = null;
let sim: Simulator;
let col: CollectorProcess;
let prom: ReturnType<typeof Bun.spawn> | null = null;
let promUrl = "";
let promLog = "";
let checkConfig: { code: number; stdout: string; stderr: string };

async function which(tool: string): Promise<string | null> {
  const r = await run(["sh", "-c", `command -v ${tool}`], { env: { PATH } });
  return r.code === 0 ? r.stdout.trim() : null;
}

async function rulesEvaluatedAfter(ms: number): Promise<void> {
  await waitFor(
    "every rule group evaluated again",
    async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ lastEvaluation: string }> } };
      return r.data.groups.length > 0 && r.data.groups.every((g) => Date.parse(g.lastEvaluation) > ms);
    },
    15_000,
    200,
  );
}

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function promQuery(
  expr: string,
): Promise<{ status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }> {
  const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return (await res.json()) as never;
}

beforeAll(async () => {
  const prometheus = await which("prometheus");
  const promtool = await which("promtool");
  if (!prometheus || !promtool) {
    skip = "prometheus/promtool not installed (Debian package 'prometheus')";
    return;
  }
  const exe = join(work.path, "quantlab-collector");
  copyFileSync(await builtBinary(), exe);
  Bun.spawnSync(["chmod", "755", exe]);
  sim = startSimulator({ rate: 400, exchanges: ["binance"], symbols: ["BTCUSDT", "ETHUSDT"] });
  col = spawnCollector(
    [],
    baseEnv({
      CWD: work.path,
      BINANCE_WS_URL: sim.url,
      EXCHANGES: "binance",
      SYMBOLS: "BTCUSDT,ETHUSDT",
      DATA_DIR: join(work.path, "data"),
      FLUSH_INTERVAL: "1",
      MIN_FLUSH_GAP_SECONDS: "0",
    }),
    [exe],
  );
  await col.waitForLog("ws_connect");
  const target = `127.0.0.1:${col.statusPort()}`;

  // The scrape config exactly as docs/operations.md prints it, pointed at this target; the shipped rules.
  const doc = readFileSync(join(REPO, "docs", "operations.md"), "utf8");
  const [scrape] = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const rules = readFileSync(join(REPO, "deploy", "quantlab-collector.rules.yml"), "utf8");
  const scrapeHere = scrape!.replace(/targets: \[[^\]]*\]/, `targets: ["${target}"]`).replace(/scrape_interval: \S+/, "scrape_interval: 1s");
  expect(scrapeHere).toContain(target);
  writeFileSync(join(work.path, "rules.yml"), rules!);
  writeFileSync(join(work.path, "prometheus.yml"), `global:\n  evaluation_interval: 1s\nrule_files: ["rules.yml"]\n${scrapeHere}`);
  checkConfig = await run([promtool, "check", "config", join(work.path, "prometheus.yml")], { env: { PATH } });

  mkdirSync(join(work.path, "tsdb"));
  const port = freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = Bun.spawn(
    [
      prometheus,
      `--config.file=${join(work.path, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(work.path, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { cwd: work.path, env: { PATH }, stdout: "ignore", stderr: "pipe" },
  );
  void (async () => {
    for await (const chunk of prom!.stderr as ReadableStream<Uint8Array>) promLog += new TextDecoder().decode(chunk);
  })();
  // Enough scrapes for rate() over 5 s windows to have two samples of every counter.
  await waitFor(
    "Prometheus to scrape the collector and see events flowing",
    async () => {
      const r = await promQuery('sum(rate(quantlab_collector_events_total{job="quantlab-collector"}[5s])) > 0');
      return r.status === "success" && (r.data?.result.length ?? 0) > 0;
    },
    25_000,
    250,
  ).catch((err) => {
    throw new Error(`${String(err)}\nprometheus log:\n${promLog.slice(-1500)}`);
  });
}, 40_000);

afterAll(async () => {
  if (prom) {
    prom.kill("SIGTERM");
    await prom.exited;
  }
  if (col && col.proc.exitCode === null) await col.stop("SIGTERM");
  await sim?.stop();
  work[Symbol.dispose]();
});

describe("real Prometheus scraping the compiled binary", () => {
  test("the documented scrape config and rules pass promtool", () => {
    if (skip) return void console.warn(`SKIP real Prometheus: ${skip}`);
    expect({ code: checkConfig.code, out: checkConfig.stdout + checkConfig.stderr }).toMatchObject({ code: 0 });
    expect(checkConfig.stdout).toContain("SUCCESS: 1 rule files found");
  });

  test("the target is up and the documented alert rules load healthy", async () => {
    if (skip) return;
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ health: string; lastError: string; scrapePool: string }> };
    };
    expect(targets.data.activeTargets.map((t) => [t.scrapePool, t.health, t.lastError])).toEqual([["quantlab-collector", "up", ""]]);
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const all = rules.data.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const r of all) expect({ rule: r.name, health: r.health, error: r.lastError ?? "" }).toEqual({ rule: r.name, health: "ok", error: "" });
  });

  test("every Grafana panel query parses and returns series from the live collector", async () => {
    if (skip) return;
    const dash = JSON.parse(readFileSync(join(REPO, "docs", "grafana-dashboard.json"), "utf8")) as {
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    // Grafana's variables, as Grafana would substitute them.
    const expand = (e: string) => e.replaceAll("$__rate_interval", "5s").replaceAll("$instance", ".*");
    // Families labelled by what went wrong have no series until the first occurrence.
    const eventDriven: string[] = []; // every labelled series exists from the start
    const empty: string[] = [];
    let queried = 0;
    for (const p of dash.panels.filter((x) => x.type !== "row")) {
      for (const t of p.targets ?? []) {
        const r = await promQuery(expand(t.expr));
        expect({ panel: p.title, status: r.status, error: r.error }).toEqual({ panel: p.title, status: "success", error: undefined });
        queried++;
        if ((r.data?.result.length ?? 0) === 0 && !eventDriven.some((m) => t.expr.includes(m))) empty.push(`${p.title}: ${t.expr}`);
      }
    }
    expect(queried).toBeGreaterThan(20);
    expect(empty).toEqual([]);
    const eps = await promQuery(expand(dash.panels.find((p) => p.title === "Events/s per stream")!.targets![0]!.expr));
    const byStream = Object.fromEntries(eps.data!.result.map((s) => [s.metric.stream, Number(s.value[1])]));
    expect(byStream.bbo).toBeGreaterThan(0);
    expect(byStream.trade).toBeGreaterThan(0);
    const state = await promQuery(expand(dash.panels.find((p) => p.title === "State")!.targets![0]!.expr));
    expect(state.data!.result.map((s) => s.value[1])).toEqual(["0"]); // READY
  });

  test("no alert is pending or firing on a healthy start", async () => {
    if (skip) return;
    // Every rule evaluated again now that events flow (and after every earlier evaluation).
    await rulesEvaluatedAfter(Date.now());
    const alerts = await promQuery("ALERTS");
    expect(alerts.status).toBe("success");
    expect(alerts.data!.result.map((a) => `${a.metric.alertname} ${a.metric.alertstate}`)).toEqual([]);
  });

  test("a clean stop raises nothing but the target being down (pending, for 2m)", async () => {
    if (skip) return;
    expect(await col.stop("SIGTERM")).toBe(0);
    await waitFor(
      "Prometheus to see the target down",
      async () => {
        const r = await promQuery('up{job="quantlab-collector"} == 0');
        return (r.data?.result.length ?? 0) > 0;
      },
      15_000,
      250,
    );
    await rulesEvaluatedAfter(Date.now()); // the rules have seen the stopped target
    const alerts = await promQuery("ALERTS");
    expect(alerts.data!.result.map((a) => `${a.metric.alertname} ${a.metric.alertstate}`).filter((a) => a !== "QuantLabCollectorDown pending")).toEqual([]);
  });
});
