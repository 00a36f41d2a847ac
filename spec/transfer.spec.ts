/**
 * Iterators passed to other threads: a `ParallelIterator`, one of its shards,
 * or a gather with local transformations is a plain argument of a threads.js
 * worker function (spec/fixtures/sumWorker.js), read there; what cannot cross
 * fails with a `UsageError` at the call, and every thread is torn down.
 *
 * Every test is serial: they count the threads of this process.
 */
import test from 'ava';
import { map, of } from 'rxjs';
import { spawn, Thread, Worker } from 'threads';
import { fromItems, fromIterators, fromObservable, fromRange, UsageError } from 'pariter';
import { threadBaseline } from './helpers/baseline';
import { withinCap } from './helpers/hang';
import { threadCount, threadsSettle } from './helpers/threadCount';

/** What spec/fixtures/sumWorker.js exposes. */
type SumWorker = {
  sum(iterator: unknown): Promise<number>;
  collect(iterator: unknown): Promise<unknown[]>;
  gatherSum(parallel: unknown): Promise<number>;
};

/** `within`, with a hang cap for worker calls: 30 s. */
const within = withinCap(30_000);
const { assertBackToBaseline } = threadBaseline();

// threads.js resolves a relative path against the file that calls `new Worker`: this one.
const startSumWorker = () =>
  within(spawn<SumWorker>(new Worker('./fixtures/sumWorker.js')), 'spawn(sumWorker)');

/** Runs `body` with `n` sum workers, terminating them afterwards. */
async function withSumWorkers(
  n: number,
  body: (workers: Array<Awaited<ReturnType<typeof startSumWorker>>>) => Promise<void>,
): Promise<void> {
  const workers = await Promise.all(Array.from({ length: n }, () => startSumWorker()));
  try {
    await body(workers);
  } finally {
    await within(Promise.all(workers.map((w) => Thread.terminate(w))), 'Thread.terminate');
  }
}

test.serial(
  "the seed's example: fromRange(10000, 3).shards() summed in three workers",
  async (t) => {
    await withSumWorkers(3, async (workers) => {
      const shards = fromRange(10000, 3).shards();
      t.is(shards.length, 3);
      const sums = await within(
        Promise.all(shards.map((shard, i) => (workers[i] as SumWorker).sum(shard))),
        'the three sums',
      );
      t.deepEqual(sums, [5552778, 16661667, 27780555]);
      // Each reader reads its own copy: the shards are still readable here.
      const here = shards[0];
      if (!here) return void t.fail('shard 0');
      t.deepEqual(await within(here.take(3), 'shard 0 here'), [0, 1, 2]);
      await here.return(); // a LocalIterator's take leaves its run going
    });
    await assertBackToBaseline(t, 'after the seed example');
  },
);

test.serial('a gather with local transformations is read in another worker', async (t) => {
  await withSumWorkers(1, async ([worker]) => {
    if (!worker) return void t.fail('a worker');
    const local = fromRange(6, 2)
      .gatherSync()
      .forEach((x) => x * 10)
      .filter((x) => x > 0)
      .batch(2);
    t.deepEqual(await within(worker.collect(local), 'collect'), [[30, 10], [40, 20], [50]]);
    // The same iterator, read here: a cold run of its own.
    t.deepEqual(await within(local.take(10), 'read here'), [[30, 10], [40, 20], [50]]);

    // A gatherAsync, flatten and shuffle with a seed cross too.
    const shuffled = fromItems([[1, 2], [3], [4, 5, 6]], 3)
      .gatherAsync()
      .flatten()
      .shuffle(3, 7);
    const there = (await within(worker.collect(shuffled), 'collect shuffled')) as number[];
    t.deepEqual(
      [...there].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6],
    );
    // One shard, with a parallel transformation that uses its context.
    const factor = 3;
    const shard = fromRange(10, 2)
      .forEach((x) => x * factor, { context: { factor } })
      .getShard(1);
    t.deepEqual(await within(worker.collect(shard), 'collect shard'), [15, 18, 21, 24, 27]);
  });
  await assertBackToBaseline(t, 'after reading gathers in another worker');
});

