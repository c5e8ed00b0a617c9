/**
 * @module compact/compact — merge the files of a closed UTC day (or hour) of each
 * (exchange, stream, symbol) partition into one file, sorted, with large row groups.
 *
 * Steps per partition: read every source → put the compacted file (deterministic name and bytes) →
 * read it back and verify row count, checksum and order → delete the sources. A crash at any step
 * leaves either the sources, or the compacted file plus (some of) its sources: the compacted file
 * lists its sources in its metadata, so a rerun verifies it against the sources still present and
 * finishes the deletes, never merging the same rows twice (docs/compact.md).
 */
import { describeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { STREAMS, type FileStream } from "../schema/rows.ts";
import { fileMetadata } from "../schema/v1.ts";
import { initParquetWasm } from "../pipeline/wasm-init.ts";
import { parseObjectKey, partitionDir } from "../storage/paths.ts";
import type { ObjectInfo, Objects } from "../storage/objects.ts";
import { Checksum, checksum, CompactError, concat, decode, encode, sortOrder, verifyFile, type Decoded } from "./table.ts";

export type Granularity = "day" | "hour";
export type Step = "read" | "put" | "verify" | "delete";

/** Compacted files: `compacted-<YYYY-MM-DD>-<checksum>.parquet` (day) or `compacted-<YYYY-MM-DD>T<HH>-<checksum>.parquet` (hour). */
export const COMPACTED_RE = /^compacted-(\d{4}-\d{2}-\d{2})(?:T(\d{2}))?-([0-9a-f]{16})\.parquet$/;
/** Files written by the collector: `<first_ts_recv_us>-<instance_id>-<n>.parquet`. */
const RAW_RE = /^(\d{1,17})-[0-9a-z]+-\d+\.parquet$/;

export const DEFAULT_GRACE_MINUTES = 30;
const FILE_STREAMS: readonly string[] = [...STREAMS, "connection"];
export const COMPACT_ROW_GROUP_ROWS = 1_000_000;

export interface CompactOptions {
  objects: Objects;
  granularity: Granularity;
  /** Epoch ms (injected clock). */
  now: () => number;
  /** A period is compacted only once its end is this far in the past. */
  graceMinutes: number;
  date?: string;
  exchange?: string;
  stream?: string;
  symbol?: string;
  dryRun?: boolean;
  collectorVersion: string;
  log: Logger;
  maxRowGroupRows?: number;
  /** Called after each step of each partition (tests: kill -9 here). */
  afterStep?: (step: Step, partition: string) => void;
}

export interface CompactReport {
  partitions: number;
  compacted: number;
  alreadyCompact: number;
  recovered: number;
  open: number;
  errors: number;
  filesBefore: number;
  filesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  rows: number;
  ignoredKeys: number;
}

interface FileRef {
  key: string;
  name: string;
  size: number;
  compacted: boolean;
}

interface Group {
  exchange: string;
  stream: FileStream;
  symbol: string;
  date: string;
  /** `YYYY-MM-DD` or `YYYY-MM-DDTHH`. */
  period: string;
  endMs: number;
  files: FileRef[];
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Which period a file belongs to; null = not ours (left alone, counted). */
function periodOf(name: string, date: string, g: Granularity): string | null {
  const c = COMPACTED_RE.exec(name);
  if (c) {
    if (c[1] !== date) return null;
    if (g === "day") return date;
    return c[2] === undefined ? null : `${date}T${c[2]}`; // a day file is not part of any hour
  }
  const r = RAW_RE.exec(name);
  if (!r) return null;
  const t = new Date(Math.floor(Number(r[1]) / 1000));
  if (t.toISOString().slice(0, 10) !== date) return null;
  return g === "day" ? date : `${date}T${pad(t.getUTCHours())}`;
}

function periodEndMs(period: string): number {
  return period.length === 10 ? Date.parse(`${period}T00:00:00Z`) + 86_400_000 : Date.parse(`${period}:00:00Z`) + 3_600_000;
}

export function groupObjects(
  objects: ObjectInfo[],
  o: Pick<CompactOptions, "granularity" | "date" | "exchange" | "stream" | "symbol">,
): { groups: Group[]; ignored: number } {
  const groups = new Map<string, Group>();
  let ignored = 0;
  for (const obj of objects) {
    const k = parseObjectKey(obj.key);
    const stream = k?.stream as FileStream | undefined;
    if (!k || !stream || !FILE_STREAMS.includes(k.stream)) {
      if (!obj.key.split("/").pop()!.startsWith(".")) ignored++; // temp files of a writer are not ours to count
      continue;
    }
    if (
      (o.date && k.date !== o.date) ||
      (o.exchange && k.exchange !== o.exchange) ||
      (o.stream && k.stream !== o.stream) ||
      (o.symbol && k.symbol !== o.symbol)
    )
      continue;
    const period = periodOf(k.file, k.date, o.granularity);
    if (period === null) {
      if (!COMPACTED_RE.test(k.file)) ignored++;
      continue;
    }
    const id = `${partitionDir(k)}|${period}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { exchange: k.exchange, stream, symbol: k.symbol, date: k.date, period, endMs: periodEndMs(period), files: [] }));
    g.files.push({ key: obj.key, name: k.file, size: obj.size, compacted: COMPACTED_RE.test(k.file) });
  }
  for (const g of groups.values()) g.files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    groups: [...groups.values()].sort((a, b) => (a.period + a.exchange + a.stream + a.symbol < b.period + b.exchange + b.stream + b.symbol ? -1 : 1)),
    ignored,
  };
}

export async function compact(o: CompactOptions): Promise<CompactReport> {
  const report: CompactReport = {
    partitions: 0,
    compacted: 0,
    alreadyCompact: 0,
    recovered: 0,
    open: 0,
    errors: 0,
    filesBefore: 0,
    filesAfter: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    rows: 0,
    ignoredKeys: 0,
  };
  await initParquetWasm();
  const { groups, ignored } = groupObjects(await o.objects.list(), o);
  report.ignoredKeys = ignored;
  o.log.info("compact_start", {
    storage: o.objects.describe,
    granularity: o.granularity,
    grace_minutes: o.graceMinutes,
    partitions: groups.length,
    ignored_keys: ignored,
    dry_run: o.dryRun ?? false,
  });
  for (const g of groups) {
    const where = `${partitionDir(g)} ${g.period}`;
    report.partitions++;
    report.filesBefore += g.files.length;
    report.bytesBefore += g.files.reduce((a, f) => a + f.size, 0);
    if (o.now() < g.endMs + o.graceMinutes * 60_000) {
      report.open++;
      report.filesAfter += g.files.length;
      report.bytesAfter += g.files.reduce((a, f) => a + f.size, 0);
      o.log.info("compact_skip", { partition: where, reason: `period not closed: ends ${new Date(g.endMs).toISOString()} + ${o.graceMinutes} min grace` });
      continue;
    }
    try {
      const left = await compactGroup(g, where, o, report);
      report.filesAfter += left.files;
      report.bytesAfter += left.bytes;
    } catch (err) {
      report.errors++;
      report.filesAfter += g.files.length;
      report.bytesAfter += g.files.reduce((a, f) => a + f.size, 0);
      o.log.error("compact_error", {
        partition: where,
        error: describeError(err),
        action: err instanceof CompactError ? "sources left in place; see the error" : "sources left in place; rerun compact once storage is reachable",
      });
    }
  }
  o.log.info("compact_done", { ...report });
  return report;
}

/**
 * GET of an object just PUT. An S3-compatible store may answer a GET right after the PUT with a
 * shorter body (s3rver did, under load: "Empty input provided"); real S3 is read-after-write
 * consistent. A body of the wrong length is fetched again a few times before verify judges it.
 */
async function readBack(o: CompactOptions, key: string, size: number): Promise<Uint8Array> {
  let got = await o.objects.get(key);
  for (let i = 0; got.length !== size && i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** i));
    got = await o.objects.get(key);
  }
  return got;
}

/** Read every input, merge, sort and encode; only the encoded bytes outlive this call. */
async function merge(
  g: Group,
  inputs: FileRef[],
  read: (f: FileRef) => Promise<{ t: Decoded }>,
  o: CompactOptions,
): Promise<{ bytes: Uint8Array; rows: number; sum: string }> {
  const parts: Decoded[] = [];
  for (const f of inputs) parts.push((await read(f)).t);
  const all = concat(parts, g.stream);
  parts.length = 0; // the per-file copies can go before sorting and encoding
  const sum = checksum(all);
  const order = sortOrder(all, g.stream);
  const meta = fileMetadata({ exchange: g.exchange, stream: g.stream, symbol: g.symbol, instanceId: "compact", collectorVersion: o.collectorVersion });
  meta.set("compacted_from", JSON.stringify(inputs.map((f) => f.name)));
  meta.set("compacted_rows", String(all.length));
  meta.set("compacted_checksum", sum);
  meta.set("compacted_period", g.period);
  const bytes = await encode(all, order, g.stream, meta, `quantlab-collector ${o.collectorVersion} compact`, o.maxRowGroupRows ?? COMPACT_ROW_GROUP_ROWS);
  return { bytes, rows: all.length, sum };
}

function sourcesOf(meta: Map<string, string>, what: string): string[] {
  try {
    const v = JSON.parse(meta.get("compacted_from") ?? "");
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
  } catch {
    /* below */
  }
  throw new CompactError(`${what}: no valid compacted_from metadata`);
}

async function compactGroup(g: Group, where: string, o: CompactOptions, report: CompactReport): Promise<{ files: number; bytes: number }> {
  const dir = partitionDir(g);
  const present = new Map(g.files.map((f) => [f.name, f]));
  const step = (s: Step) => o.afterStep?.(s, where);
  const read = async (f: FileRef): Promise<{ bytes: Uint8Array; t: Decoded }> => {
    const bytes = await o.objects.get(f.key);
    const t = await decode(bytes, g.stream, f.key);
    const m = t.metadata;
    if (m.get("exchange") !== g.exchange || m.get("stream") !== g.stream || m.get("symbol") !== g.symbol) {
      throw new CompactError(`${f.key}: metadata says ${m.get("exchange")}/${m.get("stream")}/${m.get("symbol")}, not its folder`);
    }
    return { bytes, t };
  };
  const remaining = () => {
    const files = [...present.values()];
    return { files: files.length, bytes: files.reduce((a, f) => a + f.size, 0) };
  };

  // Already one compacted file and nothing else: done, without reading it (daily runs list all history).
  if (g.files.length === 1 && g.files[0]!.compacted) {
    report.alreadyCompact++;
    return remaining();
  }

  // 1. Finish what an interrupted run left: a compacted file whose sources are still (partly) there.
  for (const c of g.files.filter((f) => f.compacted)) {
    if (!present.has(c.name)) continue;
    const cv = await verifyFile(await o.objects.get(c.key), g.stream, c.key);
    const listed = sourcesOf(cv.metadata, c.key);
    const still = listed.filter((n) => present.has(n) && n !== c.name);
    if (still.length === 0) continue;
    const selfOk = String(cv.rows) === cv.metadata.get("compacted_rows") && cv.checksum === cv.metadata.get("compacted_checksum") && cv.sorted;
    let ok = selfOk;
    if (selfOk && still.length === listed.length) {
      // Never verified (a crash between put and verify is possible): compare with every source.
      const src = new Checksum();
      for (const n of still) src.add((await read(present.get(n)!)).t);
      ok = src.rows === cv.rows && src.hex() === cv.checksum;
    }
    // Fewer sources than listed: deletes had begun, which happens only after a successful verify.
    if (!ok) {
      if (o.dryRun) continue;
      await o.objects.delete(c.key);
      present.delete(c.name);
      o.log.warn("compact_recovered", { partition: where, discarded: c.key, reason: "compacted file does not match its sources; compacting again" });
      continue;
    }
    if (o.dryRun) continue;
    for (const n of still) {
      await o.objects.delete(present.get(n)!.key);
      present.delete(n);
    }
    report.recovered++;
    o.log.info("compact_recovered", { partition: where, compacted: c.key, sources_deleted: still.length });
  }

  // 2. Compact what is there now (sources, and earlier compacted files when late files arrived).
  const inputs = [...present.values()];
  if (inputs.length === 0 || (inputs.length === 1 && inputs[0]!.compacted)) {
    report.alreadyCompact++;
    return remaining();
  }
  if (o.dryRun) {
    o.log.info("compact_partition", { partition: where, files_in: inputs.length, bytes_in: inputs.reduce((a, f) => a + f.size, 0), dry_run: true });
    return remaining();
  }
  const { bytes, rows, sum } = await merge(g, inputs, read, o);
  const name = `compacted-${g.period}-${sum}.parquet`;
  const key = `${dir}/${name}`;
  step("read");

  await o.objects.put(key, bytes);
  step("put");

  // Read back from the storage, streamed (the merged rows are no longer in memory).
  const back = await verifyFile(await readBack(o, key, bytes.length), g.stream, key);
  if (back.rows !== rows || back.checksum !== sum || !back.sorted || back.metadata.get("compacted_checksum") !== sum) {
    throw new CompactError(
      `${key}: read back ${back.rows} rows (checksum ${back.checksum}, sorted ${back.sorted}), not the ${rows} rows of its sources (checksum ${sum}); sources kept`,
    );
  }
  step("verify");

  let first = true;
  for (const f of inputs) {
    if (f.name === name) continue;
    await o.objects.delete(f.key);
    present.delete(f.name);
    if (first) step("delete");
    first = false;
  }
  present.set(name, { key, name, size: bytes.length, compacted: true });
  report.compacted++;
  report.rows += rows;
  o.log.info("compact_partition", {
    partition: where,
    key,
    files_in: inputs.length,
    rows,
    bytes_in: inputs.reduce((a, f) => a + f.size, 0),
    bytes_out: bytes.length,
    checksum: sum,
  });
  return remaining();
}
