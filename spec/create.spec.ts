/**
 * Creation functions, parallel transforms and local transforms, with exact
 * expected values. Every test that gathers starts real worker threads, so the
 * tests run serially and keep their data small.
 */
import * as path from 'node:path';
import test from 'ava';
import { from, lastValueFrom, scan, toArray } from 'rxjs';
import {
  ClosedError,
  LocalIterator,
  ShardError,
  fromItems,
  fromIterators,
  fromRange,
  getMetrics,
  moduleFn,
  stateful,
  type ShardHandle,
} from 'pariter';

/**
 * `local.take(n)`, then `local.return()`: a LocalIterator's take leaves it
 * usable and its run going (API.md, "Local sources"), so a test that reads
 * one in part closes it, as a program that is done with it would.
 */
async function takeAndClose<T>(local: LocalIterator<T>, n: number): Promise<T[]> {
  try {
    return await local.take(n);
  } finally {
    await local.return();
  }
}

const sortNumbers = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Runs `body` with `console.log` captured; returns the argument lists it got. */
async function captureLog(body: () => Promise<void>): Promise<unknown[][]> {
  const lines: unknown[][] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(args);
  };
  try {
    await body();
  } finally {
    console.log = original;
  }
  return lines;
}

/** The seed's CumulativeSum, as a stateful callable with a `call(item)` method. */
class CumulativeSum {
  total = 0;
  call(x: number): [number, number] {
    this.total += x;
    return [this.total, x];
  }
}

// ---------------------------------------------------------------------------- fromRange

test.serial('fromRange(4) gathers in round robin', async (t) => {
  t.deepEqual(await fromRange(4).gatherSync().take(10), [0, 2, 1, 3]);
});

test.serial('fromRange(4).filter(x => x < 3) gathers [0, 2, 1]', async (t) => {
  t.deepEqual(
    await fromRange(4)
      .filter((x) => x < 3)
      .gatherSync()
      .take(10),
    [0, 2, 1],
  );
});

test.serial(
  'fromRange(10, 3) splits into contiguous ranges, the last takes the rest',
  async (t) => {
    const it = fromRange(10, 3);
    t.is(it.numShards(), 3);
    t.deepEqual(await it.getShard(0).take(100), [0, 1, 2]);
    t.deepEqual(await it.getShard(1).take(100), [3, 4, 5]);
    t.deepEqual(await it.getShard(2).take(100), [6, 7, 8, 9]);
  },
);

test.serial('fromRange(0) is empty', async (t) => {
  t.deepEqual(await fromRange(0).gatherSync().take(10), []);
  t.deepEqual(await fromRange(0).take(10), []);
});

test.serial('fromRange(2, 4): shards without items are empty, not errors', async (t) => {
  const it = fromRange(2, 4);
  t.is(it.numShards(), 4);
  t.deepEqual(await it.take(10), [0, 1]);
});

// ---------------------------------------------------------------------------- fromItems

test.serial('fromItems deals round robin', async (t) => {
  const it = fromItems([1, 2, 3, 4], 2);
  t.deepEqual(await it.getShard(0).take(100), [1, 3]);
  t.deepEqual(await it.getShard(1).take(100), [2, 4]);
  // Dealt round robin, then gathered round robin: the original order.
  t.deepEqual(await it.gatherSync().take(100), [1, 2, 3, 4]);
});

test.serial('fromItems keeps falsy items', async (t) => {
  const items = [0, '', false, null, undefined, NaN];
  t.deepEqual(await fromItems(items, 2).gatherSync().take(100), [
    0,
    '',
    false,
    null,
    undefined,
    NaN,
  ]);
});

test.serial('fromItems takes any iterable and defaults to 2 shards', async (t) => {
  const it = fromItems(new Set(['a', 'b', 'c']));
  t.is(it.numShards(), 2);
  t.deepEqual(await it.take(10), ['a', 'b', 'c']);
});

// ---------------------------------------------------------------------------- repeat

test.serial('fromRange with repeat cycles each shard forever', async (t) => {
  t.deepEqual(await fromRange(4, { numShards: 2, repeat: true }).take(8), [0, 2, 1, 3, 0, 2, 1, 3]);
});

test.serial('fromItems with repeat cycles its items', async (t) => {
  t.deepEqual(await fromItems([1, 2], { numShards: 1, repeat: true }).take(5), [1, 2, 1, 2, 1]);
});

test.serial('a repeating chain is transformed on every cycle', async (t) => {
  const it = fromItems([1, 2], { numShards: 1, repeat: true }).forEach((x) => x * 10);
  t.deepEqual(await it.take(5), [10, 20, 10, 20, 10]);
});

