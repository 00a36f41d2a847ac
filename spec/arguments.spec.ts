/**
 * Bad arguments: each is an error thrown at the call (synchronously), of the
 * contract's kind, before any thread starts. Messages are checked loosely, by
 * the parameter's name in backticks.
 *
 * No test in this file reads an iterator (except the warm-up), so the
 * process's thread count must not move while they run.
 */
import test, { type ExecutionContext } from 'ava';
import {
  ArgumentRangeError,
  ArgumentTypeError,
  UsageError,
  fromItems,
  fromIterators,
  fromRange,
  moduleFn,
  stateful,
  type ParallelIterator,
} from 'pariter';
import { threadCount, threadsSettle } from './helpers/threadCount';

let baseline = 0;

test.before(async () => {
  // Warm up: one real run, so that whatever a first run creates for good exists.
  const start = threadCount();
  await fromRange(2).take(2);
  baseline = await threadsSettle(start);
});

/** Asserts that the thread count is still the baseline, after a moment for late starts. */
async function noNewThread(t: ExecutionContext): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(threadCount(), baseline, 'a thread was started');
}

function throwsRange(t: ExecutionContext, call: () => unknown, name: RegExp): void {
  const error = t.throws(call, { instanceOf: ArgumentRangeError, message: name });
  t.true(error instanceof RangeError);
  t.is(error?.name, 'ArgumentRangeError');
}

function throwsType(t: ExecutionContext, call: () => unknown, name: RegExp): void {
  const error = t.throws(call, { instanceOf: ArgumentTypeError, message: name });
  t.true(error instanceof TypeError);
  t.is(error?.name, 'ArgumentTypeError');
}

const badShardCounts: unknown[] = [0, -1, 1.5, NaN, '2', Infinity];

test('a shard count that is not a positive integer is a RangeError', async (t) => {
  for (const bad of badShardCounts) {
    const shards = bad as number;
    throwsRange(t, () => fromRange(4, shards), /`numShards`/);
    throwsRange(t, () => fromItems([1, 2], shards), /`numShards`/);
    throwsRange(t, () => fromRange(4, { numShards: shards }), /`numShards`/);
    throwsRange(t, () => fromItems([1, 2], { numShards: shards, repeat: true }), /`numShards`/);
  }
  await noNewThread(t);
});

test('fromRange: n must be a non-negative integer', async (t) => {
  throwsRange(t, () => fromRange(-1), /`n`/);
  throwsRange(t, () => fromRange(1.5), /`n`/);
  throwsRange(t, () => fromRange(NaN), /`n`/);
  throwsRange(t, () => fromRange(Infinity, 2), /`n`/);
  await noNewThread(t);
});

test('fromItems: items must be iterable; repeat must be a boolean', async (t) => {
  throwsType(t, () => fromItems(42 as never), /`items`/);
  throwsType(t, () => fromItems(null as never, 2), /`items`/);
  throwsType(t, () => fromRange(4, { repeat: 'yes' as never }), /`repeat`/);
  await noNewThread(t);
});

