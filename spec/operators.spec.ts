import test, { type ExecutionContext } from 'ava';
import {
  from,
  lastValueFrom,
  Observable,
  of,
  range,
  take,
  throwError,
  toArray,
  type OperatorFunction,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { batch, combine, flatten, shuffle, type FlattenItem } from '../operators';
import { ArgumentRangeError, ArgumentTypeError } from '../src/errors';
import { createRandom } from '../src/internal/common/random';
import {
  describeValue,
  functionArg,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
} from '../src/internal/common/validate';

function scheduler(t: ExecutionContext): TestScheduler {
  return new TestScheduler((actual, expected) => t.deepEqual(actual, expected));
}

function collect<T, R>(source: Observable<T>, op: OperatorFunction<T, R>): Promise<R[]> {
  return lastValueFrom(source.pipe(op, toArray()));
}

/** An endless synchronous source that counts how many items were pulled from it. */
function counting(): { source: Observable<number>; pulled: () => number } {
  let pulled = 0;
  function* naturals(): Generator<number> {
    for (;;) yield pulled++;
  }
  return { source: from(naturals()), pulled: () => pulled };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------- batch

test('batch: the TSDoc example', async (t) => {
  t.deepEqual(await collect(of(1, 2, 3), batch(2)), [[1, 2], [3]]);
});

test('batch: emits full arrays as they fill, then the partial one on completion', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c-d-e|');
    expectObservable(source.pipe(batch(2))).toBe('---x---y--(z|)', {
      x: ['a', 'b'],
      y: ['c', 'd'],
      z: ['e'],
    });
    expectSubscriptions(source.subscriptions).toBe('^---------!');
  });
});

test('batch: emits no empty array on completion', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    expectObservable(cold('-a-b|').pipe(batch(2))).toBe('---x|', { x: ['a', 'b'] });
    expectObservable(cold('---|').pipe(batch(3))).toBe('---|');
  });
});

test('batch(1) wraps each item', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    expectObservable(cold('-a-b|').pipe(batch(1))).toBe('-x-y|', { x: ['a'], y: ['b'] });
  });
});

test('batch: passes errors on and drops the partial array', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c#');
    expectObservable(source.pipe(batch(2))).toBe('---x--#', { x: ['a', 'b'] });
    expectSubscriptions(source.subscriptions).toBe('^-----!');
  });
});

test('batch: unsubscribing unsubscribes from the source', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c-d-e|');
    expectObservable(source.pipe(batch(2)), '^----!').toBe('---x--', { x: ['a', 'b'] });
    expectSubscriptions(source.subscriptions).toBe('^----!');
  });
});

test('batch: stops pulling a synchronous source once the subscriber is done', async (t) => {
  const { source, pulled } = counting();
  t.deepEqual(await collect(source, (s) => s.pipe(batch(2), take(2))), [
    [0, 1],
    [2, 3],
  ]);
  t.true(pulled() <= 5);
});

test('batch: rejects an n that is not a positive integer, at the call', (t) => {
  for (const n of [0, -1, 1.5, NaN, Infinity, '2', undefined, null]) {
    const call = () => batch(n as number);
    t.throws(call, { instanceOf: RangeError });
    t.throws(call, { instanceOf: ArgumentRangeError, message: /`n`/ });
  }
});

// ---------------------------------------------------------------------------- flatten

test('flatten: the TSDoc example', async (t) => {
  t.deepEqual(await collect(of([1, 2], new Set([3])), flatten()), [1, 2, 3]);
});

test('flatten: emits each iterable’s items synchronously, in order', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a--b-c|', { a: ['x', 'y'], b: [], c: ['z'] });
    expectObservable(source.pipe(flatten())).toBe('-(xy)-z|', { x: 'x', y: 'y', z: 'z' });
    expectSubscriptions(source.subscriptions).toBe('^------!');
  });
});

test('flatten: accepts any synchronous iterable', async (t) => {
  function* gen(): Generator<number> {
    yield 5;
    yield 6;
  }
  const items: Array<Iterable<number | string | [string, number]>> = [
    [1],
    new Set([2, 3]),
    'ab',
    new Map([['k', 4]]),
    gen(),
  ];
  t.deepEqual(await collect(from(items), flatten()), [1, 2, 3, 'a', 'b', ['k', 4], 5, 6]);
});

