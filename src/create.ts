import { isObservable, type Observable } from 'rxjs';
import { ArgumentRangeError, ArgumentTypeError } from './errors';
import {
  ObservableFeed,
  overflowSettings,
  type OverflowOptions,
} from './internal/caller/observableFeed';
import { ParallelIterator, fedShards, type ShardTemplate } from './parallelIterator';
import { checkContext, shipFunction } from './internal/wire/shipping';
import { eagerOpener, repeating } from './internal/common/sources';
import { checkOptions, describeValue, shardCount } from './internal/common/validate';

/** Options of `fromItems` and `fromRange`. */
export interface SourceOptions {
  /** How many shards, each with its own worker (default 2). */
  readonly numShards?: number;
  /** Cycle each shard's items forever (default false). */
  readonly repeat?: boolean;
}

/** Options of `fromIterators`. */
export interface IteratorsOptions {
  /** Cycle each source forever; a function source is called again each cycle (default false). */
  readonly repeat?: boolean;
  /** The printed name, instead of `fromIterators[shards=N]`. */
  readonly name?: string;
  /** Names that function sources may use (structured-cloned into the workers). */
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * A source of one shard: an iterable or async iterable, or a function that
 * returns one. A function runs in the shard's worker (shipped by its source
 * text); an array is copied to the worker; any other iterable stays in the
 * calling thread and feeds the shard one item per request.
 */
export type Source<T> = Iterable<T> | AsyncIterable<T> | (() => Iterable<T> | AsyncIterable<T>);

function sourceOptions(shards: number | SourceOptions | undefined): {
  numShards: number;
  repeat: boolean;
} {
  if (shards === undefined || typeof shards === 'number') {
    return { numShards: shardCount('numShards', shards ?? 2), repeat: false };
  }
  if (typeof shards !== 'object' || shards === null) {
    throw new ArgumentRangeError(
      `Expected \`numShards\` to be a positive integer, got ${describeValue(shards)}`,
    );
  }
  if (Array.isArray(shards)) {
    throw new ArgumentTypeError(
      `Expected \`shards\` to be a shard count or an options object { numShards, repeat }, got ${describeValue(shards)}`,
    );
  }
  checkOptions(shards, ['numShards', 'repeat'], 'shards');
  return {
    numShards: shardCount('numShards', shards.numShards ?? 2),
    repeat: repeatOption(shards.repeat),
  };
}

function repeatOption(repeat: unknown): boolean {
  if (repeat === undefined) return false;
  if (typeof repeat !== 'boolean') {
    throw new ArgumentTypeError(
      `Expected \`repeat\` to be a boolean, got ${describeValue(repeat)}`,
    );
  }
  return repeat;
}

const repeatLabel = (repeat: boolean): string => (repeat ? ', repeat=true' : '');

function typeWord(item: unknown): string {
  if (item === null) return 'null';
  if (typeof item !== 'object') return typeof item;
  return (item as object).constructor?.name ?? 'Object';
}

/**
 * A `ParallelIterator` over the given items, dealt round robin: shard `i`
 * holds items `i`, `i + n`, `i + 2n`, …
 *
 * The items are copied into the shards' workers, so they must be
 * structured-cloneable. Nothing runs until a gather pulls.
 *
 * @param items - the items
 * @param shards - the shard count (default 2), or `{ numShards, repeat }`
 * @returns the iterator, printed as `ParallelIterator[fromItems[number, 4, shards=2]]`
 * @throws ArgumentRangeError when the shard count is not a positive integer
 * @throws ArgumentTypeError when `items` is not iterable
 * @example
 * ```ts
 * await fromItems([1, 2, 3, 4]).gatherSync().take(4); // [1, 2, 3, 4]: shards [1, 3] and [2, 4]
 * ```
 */
export function fromItems<T>(
  items: Iterable<T>,
  shards?: number | SourceOptions,
): ParallelIterator<T> {
  const { numShards, repeat } = sourceOptions(shards);
  if (items == null || typeof (items as Partial<Iterable<T>>)[Symbol.iterator] !== 'function') {
    throw new ArgumentTypeError(
      `Expected \`items\` to be an iterable, got ${describeValue(items)}`,
    );
  }
  const all = Array.from(items);
  const templates: ShardTemplate[] = Array.from({ length: numShards }, (_, shard) => ({
    source: { kind: 'items', items: all.filter((_, i) => i % numShards === shard) },
    repeat,
    ops: [],
  }));
  const word = all.length === 0 ? 'none' : typeWord(all[0]);
  return new ParallelIterator<T>(
    `fromItems[${word}, ${all.length}, shards=${numShards}${repeatLabel(repeat)}]`,
    templates,
  );
}

/**
 * A `ParallelIterator` over `0..n-1`, split into contiguous ranges of
 * `floor(n / numShards)` items; the last shard also takes the remainder.
 *
 * @param n - how many numbers, a non-negative integer
 * @param shards - the shard count (default 2), or `{ numShards, repeat }`
 * @returns the iterator, printed as `ParallelIterator[fromRange[4, shards=2]]`
 * @throws ArgumentRangeError when `n` or the shard count is out of range
 * @example
 * ```ts
 * await fromRange(4).gatherSync().take(4); // [0, 2, 1, 3]
 * ```
 */
