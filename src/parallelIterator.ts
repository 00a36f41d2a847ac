import { inspect } from 'node:util';
import type { Observable } from 'rxjs';
import type * as Rx from 'rxjs';
import type { FlattenItem } from '../operators/flatten';
import { shuffle } from '../operators/shuffle';
import { ArgumentRangeError, ArgumentTypeError, UsageError } from './errors';
import { LocalIterator, type LocalSource } from './localIterator';
import type { Callable, ContextOptions, ForEachOptions, ItemFn } from './internal/options';
import type { OpSpec, SourceSpec } from './internal/protocol';
import type { Puller } from './internal/pullPipeline';
import type { ReadOptions, RunScope, ShardSetup } from './internal/shardChannel';
import {
  STRICT,
  ShardRun,
  type OnItem,
  batchAcrossShards,
  gatherAsync,
  gatherChunks,
  gatherSync,
} from './internal/shardRun';
import { Repartitioner } from './internal/repartition';
import { shipFunction } from './internal/shipping';
import type { ShardThread } from './internal/threadHost';
import { SharedMetrics, type ShardHandle } from './metrics';
import {
  checkOptions,
  describeValue,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
} from './internal/validate';

/** @internal What one shard runs, before it is named. */
export interface ShardTemplate {
  readonly source: SourceSpec;
  readonly repeat: boolean;
  readonly ops: readonly OpSpec[];
  /** For a `feed` source: what feeds it, from the calling thread. */
  readonly feed?: (scope: RunScope) => Puller<unknown>;
  /** The shard's handle for `currentActor`, when the user made it (`fromActors`). */
  readonly actor?: unknown;
  /** For an actor's shard: opens a data port to the actor. */
  readonly attach?: () => Promise<ShardThread>;
}

/** What feeds a set of shards from the calling thread: one per run. */
interface Feed {
  puller(shard: number): Puller<unknown>;
  close(): void | Promise<void>;
}

/**
 * @internal Templates of `count` shards fed from the calling thread by one
 * feed per run, made by `open` at the run's first pull.
 */
export function fedShards(count: number, open: () => Feed, batch?: number): ShardTemplate[] {
  const key = {};
  return Array.from({ length: count }, (_, shard) => ({
    source: batch === undefined ? { kind: 'feed' } : { kind: 'feed', batch },
    repeat: false,
    ops: [],
    feed: (scope: RunScope) => scope.shared(key, open).puller(shard),
  }));
}

/**
 * How a `LocalIterator` reads its shards (`chunks`, internal: arrays of
 * whatever has arrived, for bulk readers).
 */
export type ReadKind = 'gatherSync' | 'gatherAsync' | 'batchAcrossShards' | 'shard' | 'chunks';

const READERS: Record<ReadKind, (run: ShardRun, onItem: OnItem) => Puller<unknown>> = {
  gatherSync,
  gatherAsync,
  batchAcrossShards,
  shard: gatherSync,
  chunks: gatherChunks,
};

/** @internal A `ParallelIterator` as plain data. */
export interface ParallelDescription {
  readonly name: string;
  readonly fromUnion: boolean;
  readonly templates: readonly ShardTemplate[];
}

/** Options of `gatherAsync` and `getShard`. */
export interface ReadAheadOptions {
  /**
   * When > 0, each request to a shard is a batch that the shard fills for up
   * to this many milliseconds (at least one item): higher throughput, and the
   * shard runs ahead of its consumer. Default 0.
   */
  readonly batchMs?: number;
  /**
   * Requests kept in flight per shard (default 1). Above 1 the shard runs
   * ahead of its consumer by up to this many items (or batches).
   */
  readonly numAsync?: number;
}

/** The longest `batchMs` (a timer's limit). */
const MAX_BATCH_MS = 2 ** 31 - 1;

