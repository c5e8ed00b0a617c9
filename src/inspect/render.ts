/** @module inspect/render — the inspect report as a terminal table or one self-contained HTML page (inline CSS and SVG, no scripts, no network). */
import type { Gap, InspectReport, PartitionReport } from "./scan.ts";

const iso = (us: number | null) => (us === null ? "-" : new Date(Math.floor(us / 1000)).toISOString().replace("T", " ").replace("Z", ""));
const time = (us: number | null) => (us === null ? "-" : iso(us).slice(11, 23));
const secs = (s: number) => (s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));

function gapText(g: Gap | undefined): string {
  if (!g) return "-";
  return `${secs(g.seconds)} s @${time(g.from_us)}`;
}

function explained(g: Gap | undefined, sporadic: boolean): string {
  if (!g) return "-";
  if (g.disconnect) return `yes: ${g.disconnect.conn_id} ${g.disconnect.close_code ?? ""} ${g.disconnect.reason ?? ""}`.trim();
  return sporadic ? "- (sporadic stream)" : "no";
}

export function renderTable(r: InspectReport): string {
  const head = [
    "exchange",
    "stream",
    "symbol",
    "rows",
    "files",
    "first (UTC)",
    "last (UTC)",
    "largest gap",
    "disconnect explains it",
    "trade ids missing",
    "schema",
  ];
  const rows = r.partitions.map((p) => [
    p.exchange,
    p.stream,
    p.symbol,
    String(p.rows),
    p.compacted_files ? `${p.files} (${p.compacted_files} compacted)` : String(p.files),
    time(p.first_ts_recv_us),
    time(p.last_ts_recv_us),
    gapText(p.gaps[0]),
    p.stream === "connection" ? "-" : explained(p.gaps[0], p.sporadic),
    p.trade_ids ? String(p.trade_ids.missing) : "-",
    p.schema_versions.join(",") + (p.errors.length ? ` ERRORS: ${p.errors.length}` : ""),
  ]);
  const widths = head.map((h, i) => rows.reduce((w, row) => Math.max(w, row[i]?.length ?? 0), h.length));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 3 || i === 4 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = [
    `${r.source} — ${r.date} (UTC; dates present: ${r.dates_available.join(", ") || "none"})`,
    "",
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ];
  if (r.disconnects.length) {
    out.push("", "disconnects:");
    for (const d of r.disconnects) out.push(`  ${iso(d.ts_us)}  ${d.conn_id}  ${d.close_code ?? ""} ${d.reason ?? ""}`.trimEnd());
  }
  const idGaps = r.partitions.flatMap((p) => (p.trade_ids && p.trade_ids.missing > 0 ? [{ p, ids: p.trade_ids }] : []));
  if (idGaps.length) {
    out.push("", "trade-id gaps (ids skipped on venues whose ids are contiguous):");
    for (const { p, ids } of idGaps)
      for (const g of ids.gaps) out.push(`  ${p.exchange} ${p.symbol}: ${g.missing} missing after id ${g.after_id} (next ${g.next_id} at ${time(g.at_us)})`);
  }
  const books = r.partitions.flatMap((p) => (p.book ? [{ p, b: p.book }] : []));
  if (books.length) {
    out.push("", "books (snapshots; book_gap events: breaks the collector saw and resynced, docs/books.md):");
    for (const { p, b } of books) {
      out.push(
        `  ${p.exchange} ${p.symbol}: ${b.snapshots} snapshot(s)${b.rest_snapshots ? ` (${b.rest_snapshots} REST)` : ""}, ${b.gap_events} book_gap event(s)`,
      );
      for (const g of b.gaps) out.push(`    ${iso(g.ts_us)}  ${g.conn_id}  ${g.reason ?? ""}`.trimEnd());
    }
  }
  const sporadic = [...new Set(r.partitions.filter((p) => p.sporadic).map((p) => p.stream))];
  if (sporadic.length) out.push("", `${sporadic.join(", ")}: sporadic (rows only when something happens): gaps are listed, not flagged`);
  if (r.ignored_keys) out.push("", `${r.ignored_keys} object(s) not in the v1 layout were ignored`);
  return out.join("\n") + "\n";
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const W = 960;
/** Gaps shorter than this are listed (JSON, table) but not flagged or drawn unless a disconnect explains them. */
export const MARK_GAP_SECONDS = 1;
const H = 46;

function timeline(p: PartitionReport, r: InspectReport): string {
  const { start_us, bucket_us, buckets } = r.timeline;
  const span = bucket_us * buckets;
  const x = (us: number) => ((us - start_us) / span) * W;
  const max = Math.max(1, ...p.per_bucket);
  const bw = W / buckets;
  const bars = p.per_bucket
    .map((n, i) =>
      n === 0
        ? ""
        : `<rect class="bar" x="${(i * bw).toFixed(2)}" y="${(H - (n / max) * (H - 4)).toFixed(2)}" width="${Math.max(bw, 0.6).toFixed(2)}" height="${((n / max) * (H - 4)).toFixed(2)}"/>`,
    )
    .join("");
  const first = p.first_ts_recv_us;
  const last = p.last_ts_recv_us;
  const empty = p.per_bucket
    .map((n, i) =>
      n === 0 &&
      p.stream !== "connection" &&
      !p.sporadic &&
      first !== null &&
      last !== null &&
      start_us + i * bucket_us >= first - bucket_us &&
      start_us + i * bucket_us <= last
        ? `<rect class="empty" x="${(i * bw).toFixed(2)}" y="0" width="${Math.max(bw, 0.6).toFixed(2)}" height="${H}"/>`
        : "",
    )
    .join("");
  const gaps =
    p.stream === "connection"
      ? ""
      : p.gaps
          .filter((g) => g.disconnect !== null || (g.seconds >= MARK_GAP_SECONDS && !p.sporadic))
          .map((g) => {
            const gx = x(g.from_us);
            const w = Math.max(3, x(g.to_us) - gx);
            const title = `gap ${secs(g.seconds)} s from ${iso(g.from_us)} to ${iso(g.to_us)}${g.disconnect ? ` — explained: ${g.disconnect.conn_id} disconnected (${g.disconnect.close_code ?? "no code"} ${g.disconnect.reason ?? ""})` : " — no disconnect inside"}`;
            return `<rect class="gap ${g.disconnect ? "explained" : "unexplained"}" data-from-us="${g.from_us}" data-to-us="${g.to_us}" data-seconds="${g.seconds}" x="${gx.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="${H}"><title>${esc(title)}</title></rect>`;
          })
          .join("");
  const discs = r.disconnects
    .filter((d) => d.exchange === p.exchange && (p.stream === "connection" || d.streams === null || d.streams.split(",").includes(`${p.stream}:${p.symbol}`)))
    .map((d) => {
      const dx = x(d.ts_us).toFixed(2);
      return `<g class="disconnect" data-ts-us="${d.ts_us}"><line x1="${dx}" x2="${dx}" y1="0" y2="${H}"/><path d="M${dx} 0 l-4 -7 h8 z"/><title>${esc(`disconnect ${iso(d.ts_us)} ${d.conn_id} ${d.close_code ?? ""} ${d.reason ?? ""}`)}</title></g>`;
    })
    .join("");
  const bookGaps = (p.book?.gaps ?? [])
    .map((g) => {
      const gx = x(g.ts_us).toFixed(2);
      return `<g class="book-gap" data-ts-us="${g.ts_us}"><line x1="${gx}" x2="${gx}" y1="0" y2="${H}"/><title>${esc(`book_gap ${iso(g.ts_us)} ${g.conn_id} ${g.reason ?? ""} (resynced)`)}</title></g>`;
    })
    .join("");
  return `<svg class="timeline" viewBox="0 -8 ${W} ${H + 8}" width="${W}" height="${H + 8}" role="img" aria-label="${esc(`${p.exchange} ${p.stream} ${p.symbol}: rows per bucket`)}"><rect class="bg" x="0" y="0" width="${W}" height="${H}"/>${empty}${bars}${gaps}${discs}${bookGaps}</svg>`;
}

function axis(r: InspectReport): string {
  const { start_us, bucket_us, buckets } = r.timeline;
  const span = bucket_us * buckets;
  const ticks = 6;
  let out = "";
  for (let i = 0; i <= ticks; i++) {
    const us = start_us + (span * i) / ticks;
    out += `<text x="${((W * i) / ticks).toFixed(1)}" y="12" text-anchor="${i === 0 ? "start" : i === ticks ? "end" : "middle"}">${esc(time(us).slice(0, 8))}</text>`;
  }
  return `<svg class="axis" viewBox="0 0 ${W} 16" width="${W}" height="16">${out}</svg>`;
}

export function renderHtml(r: InspectReport): string {
  const bucketLabel = r.timeline.bucket_us >= 60e6 ? "minute" : `${r.timeline.bucket_us / 1e6} s`;
  const rows = r.partitions
    .map((p) => {
      const g = p.gaps[0];
      const cls = p.errors.length ? "err" : g && !g.disconnect && !p.sporadic && g.seconds >= MARK_GAP_SECONDS ? "warn" : "";
      const ids = p.trade_ids ? `${p.trade_ids.missing} missing of ${p.trade_ids.last - p.trade_ids.first + 1}` : "—";
      return `<tr class="${cls}" data-partition="${esc(`${p.exchange}/${p.stream}/${p.symbol}`)}">
<th>${esc(p.exchange)}<br><span>${esc(p.stream)}</span><br><b>${esc(p.symbol)}</b></th>
<td class="num">${p.rows.toLocaleString("en-US")}<br><span>${p.files} file${p.files === 1 ? "" : "s"}${p.compacted_files ? `, ${p.compacted_files} compacted` : ""}</span></td>
<td>${timeline(p, r)}</td>
<td class="detail">${esc(time(p.first_ts_recv_us))} → ${esc(time(p.last_ts_recv_us))}<br>largest gap: ${g ? `${esc(secs(g.seconds))} s ${g.disconnect ? `<span class="ok">explained (${esc(g.disconnect.conn_id)})</span>` : p.sporadic ? "" : p.stream === "connection" || g.seconds < MARK_GAP_SECONDS ? "" : '<span class="bad">no disconnect</span>'}` : "—"}<br>${p.book ? `book: ${p.book.snapshots} snapshot${p.book.snapshots === 1 ? "" : "s"}${p.book.rest_snapshots ? ` (${p.book.rest_snapshots} REST)` : ""}, <span class="${p.book.gap_events ? "resync" : "ok"}">${p.book.gap_events} book_gap event${p.book.gap_events === 1 ? "" : "s"}</span>` : p.sporadic ? '<span class="quiet">sporadic stream: gaps are not flagged</span>' : `trade ids: ${esc(ids)}`}<br>schema ${esc(p.schema_versions.join(","))}${p.errors.length ? `<br><span class="bad">${esc(p.errors.join("; "))}</span>` : ""}</td>
</tr>`;
    })
    .join("\n");
  const discs = r.disconnects
    .map((d) => `<li>${esc(iso(d.ts_us))} <code>${esc(d.conn_id)}</code> ${esc(String(d.close_code ?? ""))} ${esc(d.reason ?? "")}</li>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>QuantLab data coverage ${esc(r.date)}</title>
<style>
body{font:14px/1.35 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fbfbfd}
h1{font-size:20px;margin:0 0 4px}p.meta{color:#5b6475;margin:0 0 16px}
table{border-collapse:collapse}th,td{padding:6px 10px;border-bottom:1px solid #e3e6ec;vertical-align:middle;text-align:left}
th span,td span{color:#5b6475;font-weight:normal}td.num{text-align:right;white-space:nowrap}td.detail{font-size:12px;white-space:nowrap}
tr.warn{background:#fff7e6}tr.err{background:#fdecec}
.bg{fill:#f0f2f6}.bar{fill:#3b6fd8}.empty{fill:#f6d2d2}.gap.explained{fill:#e8a33d;fill-opacity:.55}.gap.unexplained{fill:#d83b3b;fill-opacity:.6}
.disconnect line{stroke:#111;stroke-width:1.5}.disconnect path{fill:#111}.book-gap line{stroke:#7a3fd1;stroke-width:2;stroke-dasharray:4 2}
.quiet{color:#5b6475}.resync{color:#7a3fd1;font-weight:600}
.ok{color:#1f7a3a}.bad{color:#b42318;font-weight:600}.axis text{font-size:11px;fill:#5b6475}
.legend span{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin:0 4px 0 14px}
</style></head><body>
<h1>Data coverage — ${esc(r.date)} (UTC)</h1>
<p class="meta">${esc(r.source)} · generated ${esc(r.generated_at)} · rows per ${esc(bucketLabel)} from ${esc(iso(r.timeline.start_us))} · ${r.partitions.length} partitions · ${r.disconnects.length} disconnects</p>
<p class="legend"><span style="background:#3b6fd8"></span>rows<span style="background:#f6d2d2"></span>no rows<span style="background:#e8a33d"></span>gap explained by a disconnect<span style="background:#d83b3b"></span>gap without a disconnect<span style="background:#111;width:2px"></span> disconnect<span style="background:#7a3fd1;width:2px"></span> book_gap (book resynced)</p>
<table>
<thead><tr><th>partition</th><th>rows</th><th>${axis(r)}</th><th></th></tr></thead>
<tbody>
${rows}
</tbody></table>
${discs ? `<h2>Disconnects</h2><ul>${discs}</ul>` : ""}
</body></html>
`;
}
