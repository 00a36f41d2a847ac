import { Observable, type OperatorFunction } from 'rxjs';
import type { FlattenItem } from '../operators/flatten';
import { shuffle } from '../operators/shuffle';
import { ArgumentTypeError, UsageError } from './errors';
import { Backoff, waitingPuller } from './internal/caller/backoff';
import { concurrentRead, isConcurrentRead } from './internal/caller/concurrentRead';
import { callerSource, type LocalSourceInput } from './internal/caller/callerSources';
import type { LocalSource } from './internal/caller/iteratorTypes';
import {
  duplicateSources,
  unionSource,
  type Input,
  type UnionOptions,
} from './internal/caller/localSources';
import {
  callableOf,
  type Callable,
  type ForEachOptions,
  type ItemFn,
} from './internal/common/options';
import { openPipeline, type Pipeline } from './internal/common/pipeline';
import { isPromiseLike } from './internal/common/promises';
import { pullable } from './internal/common/pullStages';
import type { Stage } from './internal/common/stages';
import {
  checkOptions,
  describeValue,
  functionArg,
  nonNegativeInteger,
  positiveInteger,
} from './internal/common/validate';
import { inspectCustom } from './internal/common/nodeShapes';
import { getMetrics, withMetrics, type SharedMetrics } from './metrics';
import { NOT_READY, type NotReady } from './notReady';

/** Options of `LocalIterator.forEach`. */
export type LocalForEachOptions = Omit<ForEachOptions, 'context'>;

/** Options of `LocalIterator.from`. */
export interface LocalFromOptions {
  /** The name in the printed chain, `LocalIterator[from[name]]` (default `source`). */
  readonly name?: string;
}

/**
 * A stage whose function sees the chain's metrics through `getMetrics()`,
 * with the current item's source as `currentActor`, and is not called for
 * {@link NOT_READY}.
 */
function measured(stage: Stage, source: LocalSource): Stage {
  if (stage.op !== 'forEach' && stage.op !== 'filter') return stage;
  const fn = withMetrics(source.metrics, stage.fn, () => source.actor);
  return { ...stage, fn: (item: unknown) => (item === NOT_READY ? NOT_READY : fn(item)) };
}

const DONE = { done: true, value: undefined } as const;

/** A `LocalIterator` as what a union or a copy reads. */
function asInput(iterator: LocalIterator<unknown>): Input {
  return {
    next: () => iterator.poll(),
    return: () => iterator.return(),
    actor: () => iterator.source.actor,
  };
}

/** How many `LocalIterator`s use each source: the last one collected closes it. */
const users = new WeakMap<LocalSource, number>();

/** Closes the source of `LocalIterator`s that were dropped without being closed. */
const dropped = new FinalizationRegistry<LocalSource>((source) => {
  const left = (users.get(source) ?? 1) - 1;
  users.set(source, left);
  if (left === 0) source.close().catch(() => undefined);
});

/**
 * A stream of items read in the calling thread: an `AsyncIterableIterator`
 * (`for await`, `next()`, `return()`), read by one consumer at a time.
 *
 * A `LocalIterator` comes from a gather of a {@link ParallelIterator}
 * (`gatherSync()`, `gatherAsync()`, `batchAcrossShards()`, `getShard(i)`).
 * Its transformations run in the calling thread, so closures are fine here.
 * Each returns a new iterator over the same source. Nothing is read until a
 * consumer pulls, and each item is pulled only when the consumer asks: after
 * a gather, `fn(x_i)` of a following `forEach` runs before `x_{i+1}` is
 * requested from its shard.
 *
 * A `LocalIterator` also comes from a source in the calling thread
 * ({@link LocalIterator.from}), which may say "nothing now" with
 * {@link NOT_READY}.
 *
 * Exhausting it, `return()`/`close()` (also by `break` out of `for await`)
 * or an error stops the workers of its run (and closes a local source);
 * `take(n)` leaves it usable, as in Ray. A `LocalIterator` dropped unread
 * releases its workers when it is garbage-collected.
 *
 * @example
 * ```ts
 * const local = fromRange(4).gatherSync().forEach((x) => x * 10);
 * for await (const x of local) console.log(x); // 0, 20, 10, 30
 * ```
 */
