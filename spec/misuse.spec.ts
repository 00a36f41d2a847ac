/**
 * Misuse: every public function and option given wrong types, negative,
 * fractional, NaN, empty, huge (2 ** 53) and out-of-range values. Each must
 * fail at the call, synchronously, with the contract's kind and a message of
 * the one form ``Expected `name` to be …, got …``, and start no thread.
 *
 * The kinds, as the contract and the existing specs use them: a number
 * parameter (a count, a size, an index, a time, a seed) given anything but an
 * allowed number is an `ArgumentRangeError` (a `RangeError`; the contract
 * says so of shard counts, and `operators.spec.ts` of `shuffle('4')`); any
 * other parameter given a value of the wrong type is an `ArgumentTypeError`
 * (a `TypeError`), and an empty list where one item is needed, or an index
 * out of range, an `ArgumentRangeError`. An options object that is not an
 * object (`null`, `5`) is a wrong type. A huge count must be refused where it
 * would make the library allocate or loop per unit, or overflow a timer
 * (shards, partitions, copies, requests in flight, concurrency, `batchMs`);
 * elsewhere a huge size may be accepted as "no limit".
 *
 * Also: the same shard read by two consumers at once fails with a
 * `UsageError` and the other consumer still gets every item; `close()` during
 * a pull rejects it promptly with a `ClosedError`, for every kind of reader;
 * and process hygiene: importing pariter and threads.js in either order (CJS
 * and ESM) leaves the process's own SIGINT/SIGTERM handlers exactly as they
 * were, and SIGINT/SIGTERM end a script mid-run by the signal, as in any
 * Node.js script.
 *
 * Serial: the tests count the threads of this process.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { NEVER, lastValueFrom, of, toArray, type Observable, type Subscription } from 'rxjs';
import { Worker } from 'threads';
import {
  ArgumentRangeError,
  ArgumentTypeError,
  ClosedError,
  UsageError,
  batch as batchOperator,
  combine as combineOperator,
  fromActors,
  fromItems,
  fromIterators,
  fromObservable,
  fromRange,
  moduleFn,
  parallelFilter,
  parallelMap,
  shuffle as shuffleOperator,
  spawnActor,
  stateful,
  type LocalIterator,
  type ParallelIterator,
} from 'pariter';
import { ParallelIteratorWorker, exposeActor } from 'pariter/worker';
import { threadBaseline } from './helpers/baseline';
import { runNode } from './helpers/child';
import { delay, within } from './helpers/hang';
import { FIXTURES } from './helpers/paths';
import { threadCount } from './helpers/threadCount';

/** The one form of an argument error's message. */
const FORM = /^Expected `[^`]+` to be .+, got .+/;
const HUGE = 2 ** 53;

const baseline = threadBaseline();
const { assertBackToBaseline } = baseline;

// --- the sweep ------------------------------------------------------------------------

/**
 * What a probe must do: throw an ArgumentRangeError / ArgumentTypeError, or
 * (`rangeOrOk`, a huge size that may mean "no limit") either be accepted or
 * throw an ArgumentRangeError.
 */
type Want = 'range' | 'type' | 'rangeOrOk';

interface Probe {
  readonly label: string;
  readonly call: () => unknown;
  readonly want: Want;
}

function show(value: unknown): string {
  if (value === HUGE) return '2 ** 53';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return String(value);
  if (typeof value === 'number' || value === undefined) return String(value);
  if (
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) !== Object.prototype
  ) {
    return `a ${(value as object).constructor.name}`;
  }
  return JSON.stringify(value);
}

/** One probe per value: `template` has `$` where the value goes. */
function each(
  values: readonly unknown[],
  template: string,
  call: (value: never) => unknown,
  want: Want,
): Probe[] {
  return values.map((value) => ({
    label: template.replace('$', show(value)),
    call: () => call(value as never),
    want,
  }));
}

/** Runs the probes; returns one line per probe that did not fail as it must. */
function sweep(probes: readonly Probe[]): string[] {
  const problems: string[] = [];
  for (const { label, call, want } of probes) {
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      const kind = want === 'type' ? ArgumentTypeError : ArgumentRangeError;
      if (!(error instanceof kind)) {
        const name = error instanceof Error ? error.constructor.name : typeof error;
        problems.push(
          `${label}: threw ${name} (${String((error as Error)?.message)}), not ${kind.name}`,
        );
      } else if (!FORM.test(error.message)) {
        problems.push(
          `${label}: message not of the form Expected \`…\` to be …, got …: ${error.message}`,
        );
      }
      continue;
    }
    if (result instanceof Promise) result.catch(() => undefined);
    if (want !== 'rangeOrOk') problems.push(`${label}: did not throw at the call`);
  }
  return problems;
}