function readOptions(options: ReadAheadOptions): ReadOptions {
  const batchMs = nonNegativeNumber('batchMs', options.batchMs ?? 0);
  if (batchMs > MAX_BATCH_MS) {
    throw new ArgumentRangeError(
      `Expected \`batchMs\` to be a non-negative number up to ${MAX_BATCH_MS}, got ${describeValue(batchMs)}`,
    );
  }
  return { numAsync: positiveInteger('numAsync', options.numAsync ?? 1), batchMs };
}

/**
 * A sharded stream whose transformations run in worker threads, one worker
 * per shard, lazily: nothing runs until a consumer pulls through a gather.
 *
 * Each transformation returns a new iterator and leaves this one usable. Read
 * it with {@link ParallelIterator.gatherSync} (deterministic round robin),
 * {@link ParallelIterator.gatherAsync} (as ready) or
 * {@link ParallelIterator.getShard}. Each gather is a fresh cold run with its
 * own workers, stopped when the run ends.
 *
 * A `ParallelIterator` is not itself iterable: `for await` over it throws a
 * {@link UsageError} (a `TypeError`) that says to gather it first.
 *
 * Functions given to its methods run in a worker, shipped by their source
 * text: they see their arguments, globals, `require` and `import()`, and the
 * names passed in `context`, not the local variables around them. Their
 * `require`, `import()`, `__dirname` and `__filename` are those of the file
 * that called pariter, and their stack traces name that file and line.
 * Compiler helpers (`tslib`, Babel) and coverage counters (istanbul) they
 * use are provided in the worker.
 *
 * @example
 * ```ts
 * const it = fromRange(4).forEach((x) => x * 2);
 * String(it); // 'ParallelIterator[fromRange[4, shards=2].forEach()]'
 * await it.gatherSync().take(4); // [0, 4, 2, 6]
 * ```
 */
export class ParallelIterator<T> {
  private readonly runs = new Set<ShardRun>();

  /** @internal */
  constructor(
    private readonly name: string,
    /** @internal */
    readonly templates: readonly ShardTemplate[],
    private readonly fromUnion = false,
  ) {}

  private derive<U>(op: OpSpec | readonly OpSpec[], label: string): ParallelIterator<U> {
    const ops = Array.isArray(op) ? (op as readonly OpSpec[]) : [op as OpSpec];
    return new ParallelIterator<U>(
      `${this.name}.${label}`,
      this.templates.map((template) => ({ ...template, ops: [...template.ops, ...ops] })),
      this.fromUnion,
    );
  }

  /**
   * Maps each item with `fn`, in each shard's worker.
   *
   * `fn` may return a promise. It may also be a stateful callable: a
   * {@link stateful} function, or an instance of a class with a `call(item)`
   * method (the class is shipped and the instance's fields cloned, one copy
   * per shard; a class with `#private` members cannot be copied and is
   * refused).
   *
   * @param fn - the function, shipped to the workers by its source text
   * @param options - `maxConcurrency` (default 1; 0 = unbounded): calls run
   *   at once per shard; above 1 results come in completion order and the
   *   shard runs ahead of its consumer. `context`: names `fn` may use
   * @returns a new iterator of the results
   * @throws ArgumentTypeError when `fn` cannot be shipped or `context` is not
   *   cloneable; ArgumentRangeError for a bad `maxConcurrency`
   * @example
   * ```ts
   * const factor = 3;
   * await fromRange(4).forEach((x) => x * factor, { context: { factor } }).take(4); // [0, 6, 3, 9]
   * ```
   */
  forEach<U>(fn: (item: T) => U | PromiseLike<U>, options?: ForEachOptions): ParallelIterator<U>;
  forEach<U>(fn: Callable<T, U>, options?: ForEachOptions): ParallelIterator<U>;
  forEach<U>(fn: ItemFn<T, U>, options: ForEachOptions = {}): ParallelIterator<U> {
    checkOptions(options);
    const maxConcurrency = nonNegativeInteger('maxConcurrency', options.maxConcurrency ?? 1);
    return this.derive(
      { op: 'forEach', fn: shipFunction('fn', fn, options.context), maxConcurrency },
      'forEach()',
    );
  }

