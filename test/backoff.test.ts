/** Scope: src/backoff.ts — capped exponential growth, full jitter, the base/2 floor. */
import { describe, expect, test } from "bun:test";
import { backoffDelayMs } from "../src/backoff.ts";

const policy = { baseMs: 500, maxMs: 30_000 };

describe("backoffDelayMs", () => {
  test("the ceiling doubles per attempt from base and stops at max", () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((a) => backoffDelayMs(policy, a, top))).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  });

  test("full jitter: the delay is the random fraction of the ceiling, never under base/2", () => {
    expect(backoffDelayMs(policy, 7, () => 0.5)).toBe(15_000);
    expect(backoffDelayMs(policy, 4, () => 0.5)).toBe(2000);
    expect(backoffDelayMs(policy, 7, () => 0)).toBe(250);
    expect(backoffDelayMs(policy, 1, () => 0.1)).toBe(250);
  });

  test("attempt 0 or negative behaves as the first attempt", () => {
    expect(backoffDelayMs(policy, 0, () => 0.999_999)).toBe(499);
    expect(backoffDelayMs(policy, -3, () => 0.999_999)).toBe(499);
  });

  test("with Math.random the delays spread over the window", () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelayMs(policy, 7));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(250);
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000);
    expect(new Set(delays.map((d) => Math.floor(d / 3000))).size).toBeGreaterThanOrEqual(9);
  });
});
