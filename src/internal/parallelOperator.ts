/**
 * @internal
 * The machinery behind `parallelMap` and `parallelFilter`: each subscription
 * feeds the upstream's items, tagged with their sequence number, to shard
 * workers that take them from one shared queue, reads the results as they
 * become ready, and emits them in upstream order (or as ready).
 */
import { Observable, map, type OperatorFunction } from 'rxjs';
import { ArgumentTypeError } from '../errors';
import { ParallelIterator, type ShardTemplate } from '../parallelIterator';
import { ObservableFeed, type OverflowPolicy } from './observableFeed';
import type { ContextOptions } from './options';
import type { ShippedFn } from './protocol';
import { MAX_BATCH } from './shardChannel';
import { describeValue, positiveInteger } from './validate';

/** Options of `parallelMap` and `parallelFilter`. */
export interface ParallelMapOptions extends ContextOptions {
  /** Worker threads (default 2). */
  readonly numShards?: number;
  /** Emit results in upstream order (default true); otherwise as they are ready. */
  readonly ordered?: boolean;
  /**
   * Items inside the workers, or done and waiting for their turn to be
   * emitted, at once (default `256 * numShards`).
   */
  readonly maxInFlight?: number;
  /**
   * Items that may wait in the calling thread for a worker before
   * `onOverflow` applies (default 1024).
   */
  readonly bufferSize?: number;
  /**
   * Past `bufferSize`: `'buffer'` (default) keeps buffering; `'error'` fails
   * with an `OverflowError`.
   */
  readonly onOverflow?: OverflowPolicy;
}

/** The checked settings of a parallel operator. */
export interface ParallelSettings {
  readonly numShards: number;
  readonly ordered: boolean;
  readonly maxInFlight: number;
  readonly bufferSize: number;
  readonly onOverflow: OverflowPolicy;
}

/** Checks the options at the call. */
export function parallelSettings(options: ParallelMapOptions): ParallelSettings {
  const numShards = positiveInteger('numShards', options.numShards ?? 2);
  if (options.ordered !== undefined && typeof options.ordered !== 'boolean') {
    throw new ArgumentTypeError(
      `Expected \`ordered\` to be a boolean, got ${describeValue(options.ordered)}`,
    );
  }
  const onOverflow = options.onOverflow ?? 'buffer';
  if (onOverflow !== 'buffer' && onOverflow !== 'error') {
    throw new ArgumentTypeError(
      `Expected \`onOverflow\` to be 'buffer' or 'error', got ${describeValue(onOverflow)}`,
    );
  }
  return {
    numShards,
    ordered: options.ordered ?? true,
    maxInFlight: positiveInteger('maxInFlight', options.maxInFlight ?? 256 * numShards),
    bufferSize: positiveInteger('bufferSize', options.bufferSize ?? 1024),
    onOverflow,
  };
}

/**
 * A parallel operator: `shipped` maps each item in a worker; `emit` turns an
 * item and its result into what to emit (or nothing).
 */
export function parallelOperator<T, R>(
  name: string,
  shipped: ShippedFn,
  settings: ParallelSettings,
  emit: (item: T, result: unknown) => { readonly keep: boolean; readonly value: R },
): OperatorFunction<T, R> {
  const perShard = Math.ceil(settings.maxInFlight / settings.numShards);
  return (source) =>
    new Observable<R>((subscriber) => {
      const waiting = new Map<number, T>();
      const done = new Map<number, unknown>();
      let seq = 0;
      let nextOut = 0;
      let inFlight = 0;
      const tagged$ = source.pipe(map((item): [number, T] => [seq++, item]));
      const feed = new ObservableFeed(tagged$, settings.numShards, {
        mode: 'shared',
        bufferSize: settings.bufferSize,
        onOverflow: settings.onOverflow,
        mayHandOut: () => inFlight < settings.maxInFlight,
        onHandOut: (pair) => {
          inFlight++;
          const [key, item] = pair as [number, T];
          waiting.set(key, item);
          return pair;
        },
      });
      const templates: ShardTemplate[] = Array.from({ length: settings.numShards }, (_, i) => ({
        source: { kind: 'feed', batch: perShard },
        repeat: false,
        ops: [{ op: 'forEach', fn: shipped, maxConcurrency: perShard, keyed: true }],
        feed: () => feed.puller(i),
      }));
      const local = new ParallelIterator<[number, unknown]>(
        `${name}[shards=${settings.numShards}]`,
        templates,
      ).local<[number, unknown]>('gatherAsync', { numAsync: 2, batchMs: 0, maxBatch: MAX_BATCH });

      const out = (key: number, result: unknown): void => {
        const item = waiting.get(key) as T;
        waiting.delete(key);
        inFlight--;
        feed.wake();
        const { keep, value } = emit(item, result);
        if (keep) subscriber.next(value);
      };
      const pump = async (): Promise<void> => {
        for (;;) {
          const next = await local.next();
          if (subscriber.closed) return;
          if (next.done) {
            subscriber.complete();
            return;
          }
          const [key, result] = next.value;
          if (!settings.ordered) {
            out(key, result);
            continue;
          }
          done.set(key, result);
          while (done.has(nextOut) && !subscriber.closed) {
            const value = done.get(nextOut);
            done.delete(nextOut);
            out(nextOut++, value);
          }
        }
      };
      pump().catch((error: unknown) => subscriber.error(feed.error ?? error));
      return () => {
        feed.close();
        local.return().catch(() => undefined);
      };
    });
}
