/**
 * Fault injection: shard functions that throw at a random item, reject,
 * kill their worker (`process.exit(1)`, out of memory), never settle while
 * the consumer gives up, function sources that fail on creation, and an
 * actor terminated mid-run.
 *
 * Each fault must end as a `ShardError` naming the iterator, the shard and
 * the cause (or, when the consumer gives up, a prompt end); the other shards
 * of that run stop (the thread count comes back to the baseline); no
 * `unhandledRejection` and no process `warning` is emitted; and the next run
 * works.
 *
 * Serial: every test counts the threads of this process.
 */
import test, { type ExecutionContext } from 'ava';
import * as path from 'node:path';
import fc from 'fast-check';
import { Worker } from 'threads';
import { Subject, lastValueFrom, takeUntil, tap, toArray, type Observable } from 'rxjs';
import type * as Rx from 'rxjs';
import {
  ClosedError,
  ShardError,
  fromActors,
  fromIterators,
  fromRange,
  spawnActor,
  type LocalIterator,
  type ParallelIterator,
} from 'pariter';
import type { ParallelIteratorWorker } from 'pariter/worker';
import { threadBaseline } from './helpers/baseline';
import { runNode } from './helpers/child';
import { delay, within } from './helpers/hang';
import { FIXTURES } from './helpers/paths';
import { threadCount, threadsSettle } from './helpers/threadCount';

// Names the shipped functions read from their `context`.
declare const bad: number;
declare const how: string;
declare const where: string;
declare const code: number;

/** spec/fixtures/rollouts.js, as the calling thread sees it. */
interface Rollouts extends ParallelIteratorWorker<number> {
  setWeights(w: number): void;
}

// --- process hygiene -------------------------------------------------------------

const unhandled: unknown[] = [];
const warnings: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));
process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));

const threads = threadBaseline();

/** Throws unless the threads are back, nothing leaked out, and a next run works. */
async function afterFault(what: string): Promise<void> {
  const count = await threadsSettle(threads.count);
  if (count > threads.count) {
    throw new Error(`${what}: ${count} threads, baseline ${threads.count}`);
  }
  // Let anything still in flight surface.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  if (unhandled.length > 0) {
    throw new Error(`${what}: unhandled rejection ${String(unhandled.splice(0)[0])}`);
  }
  if (warnings.length > 0) throw new Error(`${what}: process warning ${warnings.splice(0)[0]}`);
  const next = await within(fromRange(2, 1).take(2), `${what}: the next run`);
  if (JSON.stringify(next) !== '[0,1]') throw new Error(`${what}: the next run gave ${next}`);
}

async function assertClean(t: ExecutionContext, what: string): Promise<void> {
  await t.notThrowsAsync(afterFault(what));
}

// --- reading -----------------------------------------------------------------------

type ReaderKind = 'gatherSync' | 'gatherAsync' | 'batchAcrossShards' | 'getShard';
const READERS: readonly ReaderKind[] = [
  'gatherSync',
  'gatherAsync',
  'batchAcrossShards',
  'getShard',
];

function open<T>(
  it: ParallelIterator<T>,
  reader: ReaderKind,
  shard: number,
): LocalIterator<unknown> {
  switch (reader) {
    case 'gatherSync':
      return it.gatherSync();
    case 'gatherAsync':
      return it.gatherAsync();
    case 'batchAcrossShards':
      return it.batchAcrossShards();
    case 'getShard':
      return it.getShard(shard);
  }
}

/** Reads everything; returns the items read and the error it ended with, if any. */
async function drain(
  local: LocalIterator<unknown>,
): Promise<{ items: unknown[]; error?: unknown }> {
  const items: unknown[] = [];
  try {
    await within(
      (async () => {
        for await (const x of local) items.push(x);
      })(),
      `reading ${String(local)}`,
    );
    return { items };
  } catch (error) {
    return { items, error };
  }
}

