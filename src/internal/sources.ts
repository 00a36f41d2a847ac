/**
 * @internal
 * Pull sources: items, ranges and iterables as {@link Puller}s, optionally
 * cycling forever.
 */
import { ArgumentTypeError } from '../errors';
import { isPromiseLike } from './promises';
import type { Puller } from './pullPipeline';
import { describeValue } from './validate';

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

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

function rangeIterator(start: number, end: number): Iterator<number> {
  let next = start;
  return {
    next: () => (next < end ? { done: false, value: next++ } : { done: true, value: undefined }),
  };
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
    result: IteratorResult<unknown>,
  ): IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>> => {
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
    const result = iterator.next();
    return isPromiseLike(result) ? Promise.resolve(result).then(after) : after(result);
  };
  return {
    next: pull,
    return: () => iterator?.return?.(),
  };
}

/** Items `start..end-1`. */
export function rangeSource(start: number, end: number, repeat: boolean): Puller<unknown> {
  return repeating(() => rangeIterator(start, end), repeat);
}

/** The items of an array. */
export function itemsSource(items: readonly unknown[], repeat: boolean): Puller<unknown> {
  return repeating(() => items[Symbol.iterator](), repeat);
}

/** The items of what `fn()` returns; with `repeat`, `fn` is called again each cycle. */
export function functionSource(fn: () => unknown, repeat: boolean): Puller<unknown> {
  return repeating(() => openIterable(fn(), "a source function's result"), repeat);
}
