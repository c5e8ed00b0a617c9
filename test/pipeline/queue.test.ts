/** Scope: the bounded ingest queue — FIFO order, non-blocking offer, full-queue refusal. */
import { describe, expect, test } from "bun:test";
import { BoundedQueue } from "../../src/pipeline/queue.ts";

describe("BoundedQueue", () => {
  test("keeps FIFO order across wrap-around", () => {
    const q = new BoundedQueue<number>(3);
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      expect(q.offer(i)).toBe(true);
      if (q.size === 2) q.drain(1, (x) => out.push(x));
    }
    q.drain(10, (x) => out.push(x));
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(q.size).toBe(0);
  });

  test("refuses when full instead of blocking, and reports utilization", () => {
    const q = new BoundedQueue<string>(2);
    expect(q.offer("a")).toBe(true);
    expect(q.offer("b")).toBe(true);
    expect(q.utilizationPct()).toBe(100);
    expect(q.offer("c")).toBe(false);
    expect(q.size).toBe(2);
    const got: string[] = [];
    expect(q.drain(5, (x) => got.push(x))).toBe(2);
    expect(got).toEqual(["a", "b"]);
  });

  test("grows its slots on demand up to the capacity, keeping FIFO order across a wrapped ring", () => {
    // Capacity above the initial slots (1,024): the ring grows while wrapped, then refuses at capacity.
    const q = new BoundedQueue<number>(5000);
    const out: number[] = [];
    let next = 0;
    for (let i = 0; i < 700; i++) q.offer(next++);
    q.drain(500, (x) => out.push(x));
    while (q.offer(next)) next++;
    expect(next).toBe(5500);
    expect(q.size).toBe(5000);
    expect(q.utilizationPct()).toBe(100);
    q.drain(10_000, (x) => out.push(x));
    expect(out).toEqual(Array.from({ length: 5500 }, (_, i) => i));
    expect(q.size).toBe(0);
  });

  test("rejects a non-positive capacity", () => {
    expect(() => new BoundedQueue(0)).toThrow(RangeError);
  });
});
