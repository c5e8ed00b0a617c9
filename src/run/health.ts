/**
 * @module run/health — the collector state machine: READY / DEGRADED / OFFLINE / ERROR (state/state.ts)
 * derived from the parts' stats, its transitions and their `state_change` logs.
 *
 * What feeds deriveState, in one place (`inputs()`):
 * - fatalError      ← this part: an uncaught exception or unhandled rejection (`fatal()`).
 * - writerFailing   ← the writer (`Writer.stats().failing`: storage failing beyond its retry budget),
 *                     cleared here early once a file is written after the last failed write with
 *                     local storage (`writeErrorsTotal`, `lastWriteTsMs`; run/writes.ts).
 * - uploadsFailing  ← the S3 spool's upload queue (`Storage.stats().uploadsFailing`).
 * - spoolFull       ← the S3 spool's admission (`Storage.stats().spoolFull`).
 * - connectionsOpen / connectionsPlanned ← the venues (run/venues: open slots, plans).
 * - queueUtilizationPct ← the ingest queue; drops15m ← `metrics.drops` (queue drops, lost rows).
 */
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../state/metrics.ts";
import { deriveState, stateReasons, type CollectorState, type StateInputs } from "../state/state.ts";
import type { ConnectionCounts } from "./venues.ts";
import { writeHealth, type WriteHealth, type WriteSources } from "./writes.ts";

export interface HealthSources {
  metrics: Metrics;
  /** The writer's and the storage's own stats (run/writes.ts writeHealth). */
  writes(): WriteHealth;
  connections(): ConnectionCounts;
  queueUtilizationPct(): number;
  /** STORAGE_BACKEND=local: the last write is a file on disk (with S3 it is an upload, not the spool's disk). */
  localStorage: boolean;
}

export interface HealthParts {
  metrics: Metrics;
  /** The writer and the storage: each reports its own counters (run/writes.ts). */
  writes: WriteSources;
  venues: { totals(): ConnectionCounts };
  queue: { utilizationPct(): number };
}

/** The collector's Health, fed by its parts' own stats. */
export function createHealth(config: Readonly<Config>, p: HealthParts, log: Logger, clock: Clock): Health {
  const sources: HealthSources = {
    metrics: p.metrics,
    writes: () => writeHealth(p.writes),
    connections: () => p.venues.totals(),
    queueUtilizationPct: () => p.queue.utilizationPct(),
    localStorage: config.STORAGE_BACKEND === "local",
  };
  return new Health(sources, log, clock);
}

export interface HealthView {
  state: CollectorState;
  sinceMs: number;
  reasons: string[];
}

export class Health {
  private state: CollectorState = "OFFLINE";
  private sinceMs: number;
  private fatalError: string | null = null;
  // Start-up: the state is OFFLINE until a socket opens. It is logged once settled — a socket
  // open, or every planned socket failed its first attempt (then OFFLINE is logged as it happens,
  // not at the first heartbeat). During shutdown the state is frozen: closing sockets on purpose
  // is not a degradation.
  private logged = false;
  private frozen = false;
  private seenWriteErrors = 0;
  private lastWriteErrorMs = 0;

  constructor(
    private readonly src: HealthSources,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    this.sinceMs = clock.nowMs();
  }

  /** The inputs of deriveState now (see the module comment for who feeds each). */
  inputs(now = this.clock.nowMs()): StateInputs {
    const m = this.src.metrics;
    const w = this.src.writes();
    const c = this.src.connections();
    return {
      fatalError: this.fatalError,
      writerFailing: this.writerFailing(w, now),
      uploadsFailing: w.uploadsFailing,
      spoolFull: w.spoolFull,
      connectionsOpen: c.open,
      connectionsPlanned: c.planned,
      queueUtilizationPct: this.src.queueUtilizationPct(),
      drops15m: m.drops.sum(now),
    };
  }

  /** Re-derive the state; a change (or the first settled state) is logged as `state_change`. */
  evaluate(): void {
    if (this.frozen) return;
    const now = this.clock.nowMs();
    const inputs = this.inputs(now);
    const next = deriveState(inputs);
    const reconnects = Object.values(this.src.metrics.reconnectTotal).reduce((a, b) => a + b, 0);
    const settled = inputs.connectionsOpen > 0 || reconnects >= inputs.connectionsPlanned || next === "ERROR";
    if (next !== this.state || (!this.logged && settled)) {
      const level = next === "ERROR" ? "error" : next === "READY" ? "info" : "warn";
      this.log.log(level, "state_change", { from: this.logged ? this.state : "STARTING", to: next, reasons: stateReasons(inputs) });
      this.logged = true;
      if (next !== this.state) this.sinceMs = now;
      this.state = next;
    }
  }

  /** An uncaught exception or unhandled rejection: logged, and the state is ERROR from now on. */
  fatal(error: string): void {
    this.fatalError = error;
    this.log.error("fatal_error", { error });
    this.evaluate();
  }

  /** Shutdown: sockets closed on purpose are not a degradation. */
  freeze(): void {
    this.frozen = true;
  }

  view(): HealthView {
    this.evaluate();
    return { state: this.state, sinceMs: this.sinceMs, reasons: stateReasons(this.inputs()) };
  }

  // ERROR clears as soon as a file is written after the last failed write (local storage): the
  // writer keeps the failed files and retries them with backoff (up to 30 s apart), but the
  // storage works again.
  private writerFailing(w: WriteHealth, now: number): boolean {
    if (w.writeErrorsTotal !== this.seenWriteErrors) {
      this.seenWriteErrors = w.writeErrorsTotal;
      this.lastWriteErrorMs = now;
    }
    const wroteSince = this.src.localStorage && w.lastWriteTsMs !== null && w.lastWriteTsMs > this.lastWriteErrorMs;
    return w.writerFailing && !wroteSince;
  }
}
