/**
 * @internal
 * The transformations of a pipeline, with live functions, and how each
 * becomes an RxJS operator on a gated pull pipeline. Shards build them from
 * their plan after loading the shipped functions; a `LocalIterator` holds
 * them directly.
 */
import * as rx from 'rxjs';
import { filter, type Observable, type OperatorFunction } from 'rxjs';
import { batch } from '../../../operators/batch';
import { flatten } from '../../../operators/flatten';
import { shuffle } from '../../../operators/shuffle';
import { ArgumentTypeError } from '../../errors';
import type { Gate } from './gate';
import { mapAsync } from './mapAsync';
import { isPromiseLike } from './promises';
import type { PipelineBuilder } from './pullPipeline';
import { describeValue } from './validate';

type Fn = (item: unknown) => unknown;

/** A transform function: the source Observable and the `rxjs` module in, an Observable out. */
export type TransformFn = (source$: Observable<unknown>, rxjs: typeof rx) => unknown;

/** One transformation with its function loaded. */
export type Stage =
  | {
      readonly op: 'forEach';
      readonly fn: Fn;
      readonly maxConcurrency: number;
      /** The user's function, for shipping to another thread. */
      readonly original?: unknown;
    }
  | { readonly op: 'filter'; readonly fn: Fn; readonly original?: unknown }
  | { readonly op: 'batch'; readonly n: number }
  | { readonly op: 'flatten' }
  | { readonly op: 'shuffle'; readonly size: number; readonly seed: number | undefined }
  | { readonly op: 'transform'; readonly fn: TransformFn };

const SKIP = Symbol('skip');

function operatorFor(stage: Stage, gate: Gate): OperatorFunction<unknown, unknown> {
  switch (stage.op) {
    case 'forEach':
      return mapAsync(stage.fn, stage.maxConcurrency, gate);
    case 'filter': {
      const keep = (item: unknown) => (pass: unknown) => (pass ? item : SKIP);
      return (source) =>
        source.pipe(
          mapAsync(
            (item) => {
              const pass = stage.fn(item);
              return isPromiseLike(pass)
                ? Promise.resolve(pass).then(keep(item))
                : keep(item)(pass);
            },
            1,
            gate,
          ),
          filter((item) => item !== SKIP),
        );
    }
    case 'batch':
      return batch(stage.n);
    case 'flatten':
      return flatten() as OperatorFunction<unknown, unknown>;
    case 'shuffle':
      return shuffle(stage.size, stage.seed);
    case 'transform':
      gate.opaque = true;
      return (source) => {
        const out = stage.fn(source, rx);
        if (!rx.isObservable(out)) {
          throw new ArgumentTypeError(
            `Expected the \`transform\` function to return an Observable, got ${describeValue(out)}`,
          );
        }
        return out as Observable<unknown>;
      };
  }
}

/** The pipeline builder for a list of stages. */
export function pipelineOf<T>(stages: readonly Stage[]): PipelineBuilder<T> {
  return (source$, gate) =>
    stages.reduce<Observable<unknown>>(
      (stream, stage) => stream.pipe(operatorFor(stage, gate)),
      source$,
    ) as Observable<T>;
}