// ---------------------------------------------------------------------------- fromIterators

test.serial('fromIterators over arrays: one shard per source', async (t) => {
  const it = fromIterators([
    [1, 2, 3],
    [10, 20],
  ]);
  t.is(it.numShards(), 2);
  t.deepEqual(await it.gatherSync().take(10), [1, 10, 2, 20, 3]);
});

test.serial('fromIterators: a generator function source runs in the worker', async (t) => {
  const it = fromIterators([
    function* () {
      const { isMainThread } =
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('node:worker_threads') as typeof import('node:worker_threads');
      yield isMainThread;
      yield isMainThread;
    },
  ]);
  t.deepEqual(await it.take(10), [false, false]);
});

test.serial('fromIterators: an async generator function source', async (t) => {
  const it = fromIterators([
    async function* () {
      yield 1;
      await new Promise((resolve) => setTimeout(resolve, 1));
      yield 2;
    },
    [7],
  ]);
  t.deepEqual(await it.gatherSync().take(10), [1, 7, 2]);
});

test.serial('fromIterators: a non-array iterable is fed from the calling thread', async (t) => {
  const here = function* (): Generator<boolean> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { isMainThread } = require('node:worker_threads') as typeof import('node:worker_threads');
    yield isMainThread;
  };
  t.deepEqual(await fromIterators([here()]).take(10), [true]);
  t.deepEqual(await fromIterators([new Set(['a', 'b', 'c'])]).take(10), ['a', 'b', 'c']);
});

test.serial('fromIterators: an async iterable object from the calling thread', async (t) => {
  const asyncIterable: AsyncIterable<string> = {
    async *[Symbol.asyncIterator]() {
      yield 'p';
      await new Promise((resolve) => setTimeout(resolve, 1));
      yield 'q';
    },
  };
  const it = fromIterators<string>([new Set(['a', 'b']), asyncIterable]);
  t.deepEqual(await it.gatherSync().take(10), ['a', 'p', 'b', 'q']);
});

test.serial('fromIterators with repeat calls a function source again each cycle', async (t) => {
  const restart = fromIterators(
    [
      function* () {
        yield 1;
        yield 2;
      },
    ],
    { repeat: true },
  );
  t.deepEqual(await restart.take(5), [1, 2, 1, 2, 1]);

  const key = `pariter-spec-calls-${Math.random()}`;
  const counting = fromIterators(
    [
      function* () {
        const g = globalThis as unknown as Record<string, number>;
        g[key] = (g[key] ?? 0) + 1;
        yield g[key];
      },
    ],
    { repeat: true, context: { key } },
  );
  t.deepEqual(await counting.take(3), [1, 2, 3]);
});

test.serial('fromIterators with repeat cycles a calling-thread iterable', async (t) => {
  t.deepEqual(await fromIterators([new Set(['a', 'b'])], { repeat: true }).take(5), [
    'a',
    'b',
    'a',
    'b',
    'a',
  ]);
});

test.serial('fromIterators: context reaches function sources', async (t) => {
  const limit = 3;
  const it = fromIterators(
    [
      function* () {
        for (let i = 0; i < limit; i++) yield i;
      },
    ],
    { context: { limit } },
  );
  t.deepEqual(await it.take(10), [0, 1, 2]);
});

test('fromIterators: the name option changes the printed name', (t) => {
  const it = fromIterators([[1], [2]], { name: 'myStreams' });
  t.is(String(it), 'ParallelIterator[myStreams]');
  t.is(String(it.forEach((x) => x)), 'ParallelIterator[myStreams.forEach()]');
});

// ---------------------------------------------------------------------------- parallel transforms

test.serial('forEach with a sync function', async (t) => {
  t.deepEqual(
    await fromRange(4)
      .forEach((x) => x * 2)
      .take(10),
    [0, 4, 2, 6],
  );
});

test.serial('forEach with an async function', async (t) => {
  const it = fromRange(4).forEach(async (x) => {
    await new Promise((resolve) => setTimeout(resolve, (3 - x) * 2));
    return `v${x}`;
  });
  t.deepEqual(await it.take(10), ['v0', 'v2', 'v1', 'v3']);
});

test.serial('forEach with maxConcurrency: 3 gives the same items per shard', async (t) => {
  const it = fromRange(12, 2).forEach(
    async (x) => {
      await new Promise((resolve) => setTimeout(resolve, (x * 7) % 5));
      return x * 10;
    },
    { maxConcurrency: 3 },
  );
  t.deepEqual(sortNumbers(await it.getShard(0).take(100)), [0, 10, 20, 30, 40, 50]);
  t.deepEqual(sortNumbers(await it.getShard(1).take(100)), [60, 70, 80, 90, 100, 110]);
  t.deepEqual(
    sortNumbers(await it.gatherSync().take(100)),
    range(12).map((x) => x * 10),
  );
});

