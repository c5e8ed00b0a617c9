/** @module clock — wall-clock microseconds with sub-millisecond resolution. */

// Date.now() has 1 ms resolution; performance.now() is finer but monotonic (it does not
// follow NTP steps). Anchor the monotonic clock to the wall clock and re-anchor every
// second, so ts_recv_us tracks the wall clock while keeping µs resolution.
let anchorWallMs = Date.now();
let anchorMono = performance.now();

export function nowUs(): number {
  const mono = performance.now();
  if (mono - anchorMono > 1000) {
    anchorWallMs = Date.now();
    anchorMono = performance.now();
    return anchorWallMs * 1000;
  }
  return Math.floor((anchorWallMs + (mono - anchorMono)) * 1000);
}

export function nowMs(): number {
  return Date.now();
}

/** Wall-clock milliseconds, injectable: the writer's flush deadlines and ages read time only from here. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs };
