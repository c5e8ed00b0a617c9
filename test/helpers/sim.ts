/**
 * Test helpers: the loopback simulator as a disposable resource. Started by the test (or its
 * beforeAll), never at import time: `await using sim = simulator({...})` stops it however the test ends.
 */
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/sim/server.ts";

export type DisposableSimulator = Simulator & AsyncDisposable;

export function simulator(opts: SimulatorOptions = {}): DisposableSimulator {
  const sim = startSimulator(opts);
  // Stopping twice (a test that stops it, then its disposal) stops it once.
  const stopOnce = sim.stop.bind(sim);
  let stopped: Promise<void> | null = null;
  const stop = () => (stopped ??= stopOnce());
  return Object.assign(sim, { stop, [Symbol.asyncDispose]: stop });
}
