/**
 * @internal
 * The source of `LocalIterator.from`: an iterable, an async iterable, a
 * generator function or an Observable in the calling thread. It opens on the
 * first pull, and closing it calls the iterator's `return()` (a generator's
 * `finally` runs) or unsubscribes.
 */
import { isObservable, type Observable, type Subscription } from 'rxjs';
import { ArgumentTypeError } from '../../errors';
import { SharedMetrics } from '../../metrics';
import type { LocalSource } from './iteratorTypes';
import { isPromiseLike } from '../common/promises';
import type { Puller } from '../common/pullPipeline';
import { GrowthWatch } from '../common/growthWatch';
import { Queue } from '../common/queue';
import { openIterable } from '../common/sources';
import { describeValue } from '../common/validate';

type Result = IteratorResult<unknown>;
type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

const DONE: Result = { done: true, value: undefined };

/** What `LocalIterator.from` accepts. */
export type LocalSourceInput<T> =
  Iterable<T> | AsyncIterable<T> | (() => Iterable<T> | AsyncIterable<T>) | Observable<T>;

/** Checks `source` at the call; returns how to open it. */
function opener(source: unknown): () => AnyIterator | Observable<unknown> {
  if (isObservable(source)) return () => source;
  if (typeof source === 'function') {
    return () => openIterable((source as () => unknown)(), 'the source function’s result');
  }
  const s = source as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null | undefined;
  if (
    typeof s?.[Symbol.iterator] === 'function' ||
    typeof s?.[Symbol.asyncIterator] === 'function'
  ) {
    return () => openIterable(source, '`source`');
  }
  throw new ArgumentTypeError(
    `Expected \`source\` to be an iterable, an async iterable, a generator function or an Observable, got ${describeValue(source)}`,
  );
}

/** A puller over an iterator that calls its `return()` once when closed early. */
function iteratorPuller(iterator: AnyIterator): Puller<unknown> & { close(): Promise<void> } {
  let finished = false;
  const settle = (result: Result): Result => {
    if (typeof result !== 'object' || result === null) {
      finished = true;
      throw new TypeError(`Iterator result ${describeValue(result)} is not an object`);
    }
    if (result.done) finished = true;
    return result;
  };
  return {
    next: () => {
      if (finished) return DONE;
      let result: Result | PromiseLike<Result>;
      try {
        result = iterator.next();
      } catch (error) {
        finished = true;
        throw error;
      }
      if (!isPromiseLike(result)) return settle(result);
      return Promise.resolve(result).then(settle, (error: unknown) => {
        finished = true;
        throw error;
      });
    },
    close: async () => {
      if (finished) return;
      finished = true;
      await iterator.return?.();
    },
  };
}

/**
 * A puller over an Observable: it subscribes on the first pull; items pushed
 * before they are read wait in order.
 */
function observablePuller(source$: Observable<unknown>): Puller<unknown> & {
  close(): Promise<void>;
} {
  const queue = new Queue<unknown>();
  const growth = new GrowthWatch(1024);
  let end: { readonly error?: unknown } | undefined;
  let waiter: (() => void) | undefined;
  let subscription: Subscription | undefined;
  const wake = (): void => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  const nextNow = (): Result | undefined => {
    if (queue.length > 0) {
      const value = queue.shift();
      growth.shrank(queue.length);
      return { done: false, value };
    }
    if (end) {
      if ('error' in end) throw end.error;
      return DONE;
    }
    return undefined;
  };
  return {
    nextNow,
    next: async () => {
      subscription ??= source$.subscribe({
        next: (value) => {
          queue.push(value);
          growth.grew(queue.length);
          wake();
        },
        error: (error: unknown) => {
          end = { error };
          wake();
        },
        complete: () => {
          end = {};
          wake();
        },
      });
      for (;;) {
        const result = nextNow();
        if (result) return result;
        await new Promise<void>((resolve) => (waiter = resolve));
      }
    },
    close: async () => {
      end ??= {};
      subscription?.unsubscribe();
      wake();
    },
  };
}

/** The source of `LocalIterator.from(source)`. */
export function callerSource(source: unknown): LocalSource {
  const open = opener(source);
  let puller: (Puller<unknown> & { close(): Promise<void> }) | undefined;
  let closed = false;
  return {
    metrics: new SharedMetrics(),
    started: () => puller !== undefined,
    open: () => {
      if (!puller) {
        const opened = closed ? [][Symbol.iterator]() : open();
        puller = isObservable(opened)
          ? observablePuller(opened)
          : iteratorPuller(opened as AnyIterator);
      }
      return puller;
    },
    close: async () => {
      closed = true;
      await puller?.close();
    },
  };
}
