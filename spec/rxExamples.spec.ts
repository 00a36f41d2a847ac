/**
 * The RxJS-side examples: `examples/servicePipeline.ts` (a request stream
 * through `parallelMap`) and `examples/trainingShards.ts` (the seed's
 * training-on-shards example), called with small sizes and checked for exact
 * results and for leftover threads; and their compiled scripts, run as child
 * processes, exit by themselves.
 *
 * Both are imported from their compiled form in `dist/examples/` (`npm run
 * build` first), so they use the same compiled library as `pariter`, with
 * plain JavaScript workers.
 */
import * as path from 'node:path';
import test from 'ava';
import {
  REQUEST_SIZES,
  countPrimes,
  requestOf,
  runService,
  type PrimeResponse,
} from '../dist/examples/servicePipeline';
import { train, type ShardSummary } from '../dist/examples/trainingShards';
import { threadBaseline } from './helpers/baseline';
import { runNode, type ChildOutcome } from './helpers/child';

/** A run that takes longer than this counts as a hang. */
const HANG_CAP_MS = 40_000;

/** The number of primes below n, for the sizes the service uses. */
const PRIMES_BELOW: ReadonlyMap<number, number> = new Map([
  [10, 4],
  [100, 25],
  [1000, 168],
  [10_000, 1229],
  [50_000, 5133],
]);

const { assertBackToBaseline } = threadBaseline();

/** Runs a compiled example with `args`; rejects only if node cannot start. */
function runScript(name: string, args: readonly string[]): Promise<ChildOutcome> {
  return runNode([path.join('dist', 'examples', `${name}.js`), ...args], { capMs: HANG_CAP_MS });
}

/**
 * What a trainer of shard `shard` of `fromRange(n, { numShards: 4, repeat:
 * true }).batch(batch)` sees in its first `steps` batches: the shard's range
 * `[start, end)` cycled, cut into batches.
 */
function expectedSummary(n: number, batch: number, steps: number, shard: number): ShardSummary {
  const size = Math.floor(n / 4);
  const start = shard * size;
  const end = shard === 3 ? n : start + size;
  const length = end - start;
  const at = (position: number): number => start + (position % length);
  const batches = Array.from({ length: steps }, (_, i) => ({
    first: at(i * batch),
    last: at(i * batch + batch - 1),
    size: batch,
  }));
  let sum = 0;
  for (let position = 0; position < steps * batch; position++) sum += at(position);
  return { shard, steps, batches, items: steps * batch, sum };
}

// ---------------------------------------------------------------------------- servicePipeline

test.serial('countPrimes gives the known prime counts', (t) => {
  for (const [n, count] of PRIMES_BELOW)
    t.deepEqual(countPrimes({ id: n, n }), { id: n, result: count });
});

test.serial('runService answers every request, in request order', async (t) => {
  const logged: PrimeResponse[] = [];
  const responses = await runService(7, (response) => logged.push(response));
  t.deepEqual(responses, [
    { id: 0, result: 4 },
    { id: 1, result: 25 },
    { id: 2, result: 168 },
    { id: 3, result: 1229 },
    { id: 4, result: 5133 },
    { id: 5, result: 4 },
    { id: 6, result: 25 },
  ]);
  t.deepEqual(
    logged.map(({ id }) => id),
    [0, 1, 2, 3, 4, 5, 6],
    'responses are emitted in request order',
  );
  for (const { id, result } of responses) {
    t.is(result, PRIMES_BELOW.get(requestOf(id).n) ?? -1, `request ${id}`);
  }
  t.is(REQUEST_SIZES.length, 5);
  await assertBackToBaseline(t, 'after runService(7)');
});

test.serial('runService of no requests gives none and starts nothing that stays', async (t) => {
  t.deepEqual(await runService(0), []);
  await assertBackToBaseline(t, 'after runService(0)');
});

test.serial('the compiled servicePipeline script prints its responses and exits', async (t) => {
  const run = await runScript('servicePipeline', ['6']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(run.stdout.trim().split('\n'), [
    'request 0: 4 primes below 10',
    'request 1: 25 primes below 100',
    'request 2: 168 primes below 1000',
    'request 3: 1229 primes below 10000',
    'request 4: 5133 primes below 50000',
    'request 5: 4 primes below 10',
    'served 6 requests',
  ]);
});

// ---------------------------------------------------------------------------- trainingShards

test.serial('train: each shard trains on its own range, in batches, and stops', async (t) => {
  const summaries = await train(100, 10, 2);
  t.deepEqual(
    summaries,
    [0, 1, 2, 3].map((shard) => expectedSummary(100, 10, 2, shard)),
  );
  t.deepEqual(summaries[0]?.batches, [
    { first: 0, last: 9, size: 10 },
    { first: 10, last: 19, size: 10 },
  ]);
  t.deepEqual(summaries[3]?.batches, [
    { first: 75, last: 84, size: 10 },
    { first: 85, last: 94, size: 10 },
  ]);
  t.is(summaries[1]?.sum, 690, 'shard 1 trained on 25..44');
  await assertBackToBaseline(t, 'after train(100, 10, 2)');
});

test.serial('train: batches run over the repeated source, wrapping around the range', async (t) => {
  // shards of 25 items (0..24, 25..49, …): the third batch wraps 20..24 + 0..4
  const summaries = await train(100, 10, 4);
  t.deepEqual(
    summaries,
    [0, 1, 2, 3].map((shard) => expectedSummary(100, 10, 4, shard)),
  );
  t.deepEqual(
    summaries[0]?.batches.map(({ first, last }) => [first, last]),
    [
      [0, 9],
      [10, 19],
      [20, 4],
      [5, 14],
    ],
  );
  // the last shard takes the remainder: 10 items over 4 shards is 2, 2, 2, 4;
  // batches longer than a shard's range cycle it several times
  const small = await train(10, 3, 3);
  t.deepEqual(
    small,
    [0, 1, 2, 3].map((shard) => expectedSummary(10, 3, 3, shard)),
  );
  t.deepEqual(
    small.map(({ sum }) => sum),
    [0 + 1 + 0 + 1 + 0 + 1 + 0 + 1 + 0, 22, 40, 6 + 7 + 8 + 9 + 6 + 7 + 8 + 9 + 6],
  );
  await assertBackToBaseline(t, 'after the wrapping runs');
});

test.serial('train with no steps trains on nothing', async (t) => {
  t.deepEqual(
    await train(100, 10, 0),
    [0, 1, 2, 3].map((shard) => ({ shard, steps: 0, batches: [], items: 0, sum: 0 })),
  );
  await assertBackToBaseline(t, 'after train(100, 10, 0)');
});

test.serial('the compiled trainingShards script prints one line per shard and exits', async (t) => {
  const run = await runScript('trainingShards', ['100', '10', '2']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(run.stdout.trim().split('\n'), [
    'shard 0: 2 batches (0..9, 10..19), sum 190',
    'shard 1: 2 batches (25..34, 35..44), sum 690',
    'shard 2: 2 batches (50..59, 60..69), sum 1190',
    'shard 3: 2 batches (75..84, 85..94), sum 1690',
  ]);
});
