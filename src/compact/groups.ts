/**
 * @module compact/groups — which partition and period each stored object belongs to: the collector's
 * raw files by their first receive time, compacted files by their name; anything else is counted
 * as ignored and left alone.
 */
import { STREAMS, type FileStream } from "../schema/rows.ts";
import { parseObjectKey, partitionDir } from "../storage/paths.ts";
import type { ObjectInfo } from "../storage/objects.ts";

export type Granularity = "day" | "hour";

/** Compacted files: `compacted-<YYYY-MM-DD>-<checksum>.parquet` (day) or `compacted-<YYYY-MM-DD>T<HH>-<checksum>.parquet` (hour). */
export const COMPACTED_RE = /^compacted-(\d{4}-\d{2}-\d{2})(?:T(\d{2}))?-([0-9a-f]{16})\.parquet$/;
/** Files written by the collector: `<first_ts_recv_us>-<instance_id>-<n>.parquet`. */
const RAW_RE = /^(\d{1,17})-[0-9a-z]+-\d+\.parquet$/;

const FILE_STREAMS: readonly string[] = [...STREAMS, "connection"];

/** Which objects to group: a granularity and optional filters (the compact command's options). */
export interface GroupSelection {
  granularity: Granularity;
  date?: string;
  exchange?: string;
  stream?: string;
  symbol?: string;
}

export interface FileRef {
  key: string;
  name: string;
  size: number;
  compacted: boolean;
}

export interface Group {
  exchange: string;
  stream: FileStream;
  symbol: string;
  date: string;
  /** `YYYY-MM-DD` or `YYYY-MM-DDTHH`. */
  period: string;
  endMs: number;
  files: FileRef[];
}

/** A writer's temp file (a dot-name): not ours to count. */
export const isTempObject = (key: string): boolean => key.slice(key.lastIndexOf("/") + 1).startsWith(".");

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

export function groupObjects(objects: ObjectInfo[], o: GroupSelection): { groups: Group[]; ignored: number } {
  const groups = new Map<string, Group>();
  let ignored = 0;
  for (const obj of objects) {
    const k = parseObjectKey(obj.key);
    const stream = k?.stream as FileStream | undefined;
    if (!k || !stream || !FILE_STREAMS.includes(k.stream)) {
      if (!isTempObject(obj.key)) ignored++; // temp files of a writer are not ours to count
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
