/**
 * @internal
 * Pull sources: items, ranges and iterables as {@link Puller}s, optionally
 * cycling forever.
 */
import { ArgumentTypeError } from '../../errors';
import { isPromiseLike } from './promises';
import type { Puller } from './pullPipeline';
import { describeValue } from './validate';

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

/**
 * `result`, checked to be what an iterator's `next()` must return: an object
 * (else a `TypeError`, as `for…of` throws on the same result).
 */
export function iteratorResult(result: unknown): IteratorResult<unknown> {
  if ((typeof result !== 'object' || result === null) && typeof result !== 'function') {
    throw new TypeError(
      `Iterator result ${describeValue(result)} is not an object: an iterator's next() must return { value, done }`,
    );
  }
  return result as IteratorResult<unknown>;
}

/** Opens an iterable or async iterable. */
export function openIterable(value: unknown, what: string): AnyIterator {
  const v = value as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null | undefined;
  if (v != null && typeof v[Symbol.asyncIterator] === 'function') {
    return v[Symbol.asyncIterator]!();
  }
  if (v != null && typeof v[Symbol.iterator] === 'function') return v[Symbol.iterator]!();
  throw new ArgumentTypeError(
    `Expected ${what} to be an iterable or async iterable, got ${describeValue(value)}`,
  );
}

/**
 * A puller over iterators from `open`; with `repeat`, a new one is opened
 * each time one is exhausted. A cycle that yields nothing ends the source, so
 * an empty source never spins.
 */
export function repeating(open: () => AnyIterator, repeat: boolean): Puller<unknown> {
  let iterator: AnyIterator | undefined;
  let yielded = false;
  const after = (
    value: unknown,
  ): IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>> => {
    const result = iteratorResult(value);
    if (!result.done) {
      yielded = true;
      return result;
    }
    if (!repeat || !yielded) return result;
    iterator = undefined;
    yielded = false;
    return pull();
  };
  const pull = (): IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>> => {
    iterator ??= open();
    const result: unknown = iterator.next();
    return isPromiseLike(result) ? Promise.resolve(result).then(after) : after(result);
  };
  return {
    next: pull,
    return: () => iterator?.return?.(),
  };
}

/**
 * A puller over `size` items, the i-th being `at(i)`, that can also
 * {@link Puller.fill} many at once; with `repeat` it cycles (unless empty).
 */
function indexed(size: number, at: (index: number) => unknown, repeat: boolean): Puller<unknown> {
  let index = 0;
  const more = (): boolean => {
    if (index < size) return true;
    if (!repeat || size === 0) return false;
    index = 0;
    return true;
  };
  return {
    next: () => (more() ? { done: false, value: at(index++) } : { done: true, value: undefined }),
    fill: (out, max) => {
      for (let i = 0; i < max; i++) {
        if (!more()) return true;
        out.push(at(index++));
      }
      return false;
    },
  };
}

/** Items `start..end-1`. */
export function rangeSource(start: number, end: number, repeat: boolean): Puller<unknown> {
  return indexed(Math.max(0, end - start), (i) => start + i, repeat);
}

/** The items of an array. */
export function itemsSource(items: readonly unknown[], repeat: boolean): Puller<unknown> {
  return indexed(items.length, (i) => items[i], repeat);
}

/** The items of what `fn()` returns; with `repeat`, `fn` is called again each cycle. */
export function functionSource(fn: () => unknown, repeat: boolean): Puller<unknown> {
  return repeating(() => openIterable(fn(), "a source function's result"), repeat);
}

/**
 * Opens `value` the way {@link openIterable} does, but takes an async
 * iterable's iterator now and hands that one to the first open: an
 * event-driven source (a `readline.Interface`, `events.on(…)`) starts
 * listening at once, so what it emits before the first pull is kept (its
 * own iterator buffers it, pausing its input when it holds too much) and its
 * end is seen. Later opens take a new iterator.
 */
export function eagerOpener(value: unknown, what: string): () => AnyIterator {
  const v = value as Partial<AsyncIterable<unknown>> | null | undefined;
  let first: AnyIterator | undefined =
    v != null && typeof v[Symbol.asyncIterator] === 'function'
      ? v[Symbol.asyncIterator]!()
      : undefined;
  return () => {
    const iterator = first ?? openIterable(value, what);
    first = undefined;
    return iterator;
  };
}
