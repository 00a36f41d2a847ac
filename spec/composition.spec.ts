/**
 * Composition of iterators: `ParallelIterator.repartition`, `union` and
 * `selectShards`; `LocalIterator.union` (with the shared metrics context),
 * `duplicate` and `zipWithSourceActor`. The exact values come from Ray's own
 * tests of `ray.util.iter`.
 *
 * Every test is serial: the last one counts the threads of this process.
 */
import test from 'ava';
import {
  fromItems,
  fromIterators,
  fromRange,
  getMetrics,
  LocalIterator,
  ParallelIterator,
  poolStats,
  UsageError,
  type ShardHandle,
} from 'pariter';
import { threadBaseline } from './helpers/baseline';
import { within } from './helpers/hang';
import { threadCount } from './helpers/threadCount';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const baseline = threadBaseline();
const { assertBackToBaseline } = baseline;

const range = (start: number, end: number, step = 1): number[] => {
  const out: number[] = [];
  for (let x = start; x < end; x += step) out.push(x);
  return out;
};
const sortedNumbers = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

// --- ParallelIterator.repartition -------------------------------------------

test.serial('repartition: name, shard count and the items of each new shard (Ray)', async (t) => {
  const it = fromRange(9, 3)
    .repartition(2)
    .forEach((x) => 2 * x);
  t.true(it instanceof ParallelIterator);
  t.is(
    String(it),
    'ParallelIterator[fromRange[9, shards=3].repartition[numPartitions=2].forEach()]',
  );
  t.is(it.numShards(), 2);
  const shard0 = await within(it.getShard(0).take(100), 'getShard(0)');
  const shard1 = await within(it.getShard(1).take(100), 'getShard(1)');
  t.deepEqual(sortedNumbers(shard0), [0, 4, 6, 10, 12, 16]);
  t.deepEqual(sortedNumbers(shard1), [2, 8, 14]);
  await assertBackToBaseline(t, 'after reading the repartitioned shards');
});

test.serial(
  'repartition: fromRange(100, 2).repartition(3) deals each old shard round robin',
  async (t) => {
    const it = fromRange(100, 2).repartition(3);
    t.is(it.numShards(), 3);
    const expected = [0, 1, 2].map((i) => [...range(i, 50, 3), ...range(50 + i, 100, 3)]);
    // Spelled out, as in Ray's test.
    t.deepEqual(expected[0]?.slice(0, 3), [0, 3, 6]);
    t.deepEqual(expected[0]?.slice(-2), [95, 98]);
    t.deepEqual(expected[1]?.slice(-2), [96, 99]);
    t.deepEqual(expected[2]?.slice(15, 18), [47, 52, 55]);
    for (const i of [0, 1, 2]) {
      const items = await within(it.getShard(i).take(1000), `getShard(${i})`);
      t.deepEqual(sortedNumbers(items), expected[i], `shard ${i}`);
    }
    // All of them, once, through a gather.
    const all = await within(it.gatherAsync().take(1000), 'gatherAsync');
    t.deepEqual(sortedNumbers(all), range(0, 100));
    await assertBackToBaseline(t, 'after reading fromRange(100, 2).repartition(3)');
  },
);

test.serial(
  'repartition is deterministic: two repartitions give the same shards in the same order',
  async (t) => {
    const it1 = fromRange(9, 1).repartition(2);
    const it2 = fromRange(9, 1).repartition(2);
    for (const i of [0, 1]) {
      const a = await within(it1.getShard(i).take(100), `it1.getShard(${i})`);
      const b = await within(it2.getShard(i).take(100), `it2.getShard(${i})`);
      t.deepEqual(a, b, `shard ${i}`);
      t.deepEqual(sortedNumbers(a), range(i, 9, 2), `shard ${i} holds every other item`);
    }
    const g1 = await within(it1.gatherSync().take(100), 'it1.gatherSync');
    const g2 = await within(it2.gatherSync().take(100), 'it2.gatherSync');
    t.deepEqual(g1, g2);
    t.deepEqual(sortedNumbers(g1), range(0, 9));
  },
);

