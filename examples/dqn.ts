/**
 * RLlib's DQN execution plan, with pariter: rollouts are stored into a
 * replay buffer in the calling thread, and a second input replays from that
 * buffer, trains and updates the target network. The two run "concurrently"
 * as a round-robin `union`; the replay input is not ready until the buffer
 * has enough experience.
 *
 * ```sh
 * npm run build && node dist/examples/dqn.js [trainSteps] [weights]
 * # default: 20 train steps; weights "1,*" or "1,0.5" (the default)
 * ```
 *
 * In RLlib:
 *
 * ```python
 * rollouts = ParallelRollouts(workers, mode="bulk_sync")
 * store_op = rollouts.for_each(StoreToReplayBuffer(local_buffer=buffer))
 * replay_op = Replay(local_buffer=buffer) \
 *     .for_each(TrainOneStep(workers)) \
 *     .for_each(UpdateTargetNetwork(workers, target_update_freq))
 * train_op = Concurrently([store_op, replay_op], mode="round_robin",
 *                         output_indexes=[1], round_robin_weights=[1, 0.5])
 * ```
 *
 * What it shows:
 *
 * - Two fake rollout workers as 2 shards (an endless generator per shard,
 *   running in worker threads, 4 steps per batch, rewards around 1), read
 *   with `gatherSync()`: each worker's batch in round-robin order (RLlib's
 *   `bulk_sync` concatenates each round's batches, which
 *   `batchAcrossShards()` gives).
 * - `LocalIterator.from` over a replay buffer in the calling thread that
 *   yields `NOT_READY` until it holds `learningStarts` steps (RLlib's
 *   `Replay`), and afterwards while it has nothing new to replay.
 * - `union(..., { deterministic: true, roundRobinWeights })` as RLlib's
 *   `Concurrently(mode="round_robin")`: `[1, 0.5]` trains on a replayed
 *   batch every other stored batch on average (Ray's randomised rounding),
 *   `[1, '*']` trains on whatever the buffer has ready after each store
 *   step, never waiting for it.
 * - Metrics: counters of steps sampled and trained, and of target updates,
 *   read through `sharedMetrics` for the report.
 *
 * The "policy" is one Q-value, trained towards the mean reward of replayed
 * batches; the target network is a copy of it, updated every
 * `targetUpdateFreq` train steps.
 *
 * @packageDocumentation
 */
import { fromItems, getMetrics, LocalIterator, NOT_READY, type NotReady } from '../src';

/** A sample batch from a rollout worker. */
export interface SampleBatch {
  readonly worker: number;
  readonly steps: number;
  readonly rewards: readonly number[];
}

/** What one train step reports. */
export interface TrainResult {
  readonly trainStep: number;
  readonly q: number;
  readonly targetQ: number;
  readonly stepsSampled: number;
  readonly stepsTrained: number;
}

/** A replay buffer in the calling thread, as RLlib's `LocalReplayBuffer` (fake). */
export class ReplayBuffer {
  private readonly batches: SampleBatch[] = [];
  private stored = 0;
  private replayed = 0;
  private seed = 1;

  constructor(
    readonly learningStarts: number,
    readonly capacity = 64,
  ) {}

  /** Steps stored so far. */
  get size(): number {
    return this.stored;
  }

  add(batch: SampleBatch): void {
    this.batches.push(batch);
    if (this.batches.length > this.capacity) this.batches.shift();
    this.stored += batch.steps;
  }

  /**
   * A batch mixed from random stored ones, or `NOT_READY` before
   * `learningStarts` steps and while every stored step was replayed once.
   */
  replay(): SampleBatch | NotReady {
    if (this.stored < this.learningStarts || this.replayed >= this.stored) return NOT_READY;
    const rewards: number[] = [];
    for (let i = 0; i < 2; i++) {
      this.seed = (this.seed * 48271) % 2147483647;
      const batch = this.batches[this.seed % this.batches.length] as SampleBatch;
      rewards.push(...batch.rewards);
    }
    this.replayed += rewards.length;
    return { worker: -1, steps: rewards.length, rewards };
  }
}