/** Checks that `error` is a ShardError of `it`'s shard `shard` whose cause matches. */
function checkShardError(
  error: unknown,
  it: ParallelIterator<unknown>,
  shard: number,
  cause: RegExp,
  what: string,
): void {
  if (!(error instanceof ShardError)) {
    throw new Error(`${what}: expected a ShardError, got ${String(error)}`, { cause: error });
  }
  const name = String(it);
  if (error.shard !== shard) throw new Error(`${what}: error.shard ${error.shard}, not ${shard}`);
  if (error.iterator !== name) throw new Error(`${what}: error.iterator ${error.iterator}`);
  if (!error.message.includes(name) || !error.message.includes(`shard ${shard}`)) {
    throw new Error(`${what}: the message does not name the iterator and shard: ${error.message}`);
  }
  const original = error.cause;
  if (!(original instanceof Error)) throw new Error(`${what}: the cause is ${String(original)}`);
  if (!cause.test(original.message)) {
    throw new Error(`${what}: the cause says ${JSON.stringify(original.message)}, not ${cause}`);
  }
  if (typeof original.stack !== 'string') throw new Error(`${what}: the cause has no stack`);
}

/**
 * What a reader gives of `fromRange(k * m, k)` before item `badItem` of shard
 * `s` fails: exactly the items before it (deterministic readers), or for
 * gatherAsync items whose per-shard order is kept and which stop before it.
 */
function checkItemsBefore(
  got: readonly unknown[],
  reader: ReaderKind,
  k: number,
  m: number,
  s: number,
  badItem: number,
  what: string,
): void {
  const shards = Array.from({ length: k }, (_, i) =>
    Array.from({ length: m }, (_, j) => i * m + j),
  );
  const fail = (): never => {
    throw new Error(`${what}: read ${JSON.stringify(got)} before the failure`);
  };
  switch (reader) {
    case 'gatherSync': {
      const order: number[] = [];
      for (let j = 0; j < m; j++) for (const list of shards) order.push(list[j] as number);
      if (JSON.stringify(got) !== JSON.stringify(order.slice(0, order.indexOf(s * m + badItem)))) {
        fail();
      }
      break;
    }
    case 'batchAcrossShards': {
      const rows = Array.from({ length: badItem }, (_, j) => shards.map((list) => list[j]));
      if (JSON.stringify(got) !== JSON.stringify(rows)) fail();
      break;
    }
    case 'getShard':
      if (JSON.stringify(got) !== JSON.stringify(shards[s]?.slice(0, badItem))) fail();
      break;
    case 'gatherAsync':
      shards.forEach((list, i) => {
        const mine = got.filter((x) => list.includes(x as number));
        if (JSON.stringify(mine) !== JSON.stringify(list.slice(0, mine.length))) fail();
        if (i === s && mine.length > badItem) fail();
      });
      break;
  }
}

// --- a shard function that throws or rejects at a random item ------------------------

test.serial(
  'a shard fn that throws or rejects at a random item: ShardError, workers stopped',
  async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom(...READERS),
        fc.constantFrom('throw', 'throwTypeError', 'throwString', 'reject', 'rejectLater'),
        fc.constantFrom('forEach', 'filter', 'combine', 'transform'),
        async (k, m, shardPick, itemPick, reader, howFail, whereFail) => {
          const s = shardPick % k;
          const badItem = itemPick % m;
          // Shard i of fromRange(k * m, k) holds i*m .. i*m + m - 1.
          const fn = (x: number): unknown => {
            const fail = (): never => {
              if (how === 'throwTypeError') throw new TypeError(`type boom at ${x}`);
              if (how === 'throwString') throw `string boom at ${x}`;
              throw new Error(`boom at ${x}`);
            };
            const ok = (): unknown => (where === 'filter' ? true : where === 'combine' ? [x] : x);
            if (x !== bad) return ok();
            if (how === 'reject') return Promise.reject(new RangeError(`rejected at ${x}`));
            if (how === 'rejectLater') {
              return new Promise((_, reject) =>
                setTimeout(() => reject(new RangeError(`rejected at ${x}`)), 5),
              );
            }
            return fail();
          };
          const options = { context: { bad: s * m + badItem, how: howFail, where: whereFail } };
          // In a transform, the same failures come out of an rxjs concatMap.
          const viaRx = (source: Observable<number>, rx: typeof Rx): Observable<unknown> =>
            source.pipe(
              rx.concatMap((x) => {
                if (x !== bad) return rx.of(x);
                if (how === 'reject' || how === 'rejectLater') {
                  return rx.from(Promise.reject(new RangeError(`rejected at ${x}`)));
                }
                if (how === 'throwTypeError') throw new TypeError(`type boom at ${x}`);
                if (how === 'throwString') throw `string boom at ${x}`;
                throw new Error(`boom at ${x}`);
              }),
            );
          const base = fromRange(k * m, k);
          const it: ParallelIterator<unknown> =
            whereFail === 'filter'
              ? base.filter(fn, options)
              : whereFail === 'combine'
                ? base.combine(fn as (x: number) => number[], options)
                : whereFail === 'transform'
                  ? base.transform(viaRx, options)
                  : base.forEach(fn, options);
          // getShard reads a random shard: only the failing one fails.
          const shard = reader === 'getShard' ? (shardPick >> 3) % k : s;
          const what = `${reader}${reader === 'getShard' ? `(${shard})` : ''} of ${String(it)}, fails at ${s * m + badItem} (${howFail})`;
          const { items, error } = await drain(open(it, reader, shard));
          if (reader === 'getShard' && shard !== s) {
            if (error) throw new Error(`${what}: shard ${shard} failed too`, { cause: error });
            const mine = Array.from({ length: m }, (_, j) => shard * m + j);
            if (JSON.stringify(items) !== JSON.stringify(mine))
              throw new Error(`${what}: ${items}`);
          } else {
            const cause =
              howFail === 'reject' || howFail === 'rejectLater'
                ? /^rejected at \d+$/
                : howFail === 'throwString'
                  ? /string boom at \d+/
                  : /boom at \d+$/;
            checkShardError(error, it, s, cause, what);
            if (howFail === 'throwTypeError' && !((error as Error).cause instanceof TypeError)) {
              throw new Error(`${what}: the cause lost its class`);
            }
            checkItemsBefore(items, reader, k, m, s, badItem, what);
          }
          await afterFault(what);
        },
      ),
      { numRuns: 8, endOnFailure: true },
    );
    t.pass();
  },
);

