/**
 * Scope: the dependency direction of src/ and where runtime APIs may appear (README.md "Architecture").
 * Reads every import line of src/ and checks it against the allowed edges, so "the writer knows
 * nothing about exchanges" is a rule a change cannot break silently.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "..", "src");

/** Leaf modules any layer may import: they import nothing of the project's but each other. */
const LEAVES = new Set(["log", "errors", "clock", "version", "backoff"]);

/**
 * layer → layers it may import. `type:` edges are allowed only as `import type` (a shape, no code).
 * app is the composition root; cli is the entry; nothing imports either but cli → app.
 */
const ALLOWED: Record<string, { value: string[]; type?: string[] }> = {
  schema: { value: ["schema"] },
  exchanges: { value: ["exchanges", "schema"] },
  ws: { value: ["ws"], type: ["exchanges", "schema"] },
  // The writer and the storage own their counters (stats()); run/ pulls them: neither sees `state`.
  pipeline: { value: ["pipeline", "schema", "storage/paths"], type: ["storage"] },
  storage: { value: ["storage"] },
  state: { value: ["state", "schema"] },
  status: { value: ["status", "state", "schema"] },
  sim: { value: ["sim", "schema"] },
  config: { value: ["schema"] },
  // What each row and connection event does on the socket thread: state trackers, the queue (by type).
  ingest: { value: ["state", "schema"], type: ["pipeline", "ws"] },
  // Order books: continuity, resync, REST anchoring (venue rules come from adapters, by type only).
  books: { value: ["books", "schema", "pipeline/wasm-init"], type: ["exchanges", "ws", "state"] },
  // The collector's named parts (storage, pipeline, venues, health, monitors, shutdown, signals…), wired by app.
  run: { value: ["run", "exchanges", "schema", "ws", "pipeline", "storage", "state", "status", "config", "books", "ingest"] },
  app: { value: ["run", "exchanges", "schema", "state", "config"] },
  cli: { value: ["app", "config", "exchanges", "schema", "sim", "books", "compact", "inspect"] },
  // Offline tools over the written files: read/encode Parquet with the product's own code, list/get/put/delete objects.
  // (config by value for its one S3 settings accessor, config.s3Settings, shared with run/storage.)
  compact: { value: ["compact", "schema", "pipeline", "storage", "config"] },
  inspect: { value: ["inspect", "compact", "config", "schema", "pipeline", "storage"] },
  // Leaves: only other leaves (and package.json for the version).
  ...Object.fromEntries([...LEAVES].map((l) => [l, { value: [] }])),
};

interface Edge {
  from: string; // path under src/
  to: string; // path under src/ (or "../package.json")
  typeOnly: boolean;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Static `import … from "./x"` / `export … from "./x"` statements, multi-line ones included. */
function edgesOf(file: string): Edge[] {
  const text = readFileSync(file, "utf8");
  const out: Edge[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+"(\.[^"]+)"/gms)) {
    const specifiers = m[2]!;
    const braces = /^\{([^}]*)\}$/.exec(specifiers.trim());
    const inlineTypeOnly =
      braces !== null &&
      braces[1]!
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith("type "));
    out.push({ from: relative(SRC, file), to: relative(SRC, resolve(dirname(file), m[3]!)), typeOnly: m[1] !== undefined || inlineTypeOnly });
  }
  return out;
}

/** The layer of a path under src/: its folder, or the file's base name at the top level. */
const layerOf = (p: string) => (p.includes("/") ? p.split("/")[0]! : p.replace(/\.ts$/, ""));

const files = walk(SRC);
const edges = files.flatMap(edgesOf);

