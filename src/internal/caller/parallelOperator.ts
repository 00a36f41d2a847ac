/**
 * @internal
 * The machinery behind `parallelMap` and `parallelFilter`: each subscription
 * feeds the upstream's items, tagged with their sequence number, to shard
 * workers that take them from one shared queue, reads the results as they
 * become ready, and emits them in upstream order (or as ready).
 */
import { Observable, map, type OperatorFunction } from 'rxjs';
import { ArgumentTypeError } from '../../errors';
import { ParallelIterator, fedShards } from '../../parallelIterator';
import { ObservableFeed, overflowSettings, type OverflowOptions } from './observableFeed';
import type { ContextOptions } from '../common/options';
import type { ShippedFn } from '../wire/protocol';
import { MAX_BATCH } from './shardChannel';
import { describeValue, positiveInteger, shardCount, signalOption } from '../common/validate';

/** Options of `parallelMap` and `parallelFilter`. */
export interface ParallelMapOptions extends ContextOptions, OverflowOptions {
  /**
   * Aborting it stops the workers of every subscription and errors the
   * output with the signal's reason (an `AbortError` `DOMException` by
   * default). A subscription made after it aborted errors at once, without
   * starting threads or subscribing to the source.
   */
  readonly signal?: AbortSignal;
  /** Worker threads (default 2). */
  readonly numShards?: number;
  /** Emit results in upstream order (default true); otherwise as they are ready. */
  readonly ordered?: boolean;
  /**
   * Items inside the workers, or done and waiting for their turn to be
   * emitted, at once (default `256 * numShards`).
   */
  readonly maxInFlight?: number;
}

/** The keys of {@link ParallelMapOptions}. */
export const PARALLEL_MAP_KEYS = [
  'numShards',
  'ordered',
  'maxInFlight',
  'context',
  'bufferSize',
  'onOverflow',
  'signal',
] as const satisfies ReadonlyArray<keyof ParallelMapOptions>;

/** The checked settings of a parallel operator. */
export interface ParallelSettings extends Required<OverflowOptions> {
  readonly numShards: number;
  readonly ordered: boolean;
  readonly maxInFlight: number;
  readonly signal: AbortSignal | undefined;
}

/** Checks the options at the call. */
export function parallelSettings(options: ParallelMapOptions): ParallelSettings {
  const numShards = shardCount('numShards', options.numShards ?? 2);
  if (options.ordered !== undefined && typeof options.ordered !== 'boolean') {
    throw new ArgumentTypeError(
      `Expected \`ordered\` to be a boolean, got ${describeValue(options.ordered)}`,
    );
  }
  return {
    numShards,
    ordered: options.ordered ?? true,
    maxInFlight: positiveInteger('maxInFlight', options.maxInFlight ?? 256 * numShards),
    signal: signalOption(options.signal),
    ...overflowSettings(options),
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
      const op = { op: 'forEach', fn: shipped, maxConcurrency: perShard, keyed: true } as const;
      const templates = fedShards(settings.numShards, () => feed, perShard).map((shard) => ({
        ...shard,
        ops: [op],
      }));
      const local = new ParallelIterator<[number, unknown]>(
        `${name}[shards=${settings.numShards}]`,
        templates,
      ).local<Array<[number, unknown]>>(
        'chunks',
        { numAsync: 2, batchMs: 0, maxBatch: MAX_BATCH },
        undefined,
        settings.signal,
      );

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
          for (const [key, result] of next.value) {
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
        }
      };
      pump().catch((error: unknown) => subscriber.error(feed.error ?? error));
      return () => {
        feed.close();
        local.return().catch(() => undefined);
      };
    });
}
