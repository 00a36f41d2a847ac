/**
 * Actors that read iterators: an actor's constructor and method arguments may
 * be a `ParallelIterator`, a shard or a `LocalIterator` made from a gather,
 * also over other actors, which the actor reads with threads of its own
 * (Ray's tree aggregation); `examples/impalaTree.ts` (compiled: run
 * `npm run build` first) runs IMPALA's tree. An actor read by another actor
 * has that one reader.
 *
 * Every test is serial: they count the threads of this process.
 */
import test from 'ava';
import * as path from 'node:path';
import { fromActors, fromRange, spawnActor, UsageError } from 'pariter';
import type { ParallelIteratorWorker } from 'pariter/worker';
import { spawn, Thread, Worker } from 'threads';
import { runImpalaTree } from '../dist/examples/impalaTree';
import { threadBaseline } from './helpers/baseline';
import { runNode } from './helpers/child';
import { delay, HANG_CAP_MS, within } from './helpers/hang';

/** spec/fixtures/iter-reader.js, as the calling thread sees it. */
interface IterReader extends ParallelIteratorWorker<unknown> {
  kind(value: unknown): string;
  items(it: unknown): unknown[];
  nested(arg: { its: unknown[]; n: number }): { items: unknown[]; n: number };
  start(it: unknown): unknown;
  rest(): unknown[];
}

/** spec/fixtures/comp-actor.js. */
interface CompActor extends ParallelIteratorWorker<unknown> {
  isWaiting(): boolean;
  release(): void;
}

/** spec/fixtures/rollouts.js. */
interface Rollouts extends ParallelIteratorWorker<number> {
  setWeights(w: number): void;
}

const { assertBackToBaseline } = threadBaseline();

const spawnReader = (...args: unknown[]) =>
  within(spawnActor<IterReader>('./fixtures/iter-reader.js', ...args), 'spawnActor(iter-reader)');

test.serial(
  'an actor method reads the iterators it is given, with threads of its own',
  async (t) => {
    const reader = await spawnReader();
    try {
      const it = fromRange(10, 2);
      t.is(await reader.kind(it), 'ParallelIterator');
      t.is(await reader.kind(it.gatherSync()), 'LocalIterator');
      t.deepEqual(
        await within(reader.items(it), 'a ParallelIterator'),
        [0, 5, 1, 6, 2, 7, 3, 8, 4, 9],
      );
      t.deepEqual(await within(reader.items(it.getShard(1)), 'a shard'), [5, 6, 7, 8, 9]);
      t.deepEqual(
        await within(
          reader.items(
            it
              .forEach((x) => x * 2)
              .gatherSync()
              .filter((x) => x % 4 === 0),
          ),
          'a LocalIterator with local steps',
        ),
        [0, 12, 4, 16, 8],
      );
      t.deepEqual(await within(reader.nested({ its: [fromRange(3, 1)], n: 7 }), 'nested'), {
        items: [0, 1, 2],
        n: 7,
      });
    } finally {
      await within(reader.terminate(), 'terminate()');
    }
    await assertBackToBaseline(t, 'after the actor and its own threads');
  },
);

test.serial("an actor's constructor takes an iterator over actors as its source", async (t) => {
  const r1 = await within(spawnActor<Rollouts>('./fixtures/rollouts.js', [1, 2, 3]), 'r1');
  const r2 = await within(spawnActor<Rollouts>('./fixtures/rollouts.js', [10, 20]), 'r2');
  const reader = await spawnReader(fromActors([r1, r2]).forEach((x) => x + 0.5));
  try {
    await r2.setWeights(2); // a call to a rollout actor that another actor reads
    t.deepEqual(
      await within(fromActors([reader]).gatherSync().take(10), 'gather'),
      [1.5, 20.5, 2.5, 40.5, 3.5],
    );
  } finally {
    await within(Promise.all([reader, r1, r2].map((a) => a.terminate())), 'terminate()');
  }
  await assertBackToBaseline(t, 'after the actors');
});

