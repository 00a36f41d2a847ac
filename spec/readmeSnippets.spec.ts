/**
 * The README's snippets, run as written (imports included), with the values
 * their comments show.
 *
 * Serial: they start threads, and the last ones count them.
 */
import test from 'ava';
import { lastValueFrom, map, mergeMap, range, toArray } from 'rxjs';
import { fromItems, fromRange } from 'pariter';
import { parallelMap } from 'pariter/operators';
import { threadBaseline } from './helpers/baseline';

const { assertBackToBaseline } = threadBaseline();

test.serial('Transformations run in the shards', async (t) => {
  const it = fromRange(4)
    .forEach((x) => x * 2)
    .filter((x) => x !== 2)
    .batch(2)
    .flatten();
  t.deepEqual(await it.take(4), [0, 4, 6]);
});

test.serial('Reading: gathers and shards', async (t) => {
  const it = fromRange(4);
  t.deepEqual(await it.gatherSync().take(9), [0, 2, 1, 3]);
  t.deepEqual((await it.gatherAsync().take(9)).sort(), [0, 1, 2, 3]);
  t.deepEqual(await it.batchAcrossShards().take(9), [
    [0, 2],
    [1, 3],
  ]);
  t.deepEqual(await it.getShard(1).take(9), [2, 3]);
  const [s0, s1] = it.shards();
  t.truthy(s0 && s1);
  await assertBackToBaseline(t, 'after the gathers, each read to its end');
});

test.serial('LocalIterator: a local chain with an RxJS operator', async (t) => {
  const seen = new Set<number>();
  const local = fromRange(100, 4)
    .gatherAsync()
    .forEach((x) => {
      seen.add(x);
      return x;
    })
    .filter((x) => x % 2 === 0)
    .batch(10)
    .transform(map((b) => b.length));
  const lengths: number[] = [];
  for await (const n of local) lengths.push(n);
  t.deepEqual(lengths, [10, 10, 10, 10, 10]);
  t.is(seen.size, 100);
  t.is(
    String(local),
    'LocalIterator[ParallelIterator[fromRange[100, shards=4]].gatherAsync().forEach().filter().batch(10).transform()]',
  );
});

test.serial('Repartition and unions: the order the README shows', async (t) => {
  const it = fromRange(9, 3)
    .repartition(2)
    .forEach((x) => 2 * x);
  t.deepEqual(await it.getShard(0).take(9), [0, 6, 12, 4, 10, 16]);
  t.deepEqual(await it.getShard(1).take(9), [2, 8, 14]);
  const letters = fromItems(['a', 'b', 'c'], 1).union(fromItems(['x', 'y', 'z'], 1));
  t.deepEqual(await letters.take(6), ['a', 'x', 'b', 'y', 'c', 'z']);
  t.deepEqual(await fromItems([1, 2, 3, 4], 4).selectShards([0, 2]).take(4), [1, 3]);
});

test.serial('parallelMap instead of mergeMap', async (t) => {
  const k = 2;
  const heavy = async (x: number): Promise<number> => x * k;
  const plain = await lastValueFrom(
    range(0, 200).pipe(
      mergeMap((x) => heavy(x)),
      toArray(),
    ),
  );
  const parallel = await lastValueFrom(
    range(0, 200).pipe(
      parallelMap((x) => x * k, { numShards: 3, context: { k } }),
      toArray(),
    ),
  );
  const expected = Array.from({ length: 200 }, (_, i) => 2 * i);
  t.deepEqual(
    plain.sort((a, b) => a - b),
    expected,
  );
  t.deepEqual(parallel, expected);
});

test.serial('Stopping: await using, and the try/finally form', async (t) => {
  {
    await using it = fromRange(1e6, 4);
    for await (const x of it.gatherAsync({ numAsync: 4 })) if (x > 10) break;
  }
  const it = fromRange(1e6, 4);
  try {
    for await (const x of it.gatherAsync()) if (x > 10) break;
  } finally {
    await it.close();
  }
  await assertBackToBaseline(t, 'after both forms');
});

test.serial('Cancellation: take with AbortSignal.timeout', async (t) => {
  const error = await fromRange(10, { repeat: true })
    .take(1e9, { signal: AbortSignal.timeout(100) })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.true(error instanceof DOMException && error.name === 'TimeoutError');
  await assertBackToBaseline(t, 'after the timeout');
});
