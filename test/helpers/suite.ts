/**
 * Test helpers: the one cleanup mechanism for resources shared by a file's tests. `suite()` returns
 * an AsyncDisposableStack disposed after the file's last test (in reverse order); a resource of one
 * test uses `using` / `await using` instead. Anything with Symbol.dispose or Symbol.asyncDispose
 * (tmpDir, simulator, spawnCollector, s3 servers) goes in with `use`; other clean-ups with `defer`.
 */
import { afterAll } from "bun:test";

export function suite(): AsyncDisposableStack {
  const stack = new AsyncDisposableStack();
  afterAll(() => stack.disposeAsync());
  return stack;
}