test('fromIterators: sources must be a non-empty array of sources', async (t) => {
  throwsRange(t, () => fromIterators([]), /`sources`/);
  throwsType(t, () => fromIterators([42 as never]), /`sources/);
  throwsType(t, () => fromIterators([[1], { length: 1 } as never]), /`sources/);
  throwsType(t, () => fromIterators([[1]], { context: { f: () => 1 } }), /`context/);
  throwsType(t, () => fromIterators([[1]], { name: 5 as never }), /`name`/);
  await noNewThread(t);
});

test('batch(0) is a RangeError', async (t) => {
  throwsRange(t, () => fromRange(4).batch(0), /`n`/);
  throwsRange(t, () => fromRange(4).batch(1.5), /`n`/);
  throwsRange(t, () => fromRange(4).gatherSync().batch(0), /`n`/);
  await noNewThread(t);
});

test('localShuffle(0) and shuffle(0) are RangeErrors', async (t) => {
  throwsRange(t, () => fromRange(4).localShuffle(0), /`shuffleBufferSize`/);
  throwsRange(t, () => fromRange(4).localShuffle(2, NaN), /`seed`/);
  throwsRange(t, () => fromRange(4).gatherSync().shuffle(0), /`shuffleBufferSize`/);
  await noNewThread(t);
});

test('gatherAsync and getShard read options', async (t) => {
  throwsRange(t, () => fromRange(4).gatherAsync({ numAsync: 0 }), /`numAsync`/);
  throwsRange(t, () => fromRange(4).gatherAsync({ numAsync: 1.5 }), /`numAsync`/);
  throwsRange(t, () => fromRange(4).gatherAsync({ batchMs: -1 }), /`batchMs`/);
  throwsRange(t, () => fromRange(4).getShard(0, { numAsync: 0 }), /`numAsync`/);
  throwsRange(t, () => fromRange(4).getShard(0, { batchMs: -1 }), /`batchMs`/);
  await noNewThread(t);
});

test('getShard out of range is a RangeError', async (t) => {
  throwsRange(t, () => fromRange(4).getShard(5), /`index`/);
  throwsRange(t, () => fromRange(4).getShard(2), /`index`/);
  throwsRange(t, () => fromRange(4).getShard(-1), /`index`/);
  throwsRange(t, () => fromRange(4).getShard(0.5), /`index`/);
  await noNewThread(t);
});

test('selectShards: empty or out of range is a RangeError; after union an error', async (t) => {
  const it = fromItems([1, 2, 3, 4], 4);
  throwsRange(t, () => it.selectShards([]), /`indices`/);
  throwsRange(t, () => it.selectShards([9]), /`ind(ex|ices)`/);
  throwsRange(t, () => it.selectShards([0, 4]), /`ind(ex|ices)`/);
  t.throws(() => it.union(fromRange(2)).selectShards([0]), { instanceOf: Error });
  await noNewThread(t);
});

test('union with a non-ParallelIterator is a TypeError', async (t) => {
  throwsType(t, () => fromRange(4).union([1] as never), /`other`/);
  throwsType(t, () => fromRange(4).union(fromRange(4).gatherSync() as never), /`other`/);
  await noNewThread(t);
});

test('a shard function that is not a function is a TypeError', async (t) => {
  const it = fromRange(4);
  throwsType(t, () => it.forEach(42 as never), /`fn`/);
  throwsType(t, () => it.filter('x' as never), /`fn`/);
  throwsType(t, () => it.combine(null as never), /`fn`/);
  throwsType(t, () => it.transform({} as never), /`fn`/);
  const local = it.gatherSync();
  throwsType(t, () => local.forEach(42 as never), /`fn`/);
  throwsType(t, () => local.filter(42 as never), /`fn`/);
  throwsType(t, () => local.combine(42 as never), /`fn`/);
  throwsType(t, () => local.transform(42 as never), /`operator`/);
  throwsType(t, () => stateful(42 as never), /`factory`/);
  throwsType(t, () => moduleFn(''), /`specifier`/);
  await noNewThread(t);
});

test('a bound function cannot be shipped: ArgumentTypeError', async (t) => {
  const bound = ((x: number) => x).bind(null);
  throwsType(t, () => fromRange(4).forEach(bound), /`fn`/);
  throwsType(t, () => fromRange(4).filter(bound), /`fn`/);
  // Locally it is fine: nothing is shipped.
  t.notThrows(() => fromRange(4).gatherSync().forEach(bound));
  await noNewThread(t);
});

test('an uncloneable context is an ArgumentTypeError', async (t) => {
  throwsType(t, () => fromRange(4).forEach((x) => x, { context: { f: () => 1 } }), /`context/);
  throwsType(t, () => fromRange(4).filter(() => true, { context: { f: () => 1 } }), /`context/);
  throwsType(t, () => fromRange(4).forEach((x) => x, { context: { s: Symbol('s') } }), /`context/);
  await noNewThread(t);
});

test('forEach maxConcurrency must be a non-negative integer', async (t) => {
  throwsRange(t, () => fromRange(4).forEach((x) => x, { maxConcurrency: -1 }), /`maxConcurrency`/);
  throwsRange(
    t,
    () =>
      fromRange(4)
        .gatherSync()
        .forEach((x) => x, { maxConcurrency: 1.5 }),
    /`maxConcurrency`/,
  );
  await noNewThread(t);
});

test('take(-1) and show(-1) are RangeErrors at the call', async (t) => {
  throwsRange(t, () => fromRange(4).take(-1), /`n`/);
  throwsRange(t, () => fromRange(4).show(-1), /`n`/);
  // LocalIterator.take is async: its RangeError is a rejection, before anything is read.
  await t.throwsAsync(fromRange(4).gatherSync().take(-1), {
    instanceOf: ArgumentRangeError,
    message: /`n`/,
  });
  await noNewThread(t);
});

test('for await over a ParallelIterator is a TypeError that says to gather', async (t) => {
  const it: ParallelIterator<number> = fromRange(4);
  const error = await t.throwsAsync(
    async () => {
      for await (const x of it as unknown as AsyncIterable<number>) t.fail(String(x));
    },
    { instanceOf: UsageError, message: /gatherSync/ },
  );
  t.true(error instanceof TypeError);
  t.is(error?.name, 'UsageError');
  t.throws(() => (it as unknown as AsyncIterable<number>)[Symbol.asyncIterator](), {
    instanceOf: UsageError,
  });
  await noNewThread(t);
});

test('errors.ts TSDoc examples of argument errors', async (t) => {
  t.throws(() => fromRange(10, 0), { instanceOf: RangeError });
  t.throws(() => fromRange(4).union([1, 2] as never), { instanceOf: TypeError });
  t.throws(() => (fromRange(4) as unknown as AsyncIterable<number>)[Symbol.asyncIterator](), {
    instanceOf: UsageError,
  });
  await noNewThread(t);
});

test('creating and chaining start no thread', async (t) => {
  const before = threadCount();
  const it = fromRange(100, 4)
    .forEach((x) => x * 2)
    .filter((x) => x > 3)
    .batch(3)
    .flatten()
    .combine((x) => [x])
    .localShuffle(2, 1)
    .transform((s) => s);
  const other = fromItems(['a', 'b'], { numShards: 2, repeat: true }).union(
    fromIterators([function* () {}, [1], new Set([2])]),
  );
  const locals = [
    it.gatherSync().forEach((x) => x),
    it.gatherAsync({ numAsync: 2 }),
    it.batchAcrossShards(),
    it.getShard(1),
    ...it.shards(),
    other.gatherSync(),
    fromRange(8, 4).selectShards([1, 3]).gatherSync(),
  ];
  t.is(locals.length, 10);
  t.is(it.numShards(), 4);
  t.is(other.numShards(), 5);
  String(it);
  t.is(threadCount(), before);
  await noNewThread(t);
});