test.serial('filter with a sync and an async predicate', async (t) => {
  t.deepEqual(
    await fromRange(8)
      .filter((x) => x % 2 === 0)
      .take(10),
    [0, 4, 2, 6],
  );
  t.deepEqual(
    await fromRange(8)
      .filter(async (x) => x % 2 === 1)
      .take(10),
    [1, 5, 3, 7],
  );
});

test.serial('batch(2) batches per shard; the last batch may be shorter', async (t) => {
  t.deepEqual(await fromRange(4).batch(2).take(10), [
    [0, 1],
    [2, 3],
  ]);
  t.deepEqual(await fromRange(5, 1).batch(2).take(10), [[0, 1], [2, 3], [4]]);
});

test.serial('flatten() emits the items of each item', async (t) => {
  t.deepEqual(
    await fromItems([
      [1, 2],
      [3, 4],
    ])
      .flatten()
      .take(10),
    [1, 3, 2, 4],
  );
  t.deepEqual(await fromRange(4).batch(2).flatten().take(10), [0, 2, 1, 3]);
});

test.serial('combine(x => [x, x])', async (t) => {
  t.deepEqual(
    await fromRange(4)
      .combine((x) => [x, x])
      .take(10),
    [0, 2, 0, 2, 1, 3, 1, 3],
  );
});

test.serial('localShuffle: same seed, same order; a permutation; size 1 keeps order', async (t) => {
  const shuffled = fromRange(10, 2).localShuffle(3, 42);
  const first = await shuffled.take(100);
  const second = await shuffled.take(100);
  t.deepEqual(first, second);
  t.deepEqual(sortNumbers(first), range(10));
  t.deepEqual(sortNumbers(await shuffled.getShard(0).take(100)), [0, 1, 2, 3, 4]);
  t.deepEqual(await fromRange(10, 2).localShuffle(3, 42).take(100), first);
  t.deepEqual(await fromRange(6, 2).localShuffle(1).take(100), [0, 3, 1, 4, 2, 5]);
});

test.serial('transform with rx.scan runs per shard', async (t) => {
  const sums = (it: ReturnType<typeof fromRange>) =>
    it.transform((s, rx) => s.pipe(rx.scan((a, x) => a + x, 0)));
  t.deepEqual(await sums(fromRange(4, 1)).take(10), [0, 1, 3, 6]);
  t.deepEqual(await sums(fromRange(4, 2)).take(10), [0, 2, 1, 5]);
});

// ---------------------------------------------------------------------------- operator state

test.serial('the seed’s CumulativeSum as a class instance with call()', async (t) => {
  const it = fromRange(5, 1).forEach(new CumulativeSum());
  t.deepEqual(await it.gatherSync().take(10), [
    [0, 0],
    [1, 1],
    [3, 2],
    [6, 3],
    [10, 4],
  ]);
});

test.serial(
  'a class instance’s fields are cloned per shard, the original is untouched',
  async (t) => {
    const sum = new CumulativeSum();
    sum.total = 100;
    const it = fromRange(4, 2).forEach(sum);
    t.deepEqual(await it.take(10), [
      [100, 0],
      [102, 2],
      [101, 1],
      [105, 3],
    ]);
    t.is(sum.total, 100);
  },
);

test.serial('the stateful() form of CumulativeSum', async (t) => {
  const it = fromRange(5, 1).forEach(
    stateful(() => {
      let total = 0;
      return (x: number) => [(total += x), x];
    }),
  );
  t.deepEqual(await it.take(10), [
    [0, 0],
    [1, 1],
    [3, 2],
    [6, 3],
    [10, 4],
  ]);
});

test.serial('stateful state is per shard', async (t) => {
  const it = fromRange(4, 2).forEach(
    stateful(() => {
      let count = 0;
      return (x: number) => [count++, x];
    }),
  );
  t.deepEqual(await it.take(10), [
    [0, 0],
    [0, 2],
    [1, 1],
    [1, 3],
  ]);
  // A fresh run starts fresh state.
  t.deepEqual(await it.take(10), [
    [0, 0],
    [0, 2],
    [1, 1],
    [1, 3],
  ]);
});

// ---------------------------------------------------------------------------- context and shipping

