/**
 * @internal
 * How a reader waits for a source that said `NOT_READY`: the first retry
 * after the current macrotask, then after 1, 2, 4, 8 and at most 10 ms, so
 * a source that stays not ready costs a few polls per 10 ms, not a hot spin.
 */
import { NOT_READY } from '../../notReady';
import { isPromiseLike } from '../common/promises';
import type { Puller } from '../common/pullPipeline';

/** The longest pause between two polls of a source that is not ready. */
export const MAX_POLL_MS = 10;

export class Backoff {
  private ms = 0;

  /** Waits before the next poll; each wait is longer, up to {@link MAX_POLL_MS}. */
  wait(): Promise<void> {
    const ms = this.ms;
    this.ms = Math.min(MAX_POLL_MS, ms === 0 ? 1 : ms * 2);
    return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
  }

  /** After an item: the next wait starts short again. */
  reset(): void {
    this.ms = 0;
  }
}

/** A puller that never gives `NOT_READY`: it polls `source` until it has an item or ends. */
export function waitingPuller(source: Puller<unknown>): Puller<unknown> {
  const backoff = new Backoff();
  return {
    next: async () => {
      for (;;) {
        const next = source.next();
        const result = isPromiseLike(next) ? await next : next;
        if (result.done || result.value !== NOT_READY) {
          backoff.reset();
          return result;
        }
        await backoff.wait();
      }
    },
    return: () => source.return?.(),
  };
}