async function sweepTest(t: ExecutionContext, probes: readonly Probe[]): Promise<void> {
  const before = threadCount();
  const problems = sweep(probes);
  t.log(`${probes.length} probes`);
  t.deepEqual(problems, [], problems.join('\n'));
  // Give anything started in the background a moment to show up.
  for (let i = 0; i < 3; i++) await delay(20);
  t.is(threadCount(), before, 'a misuse started a thread');
}

// Values by what the parameter is.
/** For a positive integer parameter (a count or a size). */
const NOT_POSITIVE_INTEGER: readonly unknown[] = [
  0,
  -1,
  1.5,
  NaN,
  Infinity,
  -Infinity,
  '2',
  true,
  10n,
];
/** For a non-negative integer parameter. */
const NOT_NON_NEGATIVE_INTEGER: readonly unknown[] = [
  -1,
  0.5,
  NaN,
  Infinity,
  -Infinity,
  '0',
  true,
  10n,
];
/** For a non-negative number parameter (a time). */
const NOT_NON_NEGATIVE_NUMBER: readonly unknown[] = [-1, -0.5, NaN, Infinity, -Infinity, '1', true];
/** Positional arguments also get these (option fields treat null/undefined as absent). */
const ABSENT: readonly unknown[] = [null, undefined, {}, []];
/** For a function parameter. */
const NOT_FUNCTION: readonly unknown[] = [42, 'x => x', null, undefined, {}, [], true];
/** For an options object. */
const NOT_OPTIONS: readonly unknown[] = [null, 5, 'x', true];
/** For a boolean option. */
const NOT_BOOLEAN: readonly unknown[] = ['yes', 1, {}];
/** For a `context` option. */
const BAD_CONTEXT: readonly unknown[] = [
  null,
  5,
  'x',
  [1],
  { f: () => 1 },
  { s: Symbol('s') },
  { 'a-b': 1 },
  { class: 1 },
  { this: 1 },
];

const noop = (x: unknown): unknown => x;

test.serial('creation functions: bad arguments fail at the call', async (t) => {
  const probes: Probe[] = [
    // fromItems
    ...each([42, null, undefined, {}, true], 'fromItems($)', (v) => fromItems(v), 'type'),
    ...each(
      [...NOT_POSITIVE_INTEGER, null],
      'fromItems([1, 2], $)',
      (v) => fromItems([1, 2], v),
      'range',
    ),
    ...each([HUGE, 2 ** 32], 'fromItems([1, 2], $)', (v) => fromItems([1, 2], v), 'range'),
    ...each(
      [...NOT_POSITIVE_INTEGER, HUGE],
      'fromItems([1, 2], { numShards: $ })',
      (v) => fromItems([1, 2], { numShards: v }),
      'range',
    ),
    ...each(
      [...NOT_BOOLEAN, null],
      'fromItems([1, 2], { repeat: $ })',
      (v) => fromItems([1, 2], { repeat: v }),
      'type',
    ),
    // fromRange
    ...each(
      [-1, 1.5, NaN, Infinity, -Infinity, HUGE, '4', null, undefined, true, {}, 10n],
      'fromRange($)',
      (v) => fromRange(v),
      'range',
    ),
    ...each(
      [...NOT_POSITIVE_INTEGER, null, HUGE],
      'fromRange(4, $)',
      (v) => fromRange(4, v),
      'range',
    ),
    ...each(
      [...NOT_POSITIVE_INTEGER, HUGE],
      'fromRange(4, { numShards: $ })',
      (v) => fromRange(4, { numShards: v }),
      'range',
    ),
    ...each(NOT_BOOLEAN, 'fromRange(4, { repeat: $ })', (v) => fromRange(4, { repeat: v }), 'type'),
    // fromIterators
    { label: 'fromIterators([])', call: () => fromIterators([]), want: 'range' },
    ...each([42, 'abc', null, undefined, {}], 'fromIterators($)', (v) => fromIterators(v), 'type'),
    ...each([42, null, {}, true], 'fromIterators([$])', (v) => fromIterators([v]), 'type'),
    {
      label: 'fromIterators([a bound function])',
      call: () => fromIterators([(() => [1]).bind(null)]),
      want: 'type',
    },
    ...each(NOT_OPTIONS, 'fromIterators([[1]], $)', (v) => fromIterators([[1]], v), 'type'),
    ...each(
      NOT_BOOLEAN,
      'fromIterators([[1]], { repeat: $ })',
      (v) => fromIterators([[1]], { repeat: v }),
      'type',
    ),
    ...each(
      [5, {}],
      'fromIterators([[1]], { name: $ })',
      (v) => fromIterators([[1]], { name: v }),
      'type',
    ),
    ...each(
      BAD_CONTEXT,
      'fromIterators([() => [1]], { context: $ })',
      (v) => fromIterators([() => [1]], { context: v }),
      'type',
    ),
    // fromObservable
    ...each(
      [42, null, undefined, [1, 2], Promise.resolve(1), { subscribe: 1 }],
      'fromObservable($)',
      (v) => fromObservable(v),
      'type',
    ),
    ...each(NOT_OPTIONS, 'fromObservable(of(1), $)', (v) => fromObservable(of(1), v), 'type'),
    ...each(
      [...NOT_POSITIVE_INTEGER, HUGE],
      'fromObservable(of(1), { numShards: $ })',
      (v) => fromObservable(of(1), { numShards: v }),
      'range',
    ),
    ...each(
      NOT_POSITIVE_INTEGER,
      'fromObservable(of(1), { bufferSize: $ })',
      (v) => fromObservable(of(1), { bufferSize: v }),
      'range',
    ),
    ...each(
      [HUGE],
      'fromObservable(of(1), { bufferSize: $ })',
      (v) => fromObservable(of(1), { bufferSize: v }),
      'rangeOrOk',
    ),
    ...each(
      ['drop', 1, true],
      'fromObservable(of(1), { onOverflow: $ })',
      (v) => fromObservable(of(1), { onOverflow: v }),
      'type',
    ),
    // fromActors (the checks that need no actor; see the actor test for the rest)
    { label: 'fromActors([])', call: () => fromActors([]), want: 'range' },
    ...each([5, null, 'x', {}], 'fromActors($)', (v) => fromActors(v), 'type'),
    ...each([{}, 5, null], 'fromActors([$])', (v) => fromActors([v]), 'type'),
    // stateful and moduleFn
    ...each(NOT_FUNCTION, 'stateful($)', (v) => stateful(v), 'type'),
    ...each(['', 5, null, undefined, {}], 'moduleFn($)', (v) => moduleFn(v), 'type'),
    ...each(['', 5, null, {}], "moduleFn('./m.js', $)", (v) => moduleFn('./m.js', v), 'type'),
  ];
  await sweepTest(t, probes);
});