test.serial('context passes local values by name', async (t) => {
  const factor = 3;
  t.deepEqual(
    await fromRange(4)
      .forEach((x) => x * factor, { context: { factor } })
      .take(10),
    [0, 6, 3, 9],
  );
  const limit = 2;
  t.deepEqual(
    await fromRange(4)
      .filter((x) => x < limit, { context: { limit } })
      .take(10),
    [0, 1],
  );
  const copies = 2;
  t.deepEqual(
    await fromRange(2, 1)
      .combine((x) => Array.from({ length: copies }, () => x), { context: { copies } })
      .take(10),
    [0, 0, 1, 1],
  );
  const offset = 100;
  t.deepEqual(
    await fromRange(2, 1)
      .transform((s, rx) => s.pipe(rx.map((x) => x + offset)), { context: { offset } })
      .take(10),
    [100, 101],
  );
});

test.serial('a SharedArrayBuffer in context is shared with the workers', async (t) => {
  const sab = new SharedArrayBuffer(4);
  const view = new Int32Array(sab);
  const it = fromRange(4).forEach(
    (x) => {
      Atomics.add(new Int32Array(sab), 0, x + 1);
      return x;
    },
    { context: { sab } },
  );
  t.deepEqual(await it.take(10), [0, 2, 1, 3]);
  t.is(Atomics.load(view, 0), 1 + 2 + 3 + 4);
});

test.serial('require() and await import() work in a shard function', async (t) => {
  const names = fromItems(['a/b.txt', 'c/d.js'], 2).forEach(
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (p) => (require('node:path') as typeof import('node:path')).basename(p),
  );
  t.deepEqual(await names.take(10), ['b.txt', 'd.js']);
  const joined = fromItems(['x', 'y'], 2).forEach(async (p) =>
    (await import('node:path')).posix.join('dir', p),
  );
  t.deepEqual(await joined.take(10), ['dir/x', 'dir/y']);
  const eol = fromRange(2).forEach(async (x) => `${x}${(await import('node:os')).EOL}`);
  t.deepEqual(await eol.take(10), ['0\n', '1\n']);
});

test.serial('moduleFn: a CommonJS fixture export', async (t) => {
  const relative = moduleFn<number, number>('./fixtures/values-double.js', 'double');
  t.deepEqual(await fromRange(4).forEach(relative).take(10), [0, 4, 2, 6]);
  const absolute = moduleFn<number, number>(
    path.join(__dirname, 'fixtures', 'values-double.js'),
    'double',
  );
  t.deepEqual(await fromRange(4).forEach(absolute).take(10), [0, 4, 2, 6]);
});

test.serial('moduleFn: a TypeScript fixture under ts-node, default and named export', async (t) => {
  const fixture = path.join(__dirname, 'fixtures', 'values-square.ts');
  t.deepEqual(await fromRange(4).forEach(moduleFn<number, number>(fixture)).take(10), [0, 4, 1, 9]);
  t.deepEqual(
    await fromRange(4).forEach(moduleFn<number, number>(fixture, 'negate')).take(10),
    [-0, -2, -1, -3],
  );
});

test.serial('moduleFn in a LocalIterator loads the module in the calling thread', async (t) => {
  const double = moduleFn<number, number>('./fixtures/values-double.js', 'double');
  t.deepEqual(await fromRange(4).gatherSync().forEach(double).take(10), [0, 4, 2, 6]);
});

test.serial('native functions work as shard functions', async (t) => {
  t.deepEqual(await fromRange(4).forEach(String).take(10), ['0', '2', '1', '3']);
  t.deepEqual(await fromItems([4, 9, 16, 25]).forEach(Math.sqrt).take(10), [2, 3, 4, 5]);
  t.deepEqual(await fromItems([0, 1, 2, 3], 1).filter(Boolean).take(10), [1, 2, 3]);
});

// ---------------------------------------------------------------------------- shards and gathers

test.serial('numShards, getShard and shards', async (t) => {
  const it = fromRange(6, 3);
  t.is(it.numShards(), 3);
  t.deepEqual(await it.getShard(1).take(100), [2, 3]);
  const shards = it.shards();
  t.is(shards.length, 3);
  t.true(shards.every((shard) => shard instanceof LocalIterator));
  const contents: number[][] = [];
  for (const shard of shards) contents.push(await shard.take(100));
  t.deepEqual(contents, [
    [0, 1],
    [2, 3],
    [4, 5],
  ]);
});

test.serial('batchAcrossShards: one item per active shard per step', async (t) => {
  t.deepEqual(await fromRange(4).batchAcrossShards().take(5), [
    [0, 2],
    [1, 3],
  ]);
  // Uneven shards: [0, 1] and [2, 3, 4]; the exhausted shard drops out.
  t.deepEqual(await fromRange(5).batchAcrossShards().take(5), [[0, 2], [1, 3], [4]]);
  t.deepEqual(await fromItems([1, 2, 3, 4, 5], 3).batchAcrossShards().take(5), [
    [1, 2, 3],
    [4, 5],
  ]);
});