test('flatten: passes source errors on', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a----#', { a: [1, 2] });
    expectObservable(source.pipe(flatten())).toBe('-(xy)-#', { x: 1, y: 2 });
    expectSubscriptions(source.subscriptions).toBe('^-----!');
  });
});

test('flatten: unsubscribing unsubscribes from the source', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-a-a|', { a: [1] });
    expectObservable(source.pipe(flatten()), '^---!').toBe('-x-x', { x: 1 });
    expectSubscriptions(source.subscriptions).toBe('^---!');
  });
});

test('flatten: a non-iterable item errors the output with an ArgumentTypeError', async (t) => {
  for (const bad of [5, null, undefined, { a: 1 }, Promise.resolve([1])]) {
    const error = await t.throwsAsync(collect(from<unknown[]>([[1], bad, [2]]), flatten()), {
      instanceOf: ArgumentTypeError,
      message: /flatten\(\)/,
    });
    t.true(error instanceof TypeError);
  }
});

test('flatten: an iterator that throws errors the output after its earlier items', (t) => {
  const boom = new Error('boom');
  function* failing(): Generator<number> {
    yield 1;
    throw boom;
  }
  const seen: unknown[] = [];
  of(failing(), [2])
    .pipe(flatten())
    .subscribe({ next: (x) => seen.push(x), error: (e) => seen.push(e) });
  t.deepEqual(seen, [1, boom]);
});

test('flatten: stops a long iteration when the subscriber unsubscribes', async (t) => {
  let produced = 0;
  let returned = false;
  function* endless(): Generator<number> {
    try {
      for (;;) yield produced++;
    } finally {
      returned = true;
    }
  }
  t.deepEqual(await collect(of(endless(), [99]), (s) => s.pipe(flatten(), take(3))), [0, 1, 2]);
  t.true(produced <= 4);
  t.true(returned);
});

test('flatten: FlattenItem infers the element type', (t) => {
  const items: Array<number[] | Set<string>> = [[1], new Set(['a'])];
  const typed: Observable<FlattenItem<number[] | Set<string>>> = from(items).pipe(flatten());
  const check: Observable<number | string> = typed;
  t.truthy(check);
});

// ---------------------------------------------------------------------------- combine

test('combine: the TSDoc example', async (t) => {
  t.deepEqual(
    await collect(
      of(1, 2),
      combine((x: number) => [x, x * 10]),
    ),
    [1, 10, 2, 20],
  );
});

test('combine: maps and flattens synchronously', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c----|', { a: 1, b: 0, c: 2 });
    const out = source.pipe(combine((n: number) => Array.from({ length: n }, (_, i) => i)));
    expectObservable(out).toBe('-x---(xy)-|', { x: 0, y: 1 });
    expectSubscriptions(source.subscriptions).toBe('^---------!');
  });
});

test('combine: passes source errors on and unsubscribes', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-#', { a: 1 });
    expectObservable(source.pipe(combine((x: number) => [x]))).toBe('-x-#', { x: 1 });
    expectSubscriptions(source.subscriptions).toBe('^--!');
    const other = cold('-a-a-a|', { a: 1 });
    expectObservable(other.pipe(combine((x: number) => [x])), '^---!').toBe('-x-x', { x: 1 });
    expectSubscriptions(other.subscriptions).toBe('^---!');
  });
});

