/**
 * The RxJS-free pull chain that shards run when they have no `transform` and
 * no concurrent `forEach`: for random stage lists, sync or async functions,
 * it gives the same items as the RxJS operators, reads its source only as far
 * as it is pulled, and stops what it holds open when it is returned.
 */
import test from 'ava';
import fc from 'fast-check';
import { concatMap, filter, firstValueFrom, from, toArray, type OperatorFunction } from 'rxjs';
import { batch, flatten, shuffle } from 'pariter/operators';
import { ArgumentTypeError } from '../src/errors';
import { isPromiseLike } from '../src/internal/common/promises';
import type { Puller } from '../src/internal/common/pullPipeline';
import { pullable, pullStages } from '../src/internal/common/pullStages';
import type { Stage } from '../src/internal/common/stages';

type Fn = (x: unknown) => unknown;

/** A source over `items` that counts its pulls; with `lagging`, every result is a promise. */
function counted(items: readonly unknown[], lagging = false) {
  let index = 0;
  const source = {
    pulls: 0,
    returned: false,
    next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>> {
      source.pulls++;
      const result: IteratorResult<unknown> =
        index < items.length
          ? { done: false, value: items[index++] }
          : { done: true, value: undefined };
      return lagging ? Promise.resolve(result) : result;
    },
    return(): void {
      source.returned = true;
    },
  };
  return source;
}

async function drain(puller: Puller<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for (;;) {
    const next = puller.next();
    const result = isPromiseLike(next) ? await next : next;
    if (result.done) return out;
    out.push(result.value);
  }
}

/** Drains with `nextNow` whenever it has something, as a shard's eager pull does. */
async function drainNow(puller: Puller<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for (;;) {
    const now = puller.nextNow?.();
    const next = now ?? puller.next();
    const result = isPromiseLike(next) ? await next : next;
    if (result.done) return out;
    out.push(result.value);
  }
}

const later =
  (fn: Fn): Fn =>
  (x) =>
    Promise.resolve().then(() => fn(x));

/** A generated stage: a number-to-number map or filter, or a structural stage. */
type Gen =
  | { readonly op: 'forEach' | 'filter'; readonly k: number; readonly async: boolean }
  | { readonly op: 'batch'; readonly n: number }
  | { readonly op: 'flatten' }
  | { readonly op: 'shuffle'; readonly size: number; readonly seed: number };

const genArb: fc.Arbitrary<Gen> = fc.oneof(
  fc.record({
    op: fc.constantFrom('forEach' as const, 'filter' as const),
    k: fc.integer({ min: 1, max: 5 }),
    async: fc.boolean(),
  }),
  fc.record({ op: fc.constant('batch' as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.constant({ op: 'flatten' as const }),
  fc.record({
    op: fc.constant('shuffle' as const),
    size: fc.integer({ min: 1, max: 5 }),
    seed: fc.integer(),
  }),
);

/** The stages that fit the item depth they meet (maps and filters on numbers, flatten on arrays). */
function fit(gens: readonly Gen[]): Gen[] {
  let depth = 0;
  return gens.filter((gen) => {
    if (gen.op === 'forEach' || gen.op === 'filter') return depth === 0;
    if (gen.op === 'batch') return depth < 2 && ++depth > 0;
    if (gen.op === 'flatten') return depth > 0 && depth-- > 0;
    return true;
  });
}

function stageOf(gen: Gen): Stage {
  switch (gen.op) {
    case 'forEach': {
      const fn: Fn = (x) => (x as number) * gen.k + 1;
      return { op: 'forEach', fn: gen.async ? later(fn) : fn, maxConcurrency: 1 };
    }
    case 'filter': {
      const fn: Fn = (x) => (x as number) % (gen.k + 1) !== 0;
      return { op: 'filter', fn: gen.async ? later(fn) : fn };
    }
    case 'batch':
      return gen;
    case 'flatten':
      return gen;
    case 'shuffle':
      return { op: 'shuffle', size: gen.size, seed: gen.seed };
  }
}

function operatorOf(gen: Gen): OperatorFunction<unknown, unknown> {
  switch (gen.op) {
    case 'forEach':
      return concatMap(async (x) => (x as number) * gen.k + 1);
    case 'filter':
      return filter((x) => (x as number) % (gen.k + 1) !== 0);
    case 'batch':
      return batch(gen.n);
    case 'flatten':
      return flatten() as OperatorFunction<unknown, unknown>;
    case 'shuffle':
      return shuffle(gen.size, gen.seed);
  }
}

function viaRx(items: readonly number[], gens: readonly Gen[]): Promise<unknown[]> {
  const out = gens.reduce((stream, gen) => stream.pipe(operatorOf(gen)), from(items as unknown[]));
  return firstValueFrom(out.pipe(toArray()));
}

test('gives the items of the RxJS operators, pulled one by one or as they are ready', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 30 }),
      fc.array(genArb, { maxLength: 6 }),
      fc.boolean(),
      async (items, generated, lagging) => {
        const gens = fit(generated);
        const expected = await viaRx(items, gens);
        const stages = gens.map(stageOf);
        t.true(pullable(stages));
        t.deepEqual(await drain(pullStages(counted(items, lagging), stages)), expected);
        t.deepEqual(await drainNow(pullStages(counted(items, lagging), stages)), expected);
      },
    ),
    { numRuns: 200 },
  );
});

