/**
 * Test helpers: a real S3 server on loopback (s3rver, runs under Bun in the test process) and a
 * fault proxy in front of it that can answer 500/503, drop connections, or hang without answering.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync } from "node:fs";
import { S3Client } from "bun";
// @ts-expect-error s3rver ships no type declarations
import S3rver from "s3rver";

export const S3_ACCESS_KEY = "S3RVER"; // s3rver accepts only its built-in key id…
export const S3_SECRET_KEY = "S3RVER-secret-9f3c1a77d2e54b8b"; // …and checks no secret: a unique string to grep for

export interface S3Server extends AsyncDisposable {
  port: number;
  endpoint: string;
  bucket: string;
  /** A client straight to s3rver (not through any proxy), for listing and reading back. */
  client: S3Client;
  listKeys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startS3(dir: string, bucket = "market-data", port = 0): Promise<S3Server> {
  mkdirSync(dir, { recursive: true });
  const srv = new S3rver({ port, address: "127.0.0.1", silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  const addr = (await srv.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const client = new S3Client({ endpoint, bucket, region: "us-east-1", accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY, virtualHostedStyle: false });
  return {
    port: addr.port,
    endpoint,
    bucket,
    client,
    /**
     * Up to 1000 keys: s3rver 3.7.1 answers any truncated ListObjectsV2 with InternalError, because it
     * builds continuation tokens with DES, which neither Bun's crypto nor Node 20's OpenSSL 3 offers
     * (measured: ERR_OSSL_EVP_UNSUPPORTED under Node, InternalError under Bun).
     */
    async listKeys(prefix = "") {
      const r = await client.list({ prefix, maxKeys: 1000 });
      return (r.contents ?? []).map((c) => c.key).sort();
    },
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

export type FaultMode = "pass" | "500" | "503" | "drop" | "hang";

export interface FaultProxy extends AsyncDisposable {
  port: number;
  endpoint: string;
  mode: FaultMode;
  setMode(m: FaultMode): void;
  /** Answer every request held by "hang" late, by forwarding it to S3 (an abandoned PUT landing after its retry). */
  releaseHeld(): Promise<void>;
  /** Requests per method+path and per outcome. */
  stats: { requests: number; byOutcome: Record<string, number>; putsByPath: Map<string, number>; held: number };
  close(): Promise<void>;
}

/** Plain HTTP proxy; forwards headers unchanged (Host included, so the SigV4 signature still matches). */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const held: Array<() => void> = [];
  const stats = { requests: 0, byOutcome: {} as Record<string, number>, putsByPath: new Map<string, number>(), held: 0 };
  const count = (o: string) => (stats.byOutcome[o] = (stats.byOutcome[o] ?? 0) + 1);
  const forward = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
    if (req.method === "PUT") {
      const path = decodeURIComponent((req.url ?? "").split("?")[0]!);
      stats.putsByPath.set(path, (stats.putsByPath.get(path) ?? 0) + 1);
    }
    const up = http.request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on("error", () => res.destroy());
    up.end(body);
  };
  const proxy: FaultProxy = {
    port: 0,
    endpoint: "",
    mode: "pass",
    setMode(m) {
      proxy.mode = m;
    },
    async releaseHeld() {
      for (const f of held.splice(0)) f();
    },
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    [Symbol.asyncDispose]: () => proxy.close(),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      stats.requests++;
      const body = Buffer.concat(chunks);
      const mode = proxy.mode;
      count(mode);
      switch (mode) {
        case "pass":
          return forward(req, body, res);
        case "500":
        case "503": {
          const code = mode === "500" ? "InternalError" : "SlowDown";
          res.writeHead(Number(mode), { "content-type": "application/xml" });
          return res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${mode}</Message></Error>`);
        }
        case "drop":
          return req.socket.destroy();
        case "hang":
          stats.held++;
          held.push(() => forward(req, body, res));
          return;
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.endpoint = `http://127.0.0.1:${proxy.port}`;
  return proxy;
}
