/** Scope: src/exchanges/fields.ts number readers — a non-finite value from a venue string is a skip, never Infinity/NaN. */
import { describe, expect, test } from "bun:test";
import { FieldError, optFloat, reqFloat } from "../../src/exchanges/fields.ts";

describe("venue numbers", () => {
  test.each(["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1.1.1", "0x10"])("%p is a bad_number skip", (v) => {
    expect(() => optFloat({ p: v }, "p")).toThrow(FieldError);
    expect(() => reqFloat({ p: v }, "p")).toThrow("bad_number:p");
  });

  test("a JSON number that overflowed to Infinity is refused too", () => {
    expect(() => optFloat(JSON.parse('{"p":1e400}'), "p")).toThrow("bad_number:p");
  });

  test("finite values are kept exactly as sent", () => {
    expect(optFloat({ p: "64000.10" }, "p")).toBe(64000.1);
    expect(optFloat({ p: "1e300" }, "p")).toBe(1e300);
    expect(optFloat({ p: "-0.5" }, "p")).toBe(-0.5);
    expect(optFloat({ p: "" }, "p")).toBeNull();
  });
});
