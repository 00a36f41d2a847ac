/// <reference lib="esnext.disposable" preserve="true" />
// `[Symbol.asyncDispose]` below: the published declarations bring in the lib that declares it.
import type { MessagePort } from 'node:worker_threads';
import type { Observable } from 'rxjs';
import type * as Rx from 'rxjs';
import type { FlattenItem } from '../operators/flatten';
import { shuffle } from '../operators/shuffle';
import { ArgumentRangeError, ArgumentTypeError, UsageError } from './errors';
import { LocalIterator } from './localIterator';
import type {
  LocalSource,
  ParallelDescription,
  ReadKind,
  ShardTemplate,
} from './internal/caller/iteratorTypes';
import {
  CONTEXT_KEYS,
  FOR_EACH_KEYS,
  type Callable,
  type ContextOptions,
  type ForEachOptions,
  type ItemFn,
} from './internal/common/options';
import type { OpSpec } from './internal/wire/protocol';
import type { Puller } from './internal/common/pullPipeline';
import type { ReadOptions, RunScope, ShardSetup } from './internal/caller/shardChannel';

export type { ParallelDescription, ReadKind, ShardTemplate } from './internal/caller/iteratorTypes';
import {
  STRICT,
  ShardRun,
  type OnItem,
  batchAcrossShards,
  gatherAsync,
  gatherChunks,
  gatherSync,
} from './internal/caller/shardRun';
import { ActorLink } from './internal/caller/actorLink';
import { sharedLink } from './internal/caller/hostLink';
import { Repartitioner } from './internal/caller/repartition';
import { shipFunction } from './internal/wire/shipping';
import type { ShardPlacement } from './internal/caller/place';
import { SharedMetrics, type ShardHandle } from './metrics';
import {
  MAX_NUM_ASYNC,
  boundedCount,
  checkOptions,
  describeValue,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  shardCount,
  signalOption,
} from './internal/common/validate';
import { inspectCustom, type DataPort } from './internal/common/nodeShapes';

/** What feeds a set of shards from the calling thread: one per run. */
interface Feed {
  /** `demanded` tells whether a reader waits for that shard's items (see `ShardSetup.feed`). */
  puller(shard: number, demanded: () => boolean): Puller<unknown>;
  close(): void | Promise<void>;
}

/**
 * @internal Templates of `count` shards fed from the calling thread by one
 * feed per run, made by `open` at the run's first pull.
 */
export function fedShards(
  count: number,
  open: (scope: RunScope) => Feed,
  batch?: number,
): ShardTemplate[] {
  const key = {};
  return Array.from({ length: count }, (_, shard) => ({
    source: batch === undefined ? { kind: 'feed' } : { kind: 'feed', batch },
    repeat: false,
    ops: [],
    feed: (scope: RunScope, demanded: () => boolean) =>
      scope.shared(key, () => open(scope)).puller(shard, demanded),
  }));
}

const READERS: Record<ReadKind, (run: ShardRun, onItem: OnItem) => Puller<unknown>> = {
  gatherSync,
  gatherAsync,
  batchAcrossShards,
  shard: gatherSync,
  chunks: gatherChunks,
};

/** Options of the calls that start a run and can be cancelled. */
export interface SignalOptions {
  /**
   * Aborting it stops the run's workers: a waiting pull rejects with the
   * signal's reason (an `AbortError` `DOMException` by default) and the
   * iterator is done. An already-aborted signal rejects the first pull at
   * once, before any thread starts. The listener on the signal is removed
   * when the run ends.
   */
  readonly signal?: AbortSignal;
}

/** Options of `gatherAsync` and `getShard`. */
export interface ReadAheadOptions extends SignalOptions {
  /**
   * When > 0, each request to a shard is a batch that the shard fills for up
   * to this many milliseconds (at least one item): higher throughput, and the
   * shard runs ahead of its consumer. Default 0.
   */
  readonly batchMs?: number;
  /**
   * Requests kept in flight per shard (default 1, at most 1024). Above 1 the
   * shard runs ahead of its consumer by up to this many items (or batches).
   * However large, a read-ahead asks a shard for at most 8192 items its
   * consumer has not taken: each request asks for `8192 / numAsync` items at
   * most.
   */
  readonly numAsync?: number;
}

