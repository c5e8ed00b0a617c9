/** @module clock — wall-clock time: µs stamps with sub-millisecond resolution, and an injectable clock with timers and deadlines. */

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

/** Wall-clock milliseconds, injectable: code that reads time takes a Clock; tests pass their own. */
export interface Clock {
  nowMs(): number;
}

/** A clock that can also wake its caller later (backoff pauses, deadlines); tests drive it by hand. */
export interface TimerClock extends Clock {
  /** Calls `fn` once, `ms` from now; the returned function cancels it (a no-op once it ran). */
  after(ms: number, fn: () => void): () => void;
}

/** Real time: Date.now() and setTimeout. */
export const systemClock: TimerClock = {
  nowMs,
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * Settles as `work` does when it settles within `ms`; otherwise rejects at the deadline with what
 * `onExpired` returns. `work` itself is not cancelled: the caller keeps it and may watch its late end.
 */
export function withDeadline<T>(clock: TimerClock, ms: number, work: Promise<T>, onExpired: () => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const cancel = clock.after(ms, () => {
      expired = true;
      reject(onExpired());
    });
    work.then(
      (value) => {
        if (expired) return;
        cancel();
        resolve(value);
      },
      (err: unknown) => {
        if (expired) return;
        cancel();
        reject(err);
      },
    );
  });
}