  /**
   * Keeps the items for which `fn` returns a truthy value (or a promise of one).
   *
   * @param fn - the predicate, shipped to the workers by its source text
   * @param options - `context`: names `fn` may use
   * @returns a new iterator
   * @throws ArgumentTypeError when `fn` cannot be shipped
   * @example
   * ```ts
   * await fromRange(4).filter((x) => x < 3).take(4); // [0, 2, 1]
   * ```
   */
  filter(fn: ItemFn<T, unknown>, options: ContextOptions = {}): ParallelIterator<T> {
    checkOptions(options);
    return this.derive({ op: 'filter', fn: shipFunction('fn', fn, options.context) }, 'filter()');
  }

  /**
   * Groups each shard's items into arrays of `n`; a shard's last may be shorter.
   *
   * @param n - the batch size, a positive integer
   * @returns a new iterator of arrays
   * @throws ArgumentRangeError when `n` is not a positive integer
   * @example
   * ```ts
   * await fromRange(4).batch(2).take(2); // [[0, 1], [2, 3]]
   * ```
   */
  batch(n: number): ParallelIterator<T[]> {
    return this.derive({ op: 'batch', n: positiveInteger('n', n) }, `batch(${n})`);
  }

  /**
   * Emits the items of each item (each must be iterable) one by one.
   *
   * @returns a new iterator
   * @example
   * ```ts
   * await fromItems([[1, 2], [3, 4]]).flatten().take(4); // [1, 3, 2, 4]
   * ```
   */
  flatten(): ParallelIterator<FlattenItem<T>> {
    return this.derive({ op: 'flatten' }, 'flatten()');
  }

  /**
   * `forEach(fn).flatten()`, named `combine()`.
   *
   * @param fn - maps an item to an iterable (or a promise of one)
   * @param options - `context`: names `fn` may use
   * @returns a new iterator
   * @throws ArgumentTypeError when `fn` cannot be shipped
   * @example
   * ```ts
   * await fromRange(2, 1).combine((x) => [x, x]).take(4); // [0, 0, 1, 1]
   * ```
   */
  combine<U>(fn: ItemFn<T, Iterable<U>>, options: ContextOptions = {}): ParallelIterator<U> {
    checkOptions(options);
    const shipped = shipFunction('fn', fn, options.context);
    return this.derive(
      [{ op: 'forEach', fn: shipped, maxConcurrency: 1 }, { op: 'flatten' }],
      'combine()',
    );
  }

  /**
   * Shuffles each shard's items through a buffer of `shuffleBufferSize`, as in
   * Ray. The same `seed` gives the same order.
   *
   * @param shuffleBufferSize - the buffer size, a positive integer
   * @param seed - a seed for a reproducible order
   * @returns a new iterator
   * @throws ArgumentRangeError for a bad size or seed
   * @example
   * ```ts
   * await fromRange(8).localShuffle(2, 7).take(8); // the same permutation of 0..7 every run
   * ```
   */
  localShuffle(shuffleBufferSize: number, seed?: number): ParallelIterator<T> {
    shuffle(shuffleBufferSize, seed); // checks the arguments at the call
    return this.derive(
      { op: 'localShuffle', size: shuffleBufferSize, seed },
      `localShuffle(shuffleBufferSize=${shuffleBufferSize}, seed=${String(seed)})`,
    );
  }

  /**
   * Applies RxJS operators to each shard's stream, in its worker:
   * `fn(source$, rx)` returns an Observable, where `rx` is the `rxjs` module.
   *
   * Items are offered to `source$` as the consumer asks for them; operators
   * that hold items back asynchronously (`delay`, `bufferTime`) let the shard
   * pull ahead while they wait.
   *
   * @param fn - shipped to the workers by its source text
   * @param options - `context`: names `fn` may use
   * @returns a new iterator of the Observable's items
   * @throws ArgumentTypeError when `fn` cannot be shipped
   * @example
   * ```ts
   * await fromRange(4, 1).transform((s, rx) => s.pipe(rx.scan((a, x) => a + x, 0))).take(4); // [0, 1, 3, 6]
   * ```
   */
  transform<U>(
    fn: (source$: Observable<T>, rx: typeof Rx) => Observable<U>,
    options: ContextOptions = {},
  ): ParallelIterator<U> {
    checkOptions(options);
    return this.derive(
      { op: 'transform', fn: shipFunction('fn', fn, options.context) },
      'transform()',
    );
  }