/** The keys of {@link ReadAheadOptions}. */
const READ_AHEAD_KEYS = ['batchMs', 'numAsync', 'signal'] as const satisfies ReadonlyArray<
  keyof ReadAheadOptions
>;

/** The keys of {@link SignalOptions}. */
const SIGNAL_KEYS = ['signal'] as const satisfies ReadonlyArray<keyof SignalOptions>;

/** The longest `batchMs` (a timer's limit). */
const MAX_BATCH_MS = 2 ** 31 - 1;

function readOptions(options: ReadAheadOptions): ReadOptions {
  const batchMs = nonNegativeNumber('batchMs', options.batchMs ?? 0);
  if (batchMs > MAX_BATCH_MS) {
    throw new ArgumentRangeError(
      `Expected \`batchMs\` to be a non-negative number up to ${MAX_BATCH_MS}, got ${describeValue(batchMs)}`,
    );
  }
  const numAsync = boundedCount(
    'numAsync',
    options.numAsync ?? 1,
    MAX_NUM_ASYNC,
    'requests in flight per shard',
  );
  return { numAsync, batchMs };
}

/** The run of a gather, once its first pull started one. */
interface RunCell {
  run?: ShardRun;
}

/**
 * Stops the run of a gather that nothing can read any more (its
 * `LocalIterator`s were garbage-collected): a live source it subscribed to
 * (`fromObservable`) is unsubscribed, so it stops buffering and no longer
 * keeps the process alive.
 */
