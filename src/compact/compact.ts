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
import { fileMetadata } from "../schema/v1.ts";
import { initParquetWasm } from "../pipeline/wasm-init.ts";
import { partitionDir } from "../storage/paths.ts";
import type { Objects } from "../storage/objects.ts";
import { groupObjects, type FileRef, type Granularity, type Group } from "./groups.ts";
import { Checksum, checksum, CompactError, concat, decode, encode, sortOrder, verifyFile, type Decoded } from "./table.ts";

export { COMPACTED_RE, groupObjects, isTempObject, type Granularity } from "./groups.ts";

export type Step = "read" | "put" | "verify" | "delete";

export const DEFAULT_GRACE_MINUTES = 30;
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

/** One partition's run: its files still present (by name) and how to read one. */
interface GroupRun {
  g: Group;
  where: string;
  o: CompactOptions;
  report: CompactReport;
  present: Map<string, FileRef>;
  read: (f: FileRef) => Promise<{ bytes: Uint8Array; t: Decoded }>;
}

/** The only file of a list, or null. */
const soleFile = (files: FileRef[]): FileRef | null => (files.length === 1 ? (files[0] ?? null) : null);

async function compactGroup(g: Group, where: string, o: CompactOptions, report: CompactReport): Promise<{ files: number; bytes: number }> {
  const read = async (f: FileRef): Promise<{ bytes: Uint8Array; t: Decoded }> => {
    const bytes = await o.objects.get(f.key);
    const t = await decode(bytes, g.stream, f.key);
    const m = t.metadata;
    if (m.get("exchange") !== g.exchange || m.get("stream") !== g.stream || m.get("symbol") !== g.symbol) {
      throw new CompactError(`${f.key}: metadata says ${m.get("exchange")}/${m.get("stream")}/${m.get("symbol")}, not its folder`);
    }
    return { bytes, t };
  };
  const run: GroupRun = { g, where, o, report, present: new Map(g.files.map((f) => [f.name, f])), read };
  const remaining = () => {
    const files = [...run.present.values()];
    return { files: files.length, bytes: files.reduce((a, f) => a + f.size, 0) };
  };

  // Already one compacted file and nothing else: done, without reading it (daily runs list all history).
  if (soleFile(g.files)?.compacted) {
    report.alreadyCompact++;
    return remaining();
  }

  // 1. Finish what an interrupted run left: a compacted file whose sources are still (partly) there.
  for (const c of g.files.filter((f) => f.compacted)) if (run.present.has(c.name)) await recoverInterrupted(run, c);

  // 2. Compact what is there now (sources, and earlier compacted files when late files arrived).
  const inputs = [...run.present.values()];
  if (inputs.length === 0 || soleFile(inputs)?.compacted) {
    report.alreadyCompact++;
    return remaining();
  }
  if (o.dryRun) {
    o.log.info("compact_partition", { partition: where, files_in: inputs.length, bytes_in: inputs.reduce((a, f) => a + f.size, 0), dry_run: true });
    return remaining();
  }
  await mergePutVerifyDelete(run, inputs);
  return remaining();
}

/**
 * A compacted file `c` with (some of) its listed sources still present: delete those sources once
 * the file proves to hold their rows, or discard the file (compacted again in step 2).
 */
async function recoverInterrupted({ g, where, o, report, present, read }: GroupRun, c: FileRef): Promise<void> {
  const cv = await verifyFile(await o.objects.get(c.key), g.stream, c.key);
  const listed = sourcesOf(cv.metadata, c.key);
  const still = listed.flatMap((n) => {
    const f = present.get(n);
    return f && n !== c.name ? [f] : [];
  });
  if (still.length === 0) return;
  const selfOk = String(cv.rows) === cv.metadata.get("compacted_rows") && cv.checksum === cv.metadata.get("compacted_checksum") && cv.sorted;
  let ok = selfOk;
  if (selfOk && still.length === listed.length) {
    // Never verified (a crash between put and verify is possible): compare with every source.
    const src = new Checksum();
    for (const f of still) src.add((await read(f)).t);
    ok = src.rows === cv.rows && src.hex() === cv.checksum;
  }
  // Fewer sources than listed: deletes had begun, which happens only after a successful verify.
  if (!ok) {
    if (o.dryRun) return;
    await o.objects.delete(c.key);
    present.delete(c.name);
    o.log.warn("compact_recovered", { partition: where, discarded: c.key, reason: "compacted file does not match its sources; compacting again" });
    return;
  }
  if (o.dryRun) return;
  for (const f of still) {
    await o.objects.delete(f.key);
    present.delete(f.name);
  }
  report.recovered++;
  o.log.info("compact_recovered", { partition: where, compacted: c.key, sources_deleted: still.length });
}

/** Steps read → put → verify (read back) → delete of one partition's inputs. */
async function mergePutVerifyDelete({ g, where, o, report, present, read }: GroupRun, inputs: FileRef[]): Promise<void> {
  const step = (s: Step) => o.afterStep?.(s, where);
  const { bytes, rows, sum } = await merge(g, inputs, read, o);
  const name = `compacted-${g.period}-${sum}.parquet`;
  const key = `${partitionDir(g)}/${name}`;
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
}
