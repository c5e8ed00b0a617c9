/** @module status/process — process facts for the Prometheus `process_*` series (Linux /proc; null elsewhere). */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessFacts {
  cpu_seconds: number;
  open_fds: number | null;
  max_fds: number | null;
  start_time_seconds: number;
}

/** Unix time the process started: the runtime's time origin. */
const START_TIME_S = performance.timeOrigin / 1000;

export function processFacts(): ProcessFacts {
  const cpu = process.cpuUsage();
  let openFds: number | null = null;
  let maxFds: number | null = null;
  try {
    openFds = readdirSync("/proc/self/fd").length;
  } catch {
    openFds = null;
  }
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    maxFds = m ? Number(m[1]) : null;
  } catch {
    maxFds = null;
  }
  return { cpu_seconds: (cpu.user + cpu.system) / 1e6, open_fds: openFds, max_fds: maxFds, start_time_seconds: START_TIME_S };
}