test.serial('ParallelIterator methods: bad arguments fail at the call', async (t) => {
  const it = fromRange(8, 2);
  const unclonable = { f: () => 1, call: (x: number) => x };
  const probes: Probe[] = [
    // forEach
    ...each(NOT_FUNCTION, 'forEach($)', (v) => it.forEach(v), 'type'),
    { label: 'forEach(a bound function)', call: () => it.forEach(noop.bind(null)), want: 'type' },
    {
      label: 'forEach(a callable with a function field)',
      call: () => it.forEach(unclonable),
      want: 'type',
    },
    ...each(NOT_OPTIONS, 'forEach(fn, $)', (v) => it.forEach(noop, v), 'type'),
    ...each(
      [...NOT_NON_NEGATIVE_INTEGER, HUGE],
      'forEach(fn, { maxConcurrency: $ })',
      (v) => it.forEach(noop, { maxConcurrency: v }),
      'range',
    ),
    ...each(
      BAD_CONTEXT,
      'forEach(fn, { context: $ })',
      (v) => it.forEach(noop, { context: v }),
      'type',
    ),
    // filter, combine, transform
    ...each(NOT_FUNCTION, 'filter($)', (v) => it.filter(v), 'type'),
    ...each(NOT_OPTIONS, 'filter(fn, $)', (v) => it.filter(noop, v), 'type'),
    ...each(
      BAD_CONTEXT,
      'filter(fn, { context: $ })',
      (v) => it.filter(noop, { context: v }),
      'type',
    ),
    ...each(NOT_FUNCTION, 'combine($)', (v) => it.combine(v), 'type'),
    ...each(NOT_OPTIONS, 'combine(fn, $)', (v) => it.combine((x) => [x], v), 'type'),
    ...each(NOT_FUNCTION, 'transform($)', (v) => it.transform(v), 'type'),
    ...each(NOT_OPTIONS, 'transform(fn, $)', (v) => it.transform((s) => s, v), 'type'),
    // batch, localShuffle
    ...each([...NOT_POSITIVE_INTEGER, ...ABSENT], 'batch($)', (v) => it.batch(v), 'range'),
    ...each([HUGE], 'batch($)', (v) => it.batch(v), 'rangeOrOk'),
    ...each(
      [...NOT_POSITIVE_INTEGER, ...ABSENT],
      'localShuffle($)',
      (v) => it.localShuffle(v),
      'range',
    ),
    ...each([HUGE], 'localShuffle($)', (v) => it.localShuffle(v), 'rangeOrOk'),
    ...each(
      [NaN, Infinity, -Infinity, '1', null, {}, true, 10n],
      'localShuffle(2, $)',
      (v) => it.localShuffle(2, v),
      'range',
    ),
    // repartition
    ...each(
      [...NOT_POSITIVE_INTEGER, ...ABSENT, HUGE],
      'repartition($)',
      (v) => it.repartition(v),
      'range',
    ),
    ...each(NOT_OPTIONS, 'repartition(2, $)', (v) => it.repartition(2, v), 'type'),
    ...each(
      [...NOT_NON_NEGATIVE_NUMBER, HUGE],
      'repartition(2, { batchMs: $ })',
      (v) => it.repartition(2, { batchMs: v }),
      'range',
    ),
    // union, selectShards
    ...each([42, null, undefined, [], {}, it.gatherSync()], 'union($)', (v) => it.union(v), 'type'),
    { label: 'selectShards([])', call: () => it.selectShards([]), want: 'range' },
    ...each(['0', 3, null, undefined, {}], 'selectShards($)', (v) => it.selectShards(v), 'type'),
    ...each(
      [2, 9, -1, 0.5, NaN, '0', null, HUGE],
      'selectShards([$])',
      (v) => it.selectShards([v]),
      'range',
    ),
    // getShard, gatherAsync
    ...each(
      [-1, 0.5, NaN, Infinity, 2, HUGE, '0', ...ABSENT],
      'getShard($)',
      (v) => it.getShard(v),
      'range',
    ),
    ...each(NOT_OPTIONS, 'getShard(0, $)', (v) => it.getShard(0, v), 'type'),
    ...each(
      [...NOT_POSITIVE_INTEGER, HUGE],
      'getShard(0, { numAsync: $ })',
      (v) => it.getShard(0, { numAsync: v }),
      'range',
    ),
    ...each(
      [...NOT_NON_NEGATIVE_NUMBER, HUGE],
      'getShard(0, { batchMs: $ })',
      (v) => it.getShard(0, { batchMs: v }),
      'range',
    ),
    ...each(NOT_OPTIONS, 'gatherAsync($)', (v) => it.gatherAsync(v), 'type'),
    ...each(
      [...NOT_POSITIVE_INTEGER, HUGE],
      'gatherAsync({ numAsync: $ })',
      (v) => it.gatherAsync({ numAsync: v }),
      'range',
    ),
    ...each(
      [...NOT_NON_NEGATIVE_NUMBER, HUGE],
      'gatherAsync({ batchMs: $ })',
      (v) => it.gatherAsync({ batchMs: v }),
      'range',
    ),
    // take, show (a bad n throws before anything runs)
    ...each([...NOT_NON_NEGATIVE_INTEGER, null, {}], 'take($)', (v) => it.take(v), 'range'),
    ...each([...NOT_NON_NEGATIVE_INTEGER, null, {}], 'show($)', (v) => it.show(v), 'range'),
  ];
  await sweepTest(t, probes);
});

