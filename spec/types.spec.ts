/**
 * Type tests: the types ship with the package and infer through chains.
 * Checked by `tsc -p tsconfig.json`; one small runtime test makes the file run.
 */
import test from 'ava';
import { expectTypeOf } from 'expect-type';
import { map, of, type Observable } from 'rxjs';
import {
  LocalIterator,
  ParallelIterator,
  fromItems,
  fromIterators,
  fromRange,
  moduleFn,
  parallelFilter,
  stateful,
} from 'pariter';

test('forEach and batch infer through the chain', (t) => {
  const it = fromRange(4)
    .forEach((x) => String(x))
    .batch(2);
  expectTypeOf(it).toEqualTypeOf<ParallelIterator<string[]>>();
  expectTypeOf(it.gatherSync()).toEqualTypeOf<LocalIterator<string[]>>();
  expectTypeOf(fromRange(4).forEach((x) => String(x))).toEqualTypeOf<ParallelIterator<string>>();
  t.pass();
});

test('an async forEach unwraps the promise', (t) => {
  expectTypeOf(fromRange(4).forEach(async (x) => String(x))).toEqualTypeOf<
    ParallelIterator<string>
  >();
  expectTypeOf(
    fromRange(4)
      .gatherSync()
      .forEach(async (x) => [x]),
  ).toEqualTypeOf<LocalIterator<number[]>>();
  t.pass();
});

test('flatten, combine, filter', (t) => {
  const arrays: ParallelIterator<number[]> = fromRange(4).batch(2);
  expectTypeOf(arrays.flatten()).toEqualTypeOf<ParallelIterator<number>>();
  expectTypeOf(arrays.gatherSync().flatten()).toEqualTypeOf<LocalIterator<number>>();
  expectTypeOf(fromRange(4).combine((x) => [x, x])).toEqualTypeOf<ParallelIterator<number>>();
  expectTypeOf(fromRange(4).combine((x) => [String(x)])).toEqualTypeOf<ParallelIterator<string>>();
  expectTypeOf(
    fromRange(4)
      .gatherSync()
      .combine((x) => new Set([x > 1])),
  ).toEqualTypeOf<LocalIterator<boolean>>();
  expectTypeOf(fromRange(4).filter((x) => x > 1)).toEqualTypeOf<ParallelIterator<number>>();
  expectTypeOf(fromItems(['a']).filter(async (s) => s.length)).toEqualTypeOf<
    ParallelIterator<string>
  >();
  expectTypeOf(
    fromRange(4)
      .gatherSync()
      .filter((x) => x > 1),
  ).toEqualTypeOf<LocalIterator<number>>();
  t.pass();
});

test('filter narrows with a type guard, as RxJS filter does', async (t) => {
  const maybe = fromItems<number | null>([1, null, 2], 1);
  const numbers = maybe.filter((x): x is number => x !== null);
  expectTypeOf(numbers).toEqualTypeOf<ParallelIterator<number>>();
  // TypeScript infers the guard of a plain arrow function too.
  expectTypeOf(maybe.filter((x) => x !== null)).toEqualTypeOf<ParallelIterator<number>>();
  expectTypeOf(maybe.gatherSync().filter((x): x is number => x !== null)).toEqualTypeOf<
    LocalIterator<number>
  >();
  const shapes = fromItems<{ kind: 'a'; a: number } | { kind: 'b'; b: string }>([]);
  expectTypeOf(shapes.filter((s): s is { kind: 'a'; a: number } => s.kind === 'a')).toEqualTypeOf<
    ParallelIterator<{ kind: 'a'; a: number }>
  >();
  // A predicate that is not a guard keeps the item type.
  expectTypeOf(maybe.filter((x) => Boolean(x))).toEqualTypeOf<ParallelIterator<number | null>>();
  expectTypeOf(maybe.filter(async (x) => x !== null)).toEqualTypeOf<
    ParallelIterator<number | null>
  >();
  expectTypeOf(of(1, null).pipe(parallelFilter((x): x is number => x !== null))).toEqualTypeOf<
    Observable<number>
  >();
  expectTypeOf(of(1, null).pipe(parallelFilter((x) => Boolean(x)))).toEqualTypeOf<
    Observable<number | null>
  >();
  // @ts-expect-error a guard must narrow the item type, not widen it
  maybe.filter((x): x is string => typeof x === 'string');
  const taken: number[] = await numbers.take(2);
  t.deepEqual(taken, [1, 2]);
});

test('creation functions', (t) => {
  expectTypeOf(fromItems(['a'])).toEqualTypeOf<ParallelIterator<string>>();
  expectTypeOf(fromItems([{ id: 1 }], 1)).toEqualTypeOf<ParallelIterator<{ id: number }>>();
  expectTypeOf(fromRange(4, { numShards: 2, repeat: true })).toEqualTypeOf<
    ParallelIterator<number>
  >();
  expectTypeOf(
    fromIterators([
      [1, 2],
      function* () {
        yield 3;
      },
    ]),
  ).toEqualTypeOf<ParallelIterator<number>>();
  expectTypeOf(fromIterators([new Set(['a'])])).toEqualTypeOf<ParallelIterator<string>>();
  t.pass();
});

