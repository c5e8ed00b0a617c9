/** @module pipeline/deadline-heap — the writer's min-heap of partition flush deadlines. */

/** What the heap orders: a deadline, and the item's own position in the heap (-1 when not scheduled). */
export interface Scheduled {
  /** When tick() must look at it next. */
  dueMs: number;
  /** Position in the deadline heap; -1 when not scheduled. */
  heapIndex: number;
}

/**
 * Time flushes are kept in a min-heap of deadlines, taken earliest first: every partition is
 * flushed within FLUSH_INTERVAL of its oldest row plus the tick period (50 ms) plus, when more
 * partitions fall due at once than FLUSH_SLICE_MS of flushing covers, the ticks needed to reach
 * it in deadline order (docs: README "Performance"). A full buffer held back by MIN_FLUSH_GAP gets
 * the gap's end as its deadline.
 */
export class DeadlineHeap<T extends Scheduled> {
  private readonly items: T[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  push(p: T): void {
    p.heapIndex = this.items.length;
    this.items.push(p);
    this.up(p.heapIndex);
  }
  pop(): T | undefined {
    const top = this.items[0];
    if (top) this.remove(top);
    return top;
  }
  remove(p: T): void {
    const i = p.heapIndex;
    if (i < 0) return;
    const last = this.items.pop()!;
    p.heapIndex = -1;
    if (last !== p) {
      this.items[i] = last;
      last.heapIndex = i;
      this.up(i);
      this.down(last.heapIndex);
    }
  }
  /** p.dueMs changed. */
  update(p: T): void {
    if (p.heapIndex < 0) return this.push(p);
    this.up(p.heapIndex);
    this.down(p.heapIndex);
  }
  private swap(i: number, j: number): void {
    const a = this.items[i]!;
    const b = this.items[j]!;
    this.items[i] = b;
    this.items[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }
  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.items[parent]!.dueMs <= this.items[i]!.dueMs) return;
      this.swap(i, parent);
      i = parent;
    }
  }
  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.items[l]!.dueMs < this.items[m]!.dueMs) m = l;
      if (r < n && this.items[r]!.dueMs < this.items[m]!.dueMs) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