// --- a worker that dies ----------------------------------------------------------------

test.serial(
  'a shard fn that calls process.exit(1) (or 0): ShardError naming the exit',
  async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom(...READERS),
        fc.constantFrom(1, 1, 0),
        async (k, shardPick, itemPick, reader, exitCode) => {
          const m = 3;
          const s = shardPick % k;
          const it = fromRange(k * m, k).forEach(
            (x) => {
              if (x === bad) process.exit(code);
              return x;
            },
            { context: { bad: s * m + (itemPick % m), code: exitCode } },
          );
          const what = `${reader} of ${String(it)}, exits with ${exitCode} at ${s * m + (itemPick % m)}`;
          const { items, error } = await drain(open(it, reader, s));
          // Even a clean exit code is a failure of the shard, not the end of its items.
          checkShardError(error, it, s, new RegExp(`\\b${exitCode}\\b`), what);
          if (!/exit/i.test((error as Error).message)) {
            throw new Error(`${what}: the message does not say the worker exited`);
          }
          checkItemsBefore(items, reader, k, m, s, itemPick % m, what);
          await afterFault(what);
        },
      ),
      { numRuns: 4, endOnFailure: true },
    );
    t.pass();
  },
);

interface OomReport {
  readonly isShardError: boolean;
  readonly shard?: number;
  readonly iterator?: string;
  readonly message?: string;
  readonly cause?: { readonly name: string; readonly message: string; readonly code?: string };
  readonly items: number[];
  readonly name_: string;
  readonly baseline: number;
  readonly threadsAfter: number;
  readonly next: number[];
  readonly unhandled: string[];
  readonly warnings: string[];
}

test.serial(
  'a shard fn that runs its worker out of memory: ShardError that says so (child, 64 MB heap)',
  async (t) => {
    // Worker threads take the process's heap limit, so a small one makes the
    // out-of-memory quick and deterministic without touching this process.
    const { code, stdout, stderr, hung } = await runNode(
      ['--max-old-space-size=64', path.join(FIXTURES, 'rel-oom.js')],
      { capMs: 40_000 },
    );
    t.false(hung, 'the out-of-memory script hung');
    t.is(code, 0, stderr);
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as OomReport;
    t.true(report.isShardError, stdout);
    t.is(report.shard, 1);
    t.is(report.iterator, report.name_);
    t.regex(report.message ?? '', /shard 1/);
    // Shard 0 and the items of shard 1 before the failing one arrived, in order.
    t.deepEqual(
      report.items.filter((x) => x < 4),
      [0, 1, 2, 3].slice(0, report.items.filter((x) => x < 4).length),
    );
    t.deepEqual(
      report.items.filter((x) => x >= 4),
      [4, 5],
    );
    // The cause is the worker's own error: it ran out of memory.
    t.regex(
      `${report.message ?? ''} | ${report.cause?.message ?? ''} | ${report.cause?.code ?? ''}`,
      /memory/i,
      `the ShardError does not say the worker ran out of memory: ${JSON.stringify(report.cause)}`,
    );
    t.true(report.threadsAfter <= report.baseline, stdout);
    t.deepEqual(report.next, [0, 2, 1, 3]);
    t.deepEqual(report.unhandled, []);
    t.deepEqual(report.warnings, []);
    await assertClean(t, 'after the out-of-memory child');
  },
);