/** What a run did. */
export interface DQNResult {
  readonly results: TrainResult[];
  /** Items the replay input gave before the buffer was ready: must be 0. */
  readonly trainedBeforeLearningStarts: number;
  readonly targetUpdates: number;
}

/**
 * Runs the DQN plan until `trainSteps` train steps, with round-robin
 * weights `weights` for [store, replay].
 */
export async function runDQN(
  trainSteps = 20,
  weights: readonly [number, number | '*'] = [1, 0.5],
  { learningStarts = 32, targetUpdateFreq = 5 } = {},
): Promise<DQNResult> {
  const buffer = new ReplayBuffer(learningStarts);
  let q = 0;
  let targetQ = 0;
  let trainedBeforeLearningStarts = 0;

  const rollouts = fromItems([0, 1], 2)
    .combine(function* (worker: number): Generator<SampleBatch> {
      for (let i = 0; ; i++) {
        yield { worker, steps: 4, rewards: [1, 0.5, 1.5, (i % 3) / 2 + 0.5] };
      }
    })
    .gatherSync(); // ParallelRollouts(workers), one batch at a time

  const storeOp = rollouts.forEach((batch: SampleBatch) => {
    buffer.add(batch); // StoreToReplayBuffer
    getMetrics().counters.stepsSampled! += batch.steps;
    return { op: 'store' as const, steps: batch.steps };
  });

  const replayOp = LocalIterator.from<SampleBatch>(
    function* () {
      for (;;) yield buffer.replay(); // Replay(local_buffer)
    },
    { name: 'replay' },
  )
    .forEach((batch): TrainResult => {
      // TrainOneStep: move Q towards the batch's mean reward, bootstrapped from the target.
      if (buffer.size < learningStarts) trainedBeforeLearningStarts++;
      const m = getMetrics();
      const mean = batch.rewards.reduce((a, b) => a + b, 0) / batch.rewards.length;
      q += 0.5 * (mean + 0.1 * targetQ - q);
      m.counters.stepsTrained! += batch.steps;
      m.counters.trainSteps! += 1;
      return {
        trainStep: m.counters.trainSteps ?? 0,
        q,
        targetQ,
        stepsSampled: m.counters.stepsSampled ?? 0,
        stepsTrained: m.counters.stepsTrained ?? 0,
      };
    })
    .forEach((result) => {
      // UpdateTargetNetwork
      if (result.trainStep % targetUpdateFreq === 0) {
        targetQ = q;
        getMetrics().counters.targetUpdates! += 1;
      }
      return { op: 'train' as const, result: { ...result, targetQ } };
    });

  // Concurrently([store_op, replay_op], mode="round_robin", output_indexes=[1])
  const trainOp = storeOp
    .union(replayOp, { deterministic: true, roundRobinWeights: [...weights] })
    .filter((out) => out.op === 'train')
    .forEach((out) => (out as { result: TrainResult }).result);

  try {
    const results = await trainOp.take(trainSteps);
    return {
      results,
      trainedBeforeLearningStarts,
      targetUpdates: trainOp.sharedMetrics.get().counters.targetUpdates ?? 0,
    };
  } finally {
    await trainOp.close();
  }
}

async function main(): Promise<void> {
  const [steps = '20', weights = '1,0.5'] = process.argv.slice(2);
  const trainSteps = Number(steps);
  const [store, replay] = weights.split(',');
  const parsed: [number, number | '*'] = [Number(store), replay === '*' ? '*' : Number(replay)];
  if (!Number.isInteger(trainSteps) || trainSteps < 1 || weights.split(',').length !== 2) {
    throw new Error(
      'usage: node dist/examples/dqn.js [trainSteps >= 1] [weights, e.g. 1,0.5 or 1,*]',
    );
  }
  const { results, targetUpdates } = await runDQN(trainSteps, parsed);
  for (const r of results) {
    console.log(
      `train step ${r.trainStep}: q ${r.q.toFixed(4)}, target ${r.targetQ.toFixed(4)}, sampled ${r.stepsSampled}, trained ${r.stepsTrained}`,
    );
  }
  console.log(`target network updates: ${targetUpdates}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