test.serial('LocalIterator methods: bad arguments fail at the call', async (t) => {
  const it = fromRange(8, 2);
  const local = it.gatherSync();
  const other = it.gatherAsync();
  const probes: Probe[] = [
    ...each(NOT_FUNCTION, 'forEach($)', (v) => local.forEach(v), 'type'),
    ...each(NOT_OPTIONS, 'forEach(fn, $)', (v) => local.forEach(noop, v), 'type'),
    ...each(
      [...NOT_NON_NEGATIVE_INTEGER, HUGE],
      'forEach(fn, { maxConcurrency: $ })',
      (v) => local.forEach(noop, { maxConcurrency: v }),
      'range',
    ),
    ...each(NOT_FUNCTION, 'filter($)', (v) => local.filter(v), 'type'),
    ...each(NOT_FUNCTION, 'combine($)', (v) => local.combine(v), 'type'),
    ...each(NOT_FUNCTION, 'transform($)', (v) => local.transform(v), 'type'),
    ...each([...NOT_POSITIVE_INTEGER, ...ABSENT], 'batch($)', (v) => local.batch(v), 'range'),
    ...each([HUGE], 'batch($)', (v) => local.batch(v), 'rangeOrOk'),
    ...each([...NOT_POSITIVE_INTEGER, ...ABSENT], 'shuffle($)', (v) => local.shuffle(v), 'range'),
    ...each([HUGE], 'shuffle($)', (v) => local.shuffle(v), 'rangeOrOk'),
    ...each(
      [NaN, Infinity, '1', null, {}, true],
      'shuffle(2, $)',
      (v) => local.shuffle(2, v),
      'range',
    ),
    // union: inputs and options
    ...each([42, null, 'x', it], 'union($)', (v) => local.union(v), 'type'),
    ...each(
      [[1], [1, 1, 1], []],
      'union(other, { roundRobinWeights: $ })',
      (v) => local.union(other, { roundRobinWeights: v }),
      'range',
    ),
    ...each(
      ['x', 5, {}],
      'union(other, { roundRobinWeights: $ })',
      (v) => local.union(other, { roundRobinWeights: v }),
      'type',
    ),
    ...each(
      [0, -1, NaN, '2', null, '+', Infinity],
      'union(other, { roundRobinWeights: [1, $] })',
      (v) => local.union(other, { roundRobinWeights: [1, v] }),
      'range',
    ),
    ...each(
      [HUGE],
      'union(other, { roundRobinWeights: [1, $] })',
      (v) => local.union(other, { roundRobinWeights: [1, v] }),
      'rangeOrOk',
    ),
    ...each(
      ['yes', 1, {}],
      'union(other, { deterministic: $ })',
      (v) => local.union(other, { deterministic: v }),
      'type',
    ),
    // duplicate
    ...each(
      [1, 0, -1, 1.5, NaN, Infinity, '2', true, ...ABSENT, HUGE],
      'duplicate($)',
      (v) => local.duplicate(v),
      'range',
    ),
  ];
  await sweepTest(t, probes);
});