test('reading: take, gathers, shards, union', (t) => {
  // Nothing here reads: methods that start a run are only looked at, not called.
  const it = fromRange(4);
  expectTypeOf(it.take).returns.toEqualTypeOf<Promise<number[]>>();
  expectTypeOf(it.gatherSync().take).returns.toEqualTypeOf<Promise<number[]>>();
  expectTypeOf(it.gatherAsync()).toEqualTypeOf<LocalIterator<number>>();
  expectTypeOf(it.batchAcrossShards()).toEqualTypeOf<LocalIterator<number[]>>();
  expectTypeOf(it.getShard(0)).toEqualTypeOf<LocalIterator<number>>();
  expectTypeOf(it.shards()).toEqualTypeOf<LocalIterator<number>[]>();
  expectTypeOf(it.numShards()).toEqualTypeOf<number>();
  expectTypeOf(it.union(fromItems(['a']))).toEqualTypeOf<ParallelIterator<number | string>>();
  expectTypeOf(it.selectShards([0])).toEqualTypeOf<ParallelIterator<number>>();
  expectTypeOf(it.localShuffle(2, 1)).toEqualTypeOf<ParallelIterator<number>>();
  expectTypeOf(it.close).returns.toEqualTypeOf<Promise<void>>();
  expectTypeOf(it.gatherSync()).toMatchTypeOf<AsyncIterableIterator<number>>();
  expectTypeOf(it.gatherSync().next).returns.toEqualTypeOf<Promise<IteratorResult<number>>>();
  t.pass();
});

test('stateful and moduleFn', (t) => {
  const counter = stateful(() => {
    let n = 0;
    return (x: number) => `${x}:${n++}`;
  });
  expectTypeOf(counter).toEqualTypeOf<(item: number) => string>();
  expectTypeOf(fromRange(4).forEach(counter)).toEqualTypeOf<ParallelIterator<string>>();
  expectTypeOf(moduleFn<number, number>('./m.js')).toEqualTypeOf<
    (item: number) => Promise<number>
  >();
  expectTypeOf(fromRange(4).forEach(moduleFn<number, boolean>('./m.js'))).toEqualTypeOf<
    ParallelIterator<boolean>
  >();
  class Sum {
    total = 0;
    call(x: number): [number, number] {
      return [(this.total += x), x];
    }
  }
  expectTypeOf(fromRange(4).forEach(new Sum())).toEqualTypeOf<ParallelIterator<[number, number]>>();
  t.pass();
});

test('moduleFn infers from the module type', async (t) => {
  type Square = typeof import('./fixtures/values-square');
  const square = moduleFn<Square>('./fixtures/values-square.ts');
  expectTypeOf(square).toEqualTypeOf<(item: number) => Promise<number>>();
  expectTypeOf(fromRange(4).forEach(square)).toEqualTypeOf<ParallelIterator<number>>();
  expectTypeOf(moduleFn<Square, 'negate'>('./fixtures/values-square.ts', 'negate')).toEqualTypeOf<
    (item: number) => Promise<number>
  >();
  type Lengths = { default: (s: string) => Promise<number>; version: string };
  expectTypeOf(moduleFn<Lengths>('./m.js')).toEqualTypeOf<(item: string) => Promise<number>>();
  // Item and result types, and no type argument, work as before.
  expectTypeOf(moduleFn<{ id: number }>('./m.js')).toEqualTypeOf<
    (item: { id: number }) => Promise<unknown>
  >();
  expectTypeOf(moduleFn('./m.js', 'double')).toEqualTypeOf<(item: unknown) => Promise<unknown>>();
  const squares: number[] = await fromRange(4, 1).forEach(square).take(4);
  t.deepEqual(squares, [0, 1, 4, 9]);
});

test('transform infers', (t) => {
  expectTypeOf(
    fromRange(4)
      .gatherSync()
      .transform(map((x) => String(x))),
  ).toEqualTypeOf<LocalIterator<string>>();
  const parallel = fromRange(4).transform((s, rx) => s.pipe(rx.map((x) => [x])));
  expectTypeOf(parallel).toEqualTypeOf<ParallelIterator<number[]>>();
  fromRange(4).transform((s) => {
    expectTypeOf(s).toEqualTypeOf<Observable<number>>();
    return s;
  });
  t.pass();
});

test('a ParallelIterator is not async-iterable at the type level', async (t) => {
  async function neverCalled(it: ParallelIterator<number>): Promise<void> {
    // @ts-expect-error a ParallelIterator must be gathered first
    for await (const x of it) console.log(x);
  }
  expectTypeOf(neverCalled).toBeFunction();
  expectTypeOf<ParallelIterator<number>>().not.toMatchTypeOf<AsyncIterable<number>>();
  expectTypeOf<LocalIterator<number>>().toMatchTypeOf<AsyncIterable<number>>();
  // At runtime, the types hold for a real run.
  const strings: string[] = await fromRange(4)
    .forEach((x) => String(x))
    .batch(2)
    .flatten()
    .take(4);
  t.deepEqual(strings, ['0', '2', '1', '3']);
});
