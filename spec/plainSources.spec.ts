/**
 * The plain-data sources of a shard (`fromItems`, `fromRange`) fill many
 * items at once for a batched request, and must give exactly the items, in
 * the order, that pulling them one by one gives: with and without `repeat`,
 * empty or not, through the shard's direct pipeline with any request size.
 */
import test from 'ava';
import fc from 'fast-check';
import { DirectPipeline } from '../src/internal/common/directPipeline';
import { isPromiseLike } from '../src/internal/common/promises';
import type { Puller } from '../src/internal/common/pullPipeline';
import { itemsSource, rangeSource } from '../src/internal/common/sources';

function oneByOne(source: Puller<unknown>, limit: number): unknown[] {
  const out: unknown[] = [];
  while (out.length < limit) {
    const next = source.next();
    if (isPromiseLike(next)) throw new Error('a plain source answered with a promise');
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

function filled(source: Puller<unknown>, limit: number, chunks: readonly number[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; out.length < limit; i++) {
    const max = Math.min(chunks[i % chunks.length] ?? 1, limit - out.length);
    if (source.fill?.(out, max)) break;
  }
  return out;
}

const sourceArb = fc.oneof(
  fc.record({ kind: fc.constant('range' as const), start: fc.nat(20), size: fc.nat(12) }),
  fc.record({
    kind: fc.constant('items' as const),
    items: fc.array(fc.anything(), { maxLength: 12 }),
  }),
);

type SourceSpec = typeof sourceArb extends fc.Arbitrary<infer S> ? S : never;

function open(spec: SourceSpec, repeat: boolean): Puller<unknown> {
  return spec.kind === 'range'
    ? rangeSource(spec.start, spec.start + spec.size, repeat)
    : itemsSource(spec.items, repeat);
}

test('filling gives the items of pulling one by one, also across repeat cycles', (t) => {
  fc.assert(
    fc.property(
      sourceArb,
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
      (spec, repeat, chunks) => {
        const limit = 40;
        t.deepEqual(filled(open(spec, repeat), limit, chunks), oneByOne(open(spec, repeat), limit));
      },
    ),
    { numRuns: 300 },
  );
});

test('an empty source ends at once, repeating or not', (t) => {
  for (const repeat of [false, true]) {
    t.true(rangeSource(3, 3, repeat).fill?.([], 5));
    t.true(itemsSource([], repeat).fill?.([], 5));
  }
});

test('a shard pipeline over a plain source answers at most n items per pull, in order', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.nat(3000),
      fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 5 }),
      fc.constantFrom(0, 10),
      async (size, sizes, batchMs) => {
        const pipeline = new DirectPipeline(rangeSource(0, size, false));
        const out: unknown[] = [];
        for (let i = 0; ; i++) {
          const n = sizes[i % sizes.length] ?? 1;
          const pulled = await pipeline.pull(n, batchMs);
          if (pulled.done) break;
          t.true(pulled.items.length >= 1 && pulled.items.length <= n);
          out.push(...pulled.items);
        }
        t.deepEqual(
          out,
          Array.from({ length: size }, (_, i) => i),
        );
      },
    ),
    { numRuns: 60 },
  );
});

test('a strict pull of one item takes one item from a plain source', async (t) => {
  const pipeline = new DirectPipeline(rangeSource(0, 10, true));
  t.deepEqual(await pipeline.pull(1), { items: [0], done: false });
  t.deepEqual(await pipeline.pull(1), { items: [1], done: false });
});
