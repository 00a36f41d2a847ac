import { AsyncLocalStorage } from 'node:async_hooks';
import { ArgumentTypeError, UsageError } from './errors';
import { isPromiseLike } from './internal/common/promises';
import { describeValue } from './internal/common/validate';

/** How many recent samples a {@link Timer} keeps, as Ray's timers do. */
const WINDOW = 10;

/** The mean of `values`, 0 when empty. */
const meanOf = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

/** A {@link Timer} as plain data (see {@link MetricsContext.save}). */
export interface SavedTimer {
  /** The durations in the window, in milliseconds, oldest first. */
  readonly samples: number[];
  /** The units processed in the window, oldest first. */
  readonly units: number[];
  /** How many samples were pushed in all. */
  readonly count: number;
  /** The sum of all durations pushed, in milliseconds. */
  readonly sum: number;
}

/** A {@link MetricsContext} as plain data: what `save()` returns and `restore()` takes. */
export interface SavedMetrics {
  /** The counters, by name. */
  readonly counters: Record<string, number>;
  /** The timers, by name. */
  readonly timers: Record<string, SavedTimer>;
  /** The info values, by name. */
  readonly info: Record<string, unknown>;
}

/**
 * Durations of a repeated step, like Ray's timers: a rolling window of the
 * last 10 samples (durations in milliseconds, and units processed), with
 * their means and the throughput.
 *
 * @example
 * ```ts
 * const timer = new Timer();
 * const n = await timer.time(async () => 42); // times the call, returns 42
 * timer.pushUnitsProcessed(32);
 * timer.count; // 1
 * timer.meanThroughput; // 32 units per second of measured time
 * ```
 */
export class Timer {
  private samples: number[] = [];
  private units: number[] = [];
  private total = 0;
  /** How many durations were pushed in all (not only those in the window). */
  count = 0;

  /**
   * Records one duration; only the last 10 stay in the window.
   *
   * @param ms - the duration in milliseconds, a non-negative number
   * @throws ArgumentTypeError when `ms` is not a non-negative finite number
   */
  push(ms: number): void {
    this.samples = window(this.samples, sample('ms', ms));
    this.total += ms;
    this.count++;
  }

  /**
   * Records how many units (items, samples, bytes) the last step processed;
   * only the last 10 stay in the window.
   *
   * @param n - the units, a non-negative number
   * @throws ArgumentTypeError when `n` is not a non-negative finite number
   */
  pushUnitsProcessed(n: number): void {
    this.units = window(this.units, sample('n', n));
  }

  /**
   * Runs `fn` and pushes how long it took (until its promise settled, for an
   * async `fn`), also when it throws.
   *
   * @param fn - the step to time
   * @returns what `fn` returns
   * @throws whatever `fn` throws; ArgumentTypeError when `fn` is not a function
   */
  time<R>(fn: () => R): R {
    if (typeof fn !== 'function') {
      throw new ArgumentTypeError(`Expected \`fn\` to be a function, got ${describeValue(fn)}`);
    }
    const start = performance.now();
    const stop = (): void => this.push(performance.now() - start);
    let result: R;
    try {
      result = fn();
    } catch (error) {
      stop();
      throw error;
    }
    if (isPromiseLike(result)) return Promise.resolve(result).finally(stop) as R;
    stop();
    return result;
  }

  /** The mean of the durations in the window, in milliseconds (0 before any push). */
  get mean(): number {
    return meanOf(this.samples);
  }

  /** The mean of the units in the window (0 before any push). */
  get meanUnitsProcessed(): number {
    return meanOf(this.units);
  }

  /** Units per second over the window: the units' sum over the durations' sum (0 without time). */
  get meanThroughput(): number {
    const ms = this.samples.reduce((a, b) => a + b, 0);
    return ms === 0 ? 0 : this.units.reduce((a, b) => a + b, 0) / (ms / 1000);
  }

  /** The sum of all durations pushed, in milliseconds. */
  get sum(): number {
    return this.total;
  }

  /** @internal */
  save(): SavedTimer {
    return {
      samples: [...this.samples],
      units: [...this.units],
      count: this.count,
      sum: this.total,
    };
  }

  /** @internal */
  static restore(saved: SavedTimer): Timer {
    const timer = new Timer();
    timer.samples = saved.samples.slice(-WINDOW).map((ms) => sample('ms', ms));
    timer.units = saved.units.slice(-WINDOW).map((n) => sample('n', n));
    timer.count = saved.count;
    timer.total = saved.sum;
    return timer;
  }
}

function sample(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ArgumentTypeError(
      `Expected \`${name}\` to be a non-negative finite number, got ${describeValue(value)}`,
    );
  }
  return value;
}

function window(values: number[], value: number): number[] {
  values.push(value);
  if (values.length > WINDOW) values.shift();
  return values;
}

/**
 * Whether `key` may be a metric's name: not a symbol, not a name that
 * JavaScript itself looks up (`toJSON` by `JSON.stringify`, `then` by
 * `await`), not an `Object.prototype` name.
 */
function isMetricName(key: string | symbol): key is string {
  return (
    typeof key === 'string' && key !== 'toJSON' && key !== 'then' && !(key in Object.prototype)
  );
}

