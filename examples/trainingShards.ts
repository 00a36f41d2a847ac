/**
 * Training on shards: the seed document's "Passing iterator shards to remote
 * functions" example, with pariter.
 *
 * ```sh
 * npm run build && node dist/examples/trainingShards.js [n] [batch] [steps]
 * # default: 1000000 items, batches of 1024, 5 steps per shard
 * ```
 *
 * In Ray:
 *
 * ```python
 * it = (ray.util.iter.from_range(1000000, num_shards=4, repeat=True)
 *       .batch(1024)
 *       .for_each(np.array))
 * work = [train.remote(shard) for shard in it.shards()]
 * ```
 *
 * What it shows:
 *
 * - `fromRange(n, { numShards: 4, repeat: true })` gives each of 4 worker
 *   threads a contiguous quarter of `0..n-1`, cycled forever: an endless
 *   stream of training data per shard.
 * - `.batch(b).forEach((items) => Float64Array.from(items))` runs in the
 *   workers (the `np.array` step): only finished batches cross to the trainer.
 *   Batching runs over the cycled stream, so a batch may wrap from the end of
 *   a shard's range to its start.
 * - `it.shards()` gives one `LocalIterator` per shard, and each is read by its
 *   own trainer, all at once (`Promise.all`); a shard is read by one consumer
 *   at a time. Here a trainer is an async function in this thread; the same
 *   shard iterators can also be passed to other threads.js workers.
 * - Every shard is pulled, never pushed: a worker computes a batch only when
 *   its trainer asks for one, so the endless source costs nothing ahead.
 * - A trainer that has done its steps leaves its `for await` loop with
 *   `break`, which stops that shard's worker; once all have, no thread is
 *   left and the script exits by itself.
 *
 * "Training" here is a stand-in: it sums the batch, and records which items
 * each batch held.
 *
 * @packageDocumentation
 */
import { fromRange, type LocalIterator } from '../src';

/** What one shard's trainer did. */
export interface ShardSummary {
  /** The shard index, from 0. */
  readonly shard: number;
  /** Batches trained on. */
  readonly steps: number;
  /** Each batch's first and last item, and its length, in order. */
  readonly batches: ReadonlyArray<{ first: number; last: number; size: number }>;
  /** Items trained on. */
  readonly items: number;
  /** Sum of all items trained on: the stand-in for the model update. */
  readonly sum: number;
}

/** Trains on `steps` batches of one shard, then leaves (stopping its worker). */
async function trainOnShard(
  shard: number,
  data: LocalIterator<Float64Array>,
  steps: number,
): Promise<ShardSummary> {
  const batches: Array<{ first: number; last: number; size: number }> = [];
  let items = 0;
  let sum = 0;
  if (steps > 0) {
    for await (const batch of data) {
      // the model update: here, just fold the batch in
      for (const x of batch) sum += x;
      items += batch.length;
      batches.push({
        first: batch[0] ?? NaN,
        last: batch[batch.length - 1] ?? NaN,
        size: batch.length,
      });
      if (batches.length >= steps) break;
    }
  }
  return { shard, steps: batches.length, batches, items, sum };
}

/**
 * Trains on `stepsPerShard` batches of `batch` items from each of 4 shards of
 * `fromRange(n, { numShards: 4, repeat: true })`, one trainer per shard, all
 * at once.
 *
 * @param n - items in the range, split into 4 contiguous shards (the last also
 *   takes the remainder)
 * @param batch - items per batch
 * @param stepsPerShard - batches each trainer takes before it stops
 * @returns one summary per shard, by shard index
 */
export async function train(
  n: number,
  batch: number,
  stepsPerShard: number,
): Promise<ShardSummary[]> {
  const it = fromRange(n, { numShards: 4, repeat: true })
    .batch(batch)
    .forEach((items) => Float64Array.from(items));
  return Promise.all(it.shards().map((data, shard) => trainOnShard(shard, data, stepsPerShard)));
}

async function main(): Promise<void> {
  const [n = 1_000_000, batch = 1024, steps = 5] = process.argv.slice(2).map(Number);
  if (![n, batch, steps].every((x) => Number.isInteger(x) && x >= 0) || batch < 1) {
    throw new Error('usage: node dist/examples/trainingShards.js [n] [batch >= 1] [steps]');
  }
  for (const summary of await train(n, batch, steps)) {
    const ranges = summary.batches.map(({ first, last }) => `${first}..${last}`).join(', ');
    console.log(`shard ${summary.shard}: ${summary.steps} batches (${ranges}), sum ${summary.sum}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
