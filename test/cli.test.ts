/** Scope: cli.ts constants that mirror modules it loads only when their command runs. */
import { expect, test } from "bun:test";
import { COMPACT_GRACE_MINUTES } from "../src/cli.ts";
import { DEFAULT_GRACE_MINUTES } from "../src/compact/compact.ts";

test("compact --grace-minutes defaults to compact's own DEFAULT_GRACE_MINUTES", () => {
  expect(COMPACT_GRACE_MINUTES).toBe(DEFAULT_GRACE_MINUTES);
});
