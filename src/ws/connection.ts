/** @module ws/connection — one venue socket: connect, subscribe pacing, keepalive, watchdog, backoff, recv stamping. */
import { connectCause, handshakeStatus } from "./cause.ts";
import type { ConnectionHooks, ConnectionOptions } from "./types.ts";
import { nowUs, systemClock, type TimerClock } from "../clock.ts";
import type { ConnectionPlan, ExchangeAdapter, ParseResult } from "../exchanges/types.ts";
import type { Logger } from "../log.ts";
import { backoffDelayMs } from "../backoff.ts";

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
  /** Cancels the timers of the current socket (from clock.after / every). */
  private timers: Array<() => void> = [];
  private cancelReconnect: (() => void) | null = null;
  private readonly clock: TimerClock;
  /** Subscribe messages waiting for their turn (paced), the timer of the next one, when the last went out. */
  private controlQueue: string[] = [];
  /** Cancels the pending control-message timer (null = none scheduled). */
  private controlTimer: (() => void) | null = null;
  private lastControlMs = 0;
  /** Symbols re-requested on their own after a refused multi-symbol request (once per connection). */
  private retried = new Set<string>();
  private closeReason = "";
  /** When the oldest unanswered ping was sent (null = none outstanding). */
  private pingSentMs: number | null = null;
  /** A 418/429 handshake status seen since the last reconnect was scheduled. */
  private rateLimitStatus: number | null = null;
  /** Replaced by a newer connection: no reconnect after this socket closes. */
  private retired = false;
  /** Effective deadlines (plan, venue keepalive, optional cap). */
  readonly idleTimeoutMs: number;
  readonly pongTimeoutMs: number;

  constructor(
    readonly adapter: ExchangeAdapter,
    readonly plan: ConnectionPlan,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
    private readonly opts: ConnectionOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    const cap = opts.watchdogCapMs ?? Infinity;
    this.idleTimeoutMs = Math.min(plan.idleTimeoutMs ?? opts.keepalive.idleTimeoutMs, cap);
    this.pongTimeoutMs = Math.min(opts.keepalive.pongTimeoutMs ?? 0, cap);
  }

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
      const error = (ev as ErrorEvent).message ?? "error";
      const status = handshakeStatus(error);
      // 418 = IP banned, 429 = too many requests (docs/venues.md §1.3): back off hard.
      if (status === 418 || status === 429) this.rateLimitStatus = status;
      const code = (ev as ErrorEvent & { error?: { code?: unknown } }).error?.code;
      const cause = connectCause(error, typeof code === "string" ? code : undefined);
      const connecting = !this.isOpen && ws === this.ws;
      if (connecting) this.closeReason ||= `connect failed: ${cause.text}`;
      // A failed connect is reported once, by its ws_disconnect (reason = the cause): the raw error is debug detail.
      this.log.log(connecting ? "debug" : "warn", "ws_error", {
        exchange: this.adapter.id,
        conn_id: this.connId,
        error,
        cause: cause.text,
        cause_kind: cause.kind,
        ...(status !== null ? { http_status: status } : {}),
      });
    };
    ws.onclose = (ev: CloseEvent) => this.handleClose(ws, ev.code, ev.reason);
    const connectTimeoutMs = this.opts.connectTimeoutMs ?? 0;
    if (connectTimeoutMs > 0) {
      this.timers.push(
        this.clock.after(connectTimeoutMs, () => {
          if (ws !== this.ws || this.isOpen) return;
          // A blackholed peer: the handshake would hang for minutes. Give up on this socket now.
          this.closeReason = `connect failed: timeout (no handshake within ${connectTimeoutMs} ms)`;
          ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
          try {
            ws.terminate();
          } catch {
            // not yet a socket to terminate
          }
          this.handleClose(ws, 1006, "");
        }),
      );
    }
    // Bun dispatches server ping frames as events; they prove the peer is alive.
    ws.addEventListener("ping", () => {
      this.lastFrameMs = this.clock.nowMs();
    });
  }

  private handleOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.isOpen = true;
    this.openedAtMs = this.clock.nowMs();
    this.lastFrameMs = this.openedAtMs;
    this.log.info("ws_connect", {
      exchange: this.adapter.id,
      route: this.plan.route,
      conn_id: this.connId,
      url: this.plan.url,
      streams: this.plan.streams,
      symbols: this.plan.symbols.length,
      idle_timeout_ms: this.idleTimeoutMs,
    });
    this.controlQueue = [];
    this.controlTimer = null;
    this.lastControlMs = 0;
    this.retried.clear();
    this.sendPaced(ws, this.plan.subscribeMessages);
    const ka = this.opts.keepalive;
    if (ka.pingIntervalMs > 0 && ka.pingMode !== "idle") {
      this.timers.push(this.every(ka.pingIntervalMs, () => this.sendPing(ws)));
    }
    // The same tick drives the idle watchdog, idle-mode pings and the pong deadline.
    const tickMs = Math.max(20, Math.min(1000, this.idleTimeoutMs / 4, ka.pingIntervalMs > 0 ? ka.pingIntervalMs / 4 : Infinity));
    this.timers.push(this.every(tickMs, () => this.checkIdle(ws)));
    const maxAge = this.opts.maxAgeMs ?? 0;
    if (maxAge > 0)
      this.timers.push(this.clock.after(maxAge, () => this.replace(ws, `max age ${maxAge % 1000 === 0 ? `${maxAge / 1000} s` : `${maxAge} ms`}`)));
    this.hooks.onOpen(this);
  }

  /** `fn` every `ms` on the clock (a repeating timer); the result cancels it. */
  private every(ms: number, fn: () => void): () => void {
    const tick = () => {
      cancel = this.clock.after(ms, tick); // re-armed first: `fn` may close the socket and cancel it
      fn();
    };
    let cancel = this.clock.after(ms, tick);
    return () => cancel();
  }

  /**
   * Subscribe messages go out one at a time, each at least `controlGapMs` after the previous one was
   * actually sent (a late timer never shortens the next gap), later ones queued behind earlier ones.
   */
  private sendPaced(ws: WebSocket, msgs: readonly string[]): void {
    this.controlQueue.push(...msgs);
    if (this.controlTimer === null && this.controlQueue.length > 0) this.scheduleControl(ws);
  }

  private scheduleControl(ws: WebSocket): void {
    const waitMs = Math.max(0, this.lastControlMs + this.opts.controlGapMs - this.clock.nowMs());
    this.controlTimer = this.clock.after(waitMs, () => {
      this.controlTimer = null;
      if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
      const msg = this.controlQueue.shift();
      if (msg === undefined) return;
      ws.send(msg);
      this.lastControlMs = this.clock.nowMs();
      this.log.debug("subscribe_sent", { exchange: this.adapter.id, conn_id: this.connId, message: msg });
      if (this.controlQueue.length > 0) this.scheduleControl(ws);
    });
    this.timers.push(this.controlTimer);
  }

  private sendPing(ws: WebSocket): void {
    const p = this.opts.keepalive.ping();
    if (p === null || ws.readyState !== WebSocket.OPEN) return;
    ws.send(p);
    this.pingSentMs ??= this.clock.nowMs();
  }

  private checkIdle(ws: WebSocket): void {
    const ka = this.opts.keepalive;
    const now = this.clock.nowMs();
    const idleMs = now - this.lastFrameMs;
    const pongTimeoutMs = this.pongTimeoutMs;
    if (pongTimeoutMs > 0 && this.pingSentMs !== null && now - this.pingSentMs > pongTimeoutMs) {
      this.closeReason = `watchdog: no pong within ${pongTimeoutMs} ms`;
      ws.terminate();
      return;
    }
    if (idleMs > this.idleTimeoutMs) {
      // Bun's client never notices a dead peer by itself (docs/venues.md §0; measured in test/e2e/dead-peer.test.ts).
      this.closeReason = `watchdog: no frame for ${idleMs} ms`;
      ws.terminate();
      return;
    }
    if (ka.pingMode === "idle" && ka.pingIntervalMs > 0 && idleMs >= ka.pingIntervalMs && this.pingSentMs === null) this.sendPing(ws);
  }

  /** Planned replacement (max age, venue notice): make-before-break via the hook, else a plain reconnect. */
  private replace(ws: WebSocket, reason: string): void {
    if (ws !== this.ws || this.stopped || this.retired) return;
    if (this.hooks.onReplaceWanted) this.hooks.onReplaceWanted(this, reason);
    else this.reconnectNow(ws, reason);
  }

  /** A planned reconnect the venue asked for: close now and reconnect after the shortest backoff. */
  private reconnectNow(ws: WebSocket, reason: string): void {
    if (ws !== this.ws || this.stopped) return;
    this.closeReason = reason;
    this.attempt = 0;
    try {
      ws.close(1000, "reconnect");
    } catch {
      ws.terminate();
    }
  }

  private handleMessage(ws: WebSocket, data: unknown): void {
    const tsRecvUs = nowUs(); // the row's ts_recv_us: wall clock, µs
    this.lastFrameMs = this.clock.nowMs(); // the watchdog's time: the injected clock, like every deadline here
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
        if (res.filtered) this.hooks.onFiltered?.(this, res.filtered.stream, res.filtered.count);
        for (const row of res.rows) this.hooks.onRow(row);
        break;
      case "skip":
        this.hooks.onSkip(this, res.reason, res.detail ?? text.slice(0, 200));
        break;
      case "subscribe_error":
        if (res.retry && res.retry.length > 0) {
          // A request of several symbols refused as a whole: not yet an error; each symbol is asked for on
          // its own. Only this plan's symbols, each once per connection: the req_id is echoed by the venue.
          const retry = res.retry.filter((r) => this.plan.symbols.includes(r.symbol) && !this.retried.has(r.symbol));
          for (const r of retry) this.retried.add(r.symbol);
          this.log.warn("subscribe_batch_refused", {
            exchange: this.adapter.id,
            conn_id: this.connId,
            error: res.detail,
            topics: res.topics,
            retries: retry.length,
          });
          this.sendPaced(
            ws,
            retry.map((r) => r.message),
          );
        } else this.hooks.onSubscribeError(this, res.detail, res.topics);
        break;
      case "ack":
        this.log.debug("subscribe_ack", { exchange: this.adapter.id, conn_id: this.connId, detail: res.detail });
        break;
      case "notice":
        this.log.warn("venue_notice", {
          exchange: this.adapter.id,
          conn_id: this.connId,
          code: res.code,
          detail: res.detail,
          reconnect: res.reconnect === true,
        });
        if (res.reconnect) this.replace(ws, `venue notice ${res.code}`);
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
    for (const cancel of this.timers) cancel();
    this.timers = [];
    const openForMs = wasOpen ? this.clock.nowMs() - this.openedAtMs : 0;
    const why = this.closeReason || reason || (wasOpen ? "closed by peer" : "connect failed");
    // Closes the collector asked for (shutdown, a completed rotation) are routine: info, not warn.
    const planned = this.stopped && (why === "shutdown" || why === "rotate");
    this.log.log(planned ? "info" : "warn", "ws_disconnect", {
      exchange: this.adapter.id,
      route: this.plan.route,
      conn_id: this.connId,
      code,
      reason: why,
      open_for_ms: openForMs,
      frames: this.recvSeq,
    });
    if (wasOpen) this.hooks.onClose(this, code, why);
    if (this.stopped || this.retired) return;
    if (openForMs >= this.opts.stableAfterMs) this.attempt = 0;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.attempt++;
    let delayMs = backoffDelayMs(this.opts.backoff, this.attempt);
    const limited = this.rateLimitStatus;
    this.rateLimitStatus = null;
    if (limited !== null) delayMs = Math.max(delayMs, this.opts.rateLimitFloorMs ?? 60_000);
    this.log.info("ws_reconnect_scheduled", {
      exchange: this.adapter.id,
      route: this.plan.route,
      attempt: this.attempt,
      delay_ms: delayMs,
      ...(limited !== null ? { rate_limited: limited } : {}),
    });
    this.hooks.onReconnectScheduled(this);
    this.cancelReconnect = this.clock.after(delayMs, () => {
      this.cancelReconnect = null;
      this.connect();
    });
  }

  /** Send a control message now (order-book resync); false when the socket is not open. */
  send(text: string): boolean {
    const ws = this.ws;
    if (!ws || !this.isOpen || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(text);
    this.log.debug("subscribe_sent", { exchange: this.adapter.id, conn_id: this.connId, message: text });
    return true;
  }

  /** Close now and reconnect after the shortest backoff (order-book resync past the venue's request budget). */
  reconnect(reason: string): void {
    if (this.ws && this.isOpen) this.reconnectNow(this.ws, reason);
  }

  /**
   * Every subscription of this socket delivered its first row (tracked once, in state/first-data,
   * which exempts sporadic streams such as liquidations): lets a make-before-break replacement finish.
   */
  markLive(): void {
    if (this.isOpen) this.hooks.onLive?.(this);
  }

  /** Replaced by a newer connection: keep reading until stopped, but never reconnect. */
  retire(): void {
    this.retired = true;
  }

  /**
   * Close; no reconnect afterwards. Shutdown stops reading at once; a rotation (`keepReading`)
   * still records frames already on the wire until the close completes (more duplicates, no loss).
   */
  stop(reason = "shutdown", keepReading = false): void {
    this.stopped = true;
    this.cancelReconnect?.();
    this.cancelReconnect = null;
    for (const cancel of this.timers) cancel();
    this.timers = [];
    const ws = this.ws;
    if (ws) {
      if (!keepReading) ws.onmessage = null;
      this.closeReason = reason;
      try {
        ws.close(1000, reason);
      } catch {
        // already closing
      }
    }
  }
}
