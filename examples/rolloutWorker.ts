/**
 * A fake RLlib rollout worker, as a custom actor for `examples/a3c.ts`: a
 * "policy" that is one number, `weights`, and an environment whose best
 * policy is `TARGET`. Each item the actor produces is a sample batch with a
 * policy gradient that points from its current weights to the target, so a
 * learner that applies the gradients and sends the new weights back makes
 * every worker's policy converge to `TARGET`.
 *
 * @packageDocumentation
 */
import { ParallelIteratorWorker, exposeActor } from '../src/worker';

/** The weights the fake environment rewards most. */
export const TARGET = 1;

/** Steps of experience in one sample batch. */
export const BATCH_STEPS = 8;

/** What a rollout worker produces: a sample batch and its gradient. */
export interface GradientBatch {
  /** The worker's index, to check that updates go back to the right worker. */
  readonly worker: number;
  /** How many weight updates this worker had received when it computed this. */
  readonly weightsVersion: number;
  /** The weights the batch was sampled with. */
  readonly weights: number;
  /** Environment steps in the batch. */
  readonly count: number;
  /** The batch's mean reward: higher near the target. */
  readonly meanReward: number;
  /** The policy gradient: towards the target. */
  readonly grad: number;
}

export class RolloutWorker extends ParallelIteratorWorker<GradientBatch> {
  weights = 0;
  version = 0;

  constructor(readonly index: number) {
    super(function* (this: RolloutWorker) {
      for (;;) {
        const error = TARGET - this.weights;
        yield {
          worker: this.index,
          weightsVersion: this.version,
          weights: this.weights,
          count: BATCH_STEPS,
          meanReward: -error * error,
          grad: error,
        };
      }
    });
  }

  /** Receives the learner's new weights (RLlib's `set_weights`). */
  setWeights(weights: number): void {
    this.weights = weights;
    this.version++;
  }

  /** How many updates this worker received, and its weights. */
  stats(): { readonly version: number; readonly weights: number } {
    return { version: this.version, weights: this.weights };
  }
}

exposeActor(RolloutWorker);
