/**
 * Builds the single executable `bin/quantlab-collector` with `bun build --compile`.
 * The Parquet wasm and the encoder worker are embedded; .env/bunfig autoload is off so the binary
 * reads configuration only from its environment or an explicit --env-file (https://bun.sh/docs/bundler/executables).
 * Usage: bun scripts/build.ts [--outfile PATH] [--target bun-linux-x64|bun-linux-arm64|…] [--executable-path BUN]
 * Cross-compiling needs the target's Bun runtime: bun downloads it from the npm registry into
 * ~/.bun/install/cache/ unless --executable-path names one (e.g. package/bin/bun from
 * `npm pack @oven/bun-linux-aarch64@<bun version>`), which is how to build offline (https://bun.sh/docs/bundler/executables, cross-compiling).
 * With --target and no --outfile the binary is bin/quantlab-collector-<os>-<arch>.
 */
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const target = opt("--target");
const executablePath = opt("--executable-path");
const outfile = opt("--outfile") ?? join(root, "bin", target ? `quantlab-collector-${target.replace(/^bun-/, "")}` : "quantlab-collector");

const git = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root, stderr: "ignore" });
const commit = git.exitCode === 0 ? git.stdout.toString().trim() : "unknown";

const cmd = [
  process.execPath,
  "build",
  "--compile",
  "--minify",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  `--define`,
  `BUILD_COMMIT=${JSON.stringify(commit)}`,
  ...(target ? [`--target=${target}`] : []),
  ...(executablePath ? [`--compile-executable-path=${executablePath}`] : []),
  join(root, "bin", "quantlab-collector.ts"),
  join(root, "src", "pipeline", "encode-worker.ts"),
  "--outfile",
  outfile,
];
const res = Bun.spawnSync(cmd, { cwd: root, stdout: "inherit", stderr: "inherit" });
if (res.exitCode !== 0) {
  console.error(`build failed (exit ${res.exitCode})`);
  process.exit(res.exitCode ?? 1);
}
console.log(`built ${outfile} (commit ${commit}${target ? `, target ${target}` : ""})`);
