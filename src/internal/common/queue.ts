/**
 * @internal
 * A FIFO queue with O(1) `shift`: an array and a head index, compacted once
 * the consumed part outgrows the rest. (`Array.prototype.shift` copies the
 * whole array when it is large.)
 */
export class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Appends every item of `items`. */
  pushAll(items: readonly T[]): void {
    for (const item of items) this.items.push(item);
  }

  /** The first item, without removing it. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
