/**
 * @internal
 * The one place that picks how a list of stages runs over a pull source,
 * for shards and `LocalIterator`s alike: as a chain of pull stages when the
 * stages allow it (no RxJS is loaded for it), else as the gated RxJS
 * pipeline. Both give the same items and answer `pull` the same way.
 */
import { DirectPipeline } from './directPipeline';
import type { Pulled, Puller } from './pullPipeline';
import { pullable, pullStages } from './pullStages';
import type { Stage } from './stages';

/** What answers pulls of up to `n` items (see `PullPipeline.pull`). */
export interface Pipeline<T> {
  pull(n: number, batchMs?: number): Promise<Pulled<T>>;
  close(): void;
}

/** The pipeline of `stages` over `source`. */
export function openPipeline<T>(source: Puller<unknown>, stages: readonly Stage[]): Pipeline<T> {
  if (pullable(stages)) return new DirectPipeline(pullStages(source, stages)) as Pipeline<T>;
  // RxJS is loaded only for a `transform` or a concurrent `forEach`.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PullPipeline } = require('./pullPipeline') as typeof import('./pullPipeline');
  const { pipelineOf } = require('./stages') as typeof import('./stages');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return new PullPipeline(source, pipelineOf<T>(stages));
}
