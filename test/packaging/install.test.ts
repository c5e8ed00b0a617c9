/**
 * Scope: install.sh into a DESTDIR-style temp root (no root, no systemd needed): what lands where
 * with which modes, idempotence, the env file never overwritten, --dry-run changes nothing,
 * --uninstall keeps the data, a non-root system install is refused in one line, and the
 * installed unit passes `systemd-analyze verify` (skipped, saying so, where that tool is absent).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { loadConfig } from "../../src/config.ts";
import { REPO } from "../helpers/collector.ts";
import { tmpDir } from "../helpers/tmp.ts";
import { builtBinary, expectedCommit, run } from "./build.ts";

const INSTALL = join(REPO, "install.sh");
const PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin:/bin`;
const work = tmpDir("qlc-install-");
let binary: string;

const BIN = "usr/local/bin/quantlab-collector";
const ENVF = "etc/quantlab-collector/collector.env";
const UNIT = "etc/systemd/system/quantlab-collector.service";
const DATA = "var/lib/quantlab-collector";
const COMPACT_UNITS = ["etc/systemd/system/quantlab-collector-compact.service", "etc/systemd/system/quantlab-collector-compact.timer"] as const;

function install(args: string[], env: Record<string, string> = {}) {
  return run(["bash", INSTALL, ...args], { env: { PATH, HOME: work.path, ...env } });
}

/** Every path under root with its mode, size and mtime: equal snapshots = nothing changed. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = lstatSync(p);
      out.push(`${p.slice(root.length)} ${(s.mode & 0o7777).toString(8)} ${s.isDirectory() ? "dir" : s.size} ${s.mtimeMs}`);
      if (s.isDirectory()) walk(p);
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);
/** Lines of install.sh output that announce a change (as opposed to unchanged/exists/kept/skip). */
const changes = (out: string) => out.split("\n").filter((l) => /^(install|replace|create|remove|chown) /.test(l));

beforeAll(async () => {
  binary = await builtBinary();
});
afterAll(() => work[Symbol.dispose]());

