/** @module ws/connection — one venue socket: connect, subscribe pacing, keepalive, watchdog, backoff, recv stamping. */
import { nowUs } from "../clock.ts";
import type { Row } from "../schema/rows.ts";
import type { ConnectionPlan, ExchangeAdapter, KeepalivePolicy, ParseResult } from "../exchanges/types.ts";
import type { Logger } from "../log.ts";
import { backoffDelayMs, type BackoffPolicy } from "../pipeline/backoff.ts";

export interface ConnectionHooks {
  /** Every row parsed from a frame, in frame order. */
  onRow(row: Row): void;
  onOpen(conn: Connection): void;
  /** After an open socket closed: the close code and the reason logged in ws_disconnect. */
  onClose(conn: Connection, code: number, reason: string): void;
  onReconnectScheduled(conn: Connection): void;
  onSkip(conn: Connection, reason: string, detail?: string): void;
  onSubscribeError(conn: Connection, detail: string, topics: string[]): void;
}

export interface ConnectionOptions {
  instanceId: string;
  backoff: BackoffPolicy;
  /** A connection that stayed open this long resets the backoff (spec §6: a stable minute). */
  stableAfterMs: number;
  /** Gap between control messages (Binance ≤ ~4/s per connection). */
  controlGapMs: number;
  /** The venue's keepalive, possibly with a shortened ping interval (WS_PING_INTERVAL_MS). */
  keepalive: KeepalivePolicy;
}

const decoder = new TextDecoder();
let connCounter = 0;

export class Connection {
  connId = "";
  private ws: WebSocket | null = null;
  private recvSeq = 0;
  private lastFrameMs = 0;
  private openedAtMs = 0;
  private attempt = 0;
  private stopped = false;
  private isOpen = false;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private closeReason = "";
  /** When the oldest unanswered ping was sent (null = none outstanding). */
  private pingSentMs: number | null = null;

  constructor(
    readonly adapter: ExchangeAdapter,
    readonly plan: ConnectionPlan,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
    private readonly opts: ConnectionOptions,
  ) {}

  get open(): boolean {
    return this.isOpen;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private connect(): void {
    this.connId = `${this.adapter.id}-${this.plan.route}-${this.opts.instanceId}-${++connCounter}`;
    this.recvSeq = 0;
    this.closeReason = "";
    this.pingSentMs = null;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.plan.url);
    } catch (err) {
      this.log.error("ws_error", { exchange: this.adapter.id, route: this.plan.route, error: String(err) });
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.handleOpen(ws);
    ws.onmessage = (ev: MessageEvent) => this.handleMessage(ws, ev.data);
    ws.onerror = (ev: Event) => {
      this.log.warn("ws_error", { exchange: this.adapter.id, conn_id: this.connId, error: (ev as ErrorEvent).message ?? "error" });
    };
    ws.onclose = (ev: CloseEvent) => this.handleClose(ws, ev.code, ev.reason);
    // Bun dispatches server ping frames as events; they prove the peer is alive.
    ws.addEventListener("ping", () => {
      this.lastFrameMs = Date.now();
    });
  }

