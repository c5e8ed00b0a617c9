/** @module pipeline/queue — bounded FIFO ring; offer() never blocks and reports a full queue. */

export class BoundedQueue<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("queue capacity must be a positive integer");
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  utilizationPct(): number {
    return (this.count / this.capacity) * 100;
  }

  /** Adds the item, or returns false (the caller counts the drop) when the queue is full. */
  offer(item: T): boolean {
    if (this.count === this.capacity) return false;
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return true;
  }

  /** Removes up to `max` items in FIFO order and hands each to `fn`. */
  drain(max: number, fn: (item: T) => void): number {
    const n = Math.min(max, this.count);
    for (let i = 0; i < n; i++) {
      const item = this.items[this.head] as T;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      fn(item);
    }
    return n;
  }
}