test.serial('LocalIterator take/show: a bad n rejects before anything is read', async (t) => {
  const problems: string[] = [];
  for (const bad of [-1, 0.5, NaN, Infinity, '1', null, {}]) {
    for (const method of ['take', 'show'] as const) {
      const local = fromRange(4, 2).gatherSync();
      const label = `LocalIterator.${method}(${show(bad)})`;
      try {
        await within<unknown>(local[method](bad as number), label);
        problems.push(`${label}: did not fail`);
      } catch (error) {
        if (!(error instanceof ArgumentRangeError)) problems.push(`${label}: ${String(error)}`);
        else if (!FORM.test(error.message)) problems.push(`${label}: ${error.message}`);
      }
    }
  }
  t.deepEqual(problems, []);
  await delay(60);
  t.is(threadCount(), baseline.count, 'a misuse started a thread');
});

test.serial('operators and pariter/worker: bad arguments fail at the call', async (t) => {
  class NotAnActor {}
  const probes: Probe[] = [
    ...each([...NOT_POSITIVE_INTEGER, ...ABSENT], 'batch($)', (v) => batchOperator(v), 'range'),
    ...each([...NOT_POSITIVE_INTEGER, ...ABSENT], 'shuffle($)', (v) => shuffleOperator(v), 'range'),
    ...each(NOT_FUNCTION, 'combine($)', (v) => combineOperator(v), 'type'),
    // parallelMap and parallelFilter
    ...(
      [
        ['parallelMap', parallelMap],
        ['parallelFilter', parallelFilter],
      ] as const
    ).flatMap(([name, op]) => {
      const operator = op as unknown as (fn: unknown, options?: unknown) => unknown;
      return [
        ...each(NOT_FUNCTION, `${name}($)`, (v) => operator(v), 'type'),
        {
          label: `${name}(a bound function)`,
          call: () => operator(noop.bind(null)),
          want: 'type' as const,
        },
        ...each(NOT_OPTIONS, `${name}(fn, $)`, (v) => operator(noop, v), 'type'),
        ...each(
          [...NOT_POSITIVE_INTEGER, HUGE],
          `${name}(fn, { numShards: $ })`,
          (v) => operator(noop, { numShards: v }),
          'range',
        ),
        ...each(
          NOT_BOOLEAN,
          `${name}(fn, { ordered: $ })`,
          (v) => operator(noop, { ordered: v }),
          'type',
        ),
        ...each(
          NOT_POSITIVE_INTEGER,
          `${name}(fn, { maxInFlight: $ })`,
          (v) => operator(noop, { maxInFlight: v }),
          'range',
        ),
        ...each(
          [HUGE],
          `${name}(fn, { maxInFlight: $ })`,
          (v) => operator(noop, { maxInFlight: v }),
          'rangeOrOk',
        ),
        ...each(
          NOT_POSITIVE_INTEGER,
          `${name}(fn, { bufferSize: $ })`,
          (v) => operator(noop, { bufferSize: v }),
          'range',
        ),
        ...each(
          [HUGE],
          `${name}(fn, { bufferSize: $ })`,
          (v) => operator(noop, { bufferSize: v }),
          'rangeOrOk',
        ),
        ...each(
          ['drop', 1, true],
          `${name}(fn, { onOverflow: $ })`,
          (v) => operator(noop, { onOverflow: v }),
          'type',
        ),
        ...each(
          BAD_CONTEXT,
          `${name}(fn, { context: $ })`,
          (v) => operator(noop, { context: v }),
          'type',
        ),
      ];
    }),
    // pariter/worker, for custom actors
    ...each(
      [42, null, undefined, {}],
      'new ParallelIteratorWorker($)',
      (v) => new ParallelIteratorWorker(v),
      'type',
    ),
    ...each(
      ['yes', 1, {}],
      'new ParallelIteratorWorker([1], $)',
      (v) => new ParallelIteratorWorker([1], v),
      'type',
    ),
    ...each([5, null, {}, () => 1, NotAnActor], 'exposeActor($)', (v) => exposeActor(v), 'type'),
  ];
  await sweepTest(t, probes);
});