test.serial('gatherSync: an exhausted shard drops out', async (t) => {
  t.deepEqual(
    await fromIterators([[1], [10, 20, 30], [100, 200]]).take(10),
    [1, 10, 100, 20, 200, 30],
  );
});

test.serial('union: the shards of both, gathered round robin', async (t) => {
  const it = fromItems(['a', 'b', 'c'], 1).union(fromItems(['x', 'y', 'z'], 1));
  t.is(it.numShards(), 2);
  t.deepEqual(await it.take(10), ['a', 'x', 'b', 'y', 'c', 'z']);
  t.deepEqual(await it.forEach((s) => s.toUpperCase()).take(10), ['A', 'X', 'B', 'Y', 'C', 'Z']);
});

test.serial('selectShards([0, 2])', async (t) => {
  const it = fromItems([1, 2, 3, 4], 4).selectShards([0, 2]);
  t.is(it.numShards(), 2);
  t.deepEqual(await it.take(10), [1, 3]);
  t.deepEqual(await fromItems([1, 2, 3, 4], 4).selectShards([3, 1]).take(10), [4, 2]);
});

test.serial('each gather is a fresh cold run', async (t) => {
  const it = fromRange(8).forEach((x) => x + 1);
  const first = await it.take(4);
  const second = await it.take(4);
  t.deepEqual(first, [1, 5, 2, 6]);
  t.deepEqual(second, first);
  t.deepEqual(await takeAndClose(it.gatherSync(), 4), first);
});

test.serial('a transform leaves the original iterator usable', async (t) => {
  const base = fromRange(4);
  const doubled = base.forEach((x) => x * 2);
  t.deepEqual(await doubled.take(10), [0, 4, 2, 6]);
  t.deepEqual(await base.take(10), [0, 2, 1, 3]);
});

/** Checks that `items` holds exactly the shards' items, each shard's in its order. */
function assertShardOrder(
  t: import('ava').ExecutionContext,
  items: readonly number[],
  shards: readonly number[][],
): void {
  t.deepEqual(sortNumbers(items), sortNumbers(shards.flat()));
  for (const shard of shards) {
    t.deepEqual(
      items.filter((x) => shard.includes(x)),
      shard,
    );
  }
}

test.serial('gatherAsync: same items, each shard in its order', async (t) => {
  const items = await fromRange(9, 3).gatherAsync().take(100);
  assertShardOrder(t, items, [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
  ]);
});

