/**
 * Random sequences of API calls against a reference model: create an
 * iterator, transform it, repartition or union it, make a shard fail, read
 * it some way (gathers, one shard, `duplicate`, a local `union`, or in a
 * threads.js worker it is sent to), stop reading some way (read to the end,
 * read some then `return()`, `close()` or `take(n)`), and check the items,
 * the error, and that the process's threads come back to their baseline.
 *
 * The model is a plain list of items per shard: `fromItems` deals round
 * robin, `fromRange` splits into contiguous ranges, a map or filter applies
 * per shard, a failing `forEach` ends its shard with an error at the item it
 * throws on, `repartition(m)` deals each old shard's k-th item to partition
 * k mod m and each partition reads the old shards in turn, and `union`
 * appends shards. Deterministic readers must match exactly; `gatherAsync`
 * must keep each shard's order.
 *
 * Used by spec/apiSequences.spec.ts (a few dozen runs) and by
 * `npm run soak` (1,000 runs).
 */
import fc from 'fast-check';
import { deepStrictEqual, ok } from 'node:assert/strict';
import * as path from 'node:path';
import { spawn, Thread, Worker } from 'threads';
import {
  ShardError,
  fromItems,
  fromRange,
  type LocalIterator,
  type ParallelIterator,
  type ShardHandle,
} from 'pariter';
import { within } from './hang';
import { FIXTURES } from './paths';
import { steadyThreadCount, threadsSettle } from './threadCount';

// Names the shipped functions read from their `context`.
declare const a: number;
declare const b: number;
declare const m: number;
declare const v: number;

/** An item, or the error its shard ends with. */
const FAIL = Symbol('fail');
type Cell = number | typeof FAIL;

type Src =
  | { readonly kind: 'items'; readonly items: readonly number[]; readonly shards: number }
  | { readonly kind: 'range'; readonly n: number; readonly shards: number };

type Op =
  | { readonly op: 'map'; readonly a: number; readonly b: number }
  | { readonly op: 'filter'; readonly m: number }
  | { readonly op: 'repartition'; readonly m: number }
  | { readonly op: 'union'; readonly src: Src }
  | { readonly op: 'throwAt'; readonly v: number };

type Read =
  | { readonly kind: 'gatherSync' }
  | { readonly kind: 'gatherAsync'; readonly numAsync: number; readonly batchMs: number }
  | { readonly kind: 'batchAcrossShards' }
  | { readonly kind: 'getShard'; readonly index: number }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'localUnion' }
  | { readonly kind: 'worker' };

type Stop =
  | { readonly kind: 'exhaust' }
  | { readonly kind: 'return'; readonly after: number }
  | { readonly kind: 'close'; readonly after: number }
  | { readonly kind: 'take'; readonly n: number };

/** One random program. */
export interface Program {
  readonly src: Src;
  readonly ops: readonly Op[];
  readonly read: Read;
  readonly stop: Stop;
}

const srcArb: fc.Arbitrary<Src> = fc.oneof(
  fc.record({
    kind: fc.constant('items' as const),
    items: fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 30 }),
    shards: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('range' as const),
    n: fc.integer({ min: 0, max: 40 }),
    shards: fc.integer({ min: 1, max: 3 }),
  }),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('map' as const),
    a: fc.integer({ min: -3, max: 3 }),
    b: fc.integer({ min: -5, max: 5 }),
  }),
  fc.record({ op: fc.constant('filter' as const), m: fc.integer({ min: 2, max: 4 }) }),
  fc.record({ op: fc.constant('repartition' as const), m: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('union' as const), src: srcArb }),
  fc.record({ op: fc.constant('throwAt' as const), v: fc.integer({ min: -5, max: 20 }) }),
);

const readArb: fc.Arbitrary<Read> = fc.oneof(
  fc.constant({ kind: 'gatherSync' as const }),
  fc.record({
    kind: fc.constant('gatherAsync' as const),
    numAsync: fc.integer({ min: 1, max: 4 }),
    batchMs: fc.constantFrom(0, 0, 2),
  }),
  fc.constant({ kind: 'batchAcrossShards' as const }),
  fc.record({ kind: fc.constant('getShard' as const), index: fc.nat(5) }),
  fc.constant({ kind: 'duplicate' as const }),
  fc.constant({ kind: 'localUnion' as const }),
  fc.constant({ kind: 'worker' as const }),
);

