/**
 * @internal
 * The pipeline of a shard or `LocalIterator` that needs no RxJS: it pulls
 * from its source directly (a plain source, or a chain of `pullStages`), so
 * such a worker never loads RxJS. It answers `pull` as `PullPipeline` does.
 */
import { isPromiseLike } from './promises';
import { EAGER_MS } from '../wire/protocol';
import type { Pulled, Puller } from './pullPipeline';

/** Items a plain source adds between two reads of the clock. */
const FILL_CHUNK = 256;

export class DirectPipeline {
  private done = false;
  private failure: { readonly error: unknown } | undefined;

  constructor(private readonly source: Puller<unknown>) {}

  async pull(n: number, batchMs = 0): Promise<Pulled<unknown>> {
    const items: unknown[] = [];
    const eager = batchMs === 0 && n > 1;
    const budget = eager ? EAGER_MS : batchMs;
    const deadline = budget > 0 ? performance.now() + budget : undefined;
    const late = (): boolean => deadline !== undefined && performance.now() >= deadline;
    try {
      const fill = this.source.fill;
      if (fill && n > 1) {
        // Plain data: many items at a time, the clock read once per chunk.
        while (items.length < n && !this.done) {
          if (fill.call(this.source, items, Math.min(n - items.length, FILL_CHUNK)))
            this.done = true;
          if (late()) break;
        }
      }
      while (items.length < n && !this.done && !this.failure) {
        if (items.length > 0 && late()) break;
        let next =
          items.length > 0 && this.source.nextNow ? this.source.nextNow() : this.source.next();
        if (next === undefined) break;
        if (isPromiseLike(next)) {
          next = await next;
          if (items.length > 0 && eager) {
            if (next.done) this.done = true;
            else items.push(next.value);
            break;
          }
        }
        if (next.done) this.done = true;
        else items.push(next.value);
      }
    } catch (error) {
      this.failure = { error };
    }
    if (items.length > 0) {
      return this.done && !this.failure
        ? { items, done: false, ended: true }
        : { items, done: false };
    }
    if (this.failure) throw this.failure.error;
    return { items, done: true };
  }

  close(): void {
    this.done = true;
    try {
      const result = this.source.return?.();
      if (isPromiseLike(result)) result.then(undefined, () => undefined);
    } catch {
      // The source failing to stop is of no interest once the consumer has left.
    }
  }
}