describe("install.sh --destdir", () => {
  const root = join(work.path, "root");
  let first: Awaited<ReturnType<typeof install>>;

  test("--dry-run prints every action and creates nothing", async () => {
    const r = await install(["--destdir", root, "--binary", binary, "--dry-run"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const what of [BIN, ENVF, DATA, UNIT])
      expect(r.stdout).toContain(`[dry-run] ${what.startsWith(DATA) ? "create directory" : "install"} ${join(root, what)}`);
    expect(r.stdout).toContain("skip: create system user quantlab");
    expect(r.stdout).toContain("dry run: nothing was changed");
    expect(changes(r.stdout)).toEqual([]);
    expect(existsSync(root)).toBe(false);
  });

  test("installs binary, env file (0600, the example), data dir (0750) and the rendered unit", async () => {
    first = await install(["--destdir", root, "--binary", binary]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout.split("\n")[0]).toBe(`installing quantlab-collector ${pkg.version} (commit ${await expectedCommit()}, schema v1) under ${root}`);
    expect(readFileSync(join(root, BIN)).equals(readFileSync(binary))).toBe(true);
    expect(mode(join(root, BIN))).toBe("755");
    expect(readFileSync(join(root, ENVF), "utf8")).toBe(readFileSync(join(REPO, "deploy", "collector.env.example"), "utf8"));
    expect(mode(join(root, ENVF))).toBe("600");
    expect(statSync(join(root, DATA)).isDirectory()).toBe(true);
    expect(mode(join(root, DATA))).toBe("750");
    expect(mode(join(root, UNIT))).toBe("644");
    // The daily compaction: service + timer installed, rendered, and not enabled (no .wants link).
    for (const u of COMPACT_UNITS) expect(mode(join(root, u))).toBe("644");
    expect(readFileSync(join(root, COMPACT_UNITS[0]), "utf8").split("\n")).toContain("ExecStart=/usr/local/bin/quantlab-collector compact");
    expect(existsSync(join(root, "etc/systemd/system/timers.target.wants"))).toBe(false);
    const unit = readFileSync(join(root, UNIT), "utf8");
    // Paths in the unit are the target system's, never the staging root's.
    expect(unit).not.toContain(root);
    for (const line of [
      "Type=simple",
      "Restart=always",
      "KillSignal=SIGTERM",
      "EnvironmentFile=/etc/quantlab-collector/collector.env",
      "ExecStart=/usr/local/bin/quantlab-collector run",
      "ReadWritePaths=/var/lib/quantlab-collector",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "User=quantlab",
      "StateDirectory=quantlab-collector",
      "SystemCallFilter=@system-service",
      "ProcSubset=pid",
      "PrivateMounts=yes",
      "RemoveIPC=yes",
    ])
      expect(unit.split("\n")).toContain(line);
    // A persistent failure stops restarting instead of looping every RestartSec forever.
    expect(Number(unit.match(/^StartLimitBurst=(\d+)$/m)?.[1])).toBeGreaterThan(1);
    expect(unit).toMatch(/^StartLimitIntervalSec=[1-9]\d*(min|s)$/m);
    expect(unit).toMatch(/^LimitNOFILE=\d+$/m);
    // The user and the data directory declared for systemd-sysusers / systemd-tmpfiles.
    expect(readFileSync(join(root, "etc/sysusers.d/quantlab-collector.conf"), "utf8")).toMatch(
      /^u quantlab - "QuantLab Collector" \/var\/lib\/quantlab-collector \/usr\/sbin\/nologin$/m,
    );
    expect(readFileSync(join(root, "etc/tmpfiles.d/quantlab-collector.conf"), "utf8")).toMatch(/^d \/var\/lib\/quantlab-collector 0750 quantlab quantlab -$/m);
    expect(unit).toMatch(/^MemoryMax=\S+$/m);
    expect(Number(unit.match(/^RestartSec=(\d+)s$/m)?.[1])).toBeWithin(1, 31);
    // TimeoutStopSec must exceed the collector's own shutdown bound (SHUTDOWN_TIMEOUT_SECONDS).
    expect(Number(unit.match(/^TimeoutStopSec=(\d+)s$/m)?.[1])).toBeGreaterThan(loadConfig({}).SHUTDOWN_TIMEOUT_SECONDS + 10);
  });

  test("a second run is idempotent: reports nothing to do and changes no file", async () => {
    const before = tree(root);
    const again = await install(["--destdir", root, "--binary", binary]);
    expect(again.code).toBe(0);
    expect(changes(again.stdout)).toEqual([]);
    expect(again.stdout).toContain(`unchanged: ${join(root, BIN)}`);
    expect(again.stdout).toContain(`unchanged: ${join(root, UNIT)}`);
    expect(tree(root)).toEqual(before);
  });

  test("an operator's env file is never overwritten", async () => {
    appendFileSync(join(root, ENVF), "SYMBOLS=BTCUSDT\nS3_SECRET_KEY=operator-secret\n");
    const edited = readFileSync(join(root, ENVF), "utf8");
    const r = await install(["--destdir", root, "--binary", binary]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`kept: ${join(root, ENVF)}`);
    expect(readFileSync(join(root, ENVF), "utf8")).toBe(edited);
    expect(mode(join(root, ENVF))).toBe("600");
  });

  test("the installed unit passes systemd-analyze verify", async () => {
    const which = await run(["sh", "-c", "command -v systemd-analyze"], { env: { PATH } });
    const tool = which.stdout.trim();
    const units = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(join(d, "multi-user.target")));
    if (which.code !== 0 || !tool || !units) {
      console.warn("SKIP unit verification: systemd-analyze not installed (Debian package 'systemd'; .ci/run installs it when it can)");
      return;
    }
    // Verify the staged tree as a root of its own: the binary it names must exist there, and the
    // targets it references come from the host's unit directory.
    mkdirSync(join(root, "usr/lib/systemd"), { recursive: true });
    cpSync(units, join(root, "usr/lib/systemd/system"), { recursive: true, dereference: false });
    const r = await run([tool, "verify", "--man=no", `--root=${root}`, `/${UNIT}`, ...COMPACT_UNITS.map((u) => `/${u}`)], {
      env: { PATH, SYSTEMD_LOG_LEVEL: "notice" },
    });
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 0, stderr: "", stdout: "" });
    // And it catches a broken unit (so the check above is not vacuous).
    const broken = join(work.path, "broken");
    cpSync(root, broken, { recursive: true });
    writeFileSync(join(broken, UNIT), readFileSync(join(root, UNIT), "utf8").replace("Restart=always", "Restart=sometimes"));
    const bad = await run([tool, "verify", "--man=no", `--root=${broken}`, `/${UNIT}`], { env: { PATH } });
    expect(bad.stderr).toContain("Failed to parse service restart specifier");
  });

  test("--uninstall removes binary and unit, keeps the data and the edited env file; twice is fine", async () => {
    mkdirSync(join(root, DATA, "v1/binance/trade"), { recursive: true });
    writeFileSync(join(root, DATA, "v1/binance/trade/x.parquet"), "rows");
    const r = await install(["--destdir", root, "--uninstall"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`remove ${join(root, BIN)}`);
    expect(existsSync(join(root, BIN))).toBe(false);
    expect(existsSync(join(root, UNIT))).toBe(false);
    for (const u of COMPACT_UNITS) expect(existsSync(join(root, u))).toBe(false);
    expect(readFileSync(join(root, DATA, "v1/binance/trade/x.parquet"), "utf8")).toBe("rows");
    expect(r.stdout).toContain(`kept: ${join(root, DATA)}`);
    expect(readFileSync(join(root, ENVF), "utf8")).toContain("operator-secret");
    const again = await install(["--destdir", root, "--uninstall"]);
    expect(again.code).toBe(0);
    expect(changes(again.stdout)).toEqual([]);
  });

  test("--uninstall removes an untouched env file; --prefix/--data-dir and DESTDIR env are honoured", async () => {
    const r2 = join(work.path, "root2");
    const r = await install(["--binary", binary, "--prefix", "/opt/qlc", "--data-dir", "/srv/qlc"], { DESTDIR: r2 });
    expect(r.code).toBe(0);
    expect(existsSync(join(r2, "opt/qlc/bin/quantlab-collector"))).toBe(true);
    const unit = readFileSync(join(r2, UNIT), "utf8").split("\n");
    for (const line of [
      "ExecStart=/opt/qlc/bin/quantlab-collector run",
      "ReadWritePaths=/srv/qlc",
      "WorkingDirectory=/srv/qlc",
      "Environment=DATA_DIR=/srv/qlc",
    ])
      expect(unit).toContain(line);
    expect(unit.join("\n")).not.toContain("/var/lib/quantlab-collector");
    expect(unit.join("\n")).not.toMatch(/^StateDirectory/m); // only for a data dir under /var/lib
    expect(readFileSync(join(r2, "etc/tmpfiles.d/quantlab-collector.conf"), "utf8")).toContain("d /srv/qlc 0750 quantlab quantlab -");
    const u = await install(["--prefix", "/opt/qlc", "--data-dir", "/srv/qlc", "--uninstall"], { DESTDIR: r2 });
    expect(u.code).toBe(0);
    expect(existsSync(join(r2, ENVF))).toBe(false);
    expect(existsSync(join(r2, "opt/qlc/bin/quantlab-collector"))).toBe(false);
    expect(statSync(join(r2, "srv/qlc")).isDirectory()).toBe(true);
  });
});