export class LocalIterator<T> implements AsyncIterableIterator<T> {
  private pipeline: Pipeline<T | NotReady> | undefined;
  private reading = false;
  private done = false;

  /** @internal */
  constructor(
    /** @internal */
    readonly source: LocalSource,
    /** @internal */
    readonly stages: readonly Stage[],
    /** @internal */
    readonly label: string,
  ) {
    users.set(source, (users.get(source) ?? 0) + 1);
    dropped.register(this, source, this);
  }

  /**
   * A `LocalIterator` over a source in the calling thread, like Ray's
   * `LocalIterator` over a local generator (RLlib's replay buffers and
   * queues): an iterable, an async iterable, a generator function (called on
   * the first pull), or an Observable (subscribed on the first pull; an
   * Observable cannot be paused, so items it pushes before they are read
   * wait in order, and an iterator dropped unread is found, and
   * unsubscribed, as that buffer grows).
   *
   * The source may produce {@link NOT_READY} to say "nothing now": local
   * transformations pass it on, a `union` moves on to its other inputs, and
   * a consumer's read waits (polling, not spinning) for a real item.
   * Closing the iterator (`return()`, `break`, an error, or its last user
   * being garbage-collected) calls the source's `return()`, so a generator's
   * `finally` runs, or unsubscribes from the Observable.
   *
   * @param source - the source
   * @param options - `name`: printed as `LocalIterator[from[name]]` (default `source`)
   * @returns the iterator
   * @throws ArgumentTypeError when `source` is none of those, or `name` is not a string
   * @example
   * ```ts
   * const local = LocalIterator.from(function* () { yield 1; yield NOT_READY; yield 2; }, { name: 'buffer' });
   * String(local); // 'LocalIterator[from[buffer]]'
   * await local.forEach((x) => x * 10).take(2); // [10, 20]
   * ```
   */
  static from<T>(
    source: LocalSourceInput<T | NotReady>,
    options: LocalFromOptions = {},
  ): LocalIterator<T> {
    checkOptions(options, ['name']);
    const name = options.name ?? 'source';
    if (typeof name !== 'string') {
      throw new ArgumentTypeError(`Expected \`name\` to be a string, got ${describeValue(name)}`);
    }
    return new LocalIterator<T>(callerSource(source), [], `from[${name}]`);
  }

  /**
   * The chain's metrics from outside its functions, like Ray's
   * `LocalIterator.shared_metrics`: `sharedMetrics.get()` is the
   * {@link MetricsContext} that `getMetrics()` returns inside them (shared
   * across a `union`), for reporting and checkpoints.
   */
  get sharedMetrics(): SharedMetrics {
    return this.source.metrics;
  }

  /**
   * Pulls the next item. A source that is not ready ({@link NOT_READY}) is
   * polled again after a short pause until it has an item or ends.
   *
   * @returns the next item, or `{ done: true }` once the stream is exhausted
   *   (its workers are then stopped)
   * @throws ShardError when a shard failed; UsageError when another `next()`
   *   of this iterator is still pending
   */
  next(): Promise<IteratorResult<T>> {
    const busy = this.busy();
    if (busy) return busy;
    const first = this.pollOnce();
    if (!isPromiseLike(first) && first.value !== NOT_READY) {
      return Promise.resolve(first as IteratorResult<T>);
    }
    this.reading = true;
    return this.untilReady(first).finally(() => (this.reading = false));
  }

  /**
   * @internal
   * One pull that passes {@link NOT_READY} on (for unions and copies).
   */
  poll(): Promise<IteratorResult<T | NotReady>> {
    const busy = this.busy();
    if (busy) return busy;
    const first = this.pollOnce();
    if (!isPromiseLike(first)) return Promise.resolve(first);
    this.reading = true;
    return Promise.resolve(first).finally(() => (this.reading = false));
  }

  /** A rejection when a pull is pending, `DONE` once closed, else undefined. */
  private busy(): Promise<IteratorResult<never>> | undefined {
    if (this.reading) {
      return Promise.reject(
        concurrentRead(
          `${String(this)} is read by one consumer at a time: wait for the pending next() before calling it again`,
        ),
      );
    }
    if (this.done) return Promise.resolve(DONE);
    return undefined;
  }