test.serial('union after repartition: shards of both, all items once', async (t) => {
  const it = fromRange(8, 2)
    .repartition(2)
    .union(fromItems(['a', 'b', 'c', 'd'], 2));
  t.is(it.numShards(), 4);
  t.is(
    String(it),
    'ParallelIterator[ParallelUnion[ParallelIterator[fromRange[8, shards=2].repartition[numPartitions=2]], ParallelIterator[fromItems[string, 4, shards=2]]]]',
  );
  const items = await within(it.gatherAsync().take(100), 'gatherAsync');
  t.deepEqual([...items].map(String).sort(), [
    '0',
    '1',
    '2',
    '3',
    '4',
    '5',
    '6',
    '7',
    'a',
    'b',
    'c',
    'd',
  ]);
  await assertBackToBaseline(t, 'after a gather of a union with a repartition');
});

test.serial('repartition stops all workers (old and new) afterwards', async (t) => {
  const it = fromRange(40, 3)
    .forEach((x) => x + 1)
    .repartition(2)
    .forEach((x) => x * 10);
  let peak = 0;
  let peakShards = 0;
  // Exhausting.
  const all = await within(
    it
      .gatherSync()
      .forEach((x) => {
        peak = Math.max(peak, threadCount());
        peakShards = Math.max(peakShards, poolStats().shards);
        return x;
      })
      .take(1000),
    'exhausting',
  );
  t.deepEqual(
    sortedNumbers(all),
    range(1, 41).map((x) => x * 10),
  );
  t.true(peakShards >= 5, `3 old and 2 new shards were running (${peakShards} in the pool)`);
  // The default pool has at least 4 threads: the 5 shards share them.
  t.true(
    peak >= baseline.count + 4,
    `the shards ran on 4 threads (peak ${peak}, baseline ${baseline.count})`,
  );
  await assertBackToBaseline(t, 'after exhausting a repartition');
  // Stopping early.
  const early = it.gatherAsync();
  t.is((await within(early.take(3), 'take(3)')).length, 3);
  await early.return();
  await assertBackToBaseline(t, 'after take(3) and return() of a repartition');
  // One shard only.
  const one = it.getShard(1);
  t.is((await within(one.take(2), 'getShard(1).take(2)')).length, 2);
  await one.return();
  await assertBackToBaseline(t, 'after getShard(1).take(2) and return() of a repartition');
  // close() while reading an infinite source.
  const endless = fromRange(6, { numShards: 2, repeat: true }).repartition(3);
  const local = endless.gatherSync();
  for (let i = 0; i < 10; i++) t.false((await within(local.next(), 'next()')).done);
  await within(endless.close(), 'close()');
  await assertBackToBaseline(t, 'after close() of a repeat repartition');
  await local.return();
});

// --- ParallelIterator.union and selectShards ---------------------------------

test.serial(
  'ParallelIterator.union: gathers in round robin over the shards of both (Ray)',
  async (t) => {
    const it = fromItems(['a', 'b', 'c'], 1).union(fromItems(['x', 'y', 'z'], 1));
    t.is(it.numShards(), 2);
    t.is(
      String(it),
      'ParallelIterator[ParallelUnion[ParallelIterator[fromItems[string, 3, shards=1]], ParallelIterator[fromItems[string, 3, shards=1]]]]',
    );
    t.deepEqual(await within(it.gatherSync().take(100), 'gatherSync'), [
      'a',
      'x',
      'b',
      'y',
      'c',
      'z',
    ]);
    t.deepEqual(await within(it.take(100), 'take'), ['a', 'x', 'b', 'y', 'c', 'z']);
    // Transformations after a union apply to the shards of both.
    const upper = it.forEach((s) => s.toUpperCase());
    t.deepEqual(await within(upper.take(100), 'take after forEach'), [
      'A',
      'X',
      'B',
      'Y',
      'C',
      'Z',
    ]);
  },
);

