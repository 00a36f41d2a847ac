/**
 * An aggregator of `impalaTree.ts`: a custom actor that reads an iterator
 * over its own subset of rollout workers (passed to its constructor, read
 * with threads of its own) and concatenates their sample batches into train
 * batches, as RLlib's IMPALA aggregation workers do.
 *
 * @packageDocumentation
 */
import type { LocalIterator, ParallelIterator } from '../src';
import { ParallelIteratorWorker, exposeActor } from '../src/worker';
import type { SampleBatch } from './impalaRollout';

/** A train batch: the sample batches one aggregator concatenated. */
export interface TrainBatch {
  /** The aggregator's id. */
  readonly aggregator: number;
  readonly samples: readonly SampleBatch[];
}

export class Aggregator extends ParallelIteratorWorker<TrainBatch> {
  /**
   * @param id - the aggregator's id
   * @param rollouts - an iterator over this aggregator's rollout workers
   * @param trainBatchSize - sample batches per train batch
   */
  constructor(id: number, rollouts: ParallelIterator<SampleBatch>, trainBatchSize: number) {
    super((): LocalIterator<TrainBatch> =>
      rollouts
        .gatherAsync()
        .batch(trainBatchSize)
        .forEach((samples) => ({ aggregator: id, samples })),
    );
  }
}

exposeActor(Aggregator);
