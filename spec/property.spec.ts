/**
 * Property tests: random pipelines run through pariter's worker threads and
 * through a plain single-thread reference model of the same semantics must
 * give the same items.
 *
 * The model: `fromItems` deals round robin, `fromRange` splits into
 * contiguous ranges, `fromIterators` has one shard per source; each shard
 * runs its own pipeline (map, filter, batch, flatten, combine, and the
 * buffered shuffle of `pariter/operators` with the same seed) on an rxjs
 * `from(array)`; `gatherSync` is round robin over the active shards,
 * dropping exhausted ones; `batchAcrossShards` takes one item of each active
 * shard per step. Deterministic readers must match exactly; `gatherAsync`
 * must give each shard's items in the shard's order (checked per shard with
 * `zipWithSourceActor()`). With `repeat: true` each shard cycles its source
 * forever and `take(n)` must give the model's first n items.
 *
 * Each run starts worker threads (several hundred ms each on a small
 * machine), so the properties run few cases, serially, and stop at the first
 * failure without shrinking (the report has the seed and the counterexample).
 */
import { deepStrictEqual } from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import {
  NEVER,
  bufferCount,
  concat,
  concatMap,
  filter,
  from,
  map,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import {
  fromItems,
  fromIterators,
  fromRange,
  stateful,
  type LocalIterator,
  type ParallelIterator,
  type ShardHandle,
} from 'pariter';
import { shuffle } from 'pariter/operators';
import { threadCount, threadsSettle } from './helpers/threadCount';

// Names the shipped functions read from their `context` (declared for the
// type checker only: in the worker each is a context value).
declare const k1: number;
declare const k2: number;

/** The context every menu function gets: k1 in 1..4, k2 in -5..5. */
interface Ctx {
  readonly k1: number;
  readonly k2: number;
}

type Fn = (x: unknown) => unknown;

/**
 * A function of the menu: `ship` is given to the worker (by source text, with
 * the context), `local(ctx)` makes the model's equivalent (one instance per
 * shard, so stateful entries keep per-shard state), `async` marks a function
 * that returns a promise.
 */
interface MenuFn {
  readonly ship: unknown;
  readonly local: (ctx: Ctx) => Fn;
  readonly async?: boolean;
}

const MAPS: Record<string, MenuFn> = {
  affine: { ship: (x: number) => x * k1 + k2, local: (c) => (x) => (x as number) * c.k1 + c.k2 },
  threeXPlusOne: { ship: (x: number) => x * 3 + 1, local: () => (x) => (x as number) * 3 + 1 },
  modulo: { ship: (x: number) => x % (k1 + 1), local: (c) => (x) => (x as number) % (c.k1 + 1) },
  squareMinus: {
    ship: (x: number) => x * x - k1,
    local: (c) => (x) => (x as number) * (x as number) - c.k1,
  },
  asyncAffine: {
    ship: async (x: number) => x * k1 - k2,
    local: (c) => (x) => (x as number) * c.k1 - c.k2,
    async: true,
  },
  delayedNegate: {
    ship: (x: number) => new Promise((resolve) => setTimeout(() => resolve(-x), x & 1)),
    local: () => (x) => -(x as number),
    async: true,
  },
  runningSum: {
    ship: stateful(() => {
      let sum = 0;
      return (x: number) => (sum += x);
    }),
    local: () => {
      let sum = 0;
      return (x) => (sum += x as number);
    },
  },
};

const FILTERS: Record<string, MenuFn> = {
  notMultiple: {
    ship: (x: number) => x % (k1 + 1) !== 0,
    local: (c) => (x) => (x as number) % (c.k1 + 1) !== 0,
  },
  above: {
    ship: async (x: number) => x > k2,
    local: (c) => (x) => (x as number) > c.k2,
    async: true,
  },
  even: { ship: (x: number) => (x & 1) === 0, local: () => (x) => ((x as number) & 1) === 0 },
};

/** One transformation, as generated (before it is checked against the item depth). */
type Op =
  | { readonly op: 'forEach'; readonly fn: string; readonly ctx: Ctx; readonly conc: number }
  | { readonly op: 'filter'; readonly fn: string; readonly ctx: Ctx }
  | { readonly op: 'batch'; readonly n: number }
  | { readonly op: 'flatten' }
  | { readonly op: 'combine' }
  | { readonly op: 'shuffle'; readonly size: number; readonly seed: number };

const ctxArb: fc.Arbitrary<Ctx> = fc.record({
  k1: fc.integer({ min: 1, max: 4 }),
  k2: fc.integer({ min: -5, max: 5 }),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('forEach' as const),
    fn: fc.constantFrom(...Object.keys(MAPS)),
    ctx: ctxArb,
    conc: fc.constantFrom(1, 1, 2, 0),
  }),
  fc.record({
    op: fc.constant('filter' as const),
    fn: fc.constantFrom(...Object.keys(FILTERS)),
    ctx: ctxArb,
  }),
  fc.record({ op: fc.constant('batch' as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.constant({ op: 'flatten' as const }),
  fc.constant({ op: 'combine' as const }),
  fc.record({
    op: fc.constant('shuffle' as const),
    size: fc.integer({ min: 1, max: 5 }),
    seed: fc.integer({ min: -1000, max: 1000 }),
  }),
);

/**
 * Keeps the ops that make sense at the item depth they meet (0 = numbers,
 * d = arrays nested d deep): maps and filters on numbers only, flatten on
 * arrays only, at most two levels of batches. Returns the ops and the final
 * depth.
 */
function normalize(ops: readonly Op[], startDepth = 0): { ops: Op[]; depth: number } {
  let depth = startDepth;
  const kept: Op[] = [];
  for (const op of ops) {
    switch (op.op) {
      case 'forEach':
      case 'filter':
        if (depth !== 0) continue;
        // A promise-returning function keeps the order only one call at a time.
        if (op.op === 'forEach' && MAPS[op.fn]?.async && op.conc !== 1) continue;
        break;
      case 'batch':
        if (depth >= 2) continue;
        depth++;
        break;
      case 'flatten':
        if (depth === 0) continue;
        depth--;
        break;
      case 'combine':
      case 'shuffle':
        break;
    }
    kept.push(op);
  }
  return { ops: kept, depth };
}

function menu(table: Record<string, MenuFn>, name: string): MenuFn {
  const entry = table[name];
  if (!entry) throw new Error(`no menu function ${name}`);
  return entry;
}

/** The pipeline on a ParallelIterator. */
function applyParallel(
  it: ParallelIterator<unknown>,
  ops: readonly Op[],
): ParallelIterator<unknown> {
  let out = it;
  for (const op of ops) {
    switch (op.op) {
      case 'forEach':
        out = out.forEach(menu(MAPS, op.fn).ship as Fn, {
          context: { ...op.ctx },
          maxConcurrency: op.conc,
        });
        break;
      case 'filter':
        out = out.filter(menu(FILTERS, op.fn).ship as Fn, { context: { ...op.ctx } });
        break;
      case 'batch':
        out = out.batch(op.n);
        break;
      case 'flatten':
        out = out.flatten() as ParallelIterator<unknown>;
        break;
      case 'combine':
        out = out.combine((x) => [x, x]);
        break;
      case 'shuffle':
        out = out.localShuffle(op.size, op.seed);
        break;
    }
  }
  return out;
}

/** The same pipeline on a LocalIterator, with the model's (local) functions. */
function applyLocal(it: LocalIterator<unknown>, ops: readonly Op[]): LocalIterator<unknown> {
  let out = it;
  for (const op of ops) {
    switch (op.op) {
      case 'forEach':
        out = out.forEach(menu(MAPS, op.fn).local(op.ctx), { maxConcurrency: op.conc });
        break;
      case 'filter':
        out = out.filter(menu(FILTERS, op.fn).local(op.ctx));
        break;
      case 'batch':
        out = out.batch(op.n);
        break;
      case 'flatten':
        out = out.flatten() as LocalIterator<unknown>;
        break;
      case 'combine':
        out = out.combine((x) => [x, x]);
        break;
      case 'shuffle':
        out = out.shuffle(op.size, op.seed);
        break;
    }
  }
  return out;
}

// --- the reference model -------------------------------------------------------

/** The model's operator for one op (functions made fresh: one state per stream). */
function modelOperator(op: Op): OperatorFunction<unknown, unknown> {
  switch (op.op) {
    case 'forEach':
      return map(menu(MAPS, op.fn).local(op.ctx));
    case 'filter':
      return filter(menu(FILTERS, op.fn).local(op.ctx) as (x: unknown) => boolean);
    case 'batch':
      return bufferCount(op.n);
    case 'flatten':
      return concatMap((x) => from(x as unknown[]));
    case 'combine':
      return concatMap((x) => from([x, x]));
    case 'shuffle':
      return shuffle(op.size, op.seed);
  }
}

/** Runs a synchronous Observable through the ops; returns what it emitted. */
function runModel(source$: Observable<unknown>, ops: readonly Op[]): unknown[] {
  const out: unknown[] = [];
  const piped = ops.reduce((stream, op) => stream.pipe(modelOperator(op)), source$);
  piped.subscribe((x) => out.push(x)).unsubscribe();
  return out;
}

/**
 * One shard's output. Finite: the pipeline over `from(items)`. With repeat:
 * the first `need` outputs of the pipeline over the source cycled forever
 * (outputs emitted before the source would end are those of the infinite
 * stream), or undefined when a non-empty source gives fewer (a filter that
 * drops everything would spin forever).
 */
function modelShard(
  items: readonly number[],
  ops: readonly Op[],
  repeat: boolean,
  need: number,
): unknown[] | undefined {
  if (!repeat || items.length === 0) return runModel(from(items), ops);
  for (let cycles = 1; cycles <= 512; cycles *= 2) {
    const cycled = Array.from({ length: cycles }, () => items).flat();
    // No completion: what a batch or a shuffle holds back stays held.
    const out = runModel(concat(from(cycled), NEVER), ops);
    if (out.length >= need) return out.slice(0, need);
  }
  return undefined;
}

/** Round robin over the active shards, one item each; an exhausted shard drops out. */
function modelGatherSync(shards: readonly (readonly unknown[])[]): Array<[number, unknown]> {
  const active = shards.map((_, i) => i);
  const pos = shards.map(() => 0);
  const out: Array<[number, unknown]> = [];
  let turn = 0;
  while (active.length > 0) {
    turn %= active.length;
    const s = active[turn] as number;
    const list = shards[s] as readonly unknown[];
    const p = pos[s] as number;
    if (p < list.length) {
      out.push([s, list[p]]);
      pos[s] = p + 1;
      turn++;
    } else {
      active.splice(turn, 1);
    }
  }
  return out;
}

/** One item of each active shard per step. */
function modelBatchAcrossShards(shards: readonly (readonly unknown[])[]): unknown[][] {
  const out: unknown[][] = [];
  for (let step = 0; ; step++) {
    const row = shards.filter((list) => step < list.length).map((list) => list[step]);
    if (row.length === 0) return out;
    out.push(row);
  }
}

// --- sources ---------------------------------------------------------------------

type SourceKind = 'fromItems' | 'fromRange' | 'fromIterators(arrays)' | 'fromIterators(functions)';

interface SourceCase {
  readonly kind: SourceKind;
  readonly items: readonly number[];
  readonly numShards: number;
}

/** The items of each shard, as the contract says the source splits them. */
function shardItems(source: SourceCase): number[][] {
  const { kind, items, numShards: k } = source;
  switch (kind) {
    case 'fromItems':
      return Array.from({ length: k }, (_, s) => items.filter((_, i) => i % k === s));
    case 'fromRange': {
      const n = items.length;
      const size = Math.floor(n / k);
      return Array.from({ length: k }, (_, s) =>
        Array.from(
          { length: (s === k - 1 ? n : (s + 1) * size) - s * size },
          (_, i) => s * size + i,
        ),
      );
    }
    default:
      // One source per shard: consecutive slices of the items.
      return Array.from({ length: k }, (_, s) => items.filter((_, i) => i % k === s));
  }
}

function makeSource(source: SourceCase, repeat: boolean): ParallelIterator<number> {
  const { kind, items, numShards } = source;
  switch (kind) {
    case 'fromItems':
      return fromItems(items, { numShards, repeat });
    case 'fromRange':
      return fromRange(items.length, { numShards, repeat });
    case 'fromIterators(arrays)':
      return fromIterators(shardItems(source), { repeat });
    case 'fromIterators(functions)': {
      // Generator functions that run in the workers; the index is in their source text.
      const sources = shardItems(source).map(
        (_, s) =>
          new Function(`return function* () { yield* data[${s}]; }`)() as () => Iterable<number>,
      );
      return fromIterators(sources, { repeat, context: { data: shardItems(source) } });
    }
  }
}

const sourceArb = (shards: fc.Arbitrary<number>): fc.Arbitrary<SourceCase> =>
  fc.record({
    kind: fc.constantFrom<SourceKind>(
      'fromItems',
      'fromItems',
      'fromRange',
      'fromIterators(arrays)',
      'fromIterators(functions)',
    ),
    items: fc.array(fc.integer({ min: -20, max: 40 }), { maxLength: 24 }),
    numShards: shards,
  });

// --- readers ---------------------------------------------------------------------

type Reader =
  | { readonly kind: 'gatherSync' }
  | { readonly kind: 'gatherAsync'; readonly numAsync: number; readonly batchMs: number }
  | { readonly kind: 'batchAcrossShards' }
  | { readonly kind: 'getShard'; readonly index: number; readonly numAsync: number };

const readerArb: fc.Arbitrary<Reader> = fc.oneof(
  fc.constant({ kind: 'gatherSync' as const }),
  fc.record({
    kind: fc.constant('gatherAsync' as const),
    numAsync: fc.constantFrom(1, 1, 2, 4),
    batchMs: fc.constantFrom(0, 0, 2),
  }),
  fc.constant({ kind: 'batchAcrossShards' as const }),
  fc.record({
    kind: fc.constant('getShard' as const),
    index: fc.nat(),
    numAsync: fc.constantFrom(1, 1, 3),
  }),
);

async function readAll<T>(local: LocalIterator<T>, limit = Infinity): Promise<T[]> {
  const out: T[] = [];
  if (limit === 0) {
    await local.return();
    return out;
  }
  for await (const x of local) {
    out.push(x);
    if (out.length >= limit) break;
  }
  return out;
}

/** Groups `[handle, item]` pairs by shard index. */
function byShard(pairs: ReadonlyArray<[unknown, unknown]>, numShards: number): unknown[][] {
  const out = Array.from({ length: numShards }, (): unknown[] => []);
  for (const [handle, item] of pairs) {
    const shard = (handle as ShardHandle).shard;
    const list = out[shard];
    if (!list) throw new Error(`an item came with shard ${shard} of ${numShards}`);
    list.push(item);
  }
  return out;
}

let baseline = 0;

/** Reads up to `n` items, then stops the run (a LocalIterator's take leaves it usable). */
async function takeAndReturn<T>(local: LocalIterator<T>, n: number): Promise<T[]> {
  try {
    return await local.take(n);
  } finally {
    await local.return();
  }
}

test.before(async () => {
  await fromRange(2).take(2);
  baseline = await threadsSettle(threadCount());
});

async function assertNoWorkerLeft(what: string): Promise<void> {
  const count = await threadsSettle(baseline);
  if (count > baseline) throw new Error(`${what}: ${count} threads, baseline ${baseline}`);
}

interface Case {
  readonly source: SourceCase;
  readonly ops: readonly Op[];
  readonly reader: Reader;
  readonly localOps: readonly Op[];
}

const caseArb = (shards: fc.Arbitrary<number>): fc.Arbitrary<Case> =>
  fc.record({
    source: sourceArb(shards),
    ops: fc.array(opArb, { maxLength: 6 }),
    reader: readerArb,
    localOps: fc.array(opArb, { maxLength: 3 }),
  });

/** Runs one finite case through pariter and the model; throws on a difference. */
async function checkFinite(c: Case): Promise<void> {
  const { ops, depth } = normalize(c.ops);
  const it = applyParallel(makeSource(c.source, false), ops);
  const model = shardItems(c.source).map((items) => runModel(from(items), ops));
  const where = `${String(it)} read by ${JSON.stringify(c.reader)}`;
  switch (c.reader.kind) {
    case 'gatherSync': {
      const expected = modelGatherSync(model);
      const local = normalize(c.localOps, depth).ops;
      if (local.length === 0) {
        // Items and the shard each came from.
        const pairs = await readAll(it.gatherSync().zipWithSourceActor());
        deepStrictEqual(
          pairs.map(([handle, x]) => [(handle as ShardHandle).shard, x]),
          expected,
          where,
        );
      } else {
        const got = await readAll(applyLocal(it.gatherSync(), local));
        const want = runModel(from(expected.map(([, x]) => x)), local);
        deepStrictEqual(got, want, `${where} then locally ${JSON.stringify(local)}`);
      }
      break;
    }
    case 'gatherAsync': {
      const { numAsync, batchMs } = c.reader;
      const pairs = await readAll(it.gatherAsync({ numAsync, batchMs }).zipWithSourceActor());
      deepStrictEqual(byShard(pairs, c.source.numShards), model, where);
      break;
    }
    case 'batchAcrossShards': {
      const expected = modelBatchAcrossShards(model);
      const local = normalize(c.localOps, depth + 1).ops;
      const got = await readAll(
        applyLocal(it.batchAcrossShards() as LocalIterator<unknown>, local),
      );
      deepStrictEqual(got, runModel(from(expected), local), where);
      break;
    }
    case 'getShard': {
      const index = c.reader.index % c.source.numShards;
      const local = normalize(c.localOps, depth).ops;
      const got = await readAll(
        applyLocal(it.getShard(index, { numAsync: c.reader.numAsync }), local),
      );
      deepStrictEqual(got, runModel(from(model[index] as unknown[]), local), where);
      break;
    }
  }
  await assertNoWorkerLeft(where);
}

const RUNS = { finite: 30, repeat: 16, wide: 3 };

test.serial('random finite pipelines on 1–4 shards match the reference model', async (t) => {
  await fc.assert(fc.asyncProperty(caseArb(fc.integer({ min: 1, max: 4 })), checkFinite), {
    numRuns: RUNS.finite,
    endOnFailure: true,
  });
  t.pass();
});

test.serial('random finite pipelines on 5–8 shards match the reference model', async (t) => {
  await fc.assert(fc.asyncProperty(caseArb(fc.integer({ min: 5, max: 8 })), checkFinite), {
    numRuns: RUNS.wide,
    endOnFailure: true,
  });
  t.pass();
});

test.serial('repeat: true with take(n) gives the model’s first n items', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      caseArb(fc.integer({ min: 1, max: 3 })),
      fc.integer({ min: 0, max: 30 }),
      async (c, n) => {
        const { ops } = normalize(c.ops);
        const perShard = shardItems(c.source).map((items) => modelShard(items, ops, true, n));
        // A non-empty shard whose pipeline never emits would spin forever.
        fc.pre(perShard.every((list) => list !== undefined));
        const model = perShard as unknown[][];
        const it = applyParallel(makeSource(c.source, true), ops);
        const where = `${String(it)} read by ${JSON.stringify(c.reader)}, n = ${n}`;
        switch (c.reader.kind) {
          case 'gatherSync':
            deepStrictEqual(
              await it.take(n),
              modelGatherSync(model)
                .slice(0, n)
                .map(([, x]) => x),
              where,
            );
            break;
          case 'gatherAsync': {
            const { numAsync, batchMs } = c.reader;
            const local = it.gatherAsync({ numAsync, batchMs }).zipWithSourceActor();
            const got = byShard(await takeAndReturn(local, n), c.source.numShards);
            // Each shard's items are a prefix of that shard's infinite stream.
            got.forEach((items, s) =>
              deepStrictEqual(items, (model[s] as unknown[]).slice(0, items.length), where),
            );
            deepStrictEqual(
              got.reduce((sum, items) => sum + items.length, 0),
              model.some((list) => list.length > 0) ? n : 0,
              where,
            );
            break;
          }
          case 'batchAcrossShards':
            deepStrictEqual(
              await takeAndReturn(it.batchAcrossShards(), n),
              modelBatchAcrossShards(model).slice(0, n),
              where,
            );
            break;
          case 'getShard': {
            const index = c.reader.index % c.source.numShards;
            deepStrictEqual(
              await takeAndReturn(it.getShard(index, { numAsync: c.reader.numAsync }), n),
              (model[index] as unknown[]).slice(0, n),
              where,
            );
            break;
          }
        }
        await assertNoWorkerLeft(where);
      },
    ),
    { numRuns: RUNS.repeat, endOnFailure: true },
  );
  t.pass();
});