test.serial('ParallelIterator.union: a non-ParallelIterator is a TypeError', (t) => {
  const it = fromItems([1, 2], 1);
  for (const other of [[1, 2], fromItems([1], 1).gatherSync(), null, undefined, {}]) {
    t.throws(() => it.union(other as never), { instanceOf: TypeError });
  }
});

test.serial('selectShards picks shards in the given order (Ray)', async (t) => {
  const it = fromItems([1, 2, 3, 4], 4);
  const even = it.selectShards([0, 2]);
  t.is(even.numShards(), 2);
  t.deepEqual(await within(even.gatherSync().take(100), 'selectShards([0, 2])'), [1, 3]);
  t.deepEqual(await within(it.selectShards([1, 3]).take(100), 'selectShards([1, 3])'), [2, 4]);
  t.deepEqual(await within(it.selectShards([3, 0]).take(100), 'selectShards([3, 0])'), [4, 1]);
  // The original is unchanged.
  t.is(it.numShards(), 4);
});

test.serial('selectShards: after union a UsageError, empty or out of range a RangeError', (t) => {
  const it = fromItems([1, 2, 3, 4], 4);
  const union = it.union(fromItems([5, 6], 2));
  t.throws(() => union.selectShards([0]), { instanceOf: UsageError });
  t.throws(() => union.forEach((x) => x).selectShards([0, 1]), { instanceOf: UsageError });
  t.throws(() => it.selectShards([]), { instanceOf: RangeError });
  t.throws(() => it.selectShards([4]), { instanceOf: RangeError });
  t.throws(() => it.selectShards([0, 4]), { instanceOf: RangeError });
  t.throws(() => it.selectShards([-1]), { instanceOf: RangeError });
  t.throws(() => it.selectShards([1.5]), { instanceOf: RangeError });
});

// --- LocalIterator.union and metrics -----------------------------------------

test.serial('nested deterministic unions share one metrics context (Ray)', async (t) => {
  const mk = (key: string): LocalIterator<number> =>
    fromItems([1, 2, 3, 4], 1)
      .gatherAsync()
      .forEach((_x) => {
        const m = getMetrics();
        m.counters[key] = (m.counters[key] as number) + 1;
        return m.counters[key] as number;
      });
  const missing: string[] = [];
  let n = 0;
  const verify = (x: number): number => {
    const m = getMetrics();
    n += 1;
    if (n >= 3) {
      for (const key of ['foo', 'bar', 'baz']) {
        if (!(key in m.counters)) missing.push(`item ${n}: no counter ${key}`);
      }
    }
    return x;
  };
  const out = mk('foo')
    .union(mk('bar'), { deterministic: true })
    .union(mk('baz'), { deterministic: true })
    .forEach(verify);
  t.deepEqual(await within(out.take(20), 'take(20)'), [1, 1, 1, 2, 2, 3, 2, 4, 3, 3, 4, 4]);
  t.is(n, 12);
  t.deepEqual(missing, [], 'every input of the nested union shares the context of the outer one');
});

test.serial('union shares one metrics context across its inputs (Ray)', async (t) => {
  const it1 = fromItems([1, 2, 3, 4], 1)
    .gatherAsync()
    .forEach((x) => {
      const m = getMetrics();
      m.counters.foo = (m.counters.foo as number) + x;
      return m.counters.foo as number;
    });
  const it2 = fromItems([1, 2, 3, 4], 1)
    .gatherAsync()
    .forEach((_x) => {
      const m = getMetrics();
      m.counters.bar = (m.counters.bar as number) + 100;
      return m.counters.bar as number;
    });
  const problems: string[] = [];
  const out = it1.union(it2, { deterministic: true }).forEach((x) => {
    const m = getMetrics();
    m.counters.n = (m.counters.n as number) + 1;
    if ((m.counters.n as number) >= 2) {
      if (!('foo' in m.counters)) problems.push(`item ${m.counters.n}: no foo`);
      if (!('bar' in m.counters)) problems.push(`item ${m.counters.n}: no bar`);
    }
    return x;
  });
  t.deepEqual(await within(out.take(10), 'take(10)'), [1, 100, 3, 200, 6, 300, 10, 400]);
  t.deepEqual(problems, []);
});

