/**
 * @module ws/supervisor — owns the Connection objects of one venue, one slot per ConnectionPlan,
 * and replaces a connection make-before-break (docs/venues.md §0; §1.4 24 h cut,
 * §3.4 notice 64008): open a new connection for the same plan (new conn_id), let it subscribe,
 * wait for first data on each of its subscriptions (bounded by `replaceDeadlineMs`), then close
 * the old one. The overlap yields duplicates with different conn_id, never a gap.
 * No venue names here: when to replace comes from the adapter (maxConnectionAgeMs, notices).
 */
import { systemClock, type TimerClock } from "../clock.ts";
import type { ConnectionPlan, ExchangeAdapter } from "../exchanges/types.ts";
import type { Logger } from "../log.ts";
import { Connection } from "./connection.ts";
import type { ConnectionHooks, ConnectionOptions } from "./types.ts";

export interface SupervisorHooks extends ConnectionHooks {
  /** `old` is being replaced (reason: max age / venue notice); its disconnect follows with reason "rotate". */
  onRotate(old: Connection, reason: string): void;
}

interface Slot {
  plan: ConnectionPlan;
  current: Connection;
  /** The connection being replaced, still reading until `current` is live. */
  retiring: Connection | null;
  reason: string;
  startedMs: number;
  /** Cancels the replacement deadline. */
  timer: (() => void) | null;
}

export class Supervisor {
  private readonly slots: Slot[];
  private stopped = false;
  private readonly clock: TimerClock;

  constructor(
    readonly adapter: ExchangeAdapter,
    plans: ConnectionPlan[],
    private readonly hooks: SupervisorHooks,
    private readonly log: Logger,
    private readonly opts: ConnectionOptions,
    /** Longest wait for first data on every subscription of the replacement before the old one closes. */
    private readonly replaceDeadlineMs: number,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.slots = plans.map((plan) => {
      // The hooks of `current` refer to its slot only when they fire, after the slot exists.
      const slot: Slot = { plan, current: this.make(plan, () => slot), retiring: null, reason: "", startedMs: 0, timer: null };
      return slot;
    });
  }

  start(): void {
    for (const s of this.slots) s.current.start();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.slots) {
      s.timer?.();
      s.retiring?.stop();
      s.current.stop();
    }
  }

  /** Every Connection object alive now (during a rotation, both of a slot). */
  connections(): Connection[] {
    return this.slots.flatMap((s) => (s.retiring ? [s.retiring, s.current] : [s.current]));
  }

  /** Plans with at least one open socket: an overlap counts once, so it cannot mask a dead slot. */
  openSlots(): number {
    return this.slots.filter((s) => s.current.open || s.retiring?.open === true).length;
  }

  private make(plan: ConnectionPlan, slotOf: () => Slot): Connection {
    const hooks: ConnectionHooks = {
      ...this.hooks,
      onLive: (conn) => {
        this.hooks.onLive?.(conn);
        const slot = slotOf();
        if (slot.current === conn && slot.retiring) this.finish(slot, "first data on every subscription");
      },
      onReplaceWanted: (conn, reason) => this.rotate(slotOf(), conn, reason),
      onClose: (conn, code, reason) => {
        this.hooks.onClose(conn, code, reason);
        const slot = slotOf();
        // The old socket went away by itself (venue cut) before the replacement was live.
        if (conn === slot.retiring) {
          slot.retiring = null;
          slot.timer?.();
          slot.timer = null;
        }
      },
    };
    return new Connection(this.adapter, plan, hooks, this.log, this.opts);
  }

  private rotate(slot: Slot, old: Connection, reason: string): void {
    // One replacement per slot at a time; a notice on the retiring socket is already handled.
    if (this.stopped || slot.current !== old || slot.retiring) return;
    old.retire();
    this.hooks.onRotate(old, reason);
    slot.retiring = old;
    slot.reason = reason;
    slot.startedMs = this.clock.nowMs();
    slot.current = this.make(slot.plan, () => slot);
    this.log.info("ws_rotate", {
      exchange: this.adapter.id,
      route: slot.plan.route,
      old_conn_id: old.connId,
      reason,
      phase: "start",
      deadline_ms: this.replaceDeadlineMs,
    });
    this.armDeadline(slot);
    slot.current.start();
  }

  private armDeadline(slot: Slot): void {
    slot.timer = this.clock.after(this.replaceDeadlineMs, () => {
      slot.timer = null;
      // Never close the old socket before its replacement is even open: that would open a gap.
      if (slot.current.open) this.finish(slot, `deadline ${this.replaceDeadlineMs} ms: some subscriptions still without data`);
      else if (slot.retiring) this.armDeadline(slot);
    });
  }

  private finish(slot: Slot, why: string): void {
    const old = slot.retiring;
    if (!old) return;
    slot.timer?.();
    slot.timer = null;
    slot.retiring = null;
    this.log.info("ws_rotate", {
      exchange: this.adapter.id,
      route: slot.plan.route,
      old_conn_id: old.connId,
      new_conn_id: slot.current.connId,
      reason: slot.reason,
      phase: "done",
      why,
      overlap_ms: this.clock.nowMs() - slot.startedMs,
    });
    old.stop("rotate", true);
  }
}
