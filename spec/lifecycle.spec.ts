/**
 * Lifecycle of the workers a run starts: nothing before the first pull, every
 * thread gone after each way a run can end, `close()` and one reader at a
 * time, and how scripts that use pariter exit (by themselves, and on signals).
 *
 * Every test is serial: they count the threads of this process.
 */
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import {
  ClosedError,
  fromIterators,
  fromRange,
  ShardError,
  UsageError,
  type LocalIterator,
  type ParallelIterator,
} from 'pariter';
import { threadBaseline } from './helpers/baseline';
import { runNode, type ChildOutcome } from './helpers/child';
import { delay, within } from './helpers/hang';
import { FIXTURES } from './helpers/paths';
import { threadCount } from './helpers/threadCount';

const baseline = threadBaseline();
const { assertBackToBaseline } = baseline;

// --- nothing runs before the first pull -------------------------------------

test.serial('creating and chaining start no thread; the first pull starts workers', async (t) => {
  const it = fromRange(1e6, 4)
    .forEach((x) => x)
    .filter(() => true)
    .batch(2);
  const readers: Array<[string, LocalIterator<unknown>]> = [
    ['gatherSync', it.gatherSync()],
    ['gatherAsync', it.gatherAsync()],
    ['getShard(0)', it.getShard(0)],
    ['batchAcrossShards', it.batchAcrossShards()],
    ['gatherSync().forEach()', it.gatherSync().forEach((x) => x)],
  ];
  t.is(String(it), 'ParallelIterator[fromRange[1000000, shards=4].forEach().filter().batch(2)]');
  // Give anything started in the background a chance to show up.
  for (let i = 0; i < 5; i++) await delay(20);
  t.is(threadCount(), baseline.count, 'no thread after creating and chaining');

  for (const [name, local] of readers) {
    const first = await within(local.next(), `${name}: first next()`);
    t.false(first.done, name);
    t.true(threadCount() > baseline.count, `${name}: the first pull started the run's workers`);
    await local.return();
    await assertBackToBaseline(t, `${name} after return()`);
  }
});

// --- every way a run ends stops its workers ----------------------------------

type Reader = 'gatherSync' | 'gatherAsync' | 'getShard';
type Stop = 'take' | 'break' | 'exhaust' | 'return' | 'error' | 'close';

const READERS: readonly Reader[] = ['gatherSync', 'gatherAsync', 'getShard'];
const STOPS: readonly Stop[] = ['take', 'break', 'exhaust', 'return', 'error', 'close'];

function read<T>(it: ParallelIterator<T>, reader: Reader): LocalIterator<T> {
  switch (reader) {
    case 'gatherSync':
      return it.gatherSync();
    case 'gatherAsync':
      return it.gatherAsync();
    case 'getShard':
      return it.getShard(1);
  }
}

for (const repeat of [false, true]) {
  for (const reader of READERS) {
    for (const stop of STOPS) {
      if (repeat && stop === 'exhaust') continue;
      const source = repeat ? 'an infinite repeat source' : 'a finite source';
      test.serial(`${reader}: ${stop} on ${source} stops the run's workers`, async (t) => {
        // Shard 1 holds 20..39 (finite) or 3..5 (repeat); `bad` is one of its items.
        const base = repeat ? fromRange(6, { numShards: 2, repeat: true }) : fromRange(40, 2);
        const bad = stop === 'error' ? (repeat ? 5 : 23) : -1;
        const it = base.forEach(
          (x) => {
            if (x === bad) throw new Error(`shard fn failed at ${x}`);
            return x;
          },
          { context: { bad } },
        );
        let peak = 0;
        const local = read(it, reader).forEach((x) => {
          peak = Math.max(peak, threadCount());
          return x;
        });

        switch (stop) {
          case 'take':
            // A LocalIterator's take leaves it usable; return() stops it.
            t.is((await within(local.take(3), 'take(3)')).length, 3);
            t.is((await within(local.take(2), 'take(2)')).length, 2);
            await local.return();
            break;
          case 'break': {
            let n = 0;
            await within(
              (async () => {
                for await (const x of local) {
                  t.is(typeof x, 'number');
                  if (++n === 3) break;
                }
              })(),
              'for await with break',
            );
            t.is(n, 3);
            break;
          }
          case 'exhaust': {
            const items: number[] = [];
            await within(
              (async () => {
                for await (const x of local) items.push(x);
              })(),
              'for await to the end',
            );
            t.is(items.length, reader === 'getShard' ? 20 : 40);
            break;
          }
          case 'return':
            t.false((await within(local.next(), 'next()')).done);
            t.false((await within(local.next(), 'next()')).done);
            t.deepEqual(await local.return(), { done: true, value: undefined });
            t.deepEqual(await local.next(), { done: true, value: undefined });
            break;
          case 'error':
            await t.throwsAsync(
              within(
                (async () => {
                  for await (const x of local) t.not(x, bad);
                })(),
                'reading up to the failing item',
              ),
              { instanceOf: ShardError },
            );
            break;
          case 'close':
            t.false((await within(local.next(), 'next()')).done);
            t.false((await within(local.next(), 'next()')).done);
            await within(it.close(), 'close()');
            await assertBackToBaseline(t, 'after ParallelIterator.close()');
            await local.return();
            break;
        }
        t.true(
          peak > baseline.count,
          `workers were running (peak ${peak}, baseline ${baseline.count})`,
        );
        await assertBackToBaseline(t, `after ${stop}`);
      });
    }
  }
}

