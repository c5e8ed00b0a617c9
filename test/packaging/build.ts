/** Builds the single executable once per test process into a throw-away dir (`bun scripts/build.ts --outfile`). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "../helpers/collector.ts";

let built: Promise<string> | null = null;
let dir: string | null = null;

/** Path of a freshly compiled `quantlab-collector` (the same build as `npm run build`). */
export function builtBinary(): Promise<string> {
  built ??= (async () => {
    dir = mkdtempSync(join(tmpdir(), "qlc-build-"));
    const out = join(dir, "quantlab-collector");
    const p = Bun.spawn([process.execPath, join(REPO, "scripts", "build.ts"), "--outfile", out], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
    const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    if (code !== 0) throw new Error(`build failed (exit ${code}): ${stdout}\n${stderr}`);
    return out;
  })();
  return built;
}

process.on("exit", () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Run a command to completion; stdout/stderr as text. */
export async function run(
  cmd: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(cmd, {
    cwd: opts.cwd ?? REPO,
    env: opts.env ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code, stdout, stderr };
}

/** The commit scripts/build.ts embeds: `git rev-parse --short=12 HEAD`, or "unknown" outside a git checkout. */
export async function expectedCommit(): Promise<string> {
  const git = await run(["git", "rev-parse", "--short=12", "HEAD"], { env: { PATH: process.env.PATH ?? "" } });
  return git.code === 0 ? git.stdout.trim() : "unknown";
}