test('combine: waits for each promise before mapping the next item', async (t) => {
  const events: string[] = [];
  const fn = async (x: number) => {
    events.push(`start ${x}`);
    await sleep(x === 1 ? 30 : 1);
    events.push(`end ${x}`);
    return new Set([x, -x]);
  };
  t.deepEqual(await collect(of(1, 2, 3), combine(fn)), [1, -1, 2, -2, 3, -3]);
  t.deepEqual(events, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
});

test('combine: accepts promise-likes that are not Promises', async (t) => {
  const thenable: PromiseLike<number[]> = {
    then: (resolve) => Promise.resolve([7, 8]).then(resolve),
  };
  t.deepEqual(
    await collect(
      of(0),
      combine(() => thenable),
    ),
    [7, 8],
  );
});

test('combine: a throwing fn or a rejected promise errors the output', async (t) => {
  const boom = new Error('boom');
  const throwing = (x: number): number[] => {
    if (x === 2) throw boom;
    return [x];
  };
  t.is(await t.throwsAsync(collect(of(1, 2, 3), combine(throwing))), boom);
  const rejecting = async (x: number): Promise<number[]> => {
    if (x === 2) throw boom;
    return [x];
  };
  t.is(await t.throwsAsync(collect(of(1, 2, 3), combine(rejecting))), boom);
});

test('combine: a non-iterable result errors the output with an ArgumentTypeError', async (t) => {
  const fn = (x: number) => x as unknown as number[];
  await t.throwsAsync(collect(of(1), combine(fn)), { instanceOf: ArgumentTypeError });
});

test('combine: rejects an fn that is not a function, at the call', (t) => {
  for (const fn of [undefined, null, 42, 'x', [() => [1]], {}]) {
    const call = () => combine(fn as never);
    t.throws(call, { instanceOf: TypeError });
    t.throws(call, { instanceOf: ArgumentTypeError, message: /`fn`/ });
  }
});

// ---------------------------------------------------------------------------- shuffle

/** The algorithm shuffle() must follow, written out plainly. */
function referenceShuffle<T>(items: T[], size: number, seed: number): T[] {
  const random = createRandom(seed);
  const randInt = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const buffer: T[] = [];
  const out: T[] = [];
  for (const item of items) {
    buffer.push(item);
    if (buffer.length >= size) out.push(buffer.splice(randInt(0, buffer.length - 1), 1)[0] as T);
  }
  while (buffer.length > 0) out.push(buffer.splice(randInt(0, buffer.length - 1), 1)[0] as T);
  return out;
}

test('shuffle: the TSDoc example', async (t) => {
  t.deepEqual(await collect(of(1, 2, 3, 4), shuffle(2, 42)), [2, 1, 4, 3]);
});

test('shuffle: emits once the buffer is full and drains it on completion', (t) => {
  const [w, x, y, z] = referenceShuffle(['a', 'b', 'c', 'd'], 3, 7);
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c-d|');
    expectObservable(source.pipe(shuffle(3, 7))).toBe('-----w-x(yz|)', { w, x, y, z });
    expectSubscriptions(source.subscriptions).toBe('^-------!');
  });
});

test('shuffle(1) keeps the source order', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    expectObservable(cold('-a-b-c|').pipe(shuffle(1))).toBe('-a-b-c|');
    expectObservable(cold('-a-b-c|').pipe(shuffle(1, 3))).toBe('-a-b-c|');
  });
});

test('shuffle: passes errors on and drops the buffer', (t) => {
  const [w, x] = referenceShuffle(['a', 'b', 'c'], 2, 1);
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c#', { a: 'a', b: 'b', c: 'c' });
    const out = source.pipe(shuffle(2, 1));
    expectObservable(out).toBe('---w-x#', { w, x });
    expectSubscriptions(source.subscriptions).toBe('^-----!');
  });
});

test('shuffle: unsubscribing unsubscribes from the source', (t) => {
  scheduler(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c-d|');
    expectObservable(source.pipe(shuffle(5)), '^----!').toBe('------');
    expectSubscriptions(source.subscriptions).toBe('^----!');
  });
});

test('shuffle: stops pulling a synchronous source once the subscriber is done', async (t) => {
  const { source, pulled } = counting();
  t.is((await collect(source, (s) => s.pipe(shuffle(4, 0), take(3)))).length, 3);
  t.true(pulled() <= 7);
});

test('shuffle: follows the buffered-shuffle algorithm exactly', async (t) => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  for (const [size, seed] of [
    [1, 0],
    [3, 1],
    [10, 42],
    [50, -3.5],
    [80, 2 ** 40],
  ] as const) {
    t.deepEqual(
      await collect(from(items), shuffle(size, seed)),
      referenceShuffle(items, size, seed),
    );
  }
});

test('shuffle: same seed, same order, on every subscription', async (t) => {
  const shuffled = range(0, 100).pipe(shuffle(10, 42));
  const first = await lastValueFrom(shuffled.pipe(toArray()));
  const second = await lastValueFrom(shuffled.pipe(toArray()));
  t.deepEqual(first, second);
  t.deepEqual(await collect(range(0, 100), shuffle(10, 42)), first);
  t.notDeepEqual(await collect(range(0, 100), shuffle(10, 43)), first);
});

test('shuffle: the output is a permutation of the input', async (t) => {
  const items = Array.from({ length: 200 }, (_, i) => i);
  for (const seed of [undefined, 0, 5]) {
    const out = await collect(from(items), shuffle(16, seed));
    t.notDeepEqual(out, items);
    t.deepEqual(
      [...out].sort((a, b) => a - b),
      items,
    );
  }
  t.deepEqual(await collect(from<number[]>([]), shuffle(3, 1)), []);
});

