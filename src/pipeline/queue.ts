/** @module pipeline/queue — bounded FIFO ring; offer() never blocks and reports a full queue. */

/** Slots the ring starts with; it doubles up to `capacity` only while a backlog needs them. */
const INITIAL_SLOTS = 1024;

export class BoundedQueue<T> {
  /**
   * Grown on demand, never past `capacity`: a QUEUE_SIZE of 500,000 allocated up front held 4 MB
   * of slots that a healthy collector (queue near empty) never uses (bench/memory.ts).
   */
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("queue capacity must be a positive integer");
    this.items = new Array<T | undefined>(Math.min(capacity, INITIAL_SLOTS));
  }

  get size(): number {
    return this.count;
  }

  utilizationPct(): number {
    return (this.count / this.capacity) * 100;
  }

  /** Adds the item, or returns false (the caller counts the drop) when the queue is full. */
  offer(item: T): boolean {
    if (this.count === this.items.length) {
      if (this.count === this.capacity) return false;
      this.grow();
    }
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
    return true;
  }

  /** Twice the slots (at most `capacity`), items moved to 0..count-1 in FIFO order. */
  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(Math.min(this.capacity, old.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) % old.length];
    this.items = next;
    this.head = 0;
  }

  /** Removes up to `max` items in FIFO order and hands each to `fn`. */
  drain(max: number, fn: (item: T) => void): number {
    const n = Math.min(max, this.count);
    const items = this.items;
    const slots = items.length;
    for (let i = 0; i < n; i++) {
      const item = items[this.head] as T;
      items[this.head] = undefined;
      this.head = (this.head + 1) % slots;
      this.count--;
      fn(item);
    }
    return n;
  }
}