  private async untilReady(
    first: IteratorResult<T | NotReady> | PromiseLike<IteratorResult<T | NotReady>>,
  ): Promise<IteratorResult<T>> {
    const backoff = new Backoff();
    let next = first;
    for (;;) {
      const result = await next;
      if (result.done || result.value !== NOT_READY) return result as IteratorResult<T>;
      await backoff.wait();
      if (this.done) return DONE;
      next = this.pollOnce();
    }
  }

  /** One pull: the result at once when the source has it in hand, else a promise. */
  private pollOnce(): IteratorResult<T | NotReady> | Promise<IteratorResult<T | NotReady>> {
    if (this.done) return DONE;
    if (this.stages.length === 0) {
      // Nothing to apply: an item the source already has is returned at once.
      let next: IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>>;
      try {
        next = this.source.open().next();
      } catch (error) {
        return this.fail(error);
      }
      if (!isPromiseLike(next) && !next.done) return next as IteratorResult<T>;
      return this.settle(next);
    }
    return this.pullNext();
  }

  /** Finishes a pull whose source result is not yet an item in hand. */
  private async settle(
    next: IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>>,
  ): Promise<IteratorResult<T | NotReady>> {
    try {
      const result = (await next) as IteratorResult<T | NotReady>;
      if (!result.done) return result;
      await this.return();
      return DONE;
    } catch (error) {
      return await this.fail(error);
    }
  }

  /** Pulls one item through the local transformations. */
  private async pullNext(): Promise<IteratorResult<T | NotReady>> {
    try {
      this.pipeline ??= this.openPipeline();
      const pulled = await this.pipeline.pull(1);
      if (pulled.done) {
        await this.return();
        return DONE;
      }
      return { done: false, value: pulled.items[0] as T | NotReady };
    } catch (error) {
      return await this.fail(error);
    }
  }

  private openPipeline(): Pipeline<T | NotReady> {
    const stages = this.stages.map((stage) => measured(stage, this.source));
    const source = this.source.open();
    // Pull stages pass NOT_READY on; an RxJS operator cannot, so there the source waits for items.
    return openPipeline(pullable(stages) ? source : waitingPuller(source), stages);
  }

  /** Ends the run on a failure, unless it was a second reader's misuse, then rethrows. */
  private async fail(error: unknown): Promise<never> {
    if (!isConcurrentRead(error)) await this.return();
    throw error;
  }

  /**
   * Stops reading: the workers of this iterator's run are stopped, and a
   * source of `LocalIterator.from` is closed (its `return()` is called).
   *
   * @returns `{ done: true }` once they are gone
   */
  async return(): Promise<IteratorResult<T>> {
    this.done = true;
    dropped.unregister(this);
    this.pipeline?.close();
    await this.source.close();
    return DONE;
  }

  /** Same as {@link LocalIterator.return}. */
  close(): Promise<void> {
    return this.return().then(() => undefined);
  }

  /** Same as {@link LocalIterator.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @returns this iterator */
  [Symbol.asyncIterator](): this {
    return this;
  }

  private derive<U>(stage: Stage, label: string): LocalIterator<U> {
    return new LocalIterator<U>(this.source, [...this.stages, stage], `${this.label}.${label}`);
  }

  /**
   * Maps each item with `fn` in the calling thread.
   *
   * @param fn - a function (may return a promise) or an object with a
   *   `call(item)` method
   * @param options - `maxConcurrency` (default 1; 0 = unbounded): how many
   *   calls run at once. Above 1, results come in completion order and items
   *   are pulled ahead of the consumer
   * @returns a new iterator of the results
   * @throws ArgumentTypeError for a non-function; ArgumentRangeError for a bad `maxConcurrency`
   * @example
   * ```ts
   * await fromRange(4).gatherSync().forEach(async (x) => x + 1).take(4); // [1, 3, 2, 4]
   * ```
   */
  forEach<U>(fn: (item: T) => U | PromiseLike<U>, options?: LocalForEachOptions): LocalIterator<U>;
  forEach<U>(fn: Callable<T, U>, options?: LocalForEachOptions): LocalIterator<U>;
  forEach<U>(fn: ItemFn<T, U>, options: LocalForEachOptions = {}): LocalIterator<U> {
    checkOptions(options, ['maxConcurrency']);
    const maxConcurrency = nonNegativeInteger('maxConcurrency', options.maxConcurrency ?? 1);
    const call = callableOf('fn', fn) as (item: unknown) => unknown;
    return this.derive({ op: 'forEach', fn: call, maxConcurrency, original: fn }, 'forEach()');
  }