test('shuffle: rejects a bad shuffleBufferSize or seed, at the call', (t) => {
  for (const size of [0, -2, 2.5, NaN, Infinity, '4', undefined]) {
    const call = () => shuffle(size as number);
    t.throws(call, { instanceOf: RangeError });
    t.throws(call, { instanceOf: ArgumentRangeError, message: /`shuffleBufferSize`/ });
  }
  for (const seed of [NaN, Infinity, -Infinity, '1', null, {}]) {
    const call = () => shuffle(2, seed as number);
    t.throws(call, { instanceOf: RangeError });
    t.throws(call, { instanceOf: ArgumentRangeError, message: /`seed`/ });
  }
  t.notThrows(() => shuffle(2, undefined));
  t.notThrows(() => shuffle(2, -1.25));
});

// ---------------------------------------------------------------------------- internals

test('createRandom: seeded sources are repeatable and in [0, 1)', (t) => {
  const a = createRandom(42);
  const b = createRandom(42);
  const c = createRandom(1.5);
  const d = createRandom(1);
  const xs = Array.from({ length: 1000 }, () => a());
  t.deepEqual(
    Array.from({ length: 1000 }, () => b()),
    xs,
  );
  t.true(xs.every((x) => x >= 0 && x < 1));
  t.not(c(), d());
  t.is(createRandom(), Math.random);
});

test('describeValue: short descriptions', (t) => {
  class Point {}
  const cases: Array<[unknown, string]> = [
    [0, '0'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [-1.5, '-1.5'],
    [Infinity, 'Infinity'],
    [10n, '10n'],
    [true, 'true'],
    [null, 'null'],
    [undefined, 'undefined'],
    [Symbol('s'), 'Symbol(s)'],
    ['abc', "'abc'"],
    ['x'.repeat(40), `'${'x'.repeat(40)}'`],
    ['y'.repeat(41), `'${'y'.repeat(39)}…'`],
    [() => 1, 'a function'],
    [Point, 'a function'],
    [[1, 2], 'an array of length 2'],
    [{}, 'an object'],
    [Object.create(null), 'an object'],
    [new Point(), 'an object (Point)'],
    [new Map(), 'an object (Map)'],
    [Promise.resolve(), 'an object (Promise)'],
  ];
  for (const [value, expected] of cases) t.is(describeValue(value), expected);
  const hostile = new Proxy(
    {},
    {
      getPrototypeOf() {
        throw new Error('no');
      },
    },
  );
  t.is(describeValue(hostile), 'an object');
});

test('validate: the helpers return good values and throw the right errors', (t) => {
  t.is(positiveInteger('n', 3), 3);
  t.is(nonNegativeInteger('k', 0), 0);
  t.is(nonNegativeNumber('ms', 2.5), 2.5);
  const fn = (x: number) => x;
  t.is(functionArg('fn', fn), fn);

  const form = (name: string) => new RegExp(`^Expected \`${name}\` to be .+, got .+$`);
  for (const bad of [0, -1, 1.5, NaN, Infinity, '1', null]) {
    t.throws(() => positiveInteger('n', bad), {
      instanceOf: ArgumentRangeError,
      message: form('n'),
    });
  }
  for (const bad of [-1, 0.5, NaN, Infinity, '0', undefined]) {
    t.throws(() => nonNegativeInteger('k', bad), {
      instanceOf: ArgumentRangeError,
      message: form('k'),
    });
  }
  for (const bad of [-0.1, NaN, Infinity, '1', null]) {
    t.throws(() => nonNegativeNumber('ms', bad), {
      instanceOf: ArgumentRangeError,
      message: form('ms'),
    });
  }
  for (const bad of [1, 'f', null, {}, []]) {
    t.throws(() => functionArg('fn', bad), { instanceOf: ArgumentTypeError, message: form('fn') });
  }
  const error = t.throws(() => positiveInteger('n', 0));
  t.is(error?.name, 'ArgumentRangeError');
  t.true(error?.message.endsWith('got 0'));
});

test('errors thrown at the call are not deferred to subscription', (t) => {
  t.throws(() => of(1).pipe(batch(0)), { instanceOf: ArgumentRangeError });
  t.notThrows(() => throwError(() => new Error('x')).pipe(batch(1), flatten(), shuffle(1)));
});