// --- errors nothing caught inside the worker --------------------------------------------

test.serial(
  "an error nothing caught in a shard's worker (a timer's throw, a forgotten rejection): ShardError",
  async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.nat(),
        fc.constantFrom(...READERS),
        fc.constantFrom('timer', 'forgotten'),
        async (k, shardPick, reader, howFail) => {
          const s = shardPick % k;
          // Infinite shards, so that the failing one is still being read when the error comes.
          const it = fromRange(3 * k, { numShards: k, repeat: true }).forEach(
            (x) => {
              if (x === bad) {
                if (how === 'timer') {
                  setTimeout(() => {
                    throw new Error('late boom');
                  }, 0);
                } else {
                  void Promise.reject(new Error('forgotten rejection'));
                }
              }
              return x;
            },
            { context: { bad: 3 * s + 1, how: howFail } },
          );
          const what = `${reader} of ${String(it)}, ${howFail} in shard ${s}`;
          const { error } = await drain(open(it, reader, s));
          checkShardError(
            error,
            it,
            s,
            howFail === 'timer' ? /^late boom$/ : /^forgotten rejection$/,
            what,
          );
          await afterFault(what);
        },
      ),
      { numRuns: 3, endOnFailure: true },
    );
    t.pass();
  },
);

// --- the consumer gives up on a pull that never settles -----------------------------------

/** Shard 1 of fromRange(6, 2) (items 3, 4, 5) gets stuck at 4: a promise that never settles, or a busy loop. */
function stuck(kind: 'never' | 'busy'): ParallelIterator<number> {
  return kind === 'never'
    ? fromRange(6, 2).forEach((x) => (x === 4 ? new Promise<number>(() => undefined) : x))
    : fromRange(6, 2).forEach((x) => {
        if (x === 4) for (;;) Math.random();
        return x;
      });
}

/** Pulls until a pull stays pending (bounded), returning that pull. */
async function pendingPull(
  local: LocalIterator<number>,
): Promise<{ pull: Promise<IteratorResult<number>> }> {
  for (let i = 0; i < 10; i++) {
    const pull = local.next();
    pull.catch(() => undefined);
    const settled = await Promise.race([pull.then(() => true), delay(300).then(() => false)]);
    if (!settled) return { pull };
  }
  throw new Error(`${String(local)}: no pull stayed pending`);
}

for (const kind of ['never', 'busy'] as const) {
  test.serial(
    `a shard stuck (${kind === 'never' ? 'a promise that never settles' : 'a busy loop'}): giving up ends promptly and stops the workers`,
    async (t) => {
      // return() with a pull pending: return() resolves, the pull ends with a ClosedError.
      const readers =
        kind === 'never'
          ? (['gatherSync', 'gatherAsync', 'getShard'] as const)
          : (['gatherAsync'] as const);
      for (const reader of readers) {
        const local = open(stuck(kind), reader, 1) as LocalIterator<number>;
        const { pull } = await pendingPull(local);
        t.true(threadCount() > threads.count, `${reader}: the run has workers`);
        t.deepEqual(await within(local.return(), `${reader}: return()`), {
          done: true,
          value: undefined,
        });
        await t.throwsAsync(within(pull, `${reader}: the pending pull`), {
          instanceOf: ClosedError,
        });
        await assertClean(t, `${reader}: after return() with a pending pull`);
      }
      // take(n) that returns while another shard's request is still pending.
      const early = stuck(kind).gatherAsync();
      const taken = await within(early.take(4), 'gatherAsync().take(4)');
      await within(early.return(), 'return() after take(4)');
      t.deepEqual(
        taken.filter((x) => x < 3),
        [0, 1, 2],
      );
      t.deepEqual(
        taken.filter((x) => x >= 3),
        [3],
      );
      await assertClean(t, 'after gatherAsync().take(4)');
      // A read-ahead request (numAsync 2) is pending on the stuck item when take returns.
      const ahead = stuck(kind).getShard(1, { numAsync: 2 });
      t.deepEqual(await within(ahead.take(1), 'take(1)'), [3]);
      await within(ahead.return(), 'return() after take(1)');
      await assertClean(t, 'after getShard(1, { numAsync: 2 }).take(1)');
      // An Observable consumer that gives up (takeUntil) while a pull is pending:
      // after its third item, the fourth (item 4) never comes.
      const giveUp = new Subject<void>();
      const seen = await within(
        lastValueFrom(
          stuck(kind)
            .gatherSync()
            .asObservable()
            .pipe(
              tap((x) => x === 1 && setTimeout(() => giveUp.next(), 200)),
              takeUntil(giveUp),
              toArray(),
            ),
        ),
        'asObservable with takeUntil',
      );
      t.deepEqual(seen, [0, 3, 1]);
      await assertClean(t, 'after unsubscribing with a pending pull');
    },
  );
}

