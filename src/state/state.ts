/** @module state/state — the READY / DEGRADED / OFFLINE / ERROR model of README.md "Observability", as a pure function. */

export type CollectorState = "READY" | "DEGRADED" | "OFFLINE" | "ERROR";

export interface StateInputs {
  fatalError: string | null;
  /** The writer cannot write (storage failing beyond its retry budget). */
  writerFailing: boolean;
  /** Open sockets / sockets the configuration plans, over all exchanges. */
  connectionsOpen: number;
  connectionsPlanned: number;
  queueUtilizationPct: number;
  drops15m: number;
  /** S3 uploads failing and being retried; files wait in the spool (DEGRADED). */
  uploadsFailing?: boolean;
  /** The spool refused a file: over SPOOL_MAX_BYTES or disk full (ERROR). */
  spoolFull?: boolean;
}

export const QUEUE_DEGRADED_PCT = 80;

/** Precedence ERROR > OFFLINE > DEGRADED > READY. */
export function deriveState(s: StateInputs): CollectorState {
  if (s.fatalError !== null || s.writerFailing || s.spoolFull) return "ERROR";
  if (s.connectionsOpen === 0) return "OFFLINE";
  if (s.queueUtilizationPct > QUEUE_DEGRADED_PCT || s.drops15m > 0 || s.connectionsOpen < s.connectionsPlanned || s.uploadsFailing) {
    return "DEGRADED";
  }
  return "READY";
}

/** Why the state is what it is, for logs and /status. */
export function stateReasons(s: StateInputs): string[] {
  const r: string[] = [];
  if (s.fatalError !== null) r.push(`fatal: ${s.fatalError}`);
  if (s.writerFailing) r.push("writer failing");
  if (s.spoolFull) r.push("spool full (SPOOL_MAX_BYTES or disk): new files refused");
  if (s.uploadsFailing) r.push("S3 uploads failing, retrying from the spool");
  if (s.connectionsOpen === 0) r.push("no websocket connected");
  else if (s.connectionsOpen < s.connectionsPlanned) r.push(`${s.connectionsPlanned - s.connectionsOpen} of ${s.connectionsPlanned} connections down`);
  if (s.queueUtilizationPct > QUEUE_DEGRADED_PCT) r.push(`queue ${s.queueUtilizationPct.toFixed(1)}% full`);
  if (s.drops15m > 0) r.push(`${s.drops15m} drops in window`);
  return r;
}
