/** @module pipeline/backoff — capped exponential backoff with full jitter (shared by reconnects and write retries). */

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Delay before attempt `attempt` (1-based): uniform in [0, min(max, base·2^(attempt-1))]. */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(policy.baseMs / 2, Math.floor(random() * cap));
}
