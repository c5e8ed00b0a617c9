/**
 * @module status/port-holder — who listens on a TCP port, from /proc (Linux), for the one-line
 * "cannot bind" error. Best effort: another user's process (or `ProtectProc=invisible` under
 * systemd) shows the port as taken without a name; null when nothing is found or /proc is absent.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface PortHolder {
  /** Socket inode of the listener. */
  inode: string;
  pid?: number;
  command?: string;
}

const LISTEN = "0A";

/** The listening socket on `port` (any local address, IPv4 or IPv6), with its process when visible. */
export function findPortHolder(port: number, procRoot = "/proc"): PortHolder | null {
  let inode: string | null = null;
  for (const table of ["net/tcp", "net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      const local = f[1]!;
      if (parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port) {
        inode = f[9]!;
        break;
      }
    }
    if (inode) break;
  }
  if (!inode || inode === "0") return null;
  const target = `socket:[${inode}]`;
  let pids: string[] = [];
  try {
    pids = readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return { inode };
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`${procRoot}/${pid}/fd/${fd}`) !== target) continue;
      } catch {
        continue;
      }
      let command: string | undefined;
      try {
        command = readFileSync(`${procRoot}/${pid}/comm`, "utf8").trim();
      } catch {
        command = undefined;
      }
      return { inode, pid: Number(pid), command };
    }
  }
  return { inode };
}

/** `held by node_exporter (pid 812)` / `held by another process` / `` (nothing found). */
export function describeHolder(h: PortHolder | null): string {
  if (!h) return "";
  if (h.pid === undefined) return "held by another process (not visible to this user)";
  return `held by ${h.command ?? "?"} (pid ${h.pid})`;
}