  /**
   * The same items in `numPartitions` new shards: each old shard deals its
   * items round robin to the new ones (its k-th item to partition
   * k mod numPartitions), and each new shard reads the old shards in turn, so
   * the result is the same for the same input. Transformations chained after
   * it run in the new shards' workers; the items pass through the calling
   * thread on the way. An old shard computes only when a new one needs its
   * next item; items it dealt to other partitions wait for them.
   *
   * @param numPartitions - the new shard count, a positive integer
   * @param options - `batchMs` (default 0): read the old shards in batches
   *   filled for up to that long, for throughput
   * @returns a new iterator with `numPartitions` shards
   * @throws ArgumentRangeError for a bad `numPartitions` or `batchMs`
   * @example
   * ```ts
   * const it = fromRange(9, 3).repartition(2).forEach((x) => 2 * x);
   * await it.getShard(0).take(9); // 0, 4, 6, 10, 12, 16 in some order
   * await it.getShard(1).take(9); // 2, 8, 14 in some order
   * ```
   */
  repartition(
    numPartitions: number,
    options: { readonly batchMs?: number } = {},
  ): ParallelIterator<T> {
    checkOptions(options);
    const n = positiveInteger('numPartitions', numPartitions);
    const read = readOptions({ batchMs: options.batchMs ?? 0 });
    const oldShards = this.setups();
    return new ParallelIterator<T>(
      `${this.name}.repartition[numPartitions=${n}]`,
      fedShards(n, () => new Repartitioner(oldShards, n, read)),
    );
  }

  /**
   * The shards of this iterator followed by those of `other`.
   *
   * @param other - another `ParallelIterator`
   * @returns a new iterator with `numShards()` of both
   * @throws ArgumentTypeError when `other` is not a `ParallelIterator`
   * @example
   * ```ts
   * await fromItems(['a', 'b', 'c'], 1).union(fromItems(['x', 'y', 'z'], 1)).take(6); // a x b y c z
   * ```
   */
  union<U>(other: ParallelIterator<U>): ParallelIterator<T | U> {
    if (!(other instanceof ParallelIterator)) {
      throw new ArgumentTypeError(
        `Expected \`other\` to be a ParallelIterator, got ${describeValue(other)}`,
      );
    }
    return new ParallelIterator<T | U>(
      `ParallelUnion[${String(this)}, ${String(other)}]`,
      [...this.templates, ...other.templates],
      true,
    );
  }

  /**
   * A subset of the shards, in the order given.
   *
   * @param indices - shard indices, non-empty, each in range
   * @returns a new iterator
   * @throws ArgumentRangeError when `indices` is empty or an index is out of
   *   range; UsageError after `union`
   * @example
   * ```ts
   * await fromItems([1, 2, 3, 4], 4).selectShards([0, 2]).take(4); // [1, 3]
   * ```
   */
  selectShards(indices: readonly number[]): ParallelIterator<T> {
    if (this.fromUnion) {
      throw new UsageError(
        `Expected selectShards() before union(), got ${String(this)}: select the shards of each input, then union them`,
      );
    }
    if (!Array.isArray(indices)) {
      throw new ArgumentTypeError(
        `Expected \`indices\` to be an array of shard indices, got ${describeValue(indices)}`,
      );
    }
    if (indices.length === 0) {
      throw new ArgumentRangeError(
        `Expected \`indices\` to be a non-empty array of shard indices, got ${describeValue(indices)}`,
      );
    }
    const templates = indices.map(
      (index) => this.templates[this.shardIndex(index)] as ShardTemplate,
    );
    return new ParallelIterator<T>(`${this.name}.selectShards([${indices.join(', ')}])`, templates);
  }