test.serial('take(n) on a ParallelIterator stops its workers', async (t) => {
  t.deepEqual(await within(fromRange(8, 2).take(3), 'take(3)'), [0, 4, 1]);
  await assertBackToBaseline(t, 'after take(3)');
  t.is((await within(fromRange(4, { repeat: true }).take(5), 'take(5)')).length, 5);
  await assertBackToBaseline(t, 'after take(5) on a repeat source');
});

// --- close() during a pending pull -------------------------------------------

for (const reader of READERS) {
  test.serial(`${reader}: close() during a pending pull rejects it with ClosedError`, async (t) => {
    // Shard 1 never answers: a promise that never settles, and a long timer.
    // Both die with the worker when it is terminated.
    const forever = fromRange(4, 2).forEach((x) =>
      x < 2 ? x : new Promise<number>(() => undefined),
    );
    const sleepy = fromRange(4, 2).forEach(async (x) => {
      if (x >= 2) await new Promise((resolve) => setTimeout(resolve, 2 ** 31 - 1));
      return x;
    });
    for (const it of [forever, sleepy]) {
      const local = read(it, reader);
      // Pull until a pull waits on shard 1 (the gathers first get shard 0's items).
      let pending: Promise<IteratorResult<number>> | undefined;
      let waiting = false;
      for (let i = 0; i < 5 && !waiting; i++) {
        pending = local.next();
        waiting = !(await Promise.race([pending.then(() => true), delay(300).then(() => false)]));
      }
      t.true(waiting, 'a pull waits on shard 1');
      t.true(threadCount() > baseline.count, 'the run has workers');
      await within(it.close(), 'close()');
      const error = await t.throwsAsync(within(pending ?? local.next(), 'the pending pull'), {
        instanceOf: ClosedError,
      });
      t.true(error instanceof Error);
      await assertBackToBaseline(t, 'after close() with a pending pull');
    }
  });
}

// --- one reader at a time ----------------------------------------------------

test.serial('a second next() while one is pending rejects with UsageError', async (t) => {
  for (const reader of READERS) {
    const local = read(fromRange(8, 2), reader);
    const first = local.next();
    const error = await t.throwsAsync(local.next(), { instanceOf: UsageError });
    t.true(error instanceof TypeError, reader);
    const result = await within(first, 'the first next()');
    t.false(result.done, reader);
    t.is(typeof result.value, 'number', reader);
    // The iterator is still usable once the first pull is done.
    t.false((await within(local.next(), 'next() after')).done, reader);
    await local.return();
    await assertBackToBaseline(t, `${reader} after the UsageError`);
  }
});

// --- scripts exit by themselves ----------------------------------------------

/** Runs a fixture script with plain Node.js from the repository root. */
function runFixture(
  name: string,
  onStdout?: (stdout: string, child: ChildProcess) => void,
): Promise<ChildOutcome> {
  return runNode([path.join(FIXTURES, name)], onStdout ? { onStdout } : {});
}

function isPrefix(items: readonly number[], of: readonly number[]): boolean {
  return items.every((x, i) => of[i] === x);
}

function lines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line.length > 0);
}

test.serial(
  'a script that reads a few items and never calls close() exits by itself',
  async (t) => {
    const outcome = await runFixture('life-no-close.js');
    t.false(outcome.hung, `the script hung; stdout: ${outcome.stdout}`);
    t.is(outcome.code, 0, outcome.stderr);
    const [sync, async, shard] = lines(outcome.stdout).map((line) => JSON.parse(line) as number[]);
    // fromRange(4, { repeat: true }): shard 0 cycles 0, 1 and shard 1 cycles 2, 3.
    t.deepEqual(sync, [0, 2, 1]);
    t.is(async?.length, 3);
    // As ready, but each shard's own order is kept.
    t.true(isPrefix(async?.filter((x) => x < 2) ?? [], [0, 1, 0, 1]), `${String(async)}`);
    t.true(isPrefix(async?.filter((x) => x >= 2) ?? [], [2, 3, 2, 3]), `${String(async)}`);
    t.deepEqual(shard, [2, 3, 2]);
  },
);