test.serial('a whole ParallelIterator passed to a worker is gathered there', async (t) => {
  await withSumWorkers(1, async ([worker]) => {
    if (!worker) return void t.fail('a worker');
    t.is(await within(worker.gatherSum(fromRange(100, 2)), 'gatherSum'), 4950);
    const factor = 3;
    const it = fromRange(10, 2)
      .forEach((x) => x * factor, { context: { factor } })
      .filter((x) => x % 2 === 0);
    t.is(await within(worker.gatherSum(it), 'gatherSum of a chain'), 0 + 6 + 12 + 18 + 24);
    const union = fromItems([1, 2], 1).union(
      fromIterators([
        function* () {
          yield 10;
          yield 20;
        },
      ]),
    );
    t.is(await within(worker.gatherSum(union), 'gatherSum of a union'), 33);
  });
  await assertBackToBaseline(t, 'after gathering in another worker');
});

test.serial('what cannot cross fails with a UsageError at the call, without a hang', async (t) => {
  await withSumWorkers(1, async ([worker]) => {
    if (!worker) return void t.fail('a worker');
    const before = threadCount();
    const cannot: Array<[string, () => Promise<unknown>]> = [
      [
        'a LocalIterator with transform(operator)',
        () =>
          worker.sum(
            fromRange(4, 1)
              .gatherSync()
              .transform(map((x: number) => x + 1)),
          ),
      ],
      ['a fromObservable ParallelIterator', () => worker.gatherSum(fromObservable(of(1, 2, 3)))],
      ['a gather of fromObservable', () => worker.sum(fromObservable(of(1, 2, 3)).gatherSync())],
      ['a repartition', () => worker.gatherSum(fromRange(4, 2).repartition(3))],
      [
        'zipWithSourceActor()',
        () => worker.collect(fromRange(4, 2).gatherSync().zipWithSourceActor()),
      ],
      [
        'a LocalIterator union',
        () => worker.sum(fromRange(2, 1).gatherSync().union(fromRange(2, 1).gatherSync())),
      ],
    ];
    for (const [what, call] of cannot) {
      await t.throwsAsync(
        async () => within(call(), what),
        { instanceOf: UsageError, message: /cannot be sent to another thread/ },
        what,
      );
    }
    t.true(threadCount() <= before, 'the failed sends started no thread');
    // The worker is still usable.
    t.is(await within(worker.sum(fromRange(5, 1).gatherSync()), 'sum after the failures'), 10);
  });
  await assertBackToBaseline(t, 'after the failed sends');
});

test.serial(
  'a LocalIterator that was read from cannot be sent: a UsageError, and its run stops',
  async (t) => {
    await withSumWorkers(1, async ([worker]) => {
      if (!worker) return void t.fail('a worker');
      const before = threadCount(); // with the sum worker
      const local = fromRange(10, 2).gatherSync();
      t.deepEqual(await within(local.take(2), 'take(2)'), [0, 5]);
      const derived = local.forEach((x) => x * 2);
      for (const started of [local, derived]) {
        await t.throwsAsync(
          async () => within(worker.collect(started), 'sending a started iterator'),
          { instanceOf: UsageError, message: /once it was read from/ },
        );
      }
      const after = await threadsSettle(before);
      t.true(
        after <= before,
        `the original run keeps no thread: ${after} threads, ${before} before`,
      );
      t.deepEqual(await local.take(2), [], 'it was stopped');
      // Sent before its first read, a gather is read there from the start.
      t.is(await within(worker.sum(fromRange(10, 2).gatherSync()), 'sum'), 45);
    });
    await assertBackToBaseline(t, 'after the sends');
  },
);

test.serial('every thread is gone at the end', async (t) => {
  await assertBackToBaseline(t, 'at the end of transfer.spec.ts');
});