test.serial('spawnActor and fromActors: bad arguments, no thread started', async (t) => {
  const problems: string[] = [];
  for (const bad of [5, null, {}, 'x', { addEventListener: 1 }]) {
    const label = `spawnActor(${show(bad)})`;
    try {
      await within(spawnActor(bad as never), label);
      problems.push(`${label}: did not fail`);
    } catch (error) {
      if (!(error instanceof ArgumentTypeError)) problems.push(`${label}: ${String(error)}`);
      else if (!FORM.test(error.message)) problems.push(`${label}: ${error.message}`);
    }
  }
  t.deepEqual(problems, []);
  await delay(60);
  t.is(threadCount(), baseline.count, 'a misuse started a thread');

  // fromActors' options need a real actor.
  const actor = await within(
    spawnActor(new Worker('./fixtures/rollouts.js'), [1, 2]),
    'spawnActor',
  );
  try {
    await sweepTest(t, [
      ...each(NOT_OPTIONS, 'fromActors([actor], $)', (v) => fromActors([actor], v), 'type'),
      ...each(
        [5, {}],
        'fromActors([actor], { name: $ })',
        (v) => fromActors([actor], { name: v }),
        'type',
      ),
      ...each([{}, 5], 'fromActors([actor, $])', (v) => fromActors([actor, v]), 'type'),
    ]);
  } finally {
    await within(actor.terminate(), 'terminate()');
  }
  await assertBackToBaseline(t, 'after the actor');
});

// --- one reader per shard -------------------------------------------------------------

/** Reads `local` to the end. */
async function readAll<T>(local: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const x of local) items.push(x);
  return items;
}

/**
 * Two consumers of one shard at once: `second` (started while `first` reads)
 * must fail with a UsageError, and `first` must still get every item.
 */
interface TwoConsumers {
  readonly name: string;
  readonly run: () => { first: Promise<unknown>; second: Promise<unknown>; expected: unknown };
  readonly cleanup?: () => Promise<unknown>;
}

const TWO_CONSUMERS: readonly TwoConsumers[] = [
  {
    name: 'two for-await loops over one getShard iterator',
    run: () => {
      const shard = fromRange(8, 2).getShard(1);
      return { first: readAll(shard), second: readAll(shard), expected: [4, 5, 6, 7] };
    },
  },
  {
    name: 'a second consumer that calls take(2)',
    run: () => {
      const shard = fromRange(8, 2).getShard(1);
      return { first: readAll(shard), second: shard.take(2), expected: [4, 5, 6, 7] };
    },
  },
  {
    name: 'two iterators derived from one shard',
    run: () => {
      const shard = fromRange(8, 2).getShard(0);
      return {
        first: readAll(shard.forEach((x) => x * 2)),
        second: readAll(shard.filter(() => true)),
        expected: [0, 2, 4, 6],
      };
    },
  },
  {
    name: 'two subscriptions of one asObservable()',
    run: () => {
      const observed = fromRange(8, 2).gatherSync().asObservable();
      return {
        first: lastValueFrom(observed.pipe(toArray())),
        second: lastValueFrom(observed.pipe(toArray())),
        expected: [0, 4, 1, 5, 2, 6, 3, 7],
      };
    },
  },
];

for (const { name, run: start } of TWO_CONSUMERS) {
  test.serial(
    `one shard, two consumers at once (${name}): a UsageError, the first gets every item`,
    async (t) => {
      const { first, second, expected } = start();
      first.catch(() => undefined);
      const error = await t.throwsAsync(within(second, 'the second consumer'), {
        instanceOf: UsageError,
      });
      t.true(error instanceof TypeError);
      t.deepEqual(
        await within(first, 'the first consumer').catch((e: unknown) => e),
        expected,
        'the first consumer lost its items',
      );
      await assertBackToBaseline(t, `after ${name}`);
    },
  );
}

