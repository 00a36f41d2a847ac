/**
 * @internal
 * The `forEach` operator: a map whose function may return a promise, running
 * at most `maxConcurrency` calls at once (0 = unbounded).
 *
 * With a limit of 1 it keeps order and runs one call at a time (like
 * `concatMap`); above 1 results come in completion order (like `mergeMap`).
 * Its load is reported to the pipeline's {@link Gate} so that the pipeline
 * reads no item that the operator could not start.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Gate } from './gate';
import { isPromiseLike } from './promises';

/** How many items an unbounded `forEach` may hold per shard, to keep memory bounded. */
export const UNBOUNDED_LIMIT = 1024;

export function mapAsync<T, R>(
  fn: (item: T) => R | PromiseLike<R>,
  maxConcurrency: number,
  gate?: Gate,
): OperatorFunction<T, R> {
  const limit = maxConcurrency === 0 ? UNBOUNDED_LIMIT : maxConcurrency;
  return (source) =>
    new Observable<R>((subscriber) => {
      const slot = gate?.slot(limit);
      const queue: T[] = [];
      let running = 0;
      let upstreamDone = false;

      const report = (): void => slot?.set(running + queue.length);
      const settle = (): void => {
        while (queue.length > 0 && running < limit && !subscriber.closed) start(queue.shift() as T);
        if (upstreamDone && running === 0 && queue.length === 0) subscriber.complete();
        report();
      };
      const start = (item: T): void => {
        let result: R | PromiseLike<R>;
        try {
          result = fn(item);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        if (!isPromiseLike(result)) {
          subscriber.next(result);
          return;
        }
        running++;
        Promise.resolve(result).then(
          (value) => {
            if (subscriber.closed) return;
            running--;
            subscriber.next(value);
            settle();
          },
          (error: unknown) => subscriber.error(error),
        );
      };

      const subscription = source.subscribe({
        next: (item) => {
          if (running < limit && queue.length === 0) start(item);
          else queue.push(item);
          report();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          upstreamDone = true;
          settle();
        },
      });
      return () => {
        subscription.unsubscribe();
        queue.length = 0;
        slot?.release();
      };
    });
}
