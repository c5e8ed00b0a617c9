/** @module status/server — binds the status routes with Bun.serve (local-only by default, no stack traces). */
import type { Snapshot } from "../state/snapshot.ts";
import { handle } from "./routes.ts";

export interface StatusServer {
  port: number;
  stop(): Promise<void>;
}

export function startStatusServer(hostname: string, port: number, snapshot: () => Snapshot): StatusServer {
  const server = Bun.serve({
    hostname, // Bun.serve listens on every interface unless told (bun-notes pitfall 8)
    port,
    development: false, // never serve Bun's HTML error page with stack and cwd (pitfall 7)
    fetch: (req) => handle(req, snapshot),
    error: () => Response.json({ error: "internal error" }, { status: 500 }),
  });
  return {
    port: server.port ?? port,
    stop: async () => {
      await server.stop(true);
    },
  };
}