describe("install.sh --uninstall finds what was installed", () => {
  test("after a --prefix install, --uninstall without --prefix removes the binary the unit runs", async () => {
    const r3 = join(work.path, "root-prefix");
    expect((await install(["--destdir", r3, "--binary", binary, "--prefix", "/opt/qlc"])).code).toBe(0);
    const u = await install(["--destdir", r3, "--uninstall"]);
    expect(u.code).toBe(0);
    expect(u.stdout).toContain(`remove ${join(r3, "opt/qlc/bin/quantlab-collector")}`);
    expect(existsSync(join(r3, "opt/qlc/bin/quantlab-collector"))).toBe(false);
    expect(existsSync(join(r3, UNIT))).toBe(false);
    expect(existsSync(join(r3, "etc/sysusers.d/quantlab-collector.conf"))).toBe(false);
    expect(u.stdout.trim().split("\n").at(-1)).toBe("uninstalled quantlab-collector");
  });

  test("a unit whose ExecStart= names no quantlab-collector binary: one line, exit 1, nothing removed", async () => {
    const r4 = join(work.path, "root-broken");
    expect((await install(["--destdir", r4, "--binary", binary])).code).toBe(0);
    writeFileSync(join(r4, UNIT), readFileSync(join(r4, UNIT), "utf8").replace(/^ExecStart=.*$/m, "ExecStart=/bin/true"));
    const u = await install(["--destdir", r4, "--uninstall"]);
    expect(u.code).toBe(1);
    expect(u.stderr.trim().split("\n")).toHaveLength(1);
    expect(u.stderr).toContain("cannot find the installed binary");
    expect(u.stdout).not.toContain("uninstalled");
    expect(existsSync(join(r4, BIN))).toBe(true);
    expect(existsSync(join(r4, UNIT))).toBe(true);
  });

  test("the sysusers.d and tmpfiles.d files are what systemd-sysusers / systemd-tmpfiles accept", async () => {
    const sysusers = (await run(["sh", "-c", "command -v systemd-sysusers"], { env: { PATH } })).stdout.trim();
    const tmpfiles = (await run(["sh", "-c", "command -v systemd-tmpfiles"], { env: { PATH } })).stdout.trim();
    if (!sysusers || !tmpfiles) return void console.warn("SKIP sysusers/tmpfiles check: systemd-sysusers or systemd-tmpfiles not installed");
    const r5 = join(work.path, "root-image");
    expect((await install(["--destdir", r5, "--binary", binary])).code).toBe(0);
    writeFileSync(join(r5, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(join(r5, "etc/group"), "root:x:0:\n");
    // What an image's first boot does: the user from sysusers.d, then the data dir from tmpfiles.d.
    const su = await run([sysusers, `--root=${r5}`], { env: { PATH } });
    expect(su.code).toBe(0);
    expect(readFileSync(join(r5, "etc/passwd"), "utf8")).toMatch(
      /^quantlab:x:\d+:\d+:QuantLab Collector:\/var\/lib\/quantlab-collector:\/usr\/sbin\/nologin$/m,
    );
    const tf = await run([tmpfiles, `--root=${r5}`, "--create"], { env: { PATH } });
    expect({ code: tf.code, err: tf.stderr }).toEqual({ code: 0, err: "" });
    expect(mode(join(r5, DATA))).toBe("750");
  });
});

describe("install.sh refuses clearly", () => {
  test("--help is the usage text only, exit 0", async () => {
    const r = await install(["--help"]);
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    expect(r.stdout.split("\n")[0]).toBe("install.sh — install (or --uninstall) quantlab-collector as a systemd service.");
    expect(r.stdout).not.toContain("set -euo");
    expect(r.stdout).not.toMatch(/^#/m);
    for (const o of ["--prefix", "--destdir", "--binary", "--data-dir", "--uninstall", "--dry-run"]) expect(r.stdout).toContain(o);
  });

  test("a system install without root: one line, exit 1, nothing touched", async () => {
    let r;
    if (process.getuid?.() === 0) {
      const setpriv = await run(["sh", "-c", "command -v setpriv"], { env: { PATH } });
      if (setpriv.code !== 0) {
        console.warn("SKIP non-root refusal: running as root and setpriv (util-linux) is absent");
        return;
      }
      // uid 65534 cannot read a clone under a 0700 folder (/root, any mktemp -d): it runs a copy of
      // install.sh from a folder it can enter, with that folder as its working directory.
      using pub = tmpDir("qlc-install-pub-");
      chmodSync(pub.path, 0o755);
      const copy = join(pub.path, "install.sh");
      copyFileSync(INSTALL, copy);
      chmodSync(copy, 0o644);
      r = await run([setpriv.stdout.trim(), "--reuid=65534", "--regid=65534", "--clear-groups", "bash", copy, "--binary", binary], {
        cwd: pub.path,
        env: { PATH, HOME: "/" },
      });
    } else {
      r = await install(["--binary", binary]);
    }
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("needs root");
  });

  test("unknown option, missing binary, a non-ELF binary: one line each, exit 1", async () => {
    const root = join(work.path, "root3");
    for (const [args, msg] of [
      [["--frobnicate"], "unknown option: --frobnicate"],
      [["--destdir", root, "--binary", join(work.path, "nope")], "binary not found"],
      [["--destdir", root, "--binary", join(REPO, "bin", "quantlab-collector.ts")], "not an executable (ELF) file"],
      [["--destdir", root, "--prefix", "usr"], "--prefix must be an absolute path"],
    ] as const) {
      const r = await install([...args]);
      expect({ code: r.code, lines: r.stderr.trim().split("\n").length }).toEqual({ code: 1, lines: 1 });
      expect(r.stderr).toContain(msg);
    }
    expect(existsSync(root)).toBe(false);
  });
});

describe("deploy/collector.env.example", () => {
  test("lists every configuration key, commented out, with the collector's actual default", () => {
    const example = readFileSync(join(REPO, "deploy", "collector.env.example"), "utf8");
    const shown = new Map([...example.matchAll(/^#([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    // Nothing is active: every setting is a commented default until the operator changes it.
    expect(example.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"))).toEqual([]);
    const defaults = loadConfig({});
    const keys = [...Object.keys(defaults), "S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY"];
    for (const key of keys) expect({ key, documented: shown.has(key) }).toEqual({ key, documented: true });
    // DATA_DIR shows the unit's value; S3_* show examples, not defaults.
    for (const [key, value] of Object.entries(defaults)) {
      if (key === "DATA_DIR" || key === "S3_PREFIX") continue;
      const want = Array.isArray(value) ? value.join(",") : String(value);
      expect({ key, example: shown.get(key) }).toEqual({ key, example: want });
    }
    expect(shown.get("DATA_DIR")).toBe("/var/lib/quantlab-collector");
  });
});
