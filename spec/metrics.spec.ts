/**
 * Metrics as the contract lists them: counters that read as 0 without
 * phantom keys, `sharedMetrics`, `save()`/`restore()`, the `Timer`'s rolling
 * window, a shard's own context, and `currentActor` carried by each item
 * through awaited steps and unions.
 */
import test from 'ava';
import {
  ArgumentTypeError,
  fromIterators,
  fromRange,
  getMetrics,
  LocalIterator,
  MetricsContext,
  Timer,
  UsageError,
  type ShardHandle,
} from 'pariter';
import { delay } from './helpers/hang';

test('counters: a missing counter reads as 0, and reading adds nothing', async (t) => {
  const m = new MetricsContext();
  t.is(m.counters.missing, 0);
  m.counters.foo! += 2;
  m.counters.foo! += 3;
  // Names that JavaScript itself reads, and Object.prototype names.
  t.is(m.counters.toJSON, undefined);
  t.is((m.counters as Record<string, unknown>).then, undefined);
  t.is((m.counters as Record<symbol, unknown>)[Symbol.iterator], undefined);
  t.is(typeof m.counters.hasOwnProperty, 'function');
  void m.counters.constructor;
  void m.counters.valueOf;
  void m.counters.__proto__;
  t.is(JSON.stringify(m.counters), '{"foo":5}');
  t.deepEqual(Object.keys(m.counters), ['foo']);
  t.is(String(m.counters), '[object Object]');
  // Awaiting a function that returns the context (or its counters) adds nothing.
  t.is(await (async () => m)(), m);
  t.is(await (async () => m.counters)(), m.counters);
  t.deepEqual(Object.keys(m.counters), ['foo']);
});

test('timers: a missing timer is made on first use; phantom names add nothing', (t) => {
  const m = new MetricsContext();
  void m.timers.toJSON;
  void (m.timers as Record<string, unknown>).then;
  void m.timers.constructor;
  t.is(JSON.stringify(m.timers), '{}');
  m.timers.step!.push(5);
  t.is(m.timers.step!.count, 1);
  t.deepEqual(Object.keys(m.timers), ['step']);
});

test('Timer: a rolling window of the last 10 samples', (t) => {
  const timer = new Timer();
  t.is(timer.mean, 0);
  t.is(timer.meanThroughput, 0);
  for (let ms = 1; ms <= 12; ms++) timer.push(ms);
  t.is(timer.count, 12);
  t.is(timer.mean, 7.5, 'the mean of 3..12');
  t.is(timer.sum, 78, 'all pushes');
  for (let n = 1; n <= 11; n++) timer.pushUnitsProcessed(n * 10);
  t.is(timer.meanUnitsProcessed, 65, 'the mean of 20..110');
  // Units per second over the window: 650 units in 75 ms.
  t.is(timer.meanThroughput, 650 / 0.075);
  t.throws(() => timer.push(-1), { instanceOf: ArgumentTypeError });
  t.throws(() => timer.pushUnitsProcessed(Number.NaN), { instanceOf: ArgumentTypeError });
});

test('Timer.time: times sync and async functions, also when they throw', async (t) => {
  const timer = new Timer();
  t.is(
    timer.time(() => 42),
    42,
  );
  t.is(timer.count, 1);
  t.is(
    await timer.time(async () => {
      await delay(30);
      return 'done';
    }),
    'done',
  );
  t.is(timer.count, 2);
  t.true(timer.sum >= 25, `${timer.sum} ms for a 30 ms wait`);
  t.throws(
    () =>
      timer.time(() => {
        throw new Error('sync');
      }),
    { message: 'sync' },
  );
  await t.throwsAsync(
    timer.time(async () => {
      throw new Error('async');
    }),
    { message: 'async' },
  );
  t.is(timer.count, 4);
});

test('save() and restore() round-trip through JSON', (t) => {
  const m = new MetricsContext();
  m.counters.steps! += 7;
  for (let i = 1; i <= 12; i++) m.timers.learn!.push(i);
  m.timers.learn!.pushUnitsProcessed(32);
  m.info.lastLoss = 0.25;
  const saved = JSON.parse(JSON.stringify(m.save())) as ReturnType<MetricsContext['save']>;
  const restored = new MetricsContext();
  restored.counters.other! += 1;
  restored.restore(saved);
  t.deepEqual(Object.keys(restored.counters), ['steps']);
  t.is(restored.counters.steps, 7);
  t.is(restored.timers.learn!.count, 12);
  t.is(restored.timers.learn!.mean, 7.5);
  t.is(restored.timers.learn!.meanUnitsProcessed, 32);
  t.is(restored.info.lastLoss, 0.25);
  t.deepEqual(restored.save(), m.save());
  t.throws(() => restored.restore(42 as never), { instanceOf: ArgumentTypeError });
});

test('sharedMetrics.get() is the context the chain functions see', async (t) => {
  const local = fromRange(4, 1)
    .gatherSync()
    .forEach((x) => {
      getMetrics().counters.seen! += 1;
      return x;
    });
  t.deepEqual(await local.take(4), [0, 1, 2, 3]);
  t.is(local.sharedMetrics.get().counters.seen, 4);
  await local.return();
  const a = LocalIterator.from([1, 2]).forEach((x) => {
    getMetrics().counters.a! += 1;
    return x;
  });
  const b = LocalIterator.from([3]).forEach((x) => {
    getMetrics().counters.b! += 1;
    return x;
  });
  const union = a.union(b);
  t.is(union.sharedMetrics.get(), a.sharedMetrics.get(), 'a union shares one context');
  await union.take(5);
  t.deepEqual(union.sharedMetrics.get().save().counters, { a: 2, b: 1 });
  t.throws(() => getMetrics(), { instanceOf: UsageError });
});

test('getMetrics() inside a shard function is that shard’s own context', async (t) => {
  const counts = await fromRange(6, 2)
    .forEach((x) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = (require('pariter') as typeof import('pariter')).getMetrics();
      m.counters.n! += 1;
      return [x, m.counters.n];
    })
    .take(6);
  t.deepEqual(counts, [
    [0, 1],
    [3, 1],
    [1, 2],
    [4, 2],
    [2, 3],
    [5, 3],
  ]);
});

test('zipWithSourceActor and currentActor are right inside an async union', async (t) => {
  // Four shards over two gathers; each item names its shard (tens) and iterator (hundreds).
  const items = (base: number, shard: number) =>
    Array.from({ length: 6 }, (_, i) => base + shard * 10 + i);
  const reader = (base: number, name: string) =>
    fromIterators([items(base, 0), items(base, 1)], { name })
      .gatherAsync()
      .forEach(async (x) => {
        await delay((x * 7) % 5); // an awaited local step before the zip
        return x;
      });
  const union = reader(100, 'A').union(reader(200, 'B'));
  const fromMetrics: Array<[unknown, number]> = [];
  const pairs = await union
    .forEach(async (x) => {
      await delay(x % 3);
      fromMetrics.push([getMetrics().currentActor, x]);
      return x;
    })
    .zipWithSourceActor()
    .take(25);
  t.is(pairs.length, 24);
  for (const [actor, x] of [...pairs, ...fromMetrics] as Array<[ShardHandle, number]>) {
    const expected = {
      iterator: `ParallelIterator[${x < 200 ? 'A' : 'B'}]`,
      shard: Math.floor(x / 10) % 10,
    };
    t.deepEqual({ iterator: actor.iterator, shard: actor.shard }, expected, `item ${x}`);
  }
});
