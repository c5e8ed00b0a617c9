/**
 * @module ws/cause — why a WebSocket handshake failed, in the operator's words. Bun's client gives
 * one message ("…failed: Failed to connect") for DNS and refused alike; the cause is in the error
 * event's `error.code` (measured: ENOTFOUND, ECONNREFUSED, EPROTO with "TLS handshake failed", and
 * "Expected 101 status code: 404" for an HTTP answer).
 */

export type ConnectCauseKind = "dns" | "refused" | "tls" | "timeout" | "http" | "network" | "unknown";

export interface ConnectCause {
  kind: ConnectCauseKind;
  /** One line: `dns: host not found (ENOTFOUND)`, `http 429`, `tls: …`. */
  text: string;
}

const DNS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "DNSResolveFailed"]);
const NETWORK = new Set(["ENETUNREACH", "EHOSTUNREACH", "ECONNRESET", "EPIPE", "EADDRNOTAVAIL"]);

export function connectCause(message: string, code: string | undefined): ConnectCause {
  const status = /Expected 101 status code: (\d{3})/.exec(message)?.[1];
  if (status) return { kind: "http", text: `http ${status}${status === "429" || status === "418" ? " (rate limited)" : ""}` };
  if (code && DNS.has(code)) return { kind: "dns", text: `dns: host not found (${code})` };
  if (code === "ECONNREFUSED") return { kind: "refused", text: "refused: nothing listens on that host and port (ECONNREFUSED)" };
  if (/TLS|SSL|certificate/i.test(message) || (code && /^(EPROTO|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_TLS|ERR_SSL)/.test(code))) {
    const detail = /TLS handshake failed: (.*)$/.exec(message)?.[1] ?? code ?? "";
    return { kind: "tls", text: `tls: ${detail}`.trim().slice(0, 200) };
  }
  if (code === "ETIMEDOUT" || /timed? ?out/i.test(message)) return { kind: "timeout", text: `timeout${code ? ` (${code})` : ""}` };
  if (code && NETWORK.has(code)) return { kind: "network", text: `network: ${code}` };
  return {
    kind: "unknown",
    text: ((code ? `${code}: ` : "") + message.replace(/^WebSocket connection to '[^']*' failed: /, "")).replace(/\s+/g, " ").slice(0, 200),
  };
}

/** Bun's failed-handshake message: "WebSocket connection to '…' failed: Expected 101 status code: 429". */
export function handshakeStatus(message: string): number | null {
  const m = /Expected 101 status code: (\d{3})/.exec(message);
  return m ? Number(m[1]) : null;
}
