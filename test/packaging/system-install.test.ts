/**
 * Scope: a real (non-DESTDIR) `sudo ./install.sh` — system user, chown, /usr/local, /etc, /var/lib —
 * run as root inside a private mount namespace whose /etc, /usr/local and /var/lib are throw-away
 * copies, so the host is never touched. Then the installed service is started the way its unit
 * says (Environment=, EnvironmentFile=, WorkingDirectory=, User=, NoNewPrivileges, ExecStart=;
 * systemd itself is not running here) against the loopback simulator: it records as the
 * `quantlab` user into the data dir and exits 0 on SIGTERM. Skipped, saying why, where the test
 * is not root or cannot create a mount namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Stream } from "../../src/schema/rows.ts";
import { startSimulator, type Simulator } from "../../src/sim/server.ts";
import { REPO, spawnCollector, type CollectorProcess } from "../helpers/collector.ts";
import { query, streamGlob } from "../helpers/duck.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { builtBinary, run } from "./build.ts";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const work = tmpDir("qlc-sysinstall-");
const FRAMES = 600;

async function canIsolate(): Promise<string | null> {
  if (process.getuid?.() !== 0) return "not running as root";
  for (const tool of ["unshare", "setpriv", "useradd", "mount"]) {
    if ((await run(["sh", "-c", `command -v ${tool}`], { env: { PATH } })).code !== 0) return `${tool} not found`;
  }
  const probe = await run(["unshare", "-m", "--propagation", "private", "true"], { env: { PATH } });
  return probe.code === 0 ? null : `cannot create a mount namespace (${probe.stderr.trim()})`;
}

let skip: string | null = null;
let sim: Simulator;
let col: CollectorProcess;
let exitCode: number;
const etc = join(work.path, "etc");
const usrLocal = join(work.path, "usr-local");
const varLib = join(work.path, "var-lib");

beforeAll(async () => {
  skip = await canIsolate();
  if (skip) return;
  const binary = await builtBinary();
  cpSync("/etc", etc, { recursive: true, verbatimSymlinks: true });
  mkdirSync(usrLocal);
  mkdirSync(varLib);
  sim = startSimulator({ rate: 2000, maxFramesPerVenue: FRAMES, exchanges: ["binance"], symbols: ["BTCUSDT"] });
  const unit = "/etc/systemd/system/quantlab-collector.service";
  const script = join(work.path, "inner.sh");
  writeFileSync(
    script,
    `set -euo pipefail
mount --bind ${etc} /etc
mount --bind ${usrLocal} /usr/local
mount --bind ${varLib} /var/lib
bash ${REPO}/install.sh --binary ${binary} >&2
bash ${REPO}/install.sh --binary ${binary} >&2   # idempotent second run
# The operator's edit of the env file:
printf 'EXCHANGES=binance\\nSYMBOLS=BTCUSDT\\nBINANCE_WS_URL=${sim.url}\\nSTATUS_PORT=0\\nFLUSH_INTERVAL=1\\nMIN_FLUSH_GAP_SECONDS=0\\n' >> /etc/quantlab-collector/collector.env
# Start it the way the unit says: Environment=, then EnvironmentFile= (read as root), WorkingDirectory=, User=, ExecStart=.
while IFS= read -r kv; do export "$kv"; done < <(sed -n 's/^Environment=//p' ${unit})
set -a; . "$(sed -n 's/^EnvironmentFile=//p' ${unit})"; set +a
cd "$(sed -n 's/^WorkingDirectory=//p' ${unit})"
user="$(sed -n 's/^User=//p' ${unit})"
read -r -a exec_start <<< "$(sed -n 's/^ExecStart=//p' ${unit})"
exec setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs env HOME="$PWD" "\${exec_start[@]}"
`,
  );
  col = spawnCollector([], { PATH }, ["unshare", "-m", "--propagation", "private", "bash", script]);
  await col.waitForLog("ws_connect", undefined, 20_000);
  await waitFor("simulator to send every frame", () => sim.stats().frames.binance === FRAMES, 20_000);
  const expected = Object.values(sim.stats().rows).reduce((a, b) => a + b, 0);
  await waitFor("collector to receive every row", async () => (await col.get("/metrics")).total_events === expected, 15_000);
  exitCode = await col.stop("SIGTERM");
}, 50_000);

afterAll(async () => {
  await sim?.stop();
  work[Symbol.dispose]();
});

describe("system install (root, private mount namespace)", () => {
  test("creates the quantlab system user, owns the data dir, env file root-only, host untouched", async () => {
    if (skip) return void console.warn(`SKIP system install: ${skip}`);
    const entry = readFileSync(join(etc, "passwd"), "utf8")
      .split("\n")
      .find((l) => l.startsWith("quantlab:"));
    expect(entry).toBeDefined();
    const [, , uid, gid, , home, shell] = entry!.split(":");
    expect(Number(uid)).toBeLessThan(1000); // a system account
    expect(home).toBe("/var/lib/quantlab-collector");
    expect(shell).toMatch(/nologin$|false$/);
    const data = statSync(join(varLib, "quantlab-collector"));
    expect([data.uid, data.gid, (data.mode & 0o777).toString(8)]).toEqual([Number(uid), Number(gid), "750"]);
    const envf = statSync(join(etc, "quantlab-collector", "collector.env"));
    expect([envf.uid, (envf.mode & 0o777).toString(8)]).toEqual([0, "600"]);
    expect(statSync(join(usrLocal, "bin", "quantlab-collector")).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(etc, "systemd", "system", "quantlab-collector.service"), "utf8")).toContain("ExecStart=/usr/local/bin/quantlab-collector run");
    // Nothing leaked out of the namespace.
    expect((await run(["getent", "passwd", "quantlab"], { env: { PATH } })).code).not.toBe(0);
    expect(() => statSync("/etc/quantlab-collector/collector.env")).toThrow();
  });

  test("the second install run changed nothing", () => {
    if (skip) return;
    const second = col.stderr().split("installing quantlab-collector").at(-1)!;
    expect(second.split("\n").filter((l) => /^(install|replace|create|remove|chown) /.test(l))).toEqual([]);
    expect(second).toContain("exists: system user quantlab");
  });

  test("runs as quantlab from the unit's settings, records into the data dir, exits 0 on SIGTERM", async () => {
    if (skip) return;
    expect(exitCode).toBe(0);
    const start = await col.waitForLog("collector_start");
    expect((start.config as Record<string, unknown>).DATA_DIR).toBe("/var/lib/quantlab-collector");
    expect((await col.waitForLog("collector_stop")).unwritten_rows).toBe(0);
    const uid = Number(
      readFileSync(join(etc, "passwd"), "utf8")
        .split("\n")
        .find((l) => l.startsWith("quantlab:"))!
        .split(":")[2],
    );
    const dataDir = join(varLib, "quantlab-collector");
    const files = await query(`select file from glob('${dataDir}/v1/**/*.parquet')`);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(f.file as string).uid).toBe(uid);
    const rows = sim.stats().rows;
    for (const stream of ["bbo", "trade"] as Stream[]) {
      const got = await query(`select count(*) as n from ${streamGlob(dataDir, "binance", stream)}`);
      expect(got[0]!.n).toBe(rows[`binance|${stream}|BTCUSDT`]!);
    }
  });
});