  /**
   * Keeps the items for which `fn` returns a truthy value (or a promise of one).
   *
   * A type guard narrows the item type, as RxJS's `filter` does:
   * `.filter((x): x is number => x !== null)` gives a `LocalIterator<number>`.
   *
   * @param fn - the predicate
   * @returns a new iterator
   * @throws ArgumentTypeError when `fn` is not a function
   * @example
   * ```ts
   * await fromRange(4).gatherSync().filter((x) => x < 3).take(4); // [0, 2, 1]
   * const numbers = fromItems([1, null, 2], 1).gatherSync().filter((x): x is number => x !== null);
   * await numbers.take(2); // [1, 2], a number[]
   * ```
   */
  filter<S extends T>(fn: (item: T) => item is S): LocalIterator<S>;
  filter(fn: (item: T) => unknown): LocalIterator<T>;
  filter(fn: (item: T) => unknown): LocalIterator<T> {
    const call = functionArg('fn', fn) as (item: unknown) => unknown;
    return this.derive({ op: 'filter', fn: call, original: fn }, 'filter()');
  }

  /**
   * Groups items into arrays of `n`; the last one may be shorter.
   *
   * @param n - the batch size, a positive integer
   * @returns a new iterator of arrays
   * @throws ArgumentRangeError when `n` is not a positive integer
   * @example
   * ```ts
   * await fromRange(4, 1).gatherSync().batch(3).take(2); // [[0, 1, 2], [3]]
   * ```
   */
  batch(n: number): LocalIterator<T[]> {
    return this.derive({ op: 'batch', n: positiveInteger('n', n) }, `batch(${n})`);
  }

  /**
   * Emits the items of each item (each must be iterable) one by one.
   *
   * @returns a new iterator
   * @example
   * ```ts
   * await fromItems([[1, 2], [3]], 1).gatherSync().flatten().take(3); // [1, 2, 3]
   * ```
   */
  flatten(): LocalIterator<FlattenItem<T>> {
    return this.derive({ op: 'flatten' }, 'flatten()');
  }

  /**
   * `forEach(fn).flatten()`, named `combine()`.
   *
   * @param fn - maps an item to an iterable (or a promise of one)
   * @returns a new iterator
   * @throws ArgumentTypeError when `fn` is not a function
   * @example
   * ```ts
   * await fromRange(2, 1).gatherSync().combine((x) => [x, x]).take(4); // [0, 0, 1, 1]
   * ```
   */
  combine<U>(fn: ItemFn<T, Iterable<U>>): LocalIterator<U> {
    const call = callableOf('fn', fn) as (item: unknown) => unknown;
    return new LocalIterator<U>(
      this.source,
      [
        ...this.stages,
        { op: 'forEach', fn: call, maxConcurrency: 1, original: fn },
        { op: 'flatten' },
      ],
      `${this.label}.combine()`,
    );
  }

  /**
   * A buffered shuffle, as in Ray: items wait in a buffer of
   * `shuffleBufferSize` and leave it in random order. The same `seed` gives
   * the same order.
   *
   * @param shuffleBufferSize - the buffer size, a positive integer
   * @param seed - a seed for a reproducible order
   * @returns a new iterator
   * @throws ArgumentRangeError for a bad size or seed
   * @example
   * ```ts
   * await fromRange(8, 1).gatherSync().shuffle(4, 42).take(8); // a permutation of 0..7
   * ```
   */
  shuffle(shuffleBufferSize: number, seed?: number): LocalIterator<T> {
    shuffle(shuffleBufferSize, seed); // checks the arguments at the call
    return this.derive(
      { op: 'shuffle', size: shuffleBufferSize, seed },
      `shuffle(shuffleBufferSize=${shuffleBufferSize}, seed=${String(seed)})`,
    );
  }

