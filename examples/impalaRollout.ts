/**
 * A rollout worker of `impalaTree.ts`: a custom actor that produces sample
 * batches with the policy weights it was last given (a fake numeric policy).
 *
 * @packageDocumentation
 */
import { ParallelIteratorWorker, exposeActor } from '../src/worker';

/** One sample batch, as a rollout worker produces it. */
export interface SampleBatch {
  /** The rollout worker's id. */
  readonly worker: number;
  /** Its step, from 0. */
  readonly step: number;
  /** The policy weights it sampled with. */
  readonly weights: number;
  /** The fake policy's output: `weights * 100 + step`. */
  readonly value: number;
}

export class RolloutWorker extends ParallelIteratorWorker<SampleBatch> {
  private weights = 0;

  /**
   * @param id - the worker's id
   * @param steps - sample batches it produces before it ends
   */
  constructor(id: number, steps: number) {
    super(function* (this: RolloutWorker) {
      for (let step = 0; step < steps; step++) {
        yield { worker: id, step, weights: this.weights, value: this.weights * 100 + step };
      }
    });
  }

  /** Takes new policy weights (the learner's broadcast). */
  setWeights(weights: number): void {
    this.weights = weights;
  }
}

exposeActor(RolloutWorker);