describe("architecture", () => {
  test("the import scan sees the project (a scan that finds nothing would pass every rule)", () => {
    expect(files.length).toBeGreaterThan(40);
    expect(edges.length).toBeGreaterThan(80);
    expect(edges).toContainEqual({ from: "pipeline/writer.ts", to: "storage/types.ts", typeOnly: true });
    expect(edges).toContainEqual({ from: "run/pipeline.ts", to: "pipeline/writer.ts", typeOnly: false });
    expect(edges).toContainEqual({ from: "app.ts", to: "run/venues.ts", typeOnly: false });
  });

  test("every import follows the allowed dependency direction", () => {
    const violations: string[] = [];
    for (const e of edges) {
      if (e.to === "../package.json") {
        if (e.from !== "version.ts") violations.push(`${e.from} → package.json (only version.ts reads it)`);
        continue;
      }
      const from = layerOf(e.from);
      const to = layerOf(e.to);
      const rule = ALLOWED[from];
      if (!rule) {
        violations.push(`${e.from}: layer "${from}" has no rule in test/architecture.test.ts`);
        continue;
      }
      if (LEAVES.has(to)) continue; // leaves are open to all
      const targets = [to, e.to.replace(/\.ts$/, "")];
      const ok = targets.some((t) => rule.value.includes(t)) || (e.typeOnly && targets.some((t) => rule.type?.includes(t)));
      if (!ok) violations.push(`${e.from} → ${e.to}${e.typeOnly ? " (type)" : ""}`);
    }
    expect(violations).toEqual([]);
  });

  test("the writer, storage and state know nothing about venues", () => {
    const leaks = edges.filter(
      (e) => ["pipeline", "storage", "state", "status"].includes(layerOf(e.from)) && ["exchanges", "ws", "sim"].includes(layerOf(e.to)),
    );
    expect(leaks).toEqual([]);
  });

  test("nothing imports app or cli except the entry chain", () => {
    const into = edges.filter((e) => e.to === "app.ts" || e.to === "cli.ts").map((e) => `${e.from} → ${e.to}`);
    expect(into).toEqual(["cli.ts → app.ts"]);
  });

  test("the encoder worker does not load apache-arrow (its own IPC writer: ~11 MB of resident memory less)", () => {
    // Every module the worker reaches through static imports, and the packages they import.
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (rel: string) => {
      if (seen.has(rel)) return;
      seen.add(rel);
      const text = readFileSync(join(SRC, rel), "utf8");
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\s*from\s+"([^"]+)"/gms)) {
        const spec = m[1]!;
        if (spec.startsWith(".")) visit(relative(SRC, resolve(dirname(join(SRC, rel)), spec)));
        else packages.add(spec);
      }
    };
    visit("pipeline/encode-worker.ts");
    expect(seen.has("pipeline/arrow-ipc.ts")).toBe(true);
    expect([...packages].sort()).toEqual(["flatbuffers", "parquet-wasm/esm", "parquet-wasm/esm/parquet_wasm_bg.wasm"]);
  });

  test("runtime APIs appear only at the edges", () => {
    const where = (re: RegExp) =>
      files
        .filter((f) => re.test(readFileSync(f, "utf8")))
        .map((f) => relative(SRC, f))
        .sort();
    expect(where(/new WebSocket\(/)).toEqual(["ws/connection.ts"]);
    expect(where(/Bun\.serve\b/)).toEqual(["sim/server.ts", "status/server.ts"]);
    expect(where(/\bS3Client\b|Bun\.s3\b/)).toEqual(["storage/s3.ts"]);
    // status/port-holder and status/process read /proc (who holds a taken status port; open fds).
    expect(where(/from "node:fs(\/promises)?"/)).toEqual([
      "books/files.ts",
      "config.ts",
      "status/port-holder.ts",
      "status/process.ts",
      "storage/local.ts",
      "storage/objects.ts",
      "storage/spool-files.ts",
      "storage/spool-recovery.ts",
    ]);
    expect(where(/process\.(env|argv)\b/)).toEqual(["cli.ts"]);
    // The product's one kind of HTTP request: the REST order-book snapshot (issue 11).
    expect(where(/(^|[^.\w])fetch\((?!req\b)/m)).toEqual(["books/rest-fetch.ts"]);
  });
});