  /**
   * Applies an RxJS operator to the stream, in the calling thread.
   *
   * Items are offered to the operator as the consumer asks for them; an
   * operator that holds items back asynchronously (`delay`, `bufferTime`) lets
   * the iterator pull ahead while it waits.
   *
   * @param operator - any `OperatorFunction`
   * @returns a new iterator of the operator's output
   * @throws ArgumentTypeError when `operator` is not a function
   * @example
   * ```ts
   * await fromRange(4, 1).gatherSync().transform(scan((a, x) => a + x, 0)).take(4); // [0, 1, 3, 6]
   * ```
   */
  transform<U>(operator: OperatorFunction<T, U>): LocalIterator<U> {
    const op = functionArg('operator', operator);
    return this.derive({ op: 'transform', fn: (source$) => op(source$ as never) }, 'transform()');
  }

  /**
   * Pairs each item with its source: `[actor, item]`, where after a gather
   * `actor` is the shard's {@link ShardHandle} (the same object for every item
   * of a shard), and for `fromActors` the user's actor handle. Each item
   * carries its own source through awaited local steps and unions, so the
   * pair names the shard the item came from.
   *
   * @returns a new iterator of pairs
   * @example
   * ```ts
   * for await (const [actor, x] of fromItems([1, 2, 3, 4]).gatherAsync().zipWithSourceActor()) {
   *   console.log((actor as ShardHandle).shard, x);
   * }
   * ```
   */
  zipWithSourceActor(): LocalIterator<[unknown, T]> {
    return this.derive(
      { op: 'forEach', fn: (item) => [getMetrics().currentActor, item], maxConcurrency: 1 },
      'zipWithSourceActor()',
    );
  }

  /**
   * Merges this iterator with `others` into one.
   *
   * With `deterministic: true` it takes one item from each input in turn
   * (`roundRobinWeights[i]` items from input `i`), reading no input ahead;
   * nested deterministic unions interleave recursively. Otherwise (the
   * default) it takes items as they become ready: each input has one pull in
   * flight, and when several are ready it serves them in turn, so a fast
   * input never starves a slow one. As in Ray, a fractional weight `w` takes
   * `floor(w)` or `floor(w) + 1` items per turn, `w` on average, and `'*'`
   * takes whatever that input has ready now, possibly nothing, without
   * waiting (in deterministic mode, its pull may stay in flight for the next
   * turn). An input that gives {@link NOT_READY} ends its turn; a round that
   * gives nothing makes the reader wait briefly. An exhausted input drops
   * out. The inputs share one metrics context, and each item keeps its own
   * `currentActor`.
   *
   * @param args - the other `LocalIterator`s, optionally followed by options
   * @returns the union, printed as `LocalIterator[LocalUnion[…, …]]`
   * @throws ArgumentTypeError when an input is not a `LocalIterator`;
   *   ArgumentRangeError for weights of the wrong length or value (each a
   *   positive number or `'*'`); UsageError when two inputs are the same
   *   iterator or read one gather (use `duplicate` for copies)
   * @example
   * ```ts
   * const a = fromItems(['a', 'b'], 1).gatherSync();
   * const b = fromItems(['x', 'y'], 1).gatherSync();
   * await a.union(b, { deterministic: true }).take(4); // ['a', 'x', 'b', 'y']
   * ```
   */
  union<U>(...args: Array<LocalIterator<U> | UnionOptions>): LocalIterator<T | U> {
    const last = args[args.length - 1];
    const isOptions =
      typeof last === 'object' &&
      last !== null &&
      [Object.prototype, null].includes(Object.getPrototypeOf(last) as object | null);
    const options = (isOptions ? args.pop() : {}) as UnionOptions;
    checkOptions(options, ['deterministic', 'roundRobinWeights']);
    for (const other of args) {
      if (!(other instanceof LocalIterator)) {
        throw new ArgumentTypeError(
          `Expected \`others\` to be LocalIterators, got ${describeValue(other)}`,
        );
      }
    }
    const inputs = [this, ...args] as LocalIterator<unknown>[];
    const sources = new Set(inputs.map((input) => input.source));
    if (sources.size < inputs.length) {
      throw new UsageError(
        `Expected the inputs of union() to be read from different sources, got ${String(this)} twice (or two iterators derived from one gather): an iterator is read by one consumer at a time; use duplicate() for copies`,
      );
    }
    const source = unionSource(
      inputs.map(asInput),
      options,
      inputs.map((input) => input.source.metrics),
    );
    return new LocalIterator<T | U>(
      source,
      [],
      `LocalUnion[${inputs.map((input) => String(input)).join(', ')}]`,
    );
  }