test('reads the source only as far as it is pulled', async (t) => {
  const source = counted([1, 2, 3, 4, 5, 6, 7, 8]);
  const chain = pullStages(source, [
    { op: 'filter', fn: (x) => (x as number) % 2 === 0 },
    { op: 'batch', n: 2 },
  ]);
  t.deepEqual(await chain.next(), { done: false, value: [2, 4] });
  t.is(source.pulls, 4);
  t.deepEqual(await chain.next(), { done: false, value: [6, 8] });
  t.is(source.pulls, 8);
});

test('an async map started by nextNow is handed out by the next pull, in order', async (t) => {
  const chain = pullStages(counted([1, 2]), [
    { op: 'forEach', fn: later((x) => (x as number) * 10), maxConcurrency: 1 },
  ]);
  t.is(chain.nextNow?.(), undefined);
  t.is(chain.nextNow?.(), undefined, 'no second item starts while one is on its way');
  t.deepEqual(await chain.next(), { done: false, value: 10 });
  t.deepEqual(await chain.next(), { done: false, value: 20 });
  t.deepEqual(await chain.next(), { done: true, value: undefined });
});

test('a failing function fails the pull that reaches it, after the items before it', async (t) => {
  const boom = new Error('boom');
  const chain = pullStages(counted([1, 2, 3]), [
    {
      op: 'forEach',
      fn: (x) => {
        if (x === 2) throw boom;
        return x;
      },
      maxConcurrency: 1,
    },
  ]);
  t.deepEqual(await chain.next(), { done: false, value: 1 });
  t.throws(() => chain.next(), { is: boom });
  const rejecting = pullStages(counted([1]), [{ op: 'filter', fn: () => Promise.reject(boom) }]);
  await t.throwsAsync(async () => rejecting.next(), { is: boom });
});

test('flatten rejects an item that is not iterable with an ArgumentTypeError', (t) => {
  const chain = pullStages(counted([[1], 2]), [{ op: 'flatten' }]);
  t.deepEqual(chain.next(), { done: false, value: 1 });
  t.throws(() => chain.next(), { instanceOf: ArgumentTypeError });
});

test('return() stops the iterable being flattened and the source', (t) => {
  let stopped = false;
  function* inner(): Generator<number> {
    try {
      yield 1;
      yield 2;
    } finally {
      stopped = true;
    }
  }
  const source = counted([inner()]);
  const chain = pullStages(source, [{ op: 'flatten' }]);
  t.deepEqual(chain.next(), { done: false, value: 1 });
  chain.return?.();
  t.true(stopped);
  t.true(source.returned);
});

test('a transform or a concurrent forEach needs the RxJS pipeline', (t) => {
  const fn: Fn = (x) => x;
  t.false(pullable([{ op: 'forEach', fn, maxConcurrency: 2 }]));
  t.false(pullable([{ op: 'forEach', fn, maxConcurrency: 0 }]));
  t.false(pullable([{ op: 'transform', fn: (source$) => source$ }]));
  t.true(
    pullable([
      { op: 'forEach', fn, maxConcurrency: 1 },
      { op: 'batch', n: 2 },
    ]),
  );
});
