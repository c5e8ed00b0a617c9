/**
 * Test helpers: a Python venv with the readers quants use (pyarrow, polars, pandas, duckdb), made
 * once under a cache dir and reused. Where python3 or pip cannot provide them, `pythonReaders()`
 * returns a reason and the caller skips, saying so.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const PY_PACKAGES = ["pyarrow", "polars", "pandas", "duckdb"];

export type PythonReaders = { python: string } | { skip: string };

let cached: Promise<PythonReaders> | null = null;

export function pythonReaders(): Promise<PythonReaders> {
  cached ??= setup();
  return cached;
}

async function run(cmd: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" } });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: `${out}\n${err}` };
}

async function setup(): Promise<PythonReaders> {
  const cache = process.env.QLC_TEST_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "quantlab-collector-test");
  const venv = join(cache, "py-readers");
  const python = join(venv, "bin", "python");
  const marker = join(venv, ".installed");
  if (existsSync(marker)) return { python };
  if (Bun.which("python3") === null) return { skip: "python3 not found: the Python reader tests are skipped" };
  mkdirSync(cache, { recursive: true });
  rmSync(venv, { recursive: true, force: true });
  const mk = await run(["python3", "-m", "venv", venv], 120_000);
  if (mk.code !== 0) return { skip: `python3 -m venv failed (${lastLine(mk.out)}): the Python reader tests are skipped` };
  // --retries 0: on a machine without internet a configured local index answers and the default one fails fast.
  const pip = await run([join(venv, "bin", "pip"), "install", "--quiet", "--retries", "0", "--timeout", "20", ...PY_PACKAGES], 600_000);
  if (pip.code !== 0) return { skip: `pip install ${PY_PACKAGES.join(" ")} failed (${lastLine(pip.out)}): the Python reader tests are skipped` };
  writeFileSync(marker, new Date().toISOString());
  return { python };
}

function lastLine(s: string): string {
  return (
    s
      .trim()
      .split("\n")
      .filter((l) => l.trim() !== "")
      .pop()
      ?.slice(0, 200) ?? "no output"
  );
}

/** Run a Python script with args; its stdout must be one JSON document. */
export async function runPython(python: string, script: string, args: string[], cwd?: string): Promise<any> {
  const p = Bun.spawn([python, script, ...args], { stdout: "pipe", stderr: "pipe", cwd });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  if (code !== 0) throw new Error(`${script} exited ${code}: ${err.slice(-2000)}`);
  return JSON.parse(out);
}
