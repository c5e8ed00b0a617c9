/**
 * @module storage/upload-backoff — when the uploader may try again after failures: exponential
 * backoff with full jitter, one step per failing round, and one probing upload at a time meanwhile.
 */
import { backoffDelayMs, type BackoffPolicy } from "../backoff.ts";

export class UploadBackoff {
  private step = 0;
  private pausedUntilMs = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly maxInflight: number,
  ) {}

  /** How long uploads must still wait (0 = go). */
  waitMs(nowMs: number): number {
    return Math.max(0, this.pausedUntilMs - nowMs);
  }

  /** After a failure one upload probes the endpoint; full concurrency returns with the first success. */
  get concurrency(): number {
    return this.step > 0 ? 1 : this.maxInflight;
  }

  /**
   * A failed attempt; returns the wait before the next one. One step per failing round, not per
   * parallel failure: 16 uploads failing together must not jump straight to the maximum delay.
   */
  failed(nowMs: number): number {
    if (nowMs >= this.pausedUntilMs) {
      this.step++;
      this.pausedUntilMs = nowMs + backoffDelayMs(this.policy, this.step);
    }
    return this.waitMs(nowMs);
  }

  succeeded(): void {
    this.step = 0;
    this.pausedUntilMs = 0;
  }
}
