/** @module backoff — capped exponential backoff with full jitter (shared by reconnects, write retries and S3 upload retries). */

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Delay before attempt `attempt` (1-based): uniform in [0, min(max, base·2^(attempt-1))], floored at base/2 so a retry never spins. */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(policy.baseMs / 2, Math.floor(random() * cap));
}
