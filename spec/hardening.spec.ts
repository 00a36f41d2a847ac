/**
 * Hardening against hostile use: counts with an upper bound checked at the
 * call, a read-ahead bounded in items, a shard that closes its data port, a
 * source whose iterator breaks the protocol, unknown option keys, abandoned
 * `fromObservable` readers and `repartition` partitions read slowly or not
 * at all.
 *
 * Serial: the tests count the threads of this process.
 */
import test from 'ava';
import { of } from 'rxjs';
import {
  ArgumentRangeError,
  ArgumentTypeError,
  ShardError,
  fromItems,
  fromIterators,
  fromObservable,
  fromRange,
  parallelFilter,
  parallelMap,
  type LocalIterator,
  type ParallelIterator,
} from 'pariter';
import * as path from 'node:path';
import { threadBaseline } from './helpers/baseline';
import { runNode } from './helpers/child';
import { FIXTURES } from './helpers/paths';
import { delay, within } from './helpers/hang';

// Names the shipped functions read from their `context`.
declare const counter: Int32Array;

const threads = threadBaseline();

/**
 * Reads up to `n` items of `local`, then closes it: a LocalIterator's `take`
 * leaves its run going, so a one-shot read closes it.
 */
async function takeThenClose<T>(local: LocalIterator<T>, n: number): Promise<T[]> {
  try {
    return await local.take(n);
  } finally {
    await local.return();
  }
}

// --- counts are bounded at the call ---------------------------------------------

test.serial('repartition refuses more than 1024 partitions at the call', async (t) => {
  const it = fromRange(8, 2);
  for (const n of [1025, 10000, 2 ** 31]) {
    const error = t.throws(() => it.repartition(n), { instanceOf: ArgumentRangeError });
    t.regex(error?.message ?? '', /`numPartitions`.*1024/);
  }
  t.is(it.repartition(1024).numShards(), 1024);
  await threads.assertBackToBaseline(t, 'after refused repartitions');
});

