/** @module status/server — binds the status routes with Bun.serve (local-only by default, no stack traces). */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { describeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Snapshot } from "../state/snapshot.ts";
import { describeHolder, findPortHolder } from "./port-holder.ts";
import { handle } from "./routes.ts";

export interface StatusServer {
  port: number;
  stop(): Promise<void>;
}

export function startStatusServer(hostname: string, port: number, snapshot: () => Snapshot, log?: Logger): StatusServer {
  const server = Bun.serve({
    hostname, // Bun.serve listens on every interface unless told (https://bun.sh/docs/api/http: hostname defaults to 0.0.0.0)
    port,
    development: false, // never serve Bun's HTML error page with stack and cwd (pitfall 7)
    fetch: (req) => handle(req, snapshot),
    // Unexpected: one log line for the operator, a fixed body for the client (no stack, no paths).
    error: (err) => {
      log?.error("status_api_error", { error: describeError(err) });
      return Response.json({ error: "internal error" }, { status: 500 });
    },
  });
  return {
    port: server.port ?? port,
    stop: async () => {
      await server.stop(true);
    },
  };
}

/**
 * One line saying why the status API could not bind and which setting to change. Bun reports
 * EADDRINUSE both for a taken port and for a host name it cannot bind (measured), so the host is
 * resolved and the port's listener looked up in /proc to tell them apart.
 */
export async function explainBindError(host: string, port: number, err: unknown): Promise<string> {
  const where = `status API cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}`;
  const code = (err as { code?: unknown })?.code;
  if (isIP(host) === 0) {
    try {
      await lookup(host);
    } catch {
      return `${where}: STATUS_HOST ${host} does not resolve; set STATUS_HOST (or --status-host) to a local address such as 127.0.0.1`;
    }
  }
  if (code === "EADDRNOTAVAIL")
    return `${where}: ${host} is not an address of this host; set STATUS_HOST (or --status-host) to a local address such as 127.0.0.1 or 0.0.0.0`;
  if (code === "EACCES")
    return `${where}: permission denied (ports below 1024 need privileges); set STATUS_PORT (or --status-port) to a port from 1024 to 65535`;
  if (code === "EADDRINUSE" && port !== 0) {
    const holder = describeHolder(findPortHolder(port));
    return `${where}: port ${port} is already in use${holder ? ` (${holder})` : ""}; set STATUS_PORT (or --status-port) to a free port, or STATUS_HOST to another address`;
  }
  return `${where}: ${describeError(err)}; check STATUS_HOST and STATUS_PORT`;
}
