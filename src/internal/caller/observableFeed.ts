/**
 * @internal
 * Feeds shards from an Observable in the calling thread: one subscription per
 * run, made on the first pull and ended with the run. Items are dealt round
 * robin to per-shard queues (`fromObservable`), or wait in one queue that any
 * shard takes from (`parallelMap`). A queue holds at most `bufferSize` items;
 * past that, `onOverflow` decides: keep buffering, or fail with an
 * {@link OverflowError}.
 */
import { takeWhile, type Observable, type Subscription } from 'rxjs';
import { ArgumentTypeError, OverflowError } from '../../errors';
import { describeValue, positiveInteger } from '../common/validate';
import { GrowthWatch } from '../common/growthWatch';
import { Queue } from '../common/queue';
import type { Puller } from '../common/pullPipeline';

/** What to do when a source pushes past `bufferSize`. */
export type OverflowPolicy = 'buffer' | 'error';

/** The buffer options of the functions fed by an Observable. */
export interface OverflowOptions {
  /** Items that may wait in the calling thread before `onOverflow` applies (default 1024). */
  readonly bufferSize?: number;
  /**
   * Past `bufferSize`: `'buffer'` (default) keeps buffering; `'error'` fails
   * with an `OverflowError`.
   */
  readonly onOverflow?: OverflowPolicy;
}

/** Checks the buffer options at the call. */
export function overflowSettings(options: OverflowOptions): Required<OverflowOptions> {
  const onOverflow = options.onOverflow ?? 'buffer';
  if (onOverflow !== 'buffer' && onOverflow !== 'error') {
    throw new ArgumentTypeError(
      `Expected \`onOverflow\` to be 'buffer' or 'error', got ${describeValue(onOverflow)}`,
    );
  }
  return { bufferSize: positiveInteger('bufferSize', options.bufferSize ?? 1024), onOverflow };
}

export interface FeedOptions {
  /** Items that may wait per queue before `onOverflow` applies. */
  readonly bufferSize: number;
  readonly onOverflow: OverflowPolicy;
  /** `roundRobin`: item i to shard i mod n; `shared`: any shard takes the next. */
  readonly mode: 'roundRobin' | 'shared';
  /** When set, an item is handed out only while this returns true. */
  readonly mayHandOut?: () => boolean;
  /** Called with each item as it is handed to a shard; returns what is sent. */
  readonly onHandOut?: (item: unknown) => unknown;
  /**
   * The feed's reader may be dropped unread (a gather's `LocalIterator`): as
   * the buffer grows, look for a dropped reader (see {@link GrowthWatch}).
   */
  readonly readerMayBeDropped?: boolean;
}

const DONE: IteratorResult<unknown> = { done: true, value: undefined };

export class ObservableFeed {
  private readonly queues: Queue<unknown>[];
  private readonly waiters = new Set<() => void>();
  private subscription: Subscription | undefined;
  private completed = false;
  private failure: { error: unknown } | undefined;
  private dealt = 0;
  /** The share of the current round, and how many shards may still take it (see `share`). */
  private roundShare = 1;
  private sharesLeft = 0;
  /** Shards that took their items with their plan (see `preload`). */
  private preloaded = 0;
  private buffered = 0;
  private readonly growth: GrowthWatch | undefined;
  private closed = false;

  constructor(
    private readonly source$: Observable<unknown>,
    private readonly numShards: number,
    private readonly options: FeedOptions,
  ) {
    this.queues = Array.from(
      { length: options.mode === 'shared' ? 1 : numShards },
      () => new Queue<unknown>(),
    );
    if (options.readerMayBeDropped) {
      this.growth = new GrowthWatch(options.bufferSize * this.queues.length);
    }
  }

  /** The source's error, or the overflow, once either happened. */
  get error(): unknown {
    return this.failure?.error;
  }

  /** Wakes shards waiting for items or for room to hand them out. */
  wake(): void {
    if (this.waiters.size === 0) return;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter();
  }

  /** The puller of shard `shard`; the first one subscribes to the source. */
  puller(shard: number): Puller<unknown> {
    this.subscribe();
    const queue = this.queues[this.options.mode === 'shared' ? 0 : shard] as Queue<unknown>;
    const nextNow = (): IteratorResult<unknown> | undefined => {
      this.subscribe();
      if (this.failure) throw this.failure.error;
      if (queue.length > 0 && (this.options.mayHandOut?.() ?? true)) {
        const item = queue.shift();
        this.growth?.shrank(--this.buffered);
        return { done: false, value: this.options.onHandOut ? this.options.onHandOut(item) : item };
      }
      if (queue.length === 0 && (this.completed || this.closed)) return DONE;
      return undefined;
    };
    return {
      nextNow,
      share: () => this.share(queue),
      preload: (max) => {
        const limit = Math.min(max, this.share(queue));
        const items: unknown[] = [];
        let done = false;
        while (items.length < limit) {
          const result = nextNow();
          if (!result) break;
          if (result.done) {
            done = true;
            break;
          }
          items.push(result.value);
        }
        this.preloaded++;
        if (!done && (this.completed || this.closed) && !this.failure) {
          // The source has ended: what is left goes to the shards not started yet.
          const others = this.options.mode === 'shared' ? this.numShards - this.preloaded : 0;
          done = queue.length <= Math.max(0, others) * this.roundShare;
        }
        return items.length > 0 || done ? { items, done } : undefined;
      },
      next: async () => {
        for (;;) {
          const result = nextNow();
          if (result) return result;
          await new Promise<void>((resolve) => this.waiters.add(resolve));
        }
      },
    };
  }

  /**
   * A shard's share of what waits in `queue`: in `shared` mode, what waited
   * when the round of shares began, split evenly (a burst of 16 items gives
   * 8 to each of 2 shards); a new round begins once every shard had its
   * share or the queue ran empty.
   */
  private share(queue: Queue<unknown>): number {
    if (this.options.mode !== 'shared') return Infinity;
    if (queue.length === 0 || this.sharesLeft === 0) {
      this.roundShare = Math.max(1, Math.ceil(queue.length / this.numShards));
      this.sharesLeft = this.numShards;
    }
    this.sharesLeft--;
    return this.roundShare;
  }

  close(): void {
    this.closed = true;
    this.subscription?.unsubscribe();
    this.wake();
  }

  private subscribe(): void {
    if (this.subscription || this.closed) return;
    const open = (): boolean => !this.failure && !this.closed;
    this.subscription = this.source$.pipe(takeWhile(open)).subscribe({
      next: (item) => this.push(item),
      error: (error: unknown) => {
        this.failure = { error };
        this.wake();
      },
      complete: () => {
        this.completed = true;
        this.wake();
      },
    });
  }

  private push(item: unknown): void {
    if (this.failure || this.closed) return;
    const queue = this.queues[this.dealt++ % this.queues.length] as Queue<unknown>;
    if (queue.length >= this.options.bufferSize && this.options.onOverflow === 'error') {
      this.failure ??= {
        error: new OverflowError(
          `The source pushed more than ${this.options.bufferSize} items that no worker has taken yet: raise \`bufferSize\`, slow the source, or use onOverflow: 'buffer'`,
        ),
      };
      this.wake();
      return;
    }
    queue.push(item);
    this.growth?.grew(++this.buffered);
    this.wake();
  }
}