test.serial(
  'a union of a shard with itself is a UsageError at the call, and starts nothing',
  async (t) => {
    const self = fromRange(8, 2).getShard(0);
    t.throws(() => self.union(self), { instanceOf: UsageError });
    t.throws(() => self.union(self.forEach((x) => x)), { instanceOf: UsageError });
    await assertBackToBaseline(t, 'after the refused unions');
    // The class: take() of a union that fails with a misuse stops what it started.
    const [a, b] = self.duplicate(2) as [LocalIterator<number>, LocalIterator<number>];
    const union = a.union(b);
    const pending = union.next();
    await t.throwsAsync(union.take(2), { instanceOf: UsageError }, 'a second reader meanwhile');
    t.false((await within(pending, 'the first read')).done, 'the first reader keeps its run');
    await within(union.return(), 'union.return()');
    await assertBackToBaseline(t, 'after the union of copies');
  },
);

// --- close() during a pull ---------------------------------------------------------------

/** Shard 1 (items 2, 3) never answers at 3. */
const stuckRange = (): ParallelIterator<number> =>
  fromRange(4, 2).forEach((x) => (x === 3 ? new Promise<number>(() => undefined) : x));

interface ClosedCase {
  readonly name: string;
  /** The iterator to close and the reader with a pull that will wait. */
  readonly make: () => {
    close: () => Promise<void>;
    local: LocalIterator<unknown>;
    after?: () => void;
  };
}

const CLOSED_CASES: readonly ClosedCase[] = [
  {
    name: 'batchAcrossShards()',
    make: () => {
      const it = stuckRange();
      return { close: () => it.close(), local: it.batchAcrossShards() };
    },
  },
  {
    name: 'gatherSync().forEach().batch(2) (a local chain)',
    make: () => {
      const it = stuckRange();
      return {
        close: () => it.close(),
        local: it
          .gatherSync()
          .forEach((x) => x * 10)
          .batch(2),
      };
    },
  },
  {
    name: 'a union of two gathers, one closed',
    make: () => {
      const it = stuckRange();
      const other = fromRange(2, 1);
      return {
        close: () => it.close(),
        local: it.getShard(1).union(other.gatherSync(), { deterministic: true }),
      };
    },
  },
  {
    name: 'a copy made by duplicate(2)',
    make: () => {
      const it = stuckRange();
      const [copy, rest] = it.getShard(1).duplicate(2);
      return {
        close: () => it.close(),
        local: copy as LocalIterator<unknown>,
        after: () => void rest?.return().catch(() => undefined),
      };
    },
  },
  {
    name: 'repartition(2).gatherSync()',
    make: () => {
      const it = stuckRange().repartition(2);
      return { close: () => it.close(), local: it.gatherSync() };
    },
  },
  {
    name: 'fromObservable of a source that never emits',
    make: () => {
      const it = fromObservable(NEVER as Observable<number>);
      return { close: () => it.close(), local: it.gatherAsync() };
    },
  },
  {
    name: 'a shard in a busy loop',
    make: () => {
      const it = fromRange(4, 2).forEach((x) => {
        if (x === 3) for (;;) Math.random();
        return x;
      });
      return { close: () => it.close(), local: it.getShard(1) };
    },
  },
];

for (const { name, make } of CLOSED_CASES) {
  test.serial(`close() during a pull rejects it with ClosedError: ${name}`, async (t) => {
    const { close, local, after } = make();
    // Pull until a pull stays pending (the readers first get the items that come).
    let pending: Promise<IteratorResult<unknown>> | undefined;
    for (let i = 0; i < 6 && !pending; i++) {
      const pull = local.next();
      pull.catch(() => undefined);
      const settled = await Promise.race([pull.then(() => true), delay(400).then(() => false)]);
      if (!settled) pending = pull;
    }
    if (!pending) {
      t.fail('no pull stayed pending');
      return;
    }
    await within(close(), 'close()');
    await t.throwsAsync(within(pending, 'the pending pull'), { instanceOf: ClosedError });
    after?.();
    await within(local.return(), 'return() after close()');
    await assertBackToBaseline(t, `after close() of ${name}`);
  });
}

test.serial(
  'asObservable: close() during a pull errors the subscriber with ClosedError',
  async (t) => {
    const it = stuckRange();
    const seen: number[] = [];
    let subscription: Subscription | undefined;
    const failed = new Promise<unknown>((resolve) => {
      subscription = it
        .gatherSync()
        .asObservable()
        .subscribe({
          next: (x) => {
            seen.push(x);
            // Items 0, 2, 1 come; the pull for 3 never ends.
            if (seen.length === 3) setTimeout(() => void it.close(), 200);
          },
          error: resolve,
          complete: () => resolve(new Error('completed')),
        });
    });
    const error = await within(failed, 'the error notification');
    subscription?.unsubscribe();
    t.true(error instanceof ClosedError, String(error));
    t.deepEqual(seen, [0, 2, 1]);
    await assertBackToBaseline(t, 'after close() under asObservable');
  },
);