test.serial('numAsync is at most 1024, for every reader that takes it', async (t) => {
  const it = fromRange(8, 2);
  const readers = [
    (numAsync: number) => it.gatherAsync({ numAsync }),
    (numAsync: number) => it.getShard(0, { numAsync }),
    (numAsync: number) => it.getShard(1, { numAsync, batchMs: 5 }),
  ];
  for (const read of readers) {
    for (const n of [1025, 100000]) {
      const error = t.throws(() => read(n), { instanceOf: ArgumentRangeError });
      t.regex(error?.message ?? '', /`numAsync`.*1024/);
    }
  }
  t.deepEqual(
    (await within(takeThenClose(it.gatherAsync({ numAsync: 1024 }), 8), 'numAsync 1024')).sort(),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  await threads.assertBackToBaseline(t, 'after numAsync 1024');
});

test.serial(
  'a large read-ahead on a slow consumer asks a shard for a bounded number of items',
  async (t) => {
    const made = new Int32Array(new SharedArrayBuffer(4));
    const endless = fromIterators(
      [
        function* () {
          for (let i = 0; ; i++) {
            Atomics.add(counter, 0, 1);
            yield i;
          }
        },
      ],
      { context: { counter: made } },
    );
    const local = endless.gatherAsync({ numAsync: 64, batchMs: 50 });
    for (let i = 0; i < 3; i++) {
      t.is((await within(local.next(), 'next()')).value, i);
      await delay(300); // a slow consumer: the shard had time to fill every request
    }
    const computed = Atomics.load(made, 0);
    // 64 requests of 4096 items would be 262144; the read-ahead stops at 8192
    // items asked and not yet taken (plus the one the generator has ready).
    t.true(computed <= 3 + 8192 + 1, `${computed} items computed ahead of a reader that took 3`);
    t.true(computed > 3, 'the shard reads ahead');
    await local.return?.();
    await threads.assertBackToBaseline(t, 'after the read-ahead');
  },
);

// --- a shard that closes its data port -----------------------------------------------

test.serial('a shard that closes its data port is a ShardError, not a hang', async (t) => {
  const closing = (): ParallelIterator<number> =>
    fromRange(6, 2).forEach((x) => {
      if (x === 4) {
        type Threads = typeof import('node:worker_threads');
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { workerData } = require('node:worker_threads') as Threads;
        (workerData as { port: import('node:worker_threads').MessagePort }).port.close();
      }
      return x;
    });
  for (const read of [
    (it: ParallelIterator<number>) => it.take(6),
    (it: ParallelIterator<number>) => takeThenClose(it.gatherAsync(), 6),
    (it: ParallelIterator<number>) => takeThenClose(it.getShard(1), 6),
    (it: ParallelIterator<number>) => takeThenClose(it.gatherAsync({ numAsync: 4, batchMs: 5 }), 6),
  ]) {
    const error = await t.throwsAsync(within(read(closing()), 'a read of a closed port'), {
      instanceOf: ShardError,
    });
    t.regex(error?.message ?? '', /data port/);
    t.is((error as ShardError | undefined)?.shard, 1);
  }
  await threads.assertBackToBaseline(t, 'after a shard closed its port');
});

// --- iterators that break the protocol ------------------------------------------------

/** An iterable whose iterator's `next()` returns `result` instead of `{ value, done }`. */
const broken = (result: unknown): Iterable<number> => ({
  [Symbol.iterator]: () => ({ next: () => result as IteratorResult<number> }),
});
const brokenAsync = (result: unknown): AsyncIterable<number> => ({
  [Symbol.asyncIterator]: () => ({
    next: () => Promise.resolve(result as IteratorResult<number>),
  }),
});

/** Asserts that `read` rejects with a ShardError whose cause is a TypeError naming the bad result. */
async function rejectsProtocol(
  t: import('ava').ExecutionContext,
  read: Promise<unknown>,
  what: string,
): Promise<void> {
  const error = await t.throwsAsync(within(read, what), { instanceOf: ShardError }, what);
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  t.true(cause instanceof TypeError, `${what}: the cause is a TypeError`);
  t.regex((cause as Error | undefined)?.message ?? '', /Iterator result .* is not an object/, what);
}

test.serial(
  'a source iterator whose next() returns a non-object is a ShardError with a TypeError cause, in workers',
  async (t) => {
    for (const bad of [5, undefined, null, 'x']) {
      // A function source: the iterator runs in the shard's worker.
      await rejectsProtocol(
        t,
        fromIterators(
          [
            [1, 2],
            () =>
              ({ [Symbol.iterator]: () => ({ next: () => bad }) }) as unknown as Iterable<number>,
          ],
          { context: { bad } },
        ).take(10),
        `function source returning ${String(bad)}`,
      );
      await rejectsProtocol(
        t,
        fromIterators(
          [
            () =>
              ({
                [Symbol.asyncIterator]: () => ({ next: async () => bad }),
              }) as unknown as AsyncIterable<number>,
          ],
          { context: { bad } },
        ).take(10),
        `async function source returning ${String(bad)}`,
      );
      // flatten in a shard over an item whose iterator is broken.
      await rejectsProtocol(
        t,
        fromRange(2, 1)
          .forEach(() => ({ [Symbol.iterator]: () => ({ next: () => bad }) }), {
            context: { bad },
          })
          .flatten()
          .take(10),
        `flatten over an iterator returning ${String(bad)}`,
      );
    }
    await threads.assertBackToBaseline(t, 'after broken iterators in workers');
  },
);

test.serial(
  'a calling-thread iterable whose next() returns a non-object is a ShardError with a TypeError cause',
  async (t) => {
    for (const bad of [5, undefined, null]) {
      await rejectsProtocol(
        t,
        fromIterators([broken(bad), [1, 2]]).take(10),
        `calling-thread iterable returning ${String(bad)}`,
      );
      await rejectsProtocol(
        t,
        takeThenClose(fromIterators([brokenAsync(bad)], { repeat: true }).gatherAsync(), 10),
        `calling-thread async iterable returning ${String(bad)}`,
      );
    }
    // A local flatten over such an item throws the same TypeError as `for…of`.
    const local = fromRange(1, 1)
      .gatherSync()
      .forEach(() => broken(5))
      .flatten();
    const error = await t.throwsAsync(within(takeThenClose(local, 3), 'local flatten'), {
      instanceOf: TypeError,
    });
    t.regex(error?.message ?? '', /is not an object/);
    await threads.assertBackToBaseline(t, 'after broken calling-thread iterators');
  },
);

// --- unknown option keys and wrong shapes ----------------------------------------------

test.serial(
  'an unknown option key or a wrong shape is an ArgumentTypeError naming the key',
  async (t) => {
    const it = fromRange(8, 2);
    const local = fromRange(2, 1).gatherSync();
    const other = fromRange(2, 1).gatherSync();
    const noop = (x: number): number => x;
    const cases: Array<[string, () => unknown, RegExp]> = [
      [
        'fromRange(8, { numshards: 5 })',
        () => fromRange(8, { numshards: 5 } as never),
        /`numshards`/,
      ],
      [
        'fromItems([1], { resources: {} })',
        () => fromItems([1], { resources: {} } as never),
        /`resources`/,
      ],
      ['fromRange(8, [5])', () => fromRange(8, [5] as never), /`shards`/],
      ['fromItems([1], [2])', () => fromItems([1], [2] as never), /`shards`/],
      [
        'fromIterators([[1]], { repaet: true })',
        () => fromIterators([[1]], { repaet: true } as never),
        /`repaet`/,
      ],
      [
        'fromObservable(of(1), { numshards: 2 })',
        () => fromObservable(of(1), { numshards: 2 } as never),
        /`numshards`/,
      ],
      [
        'forEach(fn, { maxconcurrency: 2 })',
        () => it.forEach(noop, { maxconcurrency: 2 } as never),
        /`maxconcurrency`/,
      ],
      [
        'forEach(fn, { num_cpus: 2 })',
        () => it.forEach(noop, { num_cpus: 2 } as never),
        /`num_cpus`/,
      ],
      ['filter(fn, { ctx: {} })', () => it.filter(noop, { ctx: {} } as never), /`ctx`/],
      [
        'combine(fn, { contxt: {} })',
        () => it.combine((x) => [x], { contxt: {} } as never),
        /`contxt`/,
      ],
      [
        'transform(fn, { resources: {} })',
        () => it.transform((s) => s, { resources: {} } as never),
        /`resources`/,
      ],
      [
        'repartition(2, { numAsync: 2 })',
        () => it.repartition(2, { numAsync: 2 } as never),
        /`numAsync`/,
      ],
      [
        'gatherAsync({ numasync: 2 })',
        () => it.gatherAsync({ numasync: 2 } as never),
        /`numasync`/,
      ],
      [
        'getShard(0, { batch_ms: 2 })',
        () => it.getShard(0, { batch_ms: 2 } as never),
        /`batch_ms`/,
      ],
      [
        'local.forEach(fn, { context: {} })',
        () => local.forEach(noop, { context: {} } as never),
        /`context`/,
      ],
      [
        'local.union(other, { determinstic: true })',
        () => local.union(other, { determinstic: true } as never),
        /`determinstic`/,
      ],
      [
        'parallelMap(fn, { numshards: 2 })',
        () => parallelMap(noop, { numshards: 2 } as never),
        /`numshards`/,
      ],
      [
        'parallelFilter(fn, { order: false })',
        () => parallelFilter(noop, { order: false } as never),
        /`order`/,
      ],
    ];
    for (const [what, call, key] of cases) {
      const error = t.throws(call, { instanceOf: ArgumentTypeError }, what);
      t.regex(error?.message ?? '', key, what);
    }
    // Every known key is still accepted.
    t.is(fromRange(8, { numShards: 4, repeat: false }).numShards(), 4);
    t.notThrows(() => it.gatherAsync({ batchMs: 0, numAsync: 2 }));
    t.notThrows(() => it.forEach(noop, { maxConcurrency: 2, context: {} }));
    t.notThrows(() =>
      parallelMap(noop, {
        numShards: 1,
        ordered: true,
        maxInFlight: 2,
        context: {},
        bufferSize: 4,
        onOverflow: 'error',
      }),
    );
    await local.return();
    await other.return();
    await threads.assertBackToBaseline(t, 'after refused options');
  },
);

test.serial(
  'an item that cannot be cloned: one sentence per clause, no double period',
  async (t) => {
    const error = await t.throwsAsync(
      within(
        fromRange(2, 1)
          .forEach(() => () => 1)
          .take(2),
        'a function item',
      ),
      { instanceOf: ShardError },
    );
    t.regex(error?.message ?? '', /could not be cloned\. Turn it into plain data/);
    t.notRegex(error?.message ?? '', /\.\./);
    await threads.assertBackToBaseline(t, 'after an item that cannot be cloned');
  },
);

// --- abandoned readers -------------------------------------------------------------------

test.serial(
  'abandoned fromObservable readers over an infinite Observable unsubscribe and let the script exit',
  async (t) => {
    const outcome = await runNode([path.join(FIXTURES, 'hard-abandoned-observable.js')], {
      capMs: 60_000,
    });
    t.false(outcome.hung, `the script hung; stdout: ${outcome.stdout}`);
    t.is(outcome.code, 0, outcome.stderr);
    const lines = outcome.stdout.trim().split('\n');
    const reads = lines.filter((line) => line.startsWith('['));
    t.is(reads[0], '[0,1,2]', 'gatherSync: round robin');
    const async = JSON.parse(reads[1] ?? '[]') as number[];
    for (const parity of [0, 1]) {
      const ofShard = async.filter((x) => x % 2 === parity);
      t.deepEqual(
        ofShard,
        [parity, parity + 2, parity + 4].slice(0, ofShard.length),
        'gatherAsync',
      );
    }
    t.is(reads[2], '[1,3,5]', 'getShard(1)');
    // Each of the three runs subscribed once and unsubscribed once.
    const ends = lines.filter((line) => line.includes('unsubscribed'));
    t.is(ends.length, 3, outcome.stdout);
    t.regex(ends[2] ?? '', /"live":0/);
  },
);

test.serial(
  'abandoned readers of a slow infinite Observable are found as their buffer grows, without waiting for V8 to collect',
  async (t) => {
    const outcome = await runNode([path.join(FIXTURES, 'hard-abandoned-observable.js'), 'slow'], {
      capMs: 60_000,
    });
    t.false(outcome.hung, `the script hung; stdout: ${outcome.stdout}`);
    t.is(outcome.code, 0, outcome.stderr);
    const lines = outcome.stdout.trim().split('\n');
    t.deepEqual(
      lines.filter((line) => line.startsWith('[')),
      ['[0,1,2]', '[0,1,2]'],
      'fromObservable round robin, then LocalIterator.from',
    );
    const ends = lines
      .filter((line) => line.includes('unsubscribed'))
      .map((line) => JSON.parse(line) as { unsubscribed: number; live: number });
    t.is(ends.length, 2, outcome.stdout);
    t.is(ends[1]?.live, 0);
    // Each stopped soon after its buffer's first mark (bufferSize 8 × 2
    // shards, and 1,024 for LocalIterator.from), not when V8 got to it: the
    // bounds leave room for a loaded machine, where timers run late.
    t.true((ends[0]?.unsubscribed ?? Infinity) <= 1000, outcome.stdout);
    t.true((ends[1]?.unsubscribed ?? Infinity) <= 8 * 1024, outcome.stdout);
  },
);

// --- repartition with partitions read slowly or not at all ------------------------------

test.serial(
  'repartition: getShard(0) reads on without end, and items of unread partitions are not kept',
  async (t) => {
    const outcome = await runNode(
      ['--expose-gc', path.join(FIXTURES, 'hard-repartition-unread.js')],
      { capMs: 120_000 },
    );
    t.false(outcome.hung, `the script hung; stdout: ${outcome.stdout}`);
    t.is(outcome.code, 0, outcome.stderr);
    const { at20k, at100k } = JSON.parse(outcome.stdout.trim()) as Record<string, number>;
    // 160k items of ~100 bytes dealt to the unread partitions would be ~25 MB.
    t.true(
      (at100k ?? Infinity) - (at20k ?? 0) < 8,
      `heap ${at20k} MB at 20k items, ${at100k} MB at 100k`,
    );
  },
);

test.serial(
  'repartition: a partition read slowly under gatherAsync holds back the upstream',
  async (t) => {
    // Partition 0 gets the even items and is fast; partition 1 the odd ones and is slow.
    const it = fromIterators([
      function* () {
        for (let i = 0; ; i++) yield i;
      },
    ])
      .repartition(2)
      .forEach((x) => {
        if (x % 2 === 1) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        return x;
      });
    const local = it.gatherAsync();
    let fast = 0;
    let slow = 0;
    for (let n = 0; n < 2500; n++) {
      const { value } = await within(local.next(), 'next()');
      if ((value as number) % 2 === 0) fast++;
      else slow++;
    }
    await local.return();
    // The fast partition runs ahead of the slow one by at most 1024 items
    // (the lag one old shard may build up for a partition), plus a few in flight.
    t.true(fast <= slow + 1024 + 8, `fast ${fast}, slow ${slow}`);
    t.true(slow > 0);
    await threads.assertBackToBaseline(t, 'after a slow partition');
  },
);

test.serial(
  'repartition of a repartition read through one partition keeps every item of it',
  async (t) => {
    // Found by the API sequence property: the inner repartition learnt its
    // partitions one by one and dropped an item dealt to one not yet known.
    const it = fromRange(34, 1).repartition(2).repartition(2);
    t.deepEqual(
      await within(takeThenClose(it.getShard(1), 8), 'getShard(1)'),
      [2, 3, 6, 7, 10, 11, 14, 15],
    );
    const both = fromRange(8, 1).repartition(2).union(fromRange(6, 2).repartition(3));
    t.deepEqual(await within(takeThenClose(both.getShard(3), 9), 'getShard(3) of a union'), [1, 4]);
    await threads.assertBackToBaseline(t, 'after nested repartitions');
  },
);
