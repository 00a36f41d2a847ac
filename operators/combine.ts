import { concatMap, from, of, type OperatorFunction } from 'rxjs';
import { functionArg } from '../src/internal/common/validate';
import { flatten } from './flatten';

/**
 * Maps each item to an iterable with `fn` and emits the iterable's items.
 *
 * This is a map followed by {@link flatten} (Ray's `combine`). When `fn`
 * returns a promise-like, its iterable is awaited before the next item is
 * mapped, so the output keeps the source's order (`concatMap` semantics); when
 * it returns an iterable directly, its items are emitted synchronously.
 *
 * @param fn - maps one item to an iterable, or to a promise-like of one
 * @returns an operator emitting the items of `fn`'s results, in order
 * @throws {@link ArgumentTypeError} (a `TypeError`), at the call, unless `fn` is
 *   a function. The output errors when `fn` throws or its promise rejects, and
 *   with `flatten()`'s `ArgumentTypeError` when a result is not iterable.
 *
 * @example
 * ```ts
 * of(1, 2).pipe(combine((x) => [x, x * 10])); // emits 1, 10, 2, 20
 * ```
 */
export function combine<T, U>(
  fn: (item: T) => Iterable<U> | PromiseLike<Iterable<U>>,
): OperatorFunction<T, U> {
  functionArg('fn', fn);
  return (source) =>
    source.pipe(
      concatMap((item) => {
        const result = fn(item);
        return isPromiseLike(result) ? from(Promise.resolve(result)) : of(result);
      }),
      flatten<Iterable<U>>(),
    );
}

function isPromiseLike<V>(value: V | PromiseLike<V>): value is PromiseLike<V> {
  return value != null && typeof (value as { then?: unknown }).then === 'function';
}
