/**
 * Scope: deploy/quantlab-collector.rules.yml — every rule has a severity, summary, description and
 * a runbook anchor that exists in docs/operations.md; `promtool check rules` accepts the file and
 * `promtool test rules` replays a healthy start, a restart and a clean stop (nothing fires) and
 * each failure (its alert fires, with its annotations). promtool steps are skipped, saying so,
 * where the Debian package `prometheus` is not installed.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../helpers/collector.ts";

const RULES = join(REPO, "deploy", "quantlab-collector.rules.yml");
const CASES = join(import.meta.dir, "fixtures", "alerts.promtool.yml");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (Bun.YAML.parse(readFileSync(RULES, "utf8")) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-"),
    ),
  );
}

describe("alert rules", () => {
  test("cover not writing, drops, stuck OFFLINE/ERROR, silent subscriptions, S3 spool, book gaps, target down", () => {
    const exprs = rules.map((r) => r.expr).join("\n");
    for (const m of [
      "quantlab_collector_last_write_timestamp_seconds",
      "quantlab_collector_dropped_events_total",
      'state="OFFLINE"',
      'state="ERROR"',
      "quantlab_collector_silent_subscriptions",
      "quantlab_collector_spool_oldest_age_seconds",
      "quantlab_collector_book_gaps_total",
      "up{",
    ])
      expect(exprs).toContain(m);
  });

  test("each has a severity, summary, description and a runbook anchor that exists in docs/operations.md", () => {
    const have = anchors(readFileSync(join(REPO, "docs", "operations.md"), "utf8"));
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) {
      expect({ alert: r.alert, severity: ["critical", "warning"].includes(r.labels?.severity ?? "") }).toEqual({ alert: r.alert, severity: true });
      expect({ alert: r.alert, summary: (r.annotations?.summary ?? "").length > 10, description: (r.annotations?.description ?? "").length > 20 }).toEqual({
        alert: r.alert,
        summary: true,
        description: true,
      });
      const [file, anchor] = (r.annotations?.runbook_url ?? "").split("#");
      expect({ alert: r.alert, file, anchorExists: have.has(anchor ?? "") }).toEqual({ alert: r.alert, file: "docs/operations.md", anchorExists: true });
    }
  });

  test("the not-writing rule cannot fire on a fresh process: a last-write timestamp of 0 is handled apart", () => {
    const nw = rules.find((r) => r.alert === "QuantLabCollectorNotWriting")!;
    expect(nw.expr).toContain("quantlab_collector_last_write_timestamp_seconds > 0");
    expect(nw.expr).toContain("quantlab_collector_last_write_timestamp_seconds == 0 and quantlab_collector_uptime_seconds");
  });

  const promtool = Bun.which("promtool");
  test("promtool check rules accepts the file", () => {
    if (!promtool) return void console.log("SKIP promtool check rules: promtool not installed (Debian package prometheus)");
    const p = Bun.spawnSync([promtool, "check", "rules", RULES], { stdout: "pipe", stderr: "pipe" });
    expect({ code: p.exitCode, err: p.stderr.toString() }).toEqual({ code: 0, err: "" });
    expect(p.stdout.toString()).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test("promtool test rules: quiet on a healthy start, restart and clean stop; each failure fires", () => {
    if (!promtool) return void console.log("SKIP promtool test rules: promtool not installed (Debian package prometheus)");
    const p = Bun.spawnSync([promtool, "test", "rules", CASES], { cwd: join(import.meta.dir, "fixtures"), stdout: "pipe", stderr: "pipe" });
    expect({ code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() }).toMatchObject({ code: 0 });
    // Every rule is exercised by at least one firing case.
    const cases = readFileSync(CASES, "utf8");
    for (const r of rules)
      expect({ alert: r.alert, fires: new RegExp(`alertname: ${r.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`).test(cases) }).toEqual({
        alert: r.alert,
        fires: true,
      });
  });
});