const stopArb: fc.Arbitrary<Stop> = fc.oneof(
  fc.constant({ kind: 'exhaust' as const }),
  fc.record({ kind: fc.constant('return' as const), after: fc.nat(6) }),
  fc.record({ kind: fc.constant('close' as const), after: fc.nat(6) }),
  fc.record({ kind: fc.constant('take' as const), n: fc.nat(8) }),
);

/** Random programs. A failing `forEach` comes last, so that where it fails does not depend on timing. */
export const programArb: fc.Arbitrary<Program> = fc
  .record({
    src: srcArb,
    ops: fc.array(opArb, { maxLength: 4 }),
    read: readArb,
    stop: stopArb,
  })
  .map((p) => {
    const plain = p.ops.filter((op) => op.op !== 'throwAt');
    const fail = p.ops.find((op) => op.op === 'throwAt');
    return { ...p, ops: fail ? [...plain, fail] : plain };
  });

// --- the model -------------------------------------------------------------------

function shardsOf(src: Src): Cell[][] {
  if (src.kind === 'items') {
    return Array.from({ length: src.shards }, (_, i) =>
      src.items.filter((_, j) => j % src.shards === i),
    );
  }
  const size = Math.floor(src.n / src.shards);
  return Array.from({ length: src.shards }, (_, i) => {
    const end = i === src.shards - 1 ? src.n : (i + 1) * size;
    return Array.from({ length: end - i * size }, (_, j) => i * size + j);
  });
}

function repartitionModel(old: Cell[][], m: number): Cell[][] {
  const dealt: Cell[][][] = old.map((items) =>
    Array.from({ length: m }, (_, p) => items.filter((_, k) => k % m === p)),
  );
  return Array.from({ length: m }, (_, p) => {
    const out: Cell[] = [];
    const queues = dealt.map((d) => [...(d[p] as Cell[])]);
    let active = queues.map((_, i) => i);
    while (active.length > 0) {
      active = active.filter((i) => {
        const next = (queues[i] as Cell[]).shift();
        if (next === undefined) return false;
        out.push(next);
        return true;
      });
    }
    return out;
  });
}

/** Each shard's items; a shard that fails ends with {@link FAIL}. */
export function model(program: Program): Cell[][] {
  let shards = shardsOf(program.src);
  for (const op of program.ops) {
    switch (op.op) {
      case 'map':
        shards = shards.map((s) => s.map((x) => (x as number) * op.a + op.b));
        break;
      case 'filter':
        shards = shards.map((s) => s.filter((x) => (x as number) % op.m === 0));
        break;
      case 'repartition':
        shards = repartitionModel(shards, op.m);
        break;
      case 'union':
        shards = [...shards, ...shardsOf(op.src)];
        break;
      case 'throwAt':
        shards = shards.map((s) => {
          const at = s.indexOf(op.v);
          return at < 0 ? s : [...s.slice(0, at), FAIL];
        });
        break;
    }
  }
  return shards;
}

/** Round robin over the active shards, stopping at the first failure. */
function roundRobin(shards: Cell[][]): Cell[] {
  const out: Cell[] = [];
  const queues = shards.map((s) => [...s]);
  let active = queues.map((_, i) => i);
  while (active.length > 0) {
    const next: number[] = [];
    for (const i of active) {
      const cell = (queues[i] as Cell[]).shift();
      if (cell === undefined) continue;
      out.push(cell);
      if (cell === FAIL) return out;
      next.push(i);
    }
    active = next;
  }
  return out;
}

function acrossShards(shards: Cell[][]): Cell[][] {
  const out: Cell[][] = [];
  const queues = shards.map((s) => [...s]);
  for (;;) {
    const row: Cell[] = [];
    for (const q of queues) {
      const cell = q.shift();
      if (cell === FAIL) return [...out, [FAIL]];
      if (cell !== undefined) row.push(cell);
    }
    if (row.length === 0) return out;
    out.push(row);
  }
}

// --- running a program ------------------------------------------------------------

function build(src: Src): ParallelIterator<number> {
  return src.kind === 'items'
    ? fromItems([...src.items], src.shards)
    : fromRange(src.n, src.shards);
}