test.serial('close() is idempotent, and the iterator works again after it', async (t) => {
  const it = fromRange(4, 2);
  await within(it.close(), 'close() before any run');
  t.deepEqual(await within(it.take(4), 'take(4)'), [0, 2, 1, 3]);
  await within(Promise.all([it.close(), it.close()]), 'close() twice after the run');
  const local = it.gatherSync();
  t.deepEqual(await within(local.next(), 'next()'), { done: false, value: 0 });
  await within(Promise.all([it.close(), it.close()]), 'close() twice during a run');
  await assertBackToBaseline(t, 'after close() during a run');
  // The closed run gives no more items: a ClosedError, then the end.
  await t.throwsAsync(within(local.next(), 'next() after close()'), { instanceOf: ClosedError });
  t.deepEqual(await within(local.next(), 'next() after the ClosedError'), {
    done: true,
    value: undefined,
  });
  // A new run of the same iterator works.
  t.deepEqual(
    await within(it.gatherAsync().take(10), 'a new run').then((xs) => xs.sort()),
    [0, 1, 2, 3],
  );
  await assertBackToBaseline(t, 'after the closes');
});

// --- process hygiene ---------------------------------------------------------------------

test.serial(
  "importing pariter and threads.js, in either order, leaves the script's own SIGINT/SIGTERM handlers as they were",
  async (t) => {
    const runs = await Promise.all(
      ['threads-first', 'pariter-first'].flatMap((order) => [
        runNode([path.join(FIXTURES, 'rel-handlers.js'), order]).then((o) => ({
          o,
          order,
          kind: 'CJS',
        })),
        runNode([path.join(FIXTURES, 'rel-handlers.mjs'), order]).then((o) => ({
          o,
          order,
          kind: 'ESM',
        })),
      ]),
    );
    for (const { o, order, kind } of runs) {
      const where = `${kind} ${order}`;
      t.is(o.code, 0, `${where}: ${o.stderr}`);
      const steps = JSON.parse(o.stdout.trim() || '{}') as Record<string, boolean>;
      // threads.js alone adds its handlers (threads-first, before pariter is
      // loaded); from then on every step must show the script's own handlers only.
      const { threads: afterThreads, ...rest } = steps;
      if (order === 'pariter-first') t.true(afterThreads, `${where}: threads after pariter`);
      t.deepEqual(
        Object.keys(rest).sort(),
        (kind === 'CJS'
          ? ['start', 'pariter', 'allModules', 'afterRun', 'afterActor', 'end']
          : ['start', 'pariter', 'allModules', 'afterRun']
        ).sort(),
        `${where}: ${o.stdout}`,
      );
      for (const [step, untouched] of Object.entries(rest)) {
        t.true(untouched, `${where}: the handlers changed at step ${step}`);
      }
    }
  },
);

test.serial(
  'SIGINT and SIGTERM end a script mid-run by the signal, workers busy, threads.js loaded either way',
  async (t) => {
    const cases = [
      ['SIGINT', 'threads-first'],
      ['SIGINT', 'pariter-first'],
      ['SIGTERM', 'threads-first'],
      ['SIGTERM', 'pariter-first'],
    ] as const;
    const outcomes = await Promise.all(
      cases.map(([signal, order]) => {
        let sent = false;
        return runNode([path.join(FIXTURES, 'rel-signal.js'), order], {
          onStdout: (stdout, child) => {
            if (!sent && stdout.includes('ready')) {
              sent = true;
              child.kill(signal);
            }
          },
        }).then((outcome) => ({ outcome, signal, order, sent }));
      }),
    );
    for (const { outcome, signal, order, sent } of outcomes) {
      const where = `${signal} with ${order}`;
      t.true(sent, `${where}: the script never got ready: ${outcome.stderr}`);
      // It had workers when the signal came: its thread count was above its start.
      const [, threads, start] = /ready (\d+) (\d+)/.exec(outcome.stdout) ?? [];
      t.true(Number(threads) > Number(start), `${where}: ${outcome.stdout}`);
      t.is(outcome.signal, signal, `${where}: exit code ${outcome.code}; ${outcome.stderr}`);
      t.is(outcome.code, null, where);
      t.false(outcome.stdout.includes('ended'), where);
      // The process and so its worker threads are gone.
      t.false(existsSync(`/proc/${outcome.pid}/status`), `${where}: the process is still there`);
    }
  },
);

test.serial('at the end: no thread left', async (t) => {
  await assertBackToBaseline(t, 'at the end of misuse.spec.ts');
});