test.serial('separate chains have isolated metrics contexts (Ray)', async (t) => {
  const f = (x: number): number => {
    const m = getMetrics();
    m.counters.foo = (m.counters.foo as number) + x;
    return m.counters.foo as number;
  };
  const it1 = fromItems([1, 2, 3, 4], 1).gatherSync().forEach(f);
  const it2 = fromItems([1, 2, 3, 4], 1).gatherSync().forEach(f);
  // Reading past the end exhausts each chain, which stops its run.
  t.deepEqual(await within(it1.take(5), 'it1'), [1, 3, 6, 10]);
  t.deepEqual(await within(it2.take(5), 'it2'), [1, 3, 6, 10]);
  // Outside a chain's function.
  t.throws(() => getMetrics(), { instanceOf: UsageError });
});

test.serial('LocalIterator.union: printed name', (t) => {
  const a = fromItems(['a', 'b', 'c'], 1).gatherAsync();
  const b = fromRange(5, 2).forEach(String).gatherAsync();
  const u = a.union(b);
  t.true(u instanceof LocalIterator);
  t.is(
    String(u),
    'LocalIterator[LocalUnion[LocalIterator[ParallelIterator[fromItems[string, 3, shards=1]].gatherAsync()], LocalIterator[ParallelIterator[fromRange[5, shards=2].forEach()].gatherAsync()]]]',
  );
  t.regex(String(u.forEach((x) => x)), /^LocalIterator\[LocalUnion\[.*\]\.forEach\(\)\]$/);
});

test.serial('LocalIterator.union (as ready) gives every item of every input (Ray)', async (t) => {
  const it1 = fromItems(['a', 'b', 'c'], 1).gatherAsync();
  const it2 = fromRange(5, 2).forEach(String).gatherAsync();
  const items = await within(it1.union(it2).take(100), 'take');
  t.deepEqual([...items].sort(), ['0', '1', '2', '3', '4', 'a', 'b', 'c']);
  await assertBackToBaseline(t, 'after exhausting a union');
});

/**
 * A one-shard source that sleeps `ms` in its worker before each of its 10
 * items. The sources sharing `gate` start producing together, once each has
 * started (so a worker that was slower to start does not skew the race).
 */
const timedSource = (label: string, ms: number, gate: Int32Array): ParallelIterator<string> =>
  fromIterators<string>(
    [
      function* () {
        Atomics.add(gate, 0, 1);
        Atomics.notify(gate, 0);
        for (
          let v = Atomics.load(gate, 0), n = 0;
          v < 2 && n < 200;
          v = Atomics.load(gate, 0), n++
        ) {
          Atomics.wait(gate, 0, v, 50);
        }
        const cell = new Int32Array(new SharedArrayBuffer(4));
        for (let i = 0; i < 10; i++) {
          Atomics.wait(cell, 0, 0, ms);
          yield `${label}${i}`;
        }
      },
    ],
    { context: { label, ms, gate } },
  );
const newGate = (): Int32Array => new Int32Array(new SharedArrayBuffer(4));

test.serial(
  'LocalIterator.union (as ready): a fast input does not starve a slow one (Ray)',
  async (t) => {
    const gate = newGate();
    const fast = timedSource('fast', 5, gate).gatherAsync();
    const slow = timedSource('slow', 30, gate).gatherAsync();
    const items = await within(fast.union(slow).take(100), 'the union');
    t.is(items.length, 20);
    t.deepEqual(
      items.filter((x) => x.startsWith('fast')),
      range(0, 10).map((i) => `fast${i}`),
    );
    t.deepEqual(
      items.filter((x) => x.startsWith('slow')),
      range(0, 10).map((i) => `slow${i}`),
    );
    t.true(
      items.slice(-3).every((x) => x.startsWith('slow')),
      `the last three are the slow input's: ${items.join(' ')}`,
    );
  },
);

