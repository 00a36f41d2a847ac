import type { OperatorFunction } from 'rxjs';
import type { ItemFn } from '../src/internal/common/options';
import {
  parallelOperator,
  PARALLEL_MAP_KEYS,
  parallelSettings,
  type ParallelMapOptions,
} from '../src/internal/caller/parallelOperator';
import { shipFunction } from '../src/internal/wire/shipping';
import { checkOptions } from '../src/internal/common/validate';

/**
 * Keeps the items of the source for which `fn`, run in worker threads,
 * returns a truthy value (or a promise of one).
 *
 * It works like {@link parallelMap} — the same options, ordering, bounds and
 * errors — but emits the source's own items, not what `fn` returns. The
 * items themselves stay in the calling thread only while they are in flight.
 * A type guard narrows the item type, as RxJS's `filter` does.
 *
 * @param fn - the predicate, shipped to the workers by its source text
 * @param options - as for `parallelMap`, `signal` included
 * @returns the operator
 * @throws ArgumentTypeError or ArgumentRangeError for bad arguments, at the call
 * @example
 * ```ts
 * range(0, 10).pipe(parallelFilter((x) => x % 3 === 0)); // emits 0, 3, 6, 9
 * of(1, null, 2).pipe(parallelFilter((x): x is number => x !== null)); // an Observable<number>
 * ```
 */
export function parallelFilter<T, S extends T>(
  fn: (item: T) => item is S,
  options?: ParallelMapOptions,
): OperatorFunction<T, S>;
export function parallelFilter<T>(
  fn: ItemFn<T, unknown>,
  options?: ParallelMapOptions,
): OperatorFunction<T, T>;
export function parallelFilter<T>(
  fn: ItemFn<T, unknown>,
  options: ParallelMapOptions = {},
): OperatorFunction<T, T> {
  checkOptions(options, PARALLEL_MAP_KEYS);
  const settings = parallelSettings(options);
  const shipped = shipFunction('fn', fn, options.context);
  return parallelOperator<T, T>('parallelFilter', shipped, settings, (item, pass) => ({
    keep: Boolean(pass),
    value: item,
  }));
}