// --- function sources that fail on creation ----------------------------------------------

test.serial('a function source that fails on creation: ShardError, workers stopped', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.nat(),
      fc.constantFrom(...READERS),
      fc.constantFrom('throws', 'notIterable', 'asyncThrows', 'secondCycle'),
      async (k, shardPick, reader, failure) => {
        const s = shardPick % k;
        const good = (): number[] => [1, 2, 3];
        const bads = {
          throws: () => {
            throw new Error('cannot open the source');
          },
          notIterable: () => 42 as unknown as number[],
          asyncThrows: async function* (): AsyncGenerator<number> {
            if (Date.now() > 0) throw new Error('cannot open the source');
            yield 0;
          },
          secondCycle: (() => {
            // With repeat, the source is called again each cycle: fail the second time.
            // (Module state: the shipped function sees globalThis of its worker.)
            const g = globalThis as { calls?: number };
            g.calls = (g.calls ?? 0) + 1;
            if (g.calls === 2) throw new Error('cannot open the source again');
            return [1, 2, 3];
          }) as () => number[],
        };
        const sources = Array.from({ length: k }, (_, i) => (i === s ? bads[failure] : good));
        const it = fromIterators<number>(sources, { repeat: failure === 'secondCycle' });
        const what = `${reader} of ${String(it)}, shard ${s} ${failure}`;
        const { error } = await drain(open(it, reader, s));
        const cause =
          failure === 'notIterable'
            ? /iterable/
            : failure === 'secondCycle'
              ? /^cannot open the source again$/
              : /^cannot open the source$/;
        checkShardError(error, it, s, cause, what);
        await afterFault(what);
      },
    ),
    { numRuns: 5, endOnFailure: true },
  );
  t.pass();
});

// --- an actor terminated mid-run ------------------------------------------------------------

const spawnRollouts = (data: number[]) =>
  within(spawnActor<Rollouts>(new Worker('./fixtures/rollouts.js'), data), 'spawnActor');

for (const when of ['while a pull is pending', 'between two pulls'] as const) {
  test.serial(`an actor terminated ${when}: ShardError, the run stops`, async (t) => {
    const a = await spawnRollouts([1, 2, 3, 4, 5, 6]);
    const b = await spawnRollouts([10, 20, 30, 40, 50, 60]);
    // Each item takes a moment in the actor's worker, so that a pull can be pending.
    const it = fromActors([a, b]).forEach(async (x) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return x;
    });
    const local = it.gatherSync();
    try {
      t.deepEqual(await within(local.next(), 'item 1'), { done: false, value: 1 });
      t.deepEqual(await within(local.next(), 'item 2'), { done: false, value: 10 });
      let pull: Promise<IteratorResult<number>>;
      if (when === 'while a pull is pending') {
        pull = local.next();
        pull.catch(() => undefined);
        await delay(20);
        await within(a.terminate(), 'terminate()');
      } else {
        await within(a.terminate(), 'terminate()');
        pull = local.next();
        pull.catch(() => undefined);
      }
      const error = await t.throwsAsync(within(pull, 'the pull after terminate()', 5_000), {
        instanceOf: ShardError,
      });
      t.is(error?.shard, 0);
      t.is(error?.iterator, String(it));
      t.true(error?.cause instanceof Error, 'the cause is an Error');
    } finally {
      await within(local.return(), 'return()');
      await within(Promise.all([a.terminate(), b.terminate()]), 'terminate() both');
    }
    await assertClean(t, `after terminating an actor ${when}`);
  });
}

test.serial('at the end: no thread left, no unhandled rejection, no warning', async (t) => {
  await assertClean(t, 'at the end of faults.spec.ts');
});