  /**
   * Makes `n` copies of the stream. Each item is read once from this
   * iterator and given to every copy. Memory stays bounded: a copy that gets
   * 1024 items ahead of the slowest copy still being read waits for it, so
   * read the copies concurrently, and `return()` a copy you stop reading.
   *
   * @param n - how many copies, an integer of at least 2
   * @returns the copies
   * @throws ArgumentRangeError when `n` is not an integer of at least 2
   * @example
   * ```ts
   * const [a, b] = fromRange(3, 1).gatherSync().duplicate(2);
   * await Promise.all([a!.take(3), b!.take(3)]); // [[0, 1, 2], [0, 1, 2]]
   * ```
   */
  duplicate(n: number): LocalIterator<T>[] {
    return duplicateSources(asInput(this), n, this.source.metrics).map(
      (source, i) => new LocalIterator<T>(source, [], `${this.label}.duplicate[${i}]`),
    );
  }

  /**
   * Reads up to `n` items. As in Ray, the iterator stays usable: the next
   * `take` (or `next()`) continues where this one stopped. The run stops
   * when the stream is exhausted, on an error, on `return()`/`close()`, or
   * when the iterator is garbage-collected unread.
   *
   * @param n - how many items at most, a non-negative integer
   * @returns the items read
   * @throws ArgumentRangeError for a bad `n`; ShardError when a shard failed
   * @example
   * ```ts
   * const local = fromRange(4, 1).gatherSync();
   * await local.take(2); // [0, 1]
   * await local.take(2); // [2, 3]
   * ```
   */
  async take(n: number): Promise<T[]> {
    const count = nonNegativeInteger('n', n);
    const items: T[] = [];
    while (items.length < count) {
      const result = await this.next();
      if (result.done) break;
      items.push(result.value);
    }
    return items;
  }

  /**
   * Prints up to `n` items with `console.log`; like `take`, the iterator
   * stays usable.
   *
   * @param n - how many items at most (default 20)
   * @throws ArgumentRangeError for a bad `n`; ShardError when a shard failed
   * @example
   * ```ts
   * await fromRange(2, 1).gatherSync().show(); // prints 0 and 1
   * ```
   */
  async show(n = 20): Promise<void> {
    for (const item of await this.take(n)) console.log(item);
  }

  /**
   * A cold Observable of this iterator's items. Subscribing starts reading;
   * the next item is pulled only after the subscriber's `next` returned, so
   * a synchronous subscriber sets the pace. Unsubscribing, an error or
   * completion stops the run's workers. An iterator is read once: a second
   * subscription while the first is reading errors with a `UsageError`.
   *
   * `from(localIterator)` of RxJS works too; this one also stops the workers
   * when the subscriber unsubscribes while a pull is pending.
   *
   * @returns the Observable
   * @example
   * ```ts
   * await lastValueFrom(fromRange(4).gatherSync().asObservable().pipe(toArray())); // [0, 2, 1, 3]
   * ```
   */
  asObservable(): Observable<T> {
    return new Observable<T>((subscriber) => {
      let stopped = false;
      let misused = false;
      const pump = async (): Promise<void> => {
        while (!stopped) {
          const result = await this.next();
          if (stopped) return;
          if (result.done) {
            subscriber.complete();
            return;
          }
          subscriber.next(result.value);
        }
      };
      pump().catch((error: unknown) => {
        // A second subscription while the first reads: fail it, leave the first be.
        misused = isConcurrentRead(error);
        if (!stopped) subscriber.error(error);
      });
      return () => {
        stopped = true;
        if (!misused) this.return().catch(() => undefined);
      };
    });
  }

  /** @returns the printed name, e.g. `LocalIterator[ParallelIterator[fromRange[4, shards=2]].gatherSync()]` */
  toString(): string {
    return `LocalIterator[${this.label}]`;
  }

  /** @internal */
  [inspectCustom](): string {
    return this.toString();
  }
}