function apply(program: Program): ParallelIterator<number> {
  let it = build(program.src);
  for (const op of program.ops) {
    switch (op.op) {
      case 'map':
        it = it.forEach((x) => x * a + b, { context: { a: op.a, b: op.b } });
        break;
      case 'filter':
        it = it.filter((x) => x % m === 0, { context: { m: op.m } });
        break;
      case 'repartition':
        it = it.repartition(op.m);
        break;
      case 'union':
        it = it.union(build(op.src));
        break;
      case 'throwAt':
        it = it.forEach(
          (x) => {
            if (x === v) throw new Error(`failing at ${x}`);
            return x;
          },
          { context: { v: op.v } },
        );
        break;
    }
  }
  return it;
}

/** What a read gave: its items, and the error that ended it, if any. */
interface Outcome {
  readonly items: unknown[];
  readonly error?: unknown;
  /** `take(n)` rejects without the items it had: only the error can be checked. */
  readonly itemsLost?: boolean;
}

/** Reads `local` the way `stop` says. */
async function consume(
  local: LocalIterator<unknown>,
  it: ParallelIterator<number>,
  stop: Stop,
): Promise<Outcome> {
  const items: unknown[] = [];
  if (stop.kind === 'take') {
    try {
      // take(n) leaves the iterator usable: what a dropped one would release, return() does now.
      const taken = await within(local.take(stop.n), 'take');
      await within(local.return(), 'return()');
      return { items: taken };
    } catch (error) {
      await local.return();
      return { items, error, itemsLost: true };
    }
  }
  try {
    const limit = stop.kind === 'exhaust' ? Infinity : stop.after;
    while (items.length < limit) {
      const r = await within(local.next(), 'next()');
      if (r.done) return { items };
      items.push(r.value);
    }
    if (stop.kind === 'return') await within(local.return(), 'return()');
    if (stop.kind === 'close') await within(it.close(), 'close()');
    return { items };
  } catch (error) {
    await local.return();
    return { items, error };
  }
}

/** Items up to the first failure, and whether there is one. */
function split(cells: Cell[]): { items: number[]; fails: boolean } {
  const at = cells.indexOf(FAIL);
  return at < 0
    ? { items: cells as number[], fails: false }
    : { items: cells.slice(0, at) as number[], fails: true };
}

/** Checks a read of a deterministic order against `expected` (cells in order). */
function checkOrdered(outcome: Outcome, expected: Cell[], stop: Stop, where: string): void {
  const { items, fails } = split(expected);
  const limit = stop.kind === 'exhaust' ? Infinity : stop.kind === 'take' ? stop.n : stop.after;
  if (fails && items.length < limit) {
    ok(
      outcome.error instanceof ShardError,
      `${where}: expected a ShardError, got ${String(outcome.error)}`,
    );
    if (!outcome.itemsLost) deepStrictEqual(outcome.items, items, where);
  } else {
    ok(outcome.error === undefined, `${where}: unexpected ${String(outcome.error)}`);
    deepStrictEqual(outcome.items, items.slice(0, limit), where);
  }
}

/** What the threads.js worker of spec/fixtures/sumWorker.js exposes. */
interface Collector {
  collect(iterator: unknown): Promise<unknown[]>;
}

/** The collector of a spawned threads.js worker. */
const collector = (worker: unknown): Collector => worker as Collector;

