/** @module status/routes — the read-only status API as a pure function of a snapshot. */
import type { Snapshot } from "../state/snapshot.ts";
import { renderPrometheus } from "./prometheus.ts";

const JSON_PATHS = ["/health", "/streams", "/metrics", "/status"] as const;

export function handle(req: Request, snapshot: () => Snapshot): Response {
  // HTTP/1.0 without a Host header, or a Host that is not a host, leaves no parseable URL: the
  // client's mistake (400), never an internal error.
  let path: string;
  try {
    path = new URL(req.url).pathname;
  } catch {
    return Response.json({ error: "bad request: no usable Host header or URL" }, { status: 400 });
  }
  const known = (JSON_PATHS as readonly string[]).includes(path) || path === "/metrics/prometheus";
  if (req.method !== "GET" && req.method !== "HEAD") {
    return Response.json({ error: "method not allowed", allowed: ["GET"] }, { status: 405, headers: { allow: "GET, HEAD" } });
  }
  if (!known) return Response.json({ error: "not found", paths: [...JSON_PATHS, "/metrics/prometheus"] }, { status: 404 });
  const s = snapshot();
  switch (path) {
    case "/health":
      return Response.json(s.health);
    case "/streams":
      return Response.json(s.streams);
    case "/metrics":
      return Response.json(s.metrics);
    case "/status":
      return Response.json(s.status);
    default:
      return new Response(renderPrometheus(s), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
  }
}
