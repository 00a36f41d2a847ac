import { concatWith, defer, filter, map, Observable, tap, type OperatorFunction } from 'rxjs';
import { ArgumentRangeError } from '../src/errors';
import { createRandom, takeRandom } from '../src/internal/common/random';
import { describeValue, positiveInteger } from '../src/internal/common/validate';

/**
 * Shuffles the source's items through a buffer of `shuffleBufferSize` items
 * (Ray's buffered shuffle).
 *
 * Each source item is added to the buffer; whenever the buffer then holds
 * `shuffleBufferSize` items, one item chosen at random is removed from it and
 * emitted. When the source completes, the buffer is emptied in random order.
 * An error is passed on at once and the buffered items are dropped. A buffer
 * size of 1 keeps the source's order; a larger one mixes items further apart.
 *
 * With a `seed` the order is deterministic: every subscription starts a fresh
 * generator from the seed, so the same input gives the same output each time.
 *
 * @param shuffleBufferSize - how many items to hold, an integer >= 1
 * @param seed - a finite number for a repeatable order; `undefined` for `Math.random`
 * @returns an operator emitting the same items in a shuffled order
 * @throws {@link ArgumentRangeError} (a `RangeError`), at the call, unless
 *   `shuffleBufferSize` is an integer >= 1 and `seed` is a finite number or
 *   `undefined`
 *
 * @example
 * ```ts
 * of(1, 2, 3, 4).pipe(shuffle(2, 42)); // emits 2, 1, 4, 3: a permutation, the same every time
 * ```
 */
export function shuffle<T>(shuffleBufferSize: number, seed?: number): OperatorFunction<T, T> {
  const size = positiveInteger('shuffleBufferSize', shuffleBufferSize);
  if (seed !== undefined && !(typeof seed === 'number' && Number.isFinite(seed))) {
    throw new ArgumentRangeError(
      `Expected \`seed\` to be a finite number or undefined, got ${describeValue(seed)}`,
    );
  }
  return (source) =>
    defer(() => {
      const random = createRandom(seed);
      const buffer: T[] = [];
      const removeRandom = (): T => takeRandom(buffer, random);
      const drain = new Observable<T>((subscriber) => {
        while (buffer.length > 0 && !subscriber.closed) {
          subscriber.next(removeRandom());
        }
        subscriber.complete();
      });
      return source.pipe(
        tap((item) => buffer.push(item)),
        filter(() => buffer.length >= size),
        map(() => removeRandom()),
        concatWith(drain),
      );
    });
}
