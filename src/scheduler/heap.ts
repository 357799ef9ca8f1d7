/**
 * A binary heap whose top is the item that comes first under `before`. The
 * scheduler only ever changes the top's key (the node or branch it just placed
 * on), so `updateTop` is all the re-ranking it needs: O(log n) per placement
 * instead of re-sorting every node.
 */
export class Heap<T> {
  private readonly items: T[];

  /** Takes ownership of `items`. */
  constructor(
    items: T[],
    private readonly before: (a: T, b: T) => boolean,
  ) {
    this.items = items;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last !== undefined) {
      this.items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Restores the order after the top's key changed; a top that only got better stays where it is. */
  updateTop(): void {
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const { items, before } = this;
    const n = items.length;
    const item = items[start]!;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, item)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = item;
  }
}