test.serial(
  'ParallelIterator.union + gatherAsync: the slow shard ends the stream (Ray)',
  async (t) => {
    const gate = newGate();
    const it = timedSource('fast', 5, gate).union(timedSource('slow', 30, gate));
    const items = await within(it.gatherAsync().take(100), 'gather');
    t.is(items.length, 20);
    t.true(
      items.slice(-3).every((x) => x.startsWith('slow')),
      `the last three are the slow shard's: ${items.join(' ')}`,
    );
  },
);

test.serial('LocalIterator.union: roundRobinWeights, deterministic', async (t) => {
  const numbers = fromItems([1, 2, 3, 4, 5, 6], 1).gatherSync();
  const letters = fromItems(['a', 'b', 'c', 'd', 'e', 'f'], 1).gatherSync();
  const u = numbers.union(letters, { deterministic: true, roundRobinWeights: [2, 1] });
  t.deepEqual(await within(u.take(100), 'take'), [1, 2, 'a', 3, 4, 'b', 5, 6, 'c', 'd', 'e', 'f']);
  // Without weights: one each.
  const plain = fromItems([1, 2, 3], 1)
    .gatherSync()
    .union(fromItems(['a', 'b', 'c'], 1).gatherSync(), { deterministic: true });
  t.deepEqual(await within(plain.take(100), 'take'), [1, 'a', 2, 'b', 3, 'c']);
});

test.serial('LocalIterator.union: bad weights or inputs fail at the call', (t) => {
  const a = fromItems([1], 1).gatherSync();
  const b = fromItems([2], 1).gatherSync();
  t.throws(() => a.union(b, { roundRobinWeights: [1] }), { instanceOf: RangeError });
  t.throws(() => a.union(b, { roundRobinWeights: [1, 2, 3] }), { instanceOf: RangeError });
  t.throws(() => a.union(b, { deterministic: true, roundRobinWeights: [0, 1] }), {
    instanceOf: RangeError,
  });
  // A ParallelIterator is not a LocalIterator, also as the last argument (it is no options object).
  t.throws(() => a.union(fromItems([1], 1) as never, b), { instanceOf: TypeError });
  t.throws(() => a.union(fromItems([1], 1) as never), { instanceOf: TypeError });
  t.throws(() => a.union(b, fromItems([1], 1) as never), { instanceOf: TypeError });
});

// --- LocalIterator.duplicate --------------------------------------------------

test.serial('duplicate(2): both copies read concurrently give every item', async (t) => {
  const [a, b] = fromRange(5, 1).gatherSync().duplicate(2);
  if (!a || !b) return t.fail('two copies');
  const [xs, ys] = await within(Promise.all([a.take(100), b.take(100)]), 'both copies');
  t.deepEqual(xs, [0, 1, 2, 3, 4]);
  t.deepEqual(ys, [0, 1, 2, 3, 4]);
  await assertBackToBaseline(t, 'after reading both copies');
});

test.serial('duplicate: a copy can be transformed (batched) on its own', async (t) => {
  const [a, b] = fromRange(5, 1).gatherSync().duplicate(2);
  if (!a || !b) return t.fail('two copies');
  const [batches, items] = await within(
    Promise.all([a.batch(2).take(100), b.forEach((x) => x + 1).take(100)]),
    'both copies',
  );
  t.deepEqual(batches, [[0, 1], [2, 3], [4]]);
  t.deepEqual(items, [1, 2, 3, 4, 5]);
  const three = fromItems(['x', 'y'], 1).gatherSync().duplicate(3);
  t.is(three.length, 3);
  t.deepEqual(await within(Promise.all(three.map((c) => c.take(9))), 'three copies'), [
    ['x', 'y'],
    ['x', 'y'],
    ['x', 'y'],
  ]);
});

