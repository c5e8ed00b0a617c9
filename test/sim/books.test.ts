/** Scope: sim/book SimBooks — the per-symbol books every venue simulator keeps (view, faults, skipped updates). */
import { describe, expect, test } from "bun:test";
import { SimBooks } from "../../src/sim/book.ts";
import { Market } from "../../src/sim/types.ts";

describe("SimBooks", () => {
  test("a book exists from its first use; a reset is refused where the venue has none; queued skips advance the id once each", () => {
    let ids = 100;
    const books = new SimBooks(new Market(7), () => ids++);
    expect(books.view("btcusdt")).toBeNull();
    expect(books.fault("BTCUSDT", "reset", 1, false)).toBe(false);
    expect(books.view("BTCUSDT")).toBeNull(); // a refused fault creates no book
    expect(books.fault("btcusdt", "skip", 3, false)).toBe(true);
    const b = books.of("BTCUSDT");
    expect(books.view("btcusdt")?.update_id).toBe(100);
    books.skipQueued(b, () => b.id++);
    expect({ id: b.id, skip: b.faults.skip }).toEqual({ id: 103, skip: 0 });
    expect(books.view("BTCUSDT")).toEqual({ update_id: 103, ...b.book.levels() });
    expect(books.fault("BTCUSDT", "reset", 1, true)).toBe(true);
    expect(b.faults.reset).toBe(true);
    expect(books.of("ETHUSDT").id).toBe(101);
  });
});