  private handleOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.isOpen = true;
    this.openedAtMs = Date.now();
    this.lastFrameMs = this.openedAtMs;
    this.log.info("ws_connect", { exchange: this.adapter.id, route: this.plan.route, conn_id: this.connId, url: this.plan.url, streams: this.plan.streams, symbols: this.plan.symbols.length });
    this.plan.subscribeMessages.forEach((msg, i) => {
      this.timers.push(
        setTimeout(() => {
          if (ws.readyState === WebSocket.OPEN) {
            ws.send(msg);
            this.log.debug("subscribe_sent", { exchange: this.adapter.id, conn_id: this.connId, message: msg });
          }
        }, i * this.opts.controlGapMs),
      );
    });
    const ka = this.opts.keepalive;
    if (ka.pingIntervalMs > 0 && ka.pingMode !== "idle") {
      this.timers.push(setInterval(() => this.sendPing(ws), ka.pingIntervalMs));
    }
    // The same tick drives the idle watchdog, idle-mode pings and the pong deadline.
    const tickMs = Math.max(20, Math.min(1000, ka.idleTimeoutMs / 4, ka.pingIntervalMs > 0 ? ka.pingIntervalMs / 4 : Infinity));
    this.timers.push(setInterval(() => this.checkIdle(ws), tickMs));
    this.hooks.onOpen(this);
  }

  private sendPing(ws: WebSocket): void {
    const p = this.opts.keepalive.ping();
    if (p === null || ws.readyState !== WebSocket.OPEN) return;
    ws.send(p);
    this.pingSentMs ??= Date.now();
  }

  private checkIdle(ws: WebSocket): void {
    const ka = this.opts.keepalive;
    const now = Date.now();
    const idleMs = now - this.lastFrameMs;
    const pongTimeoutMs = ka.pongTimeoutMs ?? 0;
    if (pongTimeoutMs > 0 && this.pingSentMs !== null && now - this.pingSentMs > pongTimeoutMs) {
      this.closeReason = `watchdog: no pong within ${pongTimeoutMs} ms`;
      (ws as unknown as { terminate(): void }).terminate();
      return;
    }
    if (idleMs > ka.idleTimeoutMs) {
      // Bun's client never notices a dead peer by itself (bun-notes §0 pitfall 6).
      this.closeReason = `watchdog: no frame for ${idleMs} ms`;
      (ws as unknown as { terminate(): void }).terminate();
      return;
    }
    if (ka.pingMode === "idle" && ka.pingIntervalMs > 0 && idleMs >= ka.pingIntervalMs && this.pingSentMs === null) this.sendPing(ws);
  }

  /** A planned reconnect the venue asked for: close now and reconnect after the shortest backoff. */
  private reconnectNow(ws: WebSocket, reason: string): void {
    if (ws !== this.ws || this.stopped) return;
    this.closeReason = reason;
    this.attempt = 0;
    try {
      ws.close(1000, "reconnect");
    } catch {
      (ws as unknown as { terminate(): void }).terminate();
    }
  }

  private handleMessage(ws: WebSocket, data: unknown): void {
    const tsRecvUs = nowUs();
    this.lastFrameMs = Math.floor(tsRecvUs / 1000);
    const seq = ++this.recvSeq;
    const text = typeof data === "string" ? data : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? decoder.decode(data as ArrayBuffer) : String(data);
    let res: ParseResult;
    try {
      res = this.adapter.parse(text, { connId: this.connId, recvSeq: seq, tsRecvUs });
    } catch (err) {
      res = { kind: "skip", reason: "parser_exception", detail: err instanceof Error ? err.message : String(err) };
    }
    switch (res.kind) {
      case "rows":
        for (const row of res.rows) this.hooks.onRow(row);
        break;
      case "skip":
        this.hooks.onSkip(this, res.reason, res.detail ?? text.slice(0, 200));
        break;
      case "subscribe_error":
        this.hooks.onSubscribeError(this, res.detail, res.topics);
        break;
      case "ack":
        this.log.debug("subscribe_ack", { exchange: this.adapter.id, conn_id: this.connId, detail: res.detail });
        break;
      case "notice":
        this.log.warn("venue_notice", { exchange: this.adapter.id, conn_id: this.connId, code: res.code, detail: res.detail, reconnect: res.reconnect === true });
        if (res.reconnect) this.reconnectNow(ws, `venue notice ${res.code}`);
        break;
      case "pong":
        this.pingSentMs = null;
        break;
    }
  }

  private handleClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    const wasOpen = this.isOpen;
    this.isOpen = false;
    this.ws = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    const openForMs = wasOpen ? Date.now() - this.openedAtMs : 0;
    const why = this.closeReason || reason || (wasOpen ? "closed by peer" : "connect failed");
    this.log.warn("ws_disconnect", { exchange: this.adapter.id, route: this.plan.route, conn_id: this.connId, code, reason: why, open_for_ms: openForMs, frames: this.recvSeq });
    if (wasOpen) this.hooks.onClose(this, code, why);
    if (this.stopped) return;
    if (openForMs >= this.opts.stableAfterMs) this.attempt = 0;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.attempt++;
    const delayMs = backoffDelayMs(this.opts.backoff, this.attempt);
    this.log.info("ws_reconnect_scheduled", { exchange: this.adapter.id, route: this.plan.route, attempt: this.attempt, delay_ms: delayMs });
    this.hooks.onReconnectScheduled(this);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delayMs);
  }

  /** Stop reading and close; no reconnect afterwards. */
  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    const ws = this.ws;
    if (ws) {
      ws.onmessage = null;
      this.closeReason = "shutdown";
      try {
        ws.close(1000, "shutdown");
      } catch {
        // already closing
      }
    }
  }
}
