import type { OperatorFunction } from 'rxjs';
import type { Callable, ItemFn } from '../src/internal/common/options';
import {
  parallelOperator,
  PARALLEL_MAP_KEYS,
  parallelSettings,
  type ParallelMapOptions,
} from '../src/internal/caller/parallelOperator';
import { shipFunction } from '../src/internal/wire/shipping';
import { checkOptions } from '../src/internal/common/validate';

export type { ParallelMapOptions } from '../src/internal/caller/parallelOperator';

/**
 * Maps each item of the source with `fn` in worker threads and emits the
 * results: in upstream order when `ordered` (the default), else as they are
 * ready.
 *
 * `fn` is shipped to the workers by its source text like any shard function
 * (it sees its argument, globals, `require`, and the names in `context`); it
 * may return a promise. Items go to whichever worker is free. At most
 * `maxInFlight` items (default `256 * numShards`) are inside the workers or
 * waiting for their turn to be emitted; the rest wait in a queue in the
 * calling thread, which grows without bound under `onOverflow: 'buffer'` (the
 * default) and fails with an `OverflowError` past `bufferSize` (default 1024)
 * under `onOverflow: 'error'`. Each subscription starts its own workers, on
 * the first item; unsubscribing, an error or completion stops them. An error
 * in `fn` errors the output with a `ShardError`; an error of the source
 * passes through as it is.
 *
 * @param fn - the mapping function, or a stateful callable (one state per worker)
 * @param options - `numShards` (2), `ordered` (true), `maxInFlight`,
 *   `bufferSize`, `onOverflow`, `context`, `signal` (aborting it stops the
 *   workers and errors the output with the signal's reason)
 * @returns the operator
 * @throws ArgumentTypeError when `fn` cannot be shipped or an option has the
 *   wrong type (`signal` not an `AbortSignal`); ArgumentRangeError for a count that is not a positive integer
 * @example
 * ```ts
 * range(0, 200).pipe(parallelMap((x) => x * k, { numShards: 3, context: { k: 2 } }));
 * // emits 0, 2, 4, …, 398 in order
 * ```
 */
export function parallelMap<T, R>(
  fn: (item: T) => R | PromiseLike<R>,
  options?: ParallelMapOptions,
): OperatorFunction<T, R>;
export function parallelMap<T, R>(
  fn: Callable<T, R>,
  options?: ParallelMapOptions,
): OperatorFunction<T, R>;
export function parallelMap<T, R>(
  fn: ItemFn<T, R>,
  options: ParallelMapOptions = {},
): OperatorFunction<T, R> {
  checkOptions(options, PARALLEL_MAP_KEYS);
  const settings = parallelSettings(options);
  const shipped = shipFunction('fn', fn, options.context);
  return parallelOperator<T, R>('parallelMap', shipped, settings, (_item, result) => ({
    keep: true,
    value: result as R,
  }));
}
