import { AsyncLocalStorage } from 'node:async_hooks';
import { UsageError } from './errors';

/** Durations pushed to a named timer, with their count and mean. */
export class Timer {
  private total = 0;
  /** How many durations were pushed. */
  count = 0;

  /**
   * Records one duration.
   *
   * @param ms - the duration in milliseconds
   */
  push(ms: number): void {
    this.total += ms;
    this.count++;
  }

  /** The mean duration in milliseconds (0 before any push). */
  get mean(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }

  /** The sum of the durations in milliseconds. */
  get sum(): number {
    return this.total;
  }
}

function defaulting<V>(make: () => V): Record<string, V> {
  return new Proxy({} as Record<string, V>, {
    get(target, key, receiver) {
      if (typeof key === 'string' && !(key in target)) target[key] = make();
      return Reflect.get(target, key, receiver) as V;
    },
  });
}

/**
 * The metrics of one `LocalIterator` chain, as `getMetrics()` returns it
 * inside that chain's local functions.
 */
export class MetricsContext {
  /** Named counters; a missing counter reads as 0, so `counters.foo += 1` works. */
  readonly counters: Record<string, number> = defaulting(() => 0);
  /** Named timers; a missing timer reads as a new, empty one. */
  readonly timers: Record<string, Timer> = defaulting(() => new Timer());
  /** Free-form information. */
  readonly info: Record<string, unknown> = {};
  /**
   * The source of the item being processed, after a gather: the shard's
   * {@link ShardHandle}, or for `fromActors` the user's actor handle.
   */
  currentActor: unknown = undefined;
}

/** The handle of one shard of a run, as `currentActor` and `zipWithSourceActor()` give it. */
export interface ShardHandle {
  /** The printed name of the gathered iterator. */
  readonly iterator: string;
  /** The shard's index. */
  readonly shard: number;
}

/**
 * @internal A chain's metrics, which a `union` can point at a shared
 * context. A union's own metrics pass a new context on to its inputs, so
 * nested unions share one context all the way down.
 */
export class SharedMetrics {
  constructor(
    private context = new MetricsContext(),
    private readonly inputs: readonly SharedMetrics[] = [],
  ) {
    for (const input of inputs) input.set(context);
  }

  get(): MetricsContext {
    return this.context;
  }

  set(context: MetricsContext): void {
    this.context = context;
    for (const input of this.inputs) input.set(context);
  }
}

const storage = new AsyncLocalStorage<MetricsContext>();

/** @internal Runs `fn(item)` with `metrics` as what `getMetrics()` returns. */
export function withMetrics<T, R>(metrics: SharedMetrics, fn: (item: T) => R): (item: T) => R {
  return (item) => storage.run(metrics.get(), fn, item);
}

/**
 * The metrics context of the `LocalIterator` chain whose local function is
 * running (`forEach`, `filter`, `combine`, also after an `await` inside it).
 *
 * Separate chains have separate contexts; a `union` shares one context
 * across its inputs.
 *
 * @returns the chain's {@link MetricsContext}
 * @throws UsageError when called outside such a function
 * @example
 * ```ts
 * const sums = fromItems([1, 2, 3, 4], 1).gatherSync().forEach((x) => {
 *   const m = getMetrics();
 *   m.counters.foo += x;
 *   return m.counters.foo;
 * });
 * await sums.take(4); // [1, 3, 6, 10]
 * ```
 */
export function getMetrics(): MetricsContext {
  const context = storage.getStore();
  if (!context) {
    throw new UsageError(
      'Expected getMetrics() to be called inside a LocalIterator function (forEach, filter, combine), got a call outside one',
    );
  }
  return context;
}