export function fromRange(n: number, shards?: number | SourceOptions): ParallelIterator<number> {
  const { numShards, repeat } = sourceOptions(shards);
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new ArgumentRangeError(
      `Expected \`n\` to be a non-negative integer, got ${describeValue(n)}`,
    );
  }
  const size = Math.floor(n / numShards);
  const templates: ShardTemplate[] = Array.from({ length: numShards }, (_, shard) => ({
    source: {
      kind: 'range',
      start: shard * size,
      end: shard === numShards - 1 ? n : (shard + 1) * size,
    },
    repeat,
    ops: [],
  }));
  return new ParallelIterator<number>(
    `fromRange[${n}, shards=${numShards}${repeatLabel(repeat)}]`,
    templates,
  );
}

/**
 * A `ParallelIterator` with one shard per source.
 *
 * A source that is a function runs in the shard's worker (shipped by its
 * source text, seeing only `context`): write generators, file readers and
 * anything not cloneable that way. An array is copied to the worker. Any
 * other iterable or async iterable stays in the calling thread and feeds its
 * shard one item per request. An async iterable's iterator is taken at this
 * call (later runs take a new one), so an event-driven source such as a
 * `readline.Interface` loses no line emitted before the first pull: call
 * `fromIterators` right after creating it, in the same tick, as you would
 * start a `for await` over it.
 *
 * @param sources - one source per shard
 * @param options - `repeat` (default false), `name`, `context` for function sources
 * @returns the iterator, printed as `ParallelIterator[fromIterators[shards=2]]`
 * @throws ArgumentRangeError when `sources` is empty
 * @throws ArgumentTypeError when a source is not an iterable or a function
 * @example
 * ```ts
 * const it = fromIterators([[1, 2], function* () { yield 3; yield 4; }]);
 * await it.gatherSync().take(4); // [1, 3, 2, 4]
 * ```
 */
export function fromIterators<T>(
  sources: Array<Source<T>>,
  options: IteratorsOptions = {},
): ParallelIterator<T> {
  checkOptions(options, ['repeat', 'name', 'context']);
  if (!Array.isArray(sources)) {
    throw new ArgumentTypeError(
      `Expected \`sources\` to be an array of sources, got ${describeValue(sources)}`,
    );
  }
  if (sources.length === 0) {
    throw new ArgumentRangeError(
      `Expected \`sources\` to be a non-empty array of sources, got ${describeValue(sources)}`,
    );
  }
  const repeat = repeatOption(options.repeat);
  const context = checkContext(options.context);
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new ArgumentTypeError(
      `Expected \`name\` to be a string, got ${describeValue(options.name)}`,
    );
  }
  const templates = sources.map((source, i): ShardTemplate => {
    if (typeof source === 'function') {
      return {
        source: { kind: 'function', fn: shipFunction(`sources[${i}]`, source, context) },
        repeat,
        ops: [],
      };
    }
    if (Array.isArray(source)) return { source: { kind: 'items', items: source }, repeat, ops: [] };
    const s = source as Partial<Iterable<T> & AsyncIterable<T>> | null | undefined;
    if (
      typeof s?.[Symbol.iterator] !== 'function' &&
      typeof s?.[Symbol.asyncIterator] !== 'function'
    ) {
      throw new ArgumentTypeError(
        `Expected \`sources[${i}]\` to be an iterable, an async iterable or a function, got ${describeValue(source)}`,
      );
    }
    const open = eagerOpener(source, `sources[${i}]`);
    return { source: { kind: 'feed' }, repeat, ops: [], feed: () => repeating(open, repeat) };
  });
  const name = options.name ?? `fromIterators[shards=${sources.length}${repeatLabel(repeat)}]`;
  return new ParallelIterator<T>(name, templates);
}

/** Options of `fromObservable`. */
export interface ObservableSourceOptions extends OverflowOptions {
  /** How many shards, each with its own worker (default 2). */
  readonly numShards?: number;
}

/**
 * A `ParallelIterator` whose shards are fed round robin from an Observable in
 * the calling thread: item `i` goes to shard `i mod numShards`, so parallel
 * transformations and gathers apply to a live stream.
 *
 * Each gather subscribes to `source$` once, on its first pull, and
 * unsubscribes when the run ends: when it is exhausted, closed, fails, or
 * when its reader is dropped unread and garbage-collected (so an abandoned
 * reader of an infinite Observable stops buffering and lets the process
 * exit). A shard takes an item from its queue only
 * when it computes; items the source pushes meanwhile wait, up to
 * `bufferSize` per shard before `onOverflow` applies. The source's error ends
 * the run with a `ShardError` whose cause is that error.
 *
 * @param source$ - the Observable
 * @param options - `numShards` (2), `bufferSize` (1024), `onOverflow` (`'buffer'`)
 * @returns the iterator, printed as `ParallelIterator[fromObservable[shards=2]]`
 * @throws ArgumentTypeError when `source$` is not an Observable;
 *   ArgumentRangeError for bad counts
 * @example
 * ```ts
 * await fromObservable(of(1, 2, 3, 4)).forEach((x) => x * 10).take(4); // [10, 20, 30, 40]
 * ```
 */
export function fromObservable<T>(
  source$: Observable<T>,
  options: ObservableSourceOptions = {},
): ParallelIterator<T> {
  checkOptions(options, ['numShards', 'bufferSize', 'onOverflow']);
  if (!isObservable(source$)) {
    throw new ArgumentTypeError(
      `Expected \`source$\` to be an Observable, got ${describeValue(source$)}`,
    );
  }
  const numShards = shardCount('numShards', options.numShards ?? 2);
  const overflow = overflowSettings(options);
  return new ParallelIterator<T>(
    `fromObservable[shards=${numShards}]`,
    fedShards(
      numShards,
      () =>
        new ObservableFeed(source$, numShards, {
          mode: 'roundRobin',
          readerMayBeDropped: true,
          ...overflow,
        }),
    ),
  );
}