/** Counters: a missing one reads as 0, and reading adds nothing. */
function counterRecord(): Record<string, number> {
  return new Proxy({} as Record<string, number>, {
    get(target, key, receiver) {
      if (isMetricName(key) && !Object.hasOwn(target, key)) return 0;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/** Timers: a missing one is made on first read (so `push` keeps it); other names add nothing. */
function timerRecord(): Record<string, Timer> {
  return new Proxy({} as Record<string, Timer>, {
    get(target, key, receiver) {
      if (isMetricName(key) && !Object.hasOwn(target, key)) target[key] = new Timer();
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/**
 * The metrics of one `LocalIterator` chain (or of one shard), as
 * `getMetrics()` returns it inside that chain's functions and
 * `local.sharedMetrics.get()` returns it from outside.
 *
 * @example
 * ```ts
 * const local = fromRange(4, 1).gatherSync().forEach((x) => (getMetrics().counters.seen += 1, x));
 * await local.take(4);
 * local.sharedMetrics.get().counters.seen; // 4
 * ```
 */
export class MetricsContext {
  /**
   * Named counters. A missing counter reads as 0, so `counters.foo += 1`
   * works; reading adds nothing, so only counters that were set show in
   * `JSON.stringify(counters)` or `Object.keys(counters)`.
   */
  readonly counters: Record<string, number> = counterRecord();
  /** Named timers; a missing timer reads as a new, empty one that stays. */
  readonly timers: Record<string, Timer> = timerRecord();
  /** Free-form information. */
  readonly info: Record<string, unknown> = {};
  private lastActor: unknown = undefined;

  /**
   * The source of the item being processed, after a gather: the shard's
   * {@link ShardHandle}, or for `fromActors` the user's actor handle. Each
   * item carries its own source through awaited steps and unions.
   */
  get currentActor(): unknown {
    const store = storage.getStore();
    return store?.context === this && store.hasActor ? store.actor : this.lastActor;
  }

  /** Sets the source of the item being processed (done by the gathers). */
  set currentActor(actor: unknown) {
    this.lastActor = actor;
  }

  /**
   * The counters, timers and info as plain data, for a checkpoint
   * (structured-cloneable when `info` is).
   *
   * @returns the saved metrics
   */
  save(): SavedMetrics {
    return {
      counters: { ...this.counters },
      timers: Object.fromEntries(Object.entries(this.timers).map(([k, t]) => [k, t.save()])),
      info: { ...this.info },
    };
  }

  /**
   * Puts back what {@link MetricsContext.save} returned, replacing the
   * current counters, timers and info.
   *
   * @param saved - what `save()` returned (possibly after a round trip through JSON)
   * @throws ArgumentTypeError when `saved` is not saved metrics
   */
  restore(saved: SavedMetrics): void {
    const { counters, timers, info } = (saved ?? {}) as Partial<SavedMetrics>;
    if (!isRecord(counters) || !isRecord(timers) || !isRecord(info)) {
      throw new ArgumentTypeError(
        `Expected \`saved\` to be what MetricsContext.save() returned, got ${describeValue(saved)}`,
      );
    }
    const restoredTimers = Object.entries(timers).map(([k, t]) => [k, Timer.restore(t)] as const);
    for (const record of [this.counters, this.timers, this.info]) {
      for (const key of Object.keys(record)) delete record[key];
    }
    for (const [key, value] of Object.entries(counters)) this.counters[key] = sample(key, value);
    for (const [key, timer] of restoredTimers) this.timers[key] = timer;
    Object.assign(this.info, info);
  }
}

function isRecord(value: unknown): value is Record<string, never> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The handle of one shard of a run, as `currentActor` and `zipWithSourceActor()` give it. */
export interface ShardHandle {
  /** The printed name of the gathered iterator. */
  readonly iterator: string;
  /** The shard's index. */
  readonly shard: number;
}

/**
 * A chain's metrics, as `local.sharedMetrics` gives them (Ray's
 * `LocalIterator.shared_metrics`): `get()` returns the chain's
 * {@link MetricsContext}. A `union` points its inputs at one context, so
 * nested unions share one context all the way down.
 */
export class SharedMetrics {
  /** @internal */
  constructor(
    private context = new MetricsContext(),
    private readonly inputs: readonly SharedMetrics[] = [],
  ) {
    for (const input of inputs) input.set(context);
  }

  /** @returns the chain's metrics context */
  get(): MetricsContext {
    return this.context;
  }

  /** @internal */
  set(context: MetricsContext): void {
    this.context = context;
    for (const input of this.inputs) input.set(context);
  }
}

/** What `getMetrics()` returns, and the source of the item being processed. */
interface Store {
  readonly context: MetricsContext;
  readonly hasActor: boolean;
  readonly actor: unknown;
}

const storage = new AsyncLocalStorage<Store>();

/**
 * @internal Runs `fn(item)` with `metrics` as what `getMetrics()` returns,
 * and `actorOf()` (read at the call) as its `currentActor`.
 */
export function withMetrics<T, R>(
  metrics: SharedMetrics | MetricsContext,
  fn: (item: T) => R,
  actorOf?: () => unknown,
): (item: T) => R {
  return (item) => {
    const context = metrics instanceof MetricsContext ? metrics : metrics.get();
    const store: Store = actorOf
      ? { context, hasActor: true, actor: actorOf() }
      : { context, hasActor: false, actor: undefined };
    return storage.run(store, fn, item);
  };
}

/**
 * The metrics context of the chain whose function is running: a local
 * `forEach`/`filter`/`combine` function of a `LocalIterator` (also after an
 * `await` inside it), or inside a shard function, that shard's own context.
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
  const store = storage.getStore();
  if (!store) {
    throw new UsageError(
      'Expected getMetrics() to be called inside a LocalIterator function (forEach, filter, combine) or a shard function, got a call outside one',
    );
  }
  return store.context;
}
