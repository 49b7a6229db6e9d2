/**
 * A binary min-heap ordered by `before(a, b)` (true when `a` must come out first).
 *
 * Sifting moves a hole instead of swapping, which halves the writes on the claim hot path.
 */
export class BinaryHeap<T> {
  private items: T[] = [];
  private readonly before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.before = before;
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    this.siftUp(items.length - 1);
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /**
   * Keep only the items `keep` accepts, then rebuild in O(n). Lazy deletion leaves stale
   * entries behind; owners call this once stale entries outnumber live ones.
   */
  retain(keep: (item: T) => boolean): void {
    const kept: T[] = [];
    for (const item of this.items) if (keep(item)) kept.push(item);
    this.items = kept;
    for (let i = (kept.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(start: number): void {
    const items = this.items;
    const item = items[start] as T;
    let i = start;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!this.before(item, parent)) break;
      items[i] = parent;
      i = parentIndex;
    }
    items[i] = item;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const length = items.length;
    const item = items[start] as T;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      let childItem = items[left] as T;
      if (right < length) {
        const rightItem = items[right] as T;
        if (this.before(rightItem, childItem)) {
          child = right;
          childItem = rightItem;
        }
      }
      if (!this.before(childItem, item)) break;
      items[i] = childItem;
      i = child;
    }
    items[i] = item;
  }
}