test.serial(
  'a script exits by itself while a shard it read ahead from is still busy',
  async (t) => {
    // gatherAsync keeps one request in flight per shard; the script reads three
    // items of the fast shard and ends while the slow shard works on its request.
    const outcome = await runFixture('life-no-close-busy.js');
    t.false(outcome.hung, `the script hung; stdout: ${outcome.stdout}`);
    t.is(outcome.code, 0, outcome.stderr);
    t.deepEqual(lines(outcome.stdout), ['[0,1,2]']);
  },
);

test.serial(
  'an actor whose worker exits before its handshake rejects, and no timer holds the process',
  async (t) => {
    const outcome = await runFixture('life-actor-exits-early.js');
    t.false(outcome.hung, `the script hung; stdout: ${outcome.stdout}`);
    t.is(outcome.code, 0, outcome.stderr);
    t.deepEqual(lines(outcome.stdout), ['{"rejected":true,"timers":0}']);
  },
);

test.serial(
  "a shard's items do not wait for threads.js's handshake, nor fail when it times out",
  async (t) => {
    const outcome = await runFixture('life-slow-handshake.js');
    t.false(outcome.hung, `the script hung; stdout: ${outcome.stdout}`);
    t.is(outcome.code, 0, outcome.stdout + outcome.stderr);
    t.deepEqual(lines(outcome.stdout), ['[0,4,2,6]']);
  },
);

// --- signals -----------------------------------------------------------------

test.serial(
  'importing pariter (and threads after it) adds no SIGINT/SIGTERM listener',
  async (t) => {
    const outcome = await runFixture('life-signals.js');
    t.false(outcome.hung);
    t.is(outcome.code, 0, outcome.stderr);
    const counts = JSON.parse(lines(outcome.stdout)[0] ?? '{}') as Record<string, number[]>;
    const none = [0, 0];
    t.deepEqual(counts, {
      before: none,
      afterPariter: none,
      afterThreads: none,
      afterRun: none,
    });
  },
);

test.serial('a script mid-run dies by SIGTERM the way Node does', async (t) => {
  let sent = false;
  const outcome = await runFixture('life-sigterm.js', (stdout, child) => {
    if (!sent && stdout.includes('ready')) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  t.true(sent, `the script never got ready; stderr: ${outcome.stderr}`);
  t.false(outcome.hung, 'the script did not die on SIGTERM');
  t.is(outcome.signal, 'SIGTERM');
  t.is(outcome.code, null);
});

test.serial('a script with its own SIGINT handler keeps control', async (t) => {
  let sent = false;
  const outcome = await runFixture('life-sigint.js', (stdout, child) => {
    if (!sent && stdout.includes('ready')) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  t.true(sent, `the script never got ready; stderr: ${outcome.stderr}`);
  t.false(outcome.hung, 'the script did not stop after its SIGINT handler ran');
  t.is(outcome.signal, null);
  t.is(outcome.code, 7, outcome.stderr);
  const out = lines(outcome.stdout);
  t.true(out.includes('SIGINT handled'), outcome.stdout);
  t.true(out.includes('stopped'), outcome.stdout);
});

test.serial('fromIterators with a function source: workers stop after take()', async (t) => {
  const it = fromIterators([
    function* () {
      for (let i = 0; ; i++) yield i;
    },
    () => [10, 11, 12],
  ]);
  t.deepEqual(await within(it.take(5), 'take(5)'), [0, 10, 1, 11, 2]);
  await assertBackToBaseline(t, 'after take(5)');
});

// --- one reader per shard (last: a failure here may leave a pull pending) ----

test.serial(
  'two iterators over one gather read at once: one pull is a UsageError, no hang',
  async (t) => {
    const gathered = fromRange(8, 2).gatherSync();
    const derived = gathered.forEach((x) => x * 10);
    const first = gathered.next();
    const second = derived.next();
    try {
      const result = await within(first, 'the first reader');
      t.deepEqual(result, { done: false, value: 0 });
      await t.throwsAsync(within(second, 'the second reader'), { instanceOf: UsageError });
    } finally {
      await gathered.return();
    }
    await assertBackToBaseline(t, 'after two readers');
  },
);
