/** Test helpers: headless Chromium (Debian package `chromium`; .ci/run installs it when it can). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function chromiumPath(): string | null {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    const p = Bun.which(name);
    if (p) return p;
  }
  return null;
}

/** Render a local file headless; returns the DOM after rendering and writes a screenshot. No network. */
export async function renderPage(chromium: string, file: string, screenshot: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), "qlc-chromium-"));
  const flags = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-extensions",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
    `--user-data-dir=${profile}`,
    "--window-size=1500,1000",
  ];
  const run = async (extra: string[]) => {
    const p = Bun.spawn([chromium, ...flags, ...extra, `file://${file}`], {
      stdout: "pipe",
      stderr: "pipe",
      env: { PATH: process.env.PATH ?? "", HOME: profile },
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    const code = await p.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`chromium exited ${code}: ${err.slice(-1000)}`);
    return out;
  };
  try {
    const dom = await run(["--dump-dom"]);
    await run([`--screenshot=${screenshot}`]);
    return dom;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