const abandoned = new FinalizationRegistry<RunCell>((cell) => void cell.run?.close());

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
    checkOptions(options, FOR_EACH_KEYS);
    const maxConcurrency = nonNegativeInteger('maxConcurrency', options.maxConcurrency ?? 1);
    return this.derive(
      { op: 'forEach', fn: shipFunction('fn', fn, options.context), maxConcurrency },
      'forEach()',
    );
  }

  /**
   * Keeps the items for which `fn` returns a truthy value (or a promise of one).
   *
   * A type guard narrows the item type, as RxJS's `filter` does:
   * `.filter((x): x is number => x !== null)` gives a
   * `ParallelIterator<number>`.
   *
   * @param fn - the predicate, shipped to the workers by its source text
   * @param options - `context`: names `fn` may use
   * @returns a new iterator
   * @throws ArgumentTypeError when `fn` cannot be shipped
   * @example
   * ```ts
   * await fromRange(4).filter((x) => x < 3).take(4); // [0, 2, 1]
   * const numbers = fromItems([1, null, 2], 1).filter((x): x is number => x !== null);
   * await numbers.take(2); // [1, 2], a number[]
   * ```
   */
  filter<S extends T>(fn: (item: T) => item is S, options?: ContextOptions): ParallelIterator<S>;
  filter(fn: ItemFn<T, unknown>, options?: ContextOptions): ParallelIterator<T>;
  filter(fn: ItemFn<T, unknown>, options: ContextOptions = {}): ParallelIterator<T> {
    checkOptions(options, CONTEXT_KEYS);
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
    checkOptions(options, CONTEXT_KEYS);
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
    checkOptions(options, CONTEXT_KEYS);
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
   * next item; items it dealt to other partitions of the run wait for them,
   * up to 1024 per old shard: past that, while the lagging partition is
   * being read, the others wait for it. Items dealt to a partition that the
   * run does not read (`getShard(0)` reads only partition 0) are dropped, so
   * memory stays bounded.
   *
   * @param numPartitions - the new shard count, a positive integer up to 1024
   * @param options - `batchMs` (default 0): read the old shards in batches
   *   filled for up to that long, for throughput
   * @returns a new iterator with `numPartitions` shards
   * @throws ArgumentRangeError for a bad `numPartitions` (over 1024 too) or `batchMs`;
   *   ArgumentTypeError for an unknown options key
   * @example
   * ```ts
   * const it = fromRange(9, 3).repartition(2).forEach((x) => 2 * x);
   * await it.getShard(0).take(9); // [0, 6, 12, 4, 10, 16]
   * await it.getShard(1).take(9); // [2, 8, 14]
   * ```
   */
  repartition(
    numPartitions: number,
    options: { readonly batchMs?: number } = {},
  ): ParallelIterator<T> {
    checkOptions(options, ['batchMs']);
    const n = shardCount('numPartitions', numPartitions);
    const read = readOptions({ batchMs: options.batchMs ?? 0 });
    const oldShards = this.setups();
    return new ParallelIterator<T>(
      `${this.name}.repartition[numPartitions=${n}]`,
      fedShards(n, (scope) => new Repartitioner(oldShards, n, read, scope)),
    );
  }

  /**
   * Runs the shards on the hosts of `cluster`: shard `i` on host
   * `i % hosts.length`, in a thread of that host, with the same guarantees
   * as a local shard (strict pull by default, per-shard order, bounded
   * memory, clean stop). Functions are shipped the same way; `moduleFn`
   * specifiers resolve on the host. Items fed from this process
   * (`fromObservable`, `repartition`, `fromIterators` over an iterable of
   * this thread) cross the network on request. A host that dies or stops
   * answering fails the run with a `ShardError` whose `host` names it.
   *
   * @param cluster - from `cluster()`
   * @returns a new iterator, printed with `.runOn(cluster[n hosts])`
   * @throws ArgumentTypeError when `cluster` is not a cluster; UsageError for
   *   shards that are actors (an actor runs where it was spawned)
   * @example
   * ```ts
   * const c = cluster(['127.0.0.1:7100', '127.0.0.1:7101']);
   * await fromRange(4).forEach((x) => x * 2).runOn(c).take(4); // [0, 4, 2, 6]
   * ```
   */
  runOn(cluster: ShardPlacement): ParallelIterator<T> {
    if (
      typeof cluster !== 'object' ||
      cluster === null ||
      typeof (cluster as Partial<ShardPlacement>).placeShard !== 'function'
    ) {
      throw new ArgumentTypeError(
        `Expected \`cluster\` to be a cluster (cluster(['host:port', …])), got ${describeValue(cluster)}`,
      );
    }
    const templates = this.templates.map((template, i): ShardTemplate => {
      if (template.source.kind === 'actor') {
        throw new UsageError(
          `${String(this)} cannot run on a cluster: its shards are actors, which run where they were spawned (use cluster.spawnActor for actors on a host)`,
        );
      }
      return { ...template, ...cluster.placeShard(i) };
    });
    return new ParallelIterator<T>(
      `${this.name}.runOn(${cluster.toString()})`,
      templates,
      this.fromUnion,
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
        ...(template.host === undefined ? {} : { host: template.host }),
      };
    });
  }

  /**
   * @internal A `LocalIterator` reading `indices` (default all) the way
   * `read` says, stopped when `signal` aborts.
   */
  local<U>(
    read: ReadKind,
    options: ReadOptions,
    indices?: readonly number[],
    signal?: AbortSignal,
    take?: number,
  ): LocalIterator<U> {
    const chosen = indices ?? this.templates.map((_, i) => i);
    const label =
      read === 'shard' ? `${this.name}.shard[${chosen[0]}]` : `${String(this)}.${read}()`;
    // The run lives in a cell of its own, so that releasing it when the
    // reader is garbage-collected does not keep the reader reachable.
    const cell: RunCell = {};
    let puller: Puller<unknown> | undefined;
    const metrics = new SharedMetrics();
    const name = String(this);
    const handles = chosen.map(
      (shard): unknown =>
        this.templates[shard]?.actor ?? Object.freeze<ShardHandle>({ iterator: name, shard }),
    );
    const source: LocalSource = {
      metrics,
      started: () => puller !== undefined,
      open: () => {
        if (!puller) {
          const run = this.openRun(chosen, options, { label, signal, take });
          cell.run = run;
          puller = READERS[read](run, (index) => {
            const actor = handles[index];
            source.actor = actor;
            metrics.get().currentActor = actor;
          });
        }
        return puller;
      },
      close: async () => cell.run?.close(),
      describe: (transfer) => {
        if (signal) {
          throw new UsageError(
            `${label} has an AbortSignal, which cannot follow it to another thread: pass the ParallelIterator and gather it there`,
          );
        }
        return { parallel: this.describe(transfer), read, options, indices: chosen };
      },
    };
    abandoned.register(source, cell);
    return new LocalIterator<U>(source, [], label);
  }

  /**
   * A run over the shards `chosen`, known to `close()` until it stops. Made
   * here, outside `local`, so that nothing of the run refers to the reader's
   * source: the run is held by the source's `FinalizationRegistry` entry,
   * and a run that led back to its source would keep it from ever being
   * collected (and every closed run with it).
   */
  private openRun(
    chosen: readonly number[],
    options: ReadOptions,
    { label, signal, take }: { label: string; signal?: AbortSignal; take?: number },
  ): ShardRun {
    const run = new ShardRun(this.setups(chosen), options, {
      onClose: (done) => this.runs.delete(done),
      label,
      ...(signal ? { signal } : {}),
      ...(take === undefined ? {} : { take }),
    });
    this.runs.add(run);
    return run;
  }

  /**
   * @internal The plain-data description of this iterator, for sending it to
   * another thread. Shards over actors are described by new connectors to
   * the actors, added to `transfer`; without `transfer` they cannot be.
   * @throws UsageError when a shard is fed from this thread, or is an actor
   *   and `transfer` is not given
   */
  describe(transfer?: DataPort[]): ParallelDescription {
    for (const template of this.templates) {
      const movable = template.remote !== undefined || (transfer && template.connect);
      if (template.feed || (template.attach && !movable)) {
        throw new UsageError(
          `${String(this)} cannot be sent to another thread: ${
            template.feed
              ? 'its shards are fed from this thread (fromIterators over a non-array iterable, fromObservable, repartition); read it here, or build it from arrays, ranges and function sources'
              : 'its shards are actors, which only another actor can read (pass it to spawnActor or an actor method)'
          }`,
        );
      }
    }
    return {
      name: this.name,
      fromUnion: this.fromUnion,
      templates: this.templates.map(({ source, repeat, ops, connect, remote }) => {
        if (remote) return { source, repeat, ops, remote };
        if (!connect || !transfer) return { source, repeat, ops };
        const connector = connect();
        transfer.push(connector);
        return { source, repeat, ops, connector };
      }),
    };
  }

  /** @internal Rebuilds an iterator from its description. */
  static fromDescription<T>(description: ParallelDescription): ParallelIterator<T> {
    const templates = description.templates.map(({ connector, ...template }): ShardTemplate => {
      const { remote } = template;
      if (remote) {
        // Its host, reached from this thread by a link of its own.
        return { ...template, host: remote.address, attach: () => sharedLink(remote).openShard() };
      }
      if (!connector) return template;
      // A description that crossed threads carries real ports.
      const link = new ActorLink(connector as MessagePort);
      return { ...template, attach: () => link.attach() };
    });
    return new ParallelIterator<T>(description.name, templates, description.fromUnion);
  }

  /**
   * Reads the shards in deterministic round robin, one item each; an
   * exhausted shard drops out. The first pull asks every shard at once, and
   * a shard is asked for its next item as soon as the consumer pulls after
   * taking its previous one, so the shards compute in parallel. Each shard
   * computes only the item asked for: a following local `fn(x_i)` runs
   * before `x_{i+1}` is requested from that shard. For a barrier between
   * rounds (nothing of round r + 1 computed before all of round r is
   * consumed), read with {@link ParallelIterator.batchAcrossShards}.
   *
   * @param options - `signal`: aborting it stops the run (see "Cancellation")
   * @returns a `LocalIterator` over a fresh run
   * @throws ArgumentTypeError when `signal` is not an `AbortSignal`
   * @example
   * ```ts
   * await fromRange(4).gatherSync().take(4); // [0, 2, 1, 3]
   * const controller = new AbortController();
   * const local = fromRange(4, { repeat: true }).gatherSync({ signal: controller.signal });
   * await local.next(); // { value: 0, done: false }
   * controller.abort(); // the workers stop; the next pull rejects with an AbortError
   * ```
   */
  gatherSync(options: SignalOptions = {}): LocalIterator<T> {
    checkOptions(options, SIGNAL_KEYS);
    return this.local('gatherSync', STRICT, undefined, signalOption(options.signal));
  }

  /**
   * Reads items as they become ready, from any shard; each shard's own order
   * is kept. With the defaults, a shard is asked for its next item only when
   * the consumer pulls after taking its previous one.
   *
   * @param options - `numAsync` (default 1) requests in flight per shard;
   *   `batchMs` (default 0): each request a batch filled for up to that long.
   *   Either lets shards run ahead for throughput. `signal`: aborting it
   *   stops the run
   * @returns a `LocalIterator` over a fresh run
   * @throws ArgumentRangeError when `numAsync` is not from 1 to 1024 or
   *   `batchMs` < 0; ArgumentTypeError for an unknown options key or when
   *   `signal` is not an `AbortSignal`
   * @example
   * ```ts
   * (await fromRange(4).gatherAsync().take(4)).sort(); // [0, 1, 2, 3]
   * ```
   */
  gatherAsync(options: ReadAheadOptions = {}): LocalIterator<T> {
    checkOptions(options, READ_AHEAD_KEYS);
    return this.local('gatherAsync', readOptions(options), undefined, signalOption(options.signal));
  }

  /**
   * Reads one item from each active shard per step, as an array in shard
   * order; an exhausted shard drops out.
   *
   * @param options - `signal`: aborting it stops the run
   * @returns a `LocalIterator` of arrays over a fresh run
   * @throws ArgumentTypeError when `signal` is not an `AbortSignal`
   * @example
   * ```ts
   * await fromRange(4).batchAcrossShards().take(2); // [[0, 2], [1, 3]]
   * ```
   */
  batchAcrossShards(options: SignalOptions = {}): LocalIterator<T[]> {
    checkOptions(options, SIGNAL_KEYS);
    return this.local('batchAcrossShards', STRICT, undefined, signalOption(options.signal));
  }

  /**
   * Reads one shard.
   *
   * @param index - the shard index
   * @param options - `batchMs`, `numAsync` and `signal`, as for `gatherAsync`
   * @returns a `LocalIterator` over a fresh run of that shard
   * @throws ArgumentRangeError when `index` is out of range, or for bad
   *   options; ArgumentTypeError for an unknown options key or when `signal`
   *   is not an `AbortSignal`
   * @example
   * ```ts
   * await fromRange(4).getShard(1).take(2); // [2, 3]
   * ```
   */
  getShard(index: number, options: ReadAheadOptions = {}): LocalIterator<T> {
    checkOptions(options, READ_AHEAD_KEYS);
    const i = this.shardIndex(index);
    return this.local('shard', readOptions(options), [i], signalOption(options.signal));
  }

  /**
   * One `LocalIterator` per shard, each as `getShard(i, options)`.
   *
   * @param options - `signal`: aborting it stops every shard's run
   * @returns the shards' iterators
   * @throws ArgumentTypeError when `signal` is not an `AbortSignal`
   * @example
   * ```ts
   * const [s0, s1] = fromRange(4).shards();
   * await s1!.take(2); // [2, 3]
   * ```
   */
  shards(options: SignalOptions = {}): LocalIterator<T>[] {
    checkOptions(options, SIGNAL_KEYS);
    const signal = signalOption(options.signal);
    return this.templates.map((_, i) => this.getShard(i, signal ? { signal } : {}));
  }

  /**
   * Reads up to `n` items with `gatherSync()`, then stops the workers.
   *
   * @param n - how many items at most
   * @param options - `signal`: aborting it stops the workers and rejects
   *   the promise with the signal's reason
   * @returns the items
   * @throws ArgumentRangeError for a bad `n`; ArgumentTypeError when
   *   `signal` is not an `AbortSignal`; ShardError when a shard failed
   * @example
   * ```ts
   * await fromRange(4).take(3); // [0, 2, 1]
   * await fromRange(4, { repeat: true }).take(1e9, { signal: AbortSignal.timeout(100) });
   * // rejects with a TimeoutError DOMException after 100 ms; the workers are stopped
   * ```
   */
  take(n: number, options: SignalOptions = {}): Promise<T[]> {
    nonNegativeInteger('n', n);
    return this.readOnce((local) => local.take(n), options, n);
  }

  /**
   * Reads a fresh `gatherSync()` with `read`, then stops its run. Bad
   * `options` throw at the call, before any promise.
   */
  private readOnce<R>(
    read: (local: LocalIterator<T>) => Promise<R>,
    options: SignalOptions = {},
    take?: number,
  ): Promise<R> {
    checkOptions(options, SIGNAL_KEYS);
    const local = this.local<T>(
      'gatherSync',
      STRICT,
      undefined,
      signalOption(options.signal),
      take,
    );
    const readThenStop = async (): Promise<R> => {
      try {
        return await read(local);
      } finally {
        await local.return();
      }
    };
    return readThenStop();
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
    return this.readOnce((local) => local.show(n));
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
  [inspectCustom](): string {
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
