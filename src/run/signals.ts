/** @module run/signals — SIGTERM/SIGINT start the drain; an uncaught error is fatal (state ERROR), never a silent exit. */
import { describeError } from "../errors.ts";

export function handleSignals(onSignal: (signal: string) => void, onFatal: (error: string) => void): void {
  // A registered handler replaces the default kill; a second signal must not abort the flush.
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("uncaughtException", (err) => onFatal(describeError(err)));
  process.on("unhandledRejection", (err) => onFatal(describeError(err)));
}
