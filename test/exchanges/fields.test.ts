/** Scope: src/exchanges/fields.ts number readers — a non-finite value from a venue string is a skip, never Infinity/NaN. */
import { describe, expect, test } from "bun:test";
import { bookSide, FieldError, optFloat, optInt, reqFloat } from "../../src/exchanges/fields.ts";

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

  test.each(["+1", " 1", "1 ", "1\n", "-", ".", "-.", "0b1", "0o7", "0X1F", "1_0", "1e", "1e+", "e5", "--1", "1-", "١"])(
    "%p (not a venue decimal, some Number() would accept) is a bad_number skip",
    (v) => {
      expect(() => optFloat({ p: v }, "p")).toThrow("bad_number:p");
    },
  );

  test.each([
    ["1.", 1],
    [".5", 0.5],
    ["-.5", -0.5],
    ["00012", 12],
    ["1e5", 1e5],
    ["1E-5", 1e-5],
    ["1.5e+3", 1500],
    ["0.1", 0.1],
    ["123456789012345", 123456789012345],
    ["1234567890123456", 1234567890123456],
    ["0.30000000000000004", 0.30000000000000004],
  ] as const)("%p is read as %p", (v, n) => {
    expect(optFloat({ p: v }, "p")).toBe(n);
  });

  test("-0 stays -0", () => {
    expect(Object.is(optFloat({ p: "-0" }, "p"), -0)).toBe(true);
    expect(Object.is(optFloat({ p: "-0.000" }, "p"), -0)).toBe(true);
  });

  test("every decimal text reads as the double Number() gives it (fast path and general path)", () => {
    let seed = 12345;
    const next = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    let checked = 0;
    for (let i = 0; i < 200_000; i++) {
      let digits = "";
      const len = 1 + next(18); // 1–18 digits: both sides of the 15-digit fast-path limit
      for (let k = 0; k < len; k++) digits += String(next(10));
      const dot = next(len + 2) - 1; // -1 = no dot
      let text = dot < 0 ? digits : `${digits.slice(0, dot)}.${digits.slice(dot)}`;
      if (text === ".") continue;
      if (next(4) === 0) text = `-${text}`;
      if (next(10) === 0) text += `e${next(2) ? "-" : ""}${next(30)}`;
      const want = Number(text);
      expect(Object.is(optFloat({ p: text }, "p"), want)).toBe(true);
      expect(Object.is(bookSide({ b: [[text, "1"]] }, "b")[0][0], want)).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(190_000);
  });

  test.each(["1.0", "1e3", " 1", "+1", "0x10", "12345678901234567", "9007199254740993", "-", "1.", "١"])("integer %p is a bad_integer skip", (v) => {
    expect(() => optInt({ t: v }, "t")).toThrow("bad_integer:t");
  });

  test("integers: digit strings of up to 16 digits that are safe integers, and JSON safe integers", () => {
    expect(optInt({ t: "1786540363844" }, "t")).toBe(1786540363844);
    expect(optInt({ t: "-42" }, "t")).toBe(-42);
    expect(optInt({ t: "0012" }, "t")).toBe(12);
    expect(optInt({ t: "9007199254740991" }, "t")).toBe(9007199254740991);
    expect(optInt({ t: "-9007199254740991" }, "t")).toBe(-9007199254740991);
    expect(() => optInt({ t: "9007199254740992" }, "t")).toThrow("bad_integer:t");
    expect(() => optInt({ t: "-9999999999999999" }, "t")).toThrow("bad_integer:t");
    expect(Object.is(optInt({ t: "-0" }, "t"), -0)).toBe(true);
    expect(optInt({ t: 7967419123 }, "t")).toBe(7967419123);
    expect(optInt({ t: "" }, "t")).toBeNull();
    expect(() => optInt({ t: 1.5 }, "t")).toThrow("bad_integer:t");
  });

  test.each(["1e400", "-1e400", "NaN", "Infinity"])("a book level %p is a bad_level skip, never Infinity", (v) => {
    expect(() =>
      bookSide(
        {
          b: [
            ["100.5", "1"],
            [v, "2"],
          ],
        },
        "b",
      ),
    ).toThrow("bad_level:b");
    expect(() => bookSide({ a: [["100.5", v]] }, "a")).toThrow("bad_level:a");
    expect(() => bookSide({ a: [[1e400, "1"]] }, "a")).toThrow("bad_level:a");
  });
});