  /** @returns the number of shards */
  numShards(): number {
    return this.templates.length;
  }

  private shardIndex(index: unknown): number {
    const i = nonNegativeInteger('index', index);
    if (i >= this.templates.length) {
      throw new ArgumentRangeError(
        `Expected \`index\` to be a shard index from 0 to ${this.templates.length - 1}, got ${i}`,
      );
    }
    return i;
  }

  /** @internal The named setups of the given shards. */
  setups(indices?: readonly number[]): ShardSetup[] {
    const name = String(this);
    const chosen = indices ?? this.templates.map((_, i) => i);
    return chosen.map((shard) => {
      const template = this.templates[shard] as ShardTemplate;
      return {
        plan: { name, shard, source: template.source, repeat: template.repeat, ops: template.ops },
        ...(template.feed ? { feed: template.feed } : {}),
        ...(template.attach ? { attach: template.attach } : {}),
      };
    });
  }

  /** @internal A `LocalIterator` reading `indices` (default all) the way `read` says. */
  local<U>(read: ReadKind, options: ReadOptions, indices?: readonly number[]): LocalIterator<U> {
    const chosen = indices ?? this.templates.map((_, i) => i);
    const label =
      read === 'shard' ? `${this.name}.shard[${chosen[0]}]` : `${String(this)}.${read}()`;
    let run: ShardRun | undefined;
    let puller: Puller<unknown> | undefined;
    const metrics = new SharedMetrics();
    const name = String(this);
    const handles = chosen.map(
      (shard): unknown =>
        this.templates[shard]?.actor ?? Object.freeze<ShardHandle>({ iterator: name, shard }),
    );
    const source: LocalSource = {
      metrics,
      open: () => {
        if (!puller) {
          run = new ShardRun(this.setups(chosen), options, (done) => this.runs.delete(done));
          this.runs.add(run);
          puller = READERS[read](run, (index) => (metrics.get().currentActor = handles[index]));
        }
        return puller;
      },
      close: async () => run?.close(),
      describe: () => ({ parallel: this.describe(), read, options, indices: chosen }),
    };
    return new LocalIterator<U>(source, [], label);
  }

  /**
   * @internal The plain-data description of this iterator, for sending it to
   * another thread.
   * @throws UsageError when a shard is fed from this thread or is an actor
   */
  describe(): ParallelDescription {
    for (const template of this.templates) {
      if (template.feed || template.attach) {
        throw new UsageError(
          `${String(this)} cannot be sent to another thread: its shards are fed from this thread (fromIterators over a non-array iterable, fromObservable, repartition) or are actors; read it here, or build it from arrays, ranges and function sources`,
        );
      }
    }
    return {
      name: this.name,
      fromUnion: this.fromUnion,
      templates: this.templates.map(({ source, repeat, ops }) => ({ source, repeat, ops })),
    };
  }

  /** @internal Rebuilds an iterator from its description. */
  static fromDescription<T>(description: ParallelDescription): ParallelIterator<T> {
    return new ParallelIterator<T>(description.name, description.templates, description.fromUnion);
  }

  /**
   * Reads the shards in deterministic round robin, one item each; an
   * exhausted shard drops out. Each shard computes only the item asked for:
   * a following local `fn(x_i)` runs before `x_{i+1}` is requested.
   *
   * @returns a `LocalIterator` over a fresh run
   * @example
   * ```ts
   * await fromRange(4).gatherSync().take(4); // [0, 2, 1, 3]
   * ```
   */
  gatherSync(): LocalIterator<T> {
    return this.local('gatherSync', STRICT);
  }