test.serial('an actor that reads another actor is its one reader', async (t) => {
  const source = await within(
    spawnActor<CompActor>('./fixtures/comp-actor.js', [1, 'block', 2, 3]),
    'spawnActor(comp)',
  );
  const reader = await spawnReader();
  try {
    t.is(await within(reader.start(fromActors([source])), 'start'), 1);
    // The reader holds the actor: reading it here too is refused.
    await t.throwsAsync(within(fromActors([source]).take(1), 'a second reader'), {
      instanceOf: UsageError,
    });
    const rest = reader.rest();
    const deadline = Date.now() + HANG_CAP_MS;
    while (!(await source.isWaiting()) && Date.now() < deadline) await delay(10);
    await source.release();
    t.deepEqual(await within(rest, 'rest'), [2, 3], 'the first reader keeps every item');
    // The reader's run has ended: the actor is free again (and exhausted).
    t.deepEqual(await within(fromActors([source]).take(1), 'after the reader'), []);
  } finally {
    await within(Promise.all([reader.terminate(), source.terminate()]), 'terminate()');
  }
  await assertBackToBaseline(t, 'after the actors');
});

test.serial(
  'an iterator over a dead actor, or to a threads.js function, is a UsageError',
  async (t) => {
    const dead = await within(spawnActor<Rollouts>('./fixtures/rollouts.js', [1]), 'spawnActor');
    await within(dead.terminate(), 'terminate()');
    const reader = await spawnReader();
    const sum = await within(
      spawn<{ sum(it: unknown): Promise<number> }>(new Worker('./fixtures/sumWorker.js')),
      'spawn(sumWorker)',
    );
    const live = await within(spawnActor<Rollouts>('./fixtures/rollouts.js', [1]), 'spawnActor');
    try {
      await t.throwsAsync(within(reader.items(fromActors([dead])), 'to an actor'), {
        instanceOf: UsageError,
      });
      await t.throwsAsync(
        within(spawnReader(fromActors([dead]).gatherSync()), 'to a constructor'),
        {
          instanceOf: UsageError,
        },
      );
      await t.throwsAsync(
        within((async () => sum.sum(fromActors([live])))(), 'to a threads.js function'),
        {
          instanceOf: UsageError,
        },
      );
      // The live actor is still readable, by an actor.
      t.deepEqual(await within(reader.items(fromActors([live])), 'live'), [1]);
    } finally {
      await within(
        Promise.all([reader.terminate(), live.terminate(), Thread.terminate(sum)]),
        'terminate()',
      );
    }
    await assertBackToBaseline(t, 'after the refusals');
  },
);

test.serial(
  "IMPALA's tree aggregation: two aggregators, each over two rollout actors",
  async (t) => {
    const steps = 6;
    const { trainBatches, weights } = await within(
      runImpalaTree(steps, 2),
      'runImpalaTree',
      60_000,
    );
    t.is(trainBatches.length, (4 * steps) / 2);
    t.is(weights, trainBatches.length);
    const seen = new Set<string>();
    const lastWeights = new Map<number, number>();
    for (const batch of trainBatches) {
      t.is(batch.samples.length, 2);
      for (const sample of batch.samples) {
        // Each aggregator reads its own subset of rollout workers.
        t.is(Math.floor(sample.worker / 2), batch.aggregator, `worker ${sample.worker}`);
        seen.add(`${sample.worker}:${sample.step}`);
        t.true(sample.weights >= (lastWeights.get(sample.worker) ?? 0), 'weights only grow');
        lastWeights.set(sample.worker, sample.weights);
        t.is(sample.value, sample.weights * 100 + sample.step);
      }
    }
    t.is(seen.size, 4 * steps, 'every sample batch arrived once');
    t.true(
      [...lastWeights.values()].every((w) => w > 0),
      "the learner's weights reached every rollout worker",
    );
    await assertBackToBaseline(t, 'after the tree');
  },
);

test.serial('the compiled impalaTree script prints its train batches and exits', async (t) => {
  const run = await runNode([path.join('dist', 'examples', 'impalaTree.js'), '4', '2'], {
    capMs: 50_000,
  });
  t.false(run.hung, 'the script ended by itself');
  t.is(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  t.is(lines.filter((line) => /^aggregator [01]: (w\d#\d@\d+ ?){2}$/.test(line)).length, 8);
  t.is(lines.at(-1), 'train batches: 8, final weights: 8');
});

test.serial('every thread is gone at the end', async (t) => {
  await assertBackToBaseline(t, 'at the end of actorIterators.spec.ts');
});
