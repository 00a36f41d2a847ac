import { concatMap, Observable, type OperatorFunction } from 'rxjs';
import { flattenable } from '../src/internal/common/validate';

/**
 * The type of the items {@link flatten} emits for upstream items of type `T`:
 * the element type of each iterable in `T`, `never` for the rest.
 *
 * @example
 * ```ts
 * type A = FlattenItem<number[] | Set<string>>; // number | string
 * ```
 */
export type FlattenItem<T> = T extends Iterable<infer U> ? U : never;

/**
 * Emits the items of each iterable the source emits, one by one.
 *
 * Any synchronous iterable works: arrays, Sets, Maps (their entries), strings
 * (their characters), generators. The items of one iterable are emitted
 * synchronously and in order, before the next source item is handled. If the
 * subscriber unsubscribes mid-way, iteration stops (and the iterator's `return()`
 * runs, so a generator's `finally` blocks run).
 *
 * @returns an operator emitting the items of the source's iterables
 * @throws nothing at the call; the output errors with an {@link ArgumentTypeError}
 *   when a source item is not iterable, and with whatever an iterator throws
 *
 * @example
 * ```ts
 * of([1, 2], new Set([3])).pipe(flatten()); // emits 1, 2, 3
 * ```
 */
export function flatten<T>(): OperatorFunction<T, FlattenItem<T>> {
  return concatMap(itemsOf);
}

/** Emits the elements of one source item synchronously; stops when unsubscribed. */
function itemsOf<T>(item: T): Observable<FlattenItem<T>> {
  return new Observable((subscriber) => {
    for (const value of flattenable(item) as Iterable<FlattenItem<T>>) {
      subscriber.next(value);
      if (subscriber.closed) {
        return; // leaving the loop calls the iterator's return()
      }
    }
    subscriber.complete();
  });
}