test.serial(
  'gatherAsync({ numAsync: 3, batchMs: 5 }): same items, each shard in order',
  async (t) => {
    const slow = fromRange(9, 3).forEach(async (x) => {
      await new Promise((resolve) => setTimeout(resolve, (x * 3) % 4));
      return x;
    });
    const items = await slow.gatherAsync({ numAsync: 3, batchMs: 5 }).take(100);
    assertShardOrder(t, items, [
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
  },
);

test.serial('gatherAsync with take(n) stops early', async (t) => {
  const local = fromRange(4, { numShards: 2, repeat: true }).gatherAsync();
  const items = await local.take(5);
  t.is(items.length, 5);
  t.true(items.every((x) => x >= 0 && x < 4));
  // take leaves the LocalIterator usable; return() stops its run.
  t.is((await local.take(1)).length, 1);
  await local.return();
  t.deepEqual(await local.next(), { done: true, value: undefined });
});

// ---------------------------------------------------------------------------- LocalIterator

test.serial('LocalIterator.forEach runs in the calling thread: closures are fine', async (t) => {
  const offset = 100;
  const seen: number[] = [];
  const local = fromRange(4)
    .gatherSync()
    .forEach((x) => {
      seen.push(x);
      return x + offset;
    });
  t.deepEqual(await local.take(10), [100, 102, 101, 103]);
  t.deepEqual(seen, [0, 2, 1, 3]);
  t.deepEqual(await fromRange(4).gatherSync().forEach(new CumulativeSum()).take(10), [
    [0, 0],
    [2, 2],
    [3, 1],
    [6, 3],
  ]);
});

test.serial('LocalIterator.forEach with maxConcurrency', async (t) => {
  const local = fromRange(6)
    .gatherSync()
    .forEach(
      async (x) => {
        await new Promise((resolve) => setTimeout(resolve, (x * 7) % 5));
        return x * 10;
      },
      { maxConcurrency: 3 },
    );
  t.deepEqual(sortNumbers(await local.take(100)), [0, 10, 20, 30, 40, 50]);
});

test.serial('LocalIterator filter, batch, flatten, combine', async (t) => {
  t.deepEqual(
    await fromRange(6)
      .gatherSync()
      .filter((x) => x % 3 !== 0)
      .take(10),
    [1, 4, 2, 5],
  );
  t.deepEqual(await fromRange(5, 1).gatherSync().batch(2).take(10), [[0, 1], [2, 3], [4]]);
  t.deepEqual(await fromRange(4).batch(2).gatherSync().flatten().take(10), [0, 1, 2, 3]);
  t.deepEqual(
    await fromRange(2)
      .gatherSync()
      .combine((x) => [x, -x])
      .take(10),
    [0, -0, 1, -1],
  );
});

test.serial('LocalIterator.shuffle(seed): same seed, same order; a permutation', async (t) => {
  const first = await fromRange(8, 1).gatherSync().shuffle(4, 42).take(100);
  const second = await fromRange(8, 1).gatherSync().shuffle(4, 42).take(100);
  t.deepEqual(first, second);
  t.deepEqual(sortNumbers(first), range(8));
  t.deepEqual(await fromRange(4).gatherSync().shuffle(1).take(100), [0, 2, 1, 3]);
});

test.serial('LocalIterator.transform takes an RxJS operator', async (t) => {
  t.deepEqual(
    await fromRange(4, 1)
      .gatherSync()
      .transform(scan((a, x) => a + x, 0))
      .take(10),
    [0, 1, 3, 6],
  );
});

test.serial('LocalIterator.take(n) reads at most n', async (t) => {
  const local = fromRange(100).gatherSync();
  t.deepEqual(await local.take(3), [0, 50, 1]);
  t.deepEqual(await local.take(2), [51, 2], 'the next take continues');
  await local.return();
  t.deepEqual(await fromRange(4).gatherSync().take(0), []);
});

test.serial('show() prints items with console.log', async (t) => {
  const parallel = await captureLog(() => fromRange(4).show(2));
  t.deepEqual(parallel, [[0], [2]]);
  const local = await captureLog(() => fromRange(2, 1).gatherSync().show());
  t.deepEqual(local, [[0], [1]]);
  const capped = await captureLog(() => fromRange(30, 1).show());
  t.deepEqual(
    capped,
    range(20).map((x) => [x]),
  );
});

test.serial('for await over a LocalIterator, with break', async (t) => {
  const all: number[] = [];
  for await (const x of fromRange(4).gatherSync()) all.push(x);
  t.deepEqual(all, [0, 2, 1, 3]);

  const local = fromRange(4, { numShards: 2, repeat: true }).gatherSync();
  const some: number[] = [];
  for await (const x of local) {
    some.push(x);
    if (some.length === 3) break;
  }
  t.deepEqual(some, [0, 2, 1]);
  t.deepEqual(await local.next(), { done: true, value: undefined });
});

test.serial('LocalIterator next() and return()', async (t) => {
  const local = fromRange(4).gatherSync();
  t.deepEqual(await local.next(), { done: false, value: 0 });
  t.deepEqual(await local.next(), { done: false, value: 2 });
  t.deepEqual(await local.return(), { done: true, value: undefined });
  t.deepEqual(await local.next(), { done: true, value: undefined });

  const exhausted = fromRange(1, 1).gatherSync();
  t.deepEqual(await exhausted.next(), { done: false, value: 0 });
  t.deepEqual(await exhausted.next(), { done: true, value: undefined });
  t.deepEqual(await exhausted.next(), { done: true, value: undefined });
});

test.serial('rxjs from(localIterator)', async (t) => {
  t.deepEqual(await lastValueFrom(from(fromRange(4).gatherSync()).pipe(toArray())), [0, 2, 1, 3]);
});

// ---------------------------------------------------------------------------- TSDoc examples

test.serial('TSDoc examples of create.ts', async (t) => {
  // The fromItems example states [1, 3, 2, 4]; per the contract (shards [1, 3] and [2, 4], read
  // round robin) the result is [1, 2, 3, 4], as in Ray.
  t.deepEqual(await takeAndClose(fromItems([1, 2, 3, 4]).gatherSync(), 4), [1, 2, 3, 4]);
  t.deepEqual(await takeAndClose(fromRange(4).gatherSync(), 4), [0, 2, 1, 3]);
  const it = fromIterators([
    [1, 2],
    function* () {
      yield 3;
      yield 4;
    },
  ]);
  t.deepEqual(await takeAndClose(it.gatherSync(), 4), [1, 3, 2, 4]);
});

test.serial('TSDoc examples of ParallelIterator', async (t) => {
  const it = fromRange(4).forEach((x) => x * 2);
  t.is(String(it), 'ParallelIterator[fromRange[4, shards=2].forEach()]');
  t.deepEqual(await takeAndClose(it.gatherSync(), 4), [0, 4, 2, 6]);

  const factor = 3;
  t.deepEqual(
    await fromRange(4)
      .forEach((x) => x * factor, { context: { factor } })
      .take(4),
    [0, 6, 3, 9],
  );
  t.deepEqual(
    await fromRange(4)
      .filter((x) => x < 3)
      .take(4),
    [0, 2, 1],
  );
  t.deepEqual(await fromRange(4).batch(2).take(2), [
    [0, 1],
    [2, 3],
  ]);
  t.deepEqual(
    await fromItems([
      [1, 2],
      [3, 4],
    ])
      .flatten()
      .take(4),
    [1, 3, 2, 4],
  );
  t.deepEqual(
    await fromRange(2, 1)
      .combine((x) => [x, x])
      .take(4),
    [0, 0, 1, 1],
  );
});

test.serial('TSDoc examples of ParallelIterator: shuffle to selectShards', async (t) => {
  const shuffled = await fromRange(8).localShuffle(2, 7).take(8);
  t.deepEqual(sortNumbers(shuffled), range(8));
  t.deepEqual(await fromRange(8).localShuffle(2, 7).take(8), shuffled);
  t.deepEqual(
    await fromRange(4, 1)
      .transform((s, rx) => s.pipe(rx.scan((a, x) => a + x, 0)))
      .take(4),
    [0, 1, 3, 6],
  );
  t.deepEqual(
    await fromItems(['a', 'b', 'c'], 1)
      .union(fromItems(['x', 'y', 'z'], 1))
      .take(6),
    ['a', 'x', 'b', 'y', 'c', 'z'],
  );
  t.deepEqual(await fromItems([1, 2, 3, 4], 4).selectShards([0, 2]).take(4), [1, 3]);
});

test.serial('TSDoc examples of ParallelIterator: reading', async (t) => {
  t.deepEqual(await takeAndClose(fromRange(4).gatherSync(), 4), [0, 2, 1, 3]);
  t.deepEqual((await takeAndClose(fromRange(4).gatherAsync(), 4)).sort(), [0, 1, 2, 3]);
  t.deepEqual(await takeAndClose(fromRange(4).batchAcrossShards(), 2), [
    [0, 2],
    [1, 3],
  ]);
  t.deepEqual(await takeAndClose(fromRange(4).getShard(1), 2), [2, 3]);
  const [, s1] = fromRange(4).shards();
  t.deepEqual(await takeAndClose(s1!, 2), [2, 3]);
  t.deepEqual(await fromRange(4).take(3), [0, 2, 1]);
  t.deepEqual(await captureLog(() => fromRange(4).show(2)), [[0], [2]]);
});

test.serial('TSDoc example of ParallelIterator.close()', async (t) => {
  const it = fromRange(4, { repeat: true });
  const local = it.gatherSync();
  t.deepEqual(await local.next(), { done: false, value: 0 });
  await it.close();
  // The run is stopped: reading on is an error or the end, never a hang.
  const after = await local.next().then(
    (result) => result,
    (error: unknown) => error,
  );
  t.true(after instanceof Error || (after as IteratorResult<number>).done === true);
  await local.return();
});

test.serial('ParallelIterator.close() rejects a pending pull with a ClosedError', async (t) => {
  // Each shard's second item (1 and 3) takes long, so that the pull after
  // the first round waits for it.
  const it = fromRange(4, { repeat: true }).forEach(async (x) => {
    if (x % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 2000));
    return x;
  });
  const local = it.gatherSync();
  t.deepEqual(await local.next(), { done: false, value: 0 });
  t.deepEqual(await local.next(), { done: false, value: 2 });
  const pending = local.next();
  await it.close();
  await t.throwsAsync(pending, { instanceOf: ClosedError });
  await local.return();
});

test.serial('TSDoc examples of LocalIterator', async (t) => {
  const lines = await captureLog(async () => {
    const local = fromRange(4)
      .gatherSync()
      .forEach((x) => x * 10);
    for await (const x of local) console.log(x);
  });
  t.deepEqual(lines, [[0], [20], [10], [30]]);
  t.deepEqual(
    await takeAndClose(
      fromRange(4)
        .gatherSync()
        .forEach(async (x) => x + 1),
      4,
    ),
    [1, 3, 2, 4],
  );
  t.deepEqual(
    await fromRange(4)
      .gatherSync()
      .filter((x) => x < 3)
      .take(4),
    [0, 2, 1],
  );
  t.deepEqual(await takeAndClose(fromRange(4, 1).gatherSync().batch(3), 2), [[0, 1, 2], [3]]);
  t.deepEqual(
    await takeAndClose(
      fromItems([[1, 2], [3]], 1)
        .gatherSync()
        .flatten(),
      3,
    ),
    [1, 2, 3],
  );
  t.deepEqual(
    await takeAndClose(
      fromRange(2, 1)
        .gatherSync()
        .combine((x) => [x, x]),
      4,
    ),
    [0, 0, 1, 1],
  );
  t.deepEqual(
    sortNumbers(await takeAndClose(fromRange(8, 1).gatherSync().shuffle(4, 42), 8)),
    range(8),
  );
  t.deepEqual(
    await takeAndClose(
      fromRange(4, 1)
        .gatherSync()
        .transform(scan((a, x) => a + x, 0)),
      4,
    ),
    [0, 1, 3, 6],
  );
  t.deepEqual(await takeAndClose(fromRange(4).gatherSync(), 3), [0, 2, 1]);
  t.deepEqual(await captureLog(() => fromRange(2, 1).gatherSync().show()), [[0], [1]]);
});

test.serial('TSDoc examples of functions.ts', async (t) => {
  const sums = fromRange(5, 1).forEach(
    stateful(() => {
      let total = 0;
      return (x: number) => [(total += x), x];
    }),
  );
  t.deepEqual(await sums.take(5), [
    [0, 0],
    [1, 1],
    [3, 2],
    [6, 3],
    [10, 4],
  ]);
  // The moduleFn example names ./double.js; the same module is fixtures/values-double.js here.
  t.deepEqual(
    await fromRange(4).forEach(moduleFn('./fixtures/values-double.js', 'double')).take(4),
    [0, 4, 2, 6],
  );
});

test.serial('TSDoc examples of errors.ts that run workers', async (t) => {
  const local = fromRange(4).gatherSync();
  const pending = local.next();
  await local.return();
  await t.throwsAsync(pending, { instanceOf: ClosedError });

  const error = await t.throwsAsync(
    fromRange(4)
      .forEach(() => {
        throw new Error('boom');
      })
      .take(1),
    { instanceOf: ShardError },
  );
  t.is(error?.shard, 0);
  t.is((error?.cause as Error).message, 'boom');
});

test.serial('TSDoc example of ParallelIterator.repartition', async (t) => {
  const it = fromRange(9, 3)
    .repartition(2)
    .forEach((x) => 2 * x);
  t.deepEqual(sortNumbers(await it.getShard(0).take(9)), [0, 4, 6, 10, 12, 16]);
  t.deepEqual(sortNumbers(await it.getShard(1).take(9)), [2, 8, 14]);
});

test.serial('TSDoc example of LocalIterator.zipWithSourceActor', async (t) => {
  const pairs: Array<[number, number]> = [];
  const handles = new Map<number, unknown>();
  for await (const [actor, x] of fromItems([1, 2, 3, 4]).gatherAsync().zipWithSourceActor()) {
    const shard = (actor as ShardHandle).shard;
    pairs.push([shard, x]);
    if (handles.has(shard)) t.is(handles.get(shard), actor, 'one handle per shard');
    handles.set(shard, actor);
  }
  t.deepEqual(
    [...pairs].sort((a, b) => a[1] - b[1]),
    [
      [0, 1],
      [1, 2],
      [0, 3],
      [1, 4],
    ],
  );
});

test.serial('TSDoc example of LocalIterator.union', async (t) => {
  const a = fromItems(['a', 'b'], 1).gatherSync();
  const b = fromItems(['x', 'y'], 1).gatherSync();
  t.deepEqual(await takeAndClose(a.union(b, { deterministic: true }), 4), ['a', 'x', 'b', 'y']);
});

test.serial('TSDoc example of LocalIterator.duplicate', async (t) => {
  const [a, b] = fromRange(3, 1).gatherSync().duplicate(2);
  t.deepEqual(await Promise.all([takeAndClose(a!, 3), takeAndClose(b!, 3)]), [
    [0, 1, 2],
    [0, 1, 2],
  ]);
});

test.serial('TSDoc example of LocalIterator.asObservable', async (t) => {
  t.deepEqual(
    await lastValueFrom(fromRange(4).gatherSync().asObservable().pipe(toArray())),
    [0, 2, 1, 3],
  );
});

test.serial('TSDoc example of getMetrics', async (t) => {
  const sums = fromItems([1, 2, 3, 4], 1)
    .gatherSync()
    .forEach((x) => {
      const m = getMetrics();
      m.counters.foo! += x;
      return m.counters.foo;
    });
  t.deepEqual(await takeAndClose(sums, 4), [1, 3, 6, 10]);
});
