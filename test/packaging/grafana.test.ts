/**
 * Scope: docs/grafana-dashboard.json is a valid, importable Grafana dashboard whose every query
 * names only metrics (and labels) that GET /metrics/prometheus actually serves, and which covers
 * what an operator watches: state, events/s, queue, drops, reconnects, silence, storage failures,
 * pending rows, memory.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderPrometheus } from "../../src/status/prometheus.ts";
import { REPO } from "../helpers/collector.ts";
import { parseExposition, richSnapshot } from "./prom.ts";

interface Target {
  refId: string;
  expr: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}

const raw = readFileSync(join(REPO, "docs", "grafana-dashboard.json"), "utf8");
const exposition = parseExposition(renderPrometheus(richSnapshot()));

/** Label names each served family carries. */
const labelsOf = new Map([...exposition.families].map(([name, f]) => [name, new Set(f.metrics.flatMap((s) => Object.keys(s.labels ?? {})))]));
/** Labels Prometheus itself attaches to every scraped series. */
const TARGET_LABELS = ["instance", "job"];

describe("docs/grafana-dashboard.json", () => {
  const dash = JSON.parse(raw) as {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query: unknown }> };
  };
  const panels = dash.panels.filter((p) => p.type !== "row");
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  const variableQueries = dash.templating.list.filter((v) => v.type === "query").map((v) => ({ panel: `variable ${v.name}`, expr: JSON.stringify(v.query) }));

  test("is a dashboard: uid, title, schemaVersion, panels with unique ids inside a 24-column grid", () => {
    expect(dash.uid).toBe("quantlab-collector");
    expect(dash.title.length).toBeGreaterThan(0);
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dash.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.gridPos.h).toBeGreaterThan(0);
    }
    expect(panels.length).toBeGreaterThanOrEqual(12);
  });

  test("every panel and query uses the Prometheus data source chosen at import", () => {
    expect(dash.templating.list.find((v) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const p of panels) {
      expect({ panel: p.title, ds: p.datasource }).toEqual({ panel: p.title, ds: { type: "prometheus", uid: "${datasource}" } });
      expect(p.targets?.length ?? 0).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.datasource?.uid).toBe("${datasource}");
    }
  });

  test("every metric it queries is served by /metrics/prometheus, with labels the metric has", () => {
    const unknown: string[] = [];
    for (const { panel, expr } of [...exprs, ...variableQueries]) {
      // Brackets balance (a cheap syntax check; the names are what can drift).
      for (const [open, close] of ["()", "{}", "[]"]) expect({ panel, n: expr.split(open!).length }).toEqual({ panel, n: expr.split(close!).length });
      // Histogram series (_bucket/_sum/_count) belong to their family; process_* are the standard unprefixed ones.
      const names = [...expr.matchAll(/\b(?:quantlab_collector|process)_[a-z0-9_]+\b/g)].map((m) =>
        exposition.families.get(m[0]) ? m[0] : m[0].replace(/_(bucket|sum|count)$/, ""),
      );
      expect({ panel, names: names.length > 0 }).toEqual({ panel, names: true });
      const allowed = new Set([...TARGET_LABELS]);
      for (const n of names) {
        if (!exposition.families.has(n)) unknown.push(`${panel}: ${n}`);
        for (const l of labelsOf.get(n) ?? []) allowed.add(l);
        if (exposition.families.get(n)?.type === "HISTOGRAM") allowed.add("le");
      }
      const used = [
        ...[...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
          m[1]!
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        ),
        ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!)),
      ];
      for (const l of used) expect({ panel, label: l, known: allowed.has(l) }).toEqual({ panel, label: l, known: true });
    }
    expect(unknown).toEqual([]);
  });

  test("covers state, events/s per stream, queue %, drops, reconnects, watchdog closes, rotations, silence, upload failures, spool depth, pending rows, RSS", () => {
    const all = exprs.map((e) => e.expr).join("\n");
    for (const m of [
      "state",
      "events_total",
      "queue_utilization_ratio",
      "dropped_events_total",
      "ws_reconnect_total",
      "silence_intervals_total",
      "upload_failures_total",
      "pending_events",
      "spool_files",
      "spool_bytes",
      "spool_oldest_age_seconds",
      "ws_watchdog_total",
      "ws_rotations_total",
      "event_loop_lag_seconds_bucket",
    ]) {
      expect(all).toContain(`quantlab_collector_${m}`);
    }
    expect(all).toContain("process_resident_memory_bytes");
    expect(all).toContain("sum by (stream) (rate(quantlab_collector_events_total");
    expect(all).toContain("sum by (exchange) (increase(quantlab_collector_ws_reconnect_total");
  });
});