  /**
   * Reads items as they become ready, from any shard; each shard's own order
   * is kept. With the defaults, a shard is asked for its next item only when
   * the consumer pulls after taking its previous one.
   *
   * @param options - `numAsync` (default 1) requests in flight per shard;
   *   `batchMs` (default 0): each request a batch filled for up to that long.
   *   Either lets shards run ahead for throughput.
   * @returns a `LocalIterator` over a fresh run
   * @throws ArgumentRangeError when `numAsync` < 1 or `batchMs` < 0
   * @example
   * ```ts
   * (await fromRange(4).gatherAsync().take(4)).sort(); // [0, 1, 2, 3]
   * ```
   */
  gatherAsync(options: ReadAheadOptions = {}): LocalIterator<T> {
    checkOptions(options);
    return this.local('gatherAsync', readOptions(options));
  }

  /**
   * Reads one item from each active shard per step, as an array in shard
   * order; an exhausted shard drops out.
   *
   * @returns a `LocalIterator` of arrays over a fresh run
   * @example
   * ```ts
   * await fromRange(4).batchAcrossShards().take(2); // [[0, 2], [1, 3]]
   * ```
   */
  batchAcrossShards(): LocalIterator<T[]> {
    return this.local('batchAcrossShards', STRICT);
  }

  /**
   * Reads one shard.
   *
   * @param index - the shard index
   * @param options - `batchMs` and `numAsync`, as for `gatherAsync`
   * @returns a `LocalIterator` over a fresh run of that shard
   * @throws ArgumentRangeError when `index` is out of range, or for bad options
   * @example
   * ```ts
   * await fromRange(4).getShard(1).take(2); // [2, 3]
   * ```
   */
  getShard(index: number, options: ReadAheadOptions = {}): LocalIterator<T> {
    checkOptions(options);
    const i = this.shardIndex(index);
    return this.local('shard', readOptions(options), [i]);
  }

  /**
   * One `LocalIterator` per shard, each as `getShard(i)`.
   *
   * @returns the shards' iterators
   * @example
   * ```ts
   * const [s0, s1] = fromRange(4).shards();
   * await s1!.take(2); // [2, 3]
   * ```
   */
  shards(): LocalIterator<T>[] {
    return this.templates.map((_, i) => this.getShard(i));
  }

  /**
   * Reads up to `n` items with `gatherSync()`, then stops the workers.
   *
   * @param n - how many items at most
   * @returns the items
   * @throws ArgumentRangeError for a bad `n`; ShardError when a shard failed
   * @example
   * ```ts
   * await fromRange(4).take(3); // [0, 2, 1]
   * ```
   */
  take(n: number): Promise<T[]> {
    nonNegativeInteger('n', n);
    return this.gatherSync().take(n);
  }

  /**
   * Prints up to `n` items (default 20) read with `gatherSync()`.
   *
   * @param n - how many items at most
   * @throws ArgumentRangeError for a bad `n`; ShardError when a shard failed
   * @example
   * ```ts
   * await fromRange(4).show(2); // prints 0 and 2
   * ```
   */
  show(n = 20): Promise<void> {
    nonNegativeInteger('n', n);
    return this.gatherSync().show(n);
  }

  /**
   * Stops the workers of every run started from this iterator now; their
   * pending pulls reject with a `ClosedError`.
   *
   * @returns when the workers are gone
   * @example
   * ```ts
   * const it = fromRange(4, { repeat: true });
   * const local = it.gatherSync();
   * await local.next();
   * await it.close();
   * ```
   */
  async close(): Promise<void> {
    await Promise.all([...this.runs].map((run) => run.close()));
  }

  /** Same as {@link ParallelIterator.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @returns the printed name, e.g. `ParallelIterator[fromRange[4, shards=2].forEach()]` */
  toString(): string {
    return `ParallelIterator[${this.name}]`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

// Not part of the type, so that TypeScript rejects `for await` over a
// ParallelIterator before it runs; plain JavaScript gets this TypeError.
function notIterable(this: ParallelIterator<unknown>): never {
  throw new UsageError(
    `${String(this)} is not iterable: call gatherSync() or gatherAsync() to read it in this thread`,
  );
}
for (const key of [Symbol.asyncIterator, Symbol.iterator]) {
  Object.defineProperty(ParallelIterator.prototype, key, { value: notIterable });
}
