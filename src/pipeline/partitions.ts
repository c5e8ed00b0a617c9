/** @module pipeline/partitions — the writer's partition table: one per (exchange, stream, symbol), and the symbol check. */
import { CONNECTION_SYMBOL, EXCHANGES, STREAMS, type ExchangeId, type FileStream, type RecordRow } from "../schema/rows.ts";
import type { Logger } from "../log.ts";
import type { ColumnBuilder } from "./column-builder.ts";

const FILE_STREAMS: readonly FileStream[] = [...STREAMS, "connection"];
/** Symbols the writer files under when no subscription list is given (tests): path-safe names only. */
const SAFE_SYMBOL = /^[A-Z0-9][A-Z0-9_-]{0,63}$/;

export interface Partition {
  key: string;
  exchange: string;
  stream: FileStream;
  /** The collector's own string (a subscribed symbol, or ALL): what the path is built from. */
  symbol: string;
  /** Null while empty: an idle partition holds no buffer. */
  rows: ColumnBuilder | null;
  /** The UTC day [start, end) of the buffered rows, in µs: a row outside it starts a new file. */
  dayStartUs: number;
  dayEndUs: number;
  oldestMs: number;
  lastFlushMs: number;
  /** Rows in the last file: sizes the next buffer (capped at the hard cap, 4 × BUFFER_SIZE). */
  lastRows: number;
  /** Fixed per-partition offset taken off FLUSH_INTERVAL so time flushes do not all land in one tick. */
  staggerMs: number;
  /** When tick() must look at it next (age deadline, or the end of MIN_FLUSH_GAP for a full buffer). */
  dueMs: number;
  /** Position in the deadline heap; -1 when not scheduled (no rows). */
  heapIndex: number;
}

/** Where refused rows are counted (the writer's WriterLosses). */
interface ParseErrors {
  recordParseError(reason: string): void;
}

export class PartitionTable {
  /** exchange → symbol → stream → partition: resolved by three lookups of the row's own fields, no key string per row. */
  private readonly index = new Map<string, Map<string, Map<FileStream, Partition>>>();
  /** Every partition ever made, in creation order. */
  readonly all: Partition[] = [];
  private last: Partition | null = null;
  private readonly allowed: ReadonlyMap<string, ReadonlyMap<string, string>> | null;
  private readonly rejectedLogged = new Set<string>();

  constructor(
    symbols: Partial<Record<ExchangeId, readonly string[]>> | undefined,
    private readonly flushIntervalMs: number,
    private readonly losses: ParseErrors,
    private readonly log: Logger,
  ) {
    this.allowed = symbols ? new Map(Object.entries(symbols).map(([ex, syms]) => [ex, new Map(syms.map((s) => [s, s]))])) : null;
  }

  /** The row's partition: the last one again (runs of one symbol/stream), else three map lookups; null = refused. */
  partitionFor(row: RecordRow): Partition | null {
    const symbol = row.stream === "connection" ? CONNECTION_SYMBOL : row.symbol;
    const last = this.last;
    if (last && last.stream === row.stream && last.symbol === symbol && last.exchange === row.exchange) return last;
    let bySymbol = this.index.get(row.exchange);
    if (!bySymbol) {
      if (!(EXCHANGES as readonly string[]).includes(row.exchange)) return this.refuse(row);
      bySymbol = new Map();
      this.index.set(row.exchange, bySymbol);
    }
    let byStream = bySymbol.get(symbol);
    if (!byStream) {
      if (!this.admits(row.exchange, row.stream, symbol)) return this.refuse(row);
      byStream = new Map();
      bySymbol.set(symbol, byStream);
    }
    let p = byStream.get(row.stream);
    if (!p) {
      if (!(FILE_STREAMS as readonly string[]).includes(row.stream)) return this.refuse(row);
      const key = `${row.exchange}|${row.stream}|${symbol}`;
      p = {
        key,
        exchange: row.exchange,
        stream: row.stream,
        // The collector's own string, never the row's: from the subscription list when there is one.
        symbol: row.stream === "connection" ? CONNECTION_SYMBOL : (this.allowed?.get(row.exchange)?.get(symbol) ?? symbol),
        rows: null,
        dayStartUs: 0,
        dayEndUs: 0,
        oldestMs: 0,
        lastFlushMs: 0,
        lastRows: 0,
        staggerMs: staggerFor(key, this.flushIntervalMs),
        dueMs: 0,
        heapIndex: -1,
      };
      byStream.set(row.stream, p);
      this.all.push(p);
    }
    this.last = p;
    return p;
  }

  /** Path components come only from values the collector chose: a subscribed symbol (or ALL), a known venue and stream. */
  private admits(exchange: string, stream: string, symbol: string): boolean {
    if (stream === "connection") return true;
    if (this.allowed) return this.allowed.get(exchange)?.has(symbol) ?? false;
    return SAFE_SYMBOL.test(symbol);
  }

  /** A row the ingest layer should have refused: counted, logged once per venue, never a partition. */
  private refuse(row: RecordRow): null {
    this.losses.recordParseError("unknown_symbol");
    const exchange = String(row.exchange).slice(0, 20);
    if (!this.rejectedLogged.has(exchange)) {
      this.rejectedLogged.add(exchange);
      const symbol = row.stream === "connection" ? CONNECTION_SYMBOL : row.symbol;
      this.log.warn("parse_error", {
        exchange,
        reason: "unknown_symbol",
        sample: JSON.stringify({ stream: String(row.stream).slice(0, 40), symbol: String(symbol).slice(0, 64) }),
        note: "refused by the writer: not a subscribed symbol",
      });
    }
    return null;
  }
}

function staggerFor(key: string, flushIntervalMs: number): number {
  // Deterministic spread over [0, 25%) of the interval.
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (((h >>> 0) % 1000) / 1000) * flushIntervalMs * 0.25;
}