test.serial(
  'duplicate keeps memory bounded: a copy far ahead waits for the slow one',
  async (t) => {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const source = fromRange(8, { numShards: 1, repeat: true }).forEach(
      (x) => {
        Atomics.add(counter, 0, 1);
        return x;
      },
      { context: { counter } },
    );
    const [a, b] = source.gatherSync().duplicate(2);
    if (!a || !b) return t.fail('two copies');
    const computed = (): number => Atomics.load(counter, 0);
    const SLACK = 2;
    let bRead = 0;
    const readB = async (): Promise<void> => {
      t.false((await within(b.next(), 'b.next()')).done);
      bRead += 1;
    };
    for (let i = 0; i < 10; i++) await readB();
    // A may run up to 1024 items ahead of B, and no further.
    let aRead = 0;
    while (aRead < bRead + 1024) {
      t.false((await within(a.next(), 'a.next()')).done);
      aRead += 1;
    }
    for (let round = 0; round < 5; round++) {
      let resolved = false;
      const pendingA = a.next().then((result) => {
        resolved = true;
        return result;
      });
      // A's next must not resolve before B advances. Give it ample chance: a
      // probe run starts a worker and makes 3 round trips, far more than the
      // one round trip A's running shard would need to answer a read-ahead.
      t.deepEqual(await within(fromRange(3, 1).take(3), 'probe run'), [0, 1, 2]);
      for (let step = 0; step < 100; step++) await turn();
      t.false(resolved, `round ${round}: A got item ${aRead + 1} while B had read ${bRead}`);
      t.true(
        computed() <= bRead + 1024 + SLACK,
        `round ${round}: the source computed ${computed()} items while B had read ${bRead}`,
      );
      // B advances by one: it takes from what was already read.
      const winner = await within(
        Promise.race([pendingA.then(() => 'a'), b.next().then(() => 'b')]),
        'race of A and B',
      );
      t.is(winner, 'b');
      bRead += 1;
      t.false((await within(pendingA, 'the waiting a.next()')).done);
      aRead += 1;
      t.is(aRead, bRead + 1024);
    }
    t.true(computed() <= bRead + 1024 + SLACK, `computed ${computed()}, B read ${bRead}`);
    // Stop both copies: the run's workers stop.
    await a.return();
    await b.return();
    await assertBackToBaseline(t, 'after returning both copies');
  },
);

test.serial('duplicate(n) for n < 2 or not an integer is a RangeError', (t) => {
  const local = fromRange(5, 1).gatherSync();
  t.throws(() => local.duplicate(1), { instanceOf: RangeError });
  t.throws(() => local.duplicate(0), { instanceOf: RangeError });
  t.throws(() => local.duplicate(2.5), { instanceOf: RangeError });
});

// --- zipWithSourceActor ------------------------------------------------------

test.serial('zipWithSourceActor after gatherAsync: one handle per shard (Ray)', async (t) => {
  const pairs = await within(
    fromItems([1, 2, 3, 4], 2).gatherAsync().zipWithSourceActor().take(100),
    'take',
  );
  t.is(pairs.length, 4);
  const byHandle = new Map<unknown, number[]>();
  for (const [actor, x] of pairs) byHandle.set(actor, [...(byHandle.get(actor) ?? []), x]);
  t.is(byHandle.size, 2, 'the handles are the same object for every item of a shard');
  const shards = new Map<number, number[]>();
  for (const [actor, items] of byHandle) {
    t.is(items.length, 2);
    const handle = actor as ShardHandle;
    shards.set(handle.shard, items);
  }
  t.deepEqual([...shards.keys()].sort(), [0, 1]);
  t.deepEqual(shards.get(0), [1, 3]);
  t.deepEqual(shards.get(1), [2, 4]);
});

// --- the end -------------------------------------------------------------------

test.serial('every thread is gone at the end', async (t) => {
  await assertBackToBaseline(t, 'at the end of composition.spec.ts');
});