/** A program's reader; the worker reader sends a gather to `collector`. */
async function runProgram(program: Program, collector: Collector): Promise<void> {
  const it = apply(program);
  const shards = model(program);
  const where = `${JSON.stringify(program)} (${String(it)})`;
  const { read, stop } = program;
  switch (read.kind) {
    case 'gatherSync':
      checkOrdered(await consume(it.gatherSync(), it, stop), roundRobin(shards), stop, where);
      return;
    case 'batchAcrossShards': {
      const rows = acrossShards(shards);
      const failed = rows.length > 0 && rows[rows.length - 1]?.[0] === FAIL;
      const expected: Cell[] = [
        ...(failed ? rows.slice(0, -1) : rows),
        ...(failed ? [FAIL] : []),
      ] as Cell[];
      checkOrdered(await consume(it.batchAcrossShards(), it, stop), expected, stop, where);
      return;
    }
    case 'getShard': {
      const index = read.index % shards.length;
      checkOrdered(
        await consume(it.getShard(index), it, stop),
        shards[index] as Cell[],
        stop,
        where,
      );
      return;
    }
    case 'gatherAsync': {
      const local = it.gatherAsync({ numAsync: read.numAsync, batchMs: read.batchMs });
      const outcome = await consume(local.zipWithSourceActor(), it, stop);
      const byShard: number[][] = shards.map(() => []);
      for (const pair of outcome.items as Array<[ShardHandle, number]>) {
        byShard[pair[0].shard]?.push(pair[1]);
      }
      const anyFails = shards.some((s) => s.includes(FAIL));
      shards.forEach((cells, i) => {
        const { items } = split(cells);
        const got = byShard[i] as number[];
        deepStrictEqual(got, items.slice(0, got.length), `${where}: shard ${i} in order`);
      });
      if (outcome.error !== undefined) {
        ok(
          outcome.error instanceof ShardError && anyFails,
          `${where}: unexpected ${String(outcome.error)}`,
        );
      } else if (stop.kind === 'exhaust') {
        ok(!anyFails, `${where}: expected a ShardError`);
        deepStrictEqual(byShard, shards, `${where}: every item`);
      }
      return;
    }
    case 'duplicate': {
      const [x, y] = it.gatherSync().duplicate(2) as [LocalIterator<number>, LocalIterator<number>];
      const expected = roundRobin(shards);
      // One copy read first (the other may lag behind, boundedly), then the other.
      checkOrdered(await consume(x, it, stop), expected, stop, `${where}: copy 1`);
      if (stop.kind === 'exhaust' && !expected.includes(FAIL)) {
        checkOrdered(await consume(y, it, stop), expected, stop, `${where}: copy 2`);
      }
      await within(y.return(), 'return() of copy 2');
      return;
    }
    case 'localUnion': {
      const other = fromRange(3, 1);
      const local = it.gatherSync().union(other.gatherSync(), { deterministic: true });
      const mine = roundRobin(shards);
      const theirs: Cell[] = [0, 1, 2];
      const expected: Cell[] = [];
      let i = 0;
      let j = 0;
      while (i < mine.length || j < theirs.length) {
        if (i < mine.length) expected.push(mine[i++] as Cell);
        if (expected[expected.length - 1] === FAIL) break;
        if (j < theirs.length) expected.push(theirs[j++] as Cell);
      }
      checkOrdered(await consume(local, it, stop), expected, stop, where);
      await other.close();
      return;
    }
    case 'worker': {
      if (program.ops.some((op) => op.op === 'repartition')) {
        // Fed from this thread: it cannot be sent, and says so at the call.
        await within(
          Promise.resolve()
            .then(() => collector.collect(it.gatherSync()))
            .then(
              () => {
                throw new Error(`${where}: sent a repartition to a worker`);
              },
              () => undefined,
            ),
          'collect',
        );
        return;
      }
      const expected = roundRobin(shards);
      const { items, fails } = split(expected);
      const outcome = await within<Outcome>(
        Promise.resolve()
          .then(() => collector.collect(it.gatherSync()))
          .then(
            (got) => ({ items: got }),
            (error: unknown) => ({ items: [], error }),
          ),
        'collect in a worker',
      );
      if (fails) ok(outcome.error !== undefined, `${where}: expected the worker's read to fail`);
      else deepStrictEqual(outcome.items, items, `${where}: read in a worker`);
      return;
    }
  }
}

/** What a property run reports. */
export interface PropertyReport {
  readonly runs: number;
  readonly seed: number;
  readonly baseline: number;
}

/**
 * Runs `numRuns` random programs (with `seed`, or a random one), each
 * followed by a check that the thread count is back to the baseline.
 * Throws fast-check's report (seed, counterexample) at the first failure.
 */
export async function checkApiSequences(
  numRuns: number,
  seed = Date.now() ^ (Math.random() * 2 ** 31),
  onRun: (done: number) => void = () => undefined,
): Promise<PropertyReport> {
  let done = 0;
  const worker = await spawn(
    new Worker(path.relative(__dirname, path.join(FIXTURES, 'sumWorker.js'))),
  );
  try {
    // Warm up, then take the baseline with the collector's thread running.
    await collector(worker).collect(fromRange(2).gatherSync());
    const baseline = await steadyThreadCount();
    await fc.assert(
      fc.asyncProperty(programArb, async (program) => {
        await runProgram(program, collector(worker));
        const count = await threadsSettle(baseline);
        if (count > baseline) {
          throw new Error(`${JSON.stringify(program)}: ${count} threads, baseline ${baseline}`);
        }
        onRun(++done);
      }),
      { numRuns, seed, endOnFailure: true },
    );
    return { runs: numRuns, seed, baseline };
  } finally {
    await Thread.terminate(worker);
  }
}
