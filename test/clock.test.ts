/**
 * Scope: src/clock.ts — withDeadline (settles with the work in time, rejects at the deadline, ignores
 * a late end, leaves no timer behind) and systemClock's cancellable timers; driven by the ManualClock
 * test helper, whose due-order firing is checked too.
 */
import { describe, expect, test } from "bun:test";
import { systemClock, withDeadline } from "../src/clock.ts";
import { ManualClock } from "./helpers/clock.ts";

describe("withDeadline", () => {
  test("work that settles in time wins and its timer is cancelled", async () => {
    const clock = new ManualClock(0);
    const ok = withDeadline(clock, 100, Promise.resolve(7), () => new Error("late"));
    expect(await ok).toBe(7);
    expect(clock.pending).toBe(0);
    const failing = withDeadline(clock, 100, Promise.reject(new Error("boom")), () => new Error("late"));
    await expect(failing).rejects.toThrow("boom");
    expect(clock.pending).toBe(0);
  });

  test("at the deadline it rejects with onExpired's value, once; the work's late end changes nothing", async () => {
    const clock = new ManualClock(0);
    const work = Promise.withResolvers<number>();
    let expired = 0;
    const p = withDeadline(clock, 100, work.promise, () => {
      expired++;
      return new Error("no answer within 100 ms");
    });
    clock.advance(99);
    expect(expired).toBe(0);
    clock.advance(1);
    expect(expired).toBe(1);
    await expect(p).rejects.toThrow("no answer within 100 ms");
    work.resolve(1);
    await work.promise;
    expect(expired).toBe(1);
  });
});

describe("clocks", () => {
  test("ManualClock fires timers in due order, each at its own time, including ones scheduled while firing", () => {
    const clock = new ManualClock(1000);
    const fired: Array<[string, number]> = [];
    clock.after(30, () => fired.push(["b", clock.nowMs()]));
    clock.after(10, () => {
      fired.push(["a", clock.nowMs()]);
      clock.after(5, () => fired.push(["a2", clock.nowMs()]));
    });
    const cancel = clock.after(20, () => fired.push(["cancelled", clock.nowMs()]));
    cancel();
    expect(clock.nextDueInMs()).toBe(10);
    clock.advance(100);
    expect(fired).toEqual([
      ["a", 1010],
      ["a2", 1015],
      ["b", 1030],
    ]);
    expect(clock.nowMs()).toBe(1100);
    expect(clock.pending).toBe(0);
  });

  test("systemClock: wall-clock ms; a cancelled timer never runs, another one does", async () => {
    let cancelledRan = false;
    systemClock.after(1, () => (cancelledRan = true))();
    await new Promise<void>((resolve) => systemClock.after(5, resolve));
    expect(cancelledRan).toBe(false);
    const before = Date.now();
    const now = systemClock.nowMs();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
