/**
 * IMPALA's tree aggregation, with pariter: rollout actors sample, aggregator
 * actors each read an iterator over their own subset of rollout actors and
 * build train batches, and the learner reads all aggregators through one
 * gather (RLlib's `ImpalaTrainer` with `num_aggregation_workers`).
 *
 * ```sh
 * npm run build && node dist/examples/impalaTree.js [steps] [trainBatchSize]
 * # default: 6 sample batches per rollout worker, 2 per train batch
 * ```
 *
 * In Ray:
 *
 * ```python
 * workers = [RolloutWorker.remote(i) for i in range(4)]
 * aggregators = [Aggregator.remote(from_actors(workers[0:2])),
 *                Aggregator.remote(from_actors(workers[2:4]))]
 * train_batches = from_actors(aggregators).gather_async()
 * ```
 *
 * What it shows:
 *
 * - `spawnActor('./impalaAggregator', id, fromActors([r0, r1]), size)`: an
 *   iterator over actors is a constructor argument of another actor, which
 *   reads it with threads of its own; sample batches go from the rollout
 *   actors to their aggregator without passing through this thread.
 * - `fromActors(aggregators).gatherAsync()` feeds the learner from both
 *   aggregators at once; `zipWithSourceActor()` says which one each train
 *   batch came from, and the learner sends new weights to that aggregator's
 *   rollout workers (RLlib's weight broadcast).
 * - Each rollout actor has one reader, its aggregator: reading it from here
 *   as well would be a `UsageError`.
 *
 * The policy is a fake number: each train step adds 1 to the weights.
 *
 * @packageDocumentation
 */
import { fromActors, spawnActor, type ActorHandle } from '../src';
import type { Aggregator, TrainBatch } from './impalaAggregator';
import type { RolloutWorker } from './impalaRollout';

/** What the learner did. */
export interface ImpalaSummary {
  /** Train batches, in the order the learner got them. */
  readonly trainBatches: readonly TrainBatch[];
  /** The learner's weights at the end: one more per train batch. */
  readonly weights: number;
}

/**
 * Runs the tree: 4 rollout workers of `steps` sample batches each, 2
 * aggregators of 2 workers each, one learner. Every actor is terminated at
 * the end.
 */
export async function runImpalaTree(steps = 6, trainBatchSize = 2): Promise<ImpalaSummary> {
  // Extension-less: the compiled `.js` next to this file, or the `.ts` under ts-node.
  const rollouts = await Promise.all(
    [0, 1, 2, 3].map((id) => spawnActor<typeof RolloutWorker>('./impalaRollout', id, steps)),
  );
  const actors: Array<{ terminate(): Promise<void> }> = [...rollouts];
  try {
    const subsets = [rollouts.slice(0, 2), rollouts.slice(2, 4)];
    const aggregators = await Promise.all(
      subsets.map((subset, id) =>
        spawnActor<typeof Aggregator>('./impalaAggregator', id, fromActors(subset), trainBatchSize),
      ),
    );
    actors.push(...aggregators);
    const workersOf = new Map<
      unknown,
      ReadonlyArray<ActorHandle<unknown> & { setWeights(w: number): Promise<void> }>
    >(aggregators.map((aggregator, i) => [aggregator, subsets[i]!]));
    let weights = 0;
    const trainBatches: TrainBatch[] = [];
    for await (const [aggregator, batch] of fromActors(aggregators)
      .gatherAsync()
      .zipWithSourceActor()) {
      trainBatches.push(batch);
      weights += 1; // the learner's update
      await Promise.all((workersOf.get(aggregator) ?? []).map((w) => w.setWeights(weights)));
    }
    return { trainBatches, weights };
  } finally {
    await Promise.all(actors.map((actor) => actor.terminate()));
  }
}

async function main(): Promise<void> {
  const [steps = 6, size = 2] = process.argv.slice(2).map(Number);
  if (![steps, size].every((x) => Number.isInteger(x) && x >= 1)) {
    throw new Error('usage: node dist/examples/impalaTree.js [steps >= 1] [trainBatchSize >= 1]');
  }
  const { trainBatches, weights } = await runImpalaTree(steps, size);
  for (const batch of trainBatches) {
    const samples = batch.samples.map((s) => `w${s.worker}#${s.step}@${s.weights}`).join(' ');
    console.log(`aggregator ${batch.aggregator}: ${samples}`);
  }
  console.log(`train batches: ${trainBatches.length}, final weights: ${weights}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
