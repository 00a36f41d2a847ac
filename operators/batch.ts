import { bufferCount, type OperatorFunction } from 'rxjs';
import { positiveInteger } from '../src/internal/common/validate';

/**
 * Groups the source's items into arrays of `n`, in order.
 *
 * Each array is emitted as soon as it holds `n` items. When the source
 * completes, the items left over (fewer than `n`) are emitted as a last, shorter
 * array, unless there are none. An error is passed on at once and the partial
 * array is dropped.
 *
 * @param n - the number of items per array, an integer >= 1
 * @returns an operator emitting arrays of `n` items (the last may be shorter)
 * @throws {@link ArgumentRangeError} (a `RangeError`), at the call, unless `n`
 *   is an integer >= 1
 *
 * @example
 * ```ts
 * of(1, 2, 3).pipe(batch(2)); // emits [1, 2], then [3]
 * ```
 */
export function batch<T>(n: number): OperatorFunction<T, T[]> {
  return bufferCount<T>(positiveInteger('n', n));
}
