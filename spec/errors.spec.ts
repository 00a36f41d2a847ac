/**
 * How failures in shards reach the consumer: as a `ShardError` that names the
 * iterator and the shard, with the original error as `cause`, never as a hang,
 * a silent drop or an unhandled rejection; and the run's workers stopped.
 *
 * Every test is serial: they count the threads of this process.
 */
import test, { type ExecutionContext } from 'ava';
import * as path from 'node:path';
import {
  fromIterators,
  fromRange,
  ShardError,
  type LocalIterator,
  type ParallelIterator,
} from 'pariter';
import { threadBaseline } from './helpers/baseline';
import { runNode } from './helpers/child';
import { delay, within } from './helpers/hang';
import { FIXTURES } from './helpers/paths';

const WORKER_EXIT_FIXTURE = path.join(FIXTURES, 'life-worker-exit.js');

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const { assertBackToBaseline } = threadBaseline();

type Reader = 'gatherSync' | 'gatherAsync' | 'getShard' | 'batchAcrossShards';
const READERS: readonly Reader[] = ['gatherSync', 'gatherAsync', 'getShard', 'batchAcrossShards'];

/** Reads everything through `reader` (for `getShard`, the failing shard). */
function readAll(it: ParallelIterator<unknown>, reader: Reader, shard: number): Promise<unknown[]> {
  let local: LocalIterator<unknown>;
  switch (reader) {
    case 'gatherSync':
      local = it.gatherSync();
      break;
    case 'gatherAsync':
      local = it.gatherAsync();
      break;
    case 'getShard':
      local = it.getShard(shard);
      break;
    case 'batchAcrossShards':
      local = it.batchAcrossShards();
      break;
  }
  return within(
    (async () => {
      const items: unknown[] = [];
      for await (const item of local) items.push(item);
      return items;
    })(),
    `reading ${String(local)}`,
  );
}

interface Expected {
  readonly shard: number;
  /** The cause's class, when it is a built-in one. */
  readonly causeType?: new (...args: never[]) => Error;
  readonly causeName?: string;
  /** The cause's exact message, or a pattern for it. */
  readonly causeMessage: string | RegExp;
}

/** Reads `it` through `reader` and checks the `ShardError` it must fail with. */
async function expectShardError(
  t: ExecutionContext,
  it: ParallelIterator<unknown>,
  reader: Reader,
  expected: Expected,
): Promise<ShardError> {
  const error = await t.throwsAsync(readAll(it, reader, expected.shard), {
    instanceOf: ShardError,
  });
  const where = `${reader} of ${String(it)}`;
  t.true(error instanceof Error, where);
  t.is(error.name, 'ShardError', where);
  t.is(error.shard, expected.shard, where);
  t.is(error.iterator, String(it), where);
  t.true(error.message.includes(String(it)), `${where}: the message names the iterator`);
  const cause = error.cause;
  if (!(cause instanceof Error)) {
    t.fail(`${where}: expected an Error as cause, got ${String(cause)}`);
    return error;
  }
  if (expected.causeType) t.true(cause instanceof expected.causeType, `${where}: ${cause.name}`);
  if (expected.causeName) t.is(cause.name, expected.causeName, where);
  if (typeof expected.causeMessage === 'string') {
    t.is(cause.message, expected.causeMessage, where);
  } else {
    t.regex(cause.message, expected.causeMessage, where);
  }
  t.is(typeof cause.stack, 'string', `${where}: the cause has a stack`);
  return error;
}

// --- exceptions in shard functions -------------------------------------------

for (const reader of READERS) {
  test.serial(
    `${reader}: a throwing shard fn is a ShardError with the original cause`,
    async (t) => {
      const it = fromRange(8, 2).forEach((x) => {
        if (x === 5) throw new Error('boom at 5');
        return x;
      });
      const error = await expectShardError(t, it, reader, { shard: 1, causeMessage: 'boom at 5' });
      const stack = (error.cause as Error).stack ?? '';
      t.true(stack.includes('boom at 5'), stack);
      t.regex(stack, /\n\s+at /, 'the stack has frames');
      await assertBackToBaseline(t, `${reader} after the error`);
    },
  );
}

test.serial('an async shard fn that rejects is a ShardError', async (t) => {
  const it = fromRange(8, 2).forEach(async (x) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (x === 2) throw new RangeError('rejected at 2');
    return x;
  });
  for (const reader of READERS) {
    await expectShardError(t, it, reader, {
      shard: 0,
      causeType: RangeError,
      causeMessage: 'rejected at 2',
    });
  }
  await assertBackToBaseline(t, 'after the rejections');
});

test.serial('a throwing filter is a ShardError', async (t) => {
  const it = fromRange(8, 2).filter((x) => {
    if (x === 6) throw new TypeError('filter failed at 6');
    return x % 2 === 0;
  });
  t.is(String(it), 'ParallelIterator[fromRange[8, shards=2].filter()]');
  for (const reader of READERS) {
    await expectShardError(t, it, reader, {
      shard: 1,
      causeType: TypeError,
      causeMessage: 'filter failed at 6',
    });
  }
  await assertBackToBaseline(t, 'after the filter errors');
});

test.serial('a function source that throws when called is a ShardError', async (t) => {
  const it = fromIterators([
    () => [1, 2, 3],
    () => {
      throw new Error('cannot open the source');
    },
  ]);
  for (const reader of READERS) {
    await expectShardError(t, it, reader, { shard: 1, causeMessage: 'cannot open the source' });
  }
  await assertBackToBaseline(t, 'after the source errors');
});

test.serial('a generator source that throws midway is a ShardError', async (t) => {
  const it = fromIterators(
    [
      function* () {
        yield 1;
        yield 2;
        throw new Error('source broke after 2');
      },
      () => [10, 20, 30, 40],
    ],
    { repeat: true },
  );
  for (const reader of READERS) {
    await expectShardError(t, it, reader, { shard: 0, causeMessage: 'source broke after 2' });
  }
  await assertBackToBaseline(t, 'after the source errors');
});

// --- workers that die --------------------------------------------------------

test.serial('a shard fn that calls process.exit(3) is a ShardError, not a hang', async (t) => {
  const it = fromRange(8, 2).forEach((x) => {
    if (x === 5) process.exit(3);
    return x;
  });
  for (const reader of READERS) {
    const error = await expectShardError(t, it, reader, {
      shard: 1,
      causeMessage: /\b3\b/,
    });
    t.regex(error.message, /exit/i);
  }
  await assertBackToBaseline(t, 'after the workers exited');
});

test.serial('a plain script gets the ShardError of a worker that exits', async (t) => {
  // Nothing else keeps the script's event loop alive while it waits.
  const outcome = await runNode([WORKER_EXIT_FIXTURE]);
  t.is(outcome.code, 0, outcome.stderr);
  t.regex(outcome.stdout, /^ShardError: .*\b3\b/, `the script was told about the exit`);
});

// --- items that cannot be sent between threads -------------------------------

test.serial(
  'an item holding a function is a ShardError (DataCloneError), not a hang',
  async (t) => {
    // Only shard 0 (items 0 and 1) makes such items.
    const returnsFunction = fromRange(4, 2).forEach((x) => (x < 2 ? () => x : x));
    const returnsMethod = fromRange(4, 2).forEach((x) =>
      x < 2
        ? {
            x,
            f() {
              return x;
            },
          }
        : { x },
    );
    for (const it of [returnsFunction, returnsMethod] as ParallelIterator<unknown>[]) {
      for (const reader of READERS) {
        await expectShardError(t, it, reader, {
          shard: 0,
          causeName: 'DataCloneError',
          causeMessage: /clone/i,
        });
      }
    }
    await assertBackToBaseline(t, 'after the clone errors');
  },
);

// --- a variable the function was not given -----------------------------------

test.serial('a fn that reads a variable not in context names it and says to pass it', async (t) => {
  const factor = 3;
  // Only shard 0 (items 0 and 1) reaches the variable.
  const it = fromRange(4).forEach((x) => (x < 2 ? x * factor : x));
  for (const reader of READERS) {
    const error = await expectShardError(t, it, reader, {
      shard: 0,
      causeType: ReferenceError,
      causeMessage: /\bfactor\b/,
    });
    t.regex(error.message, /`?factor`?/);
    t.regex(error.message, /\bcontext\b/);
  }
  // Passed in context, the same function works.
  t.deepEqual(
    await fromRange(4)
      .forEach((x) => x * factor, { context: { factor } })
      .take(4),
    [0, 6, 3, 9],
  );
  await assertBackToBaseline(t, 'after the ReferenceErrors');
});

// --- afterwards ---------------------------------------------------------------

test.serial('after the errors, no worker is left and a fresh run works', async (t) => {
  await assertBackToBaseline(t, 'after all the errors');
  const it = fromRange(4, 2).forEach((x) => x + 1);
  t.deepEqual(await within(it.take(4), 'take(4)'), [1, 3, 2, 4]);
  t.deepEqual(
    // Reading past the end exhausts the iterator, which stops its run.
    (await within(it.gatherAsync().take(5), 'gatherAsync().take(5)')).sort(),
    [1, 2, 3, 4],
  );
  t.deepEqual(await within(it.getShard(1).take(4), 'getShard(1).take(4)'), [3, 4]);
  t.deepEqual(await within(it.batchAcrossShards().take(4), 'batchAcrossShards().take(4)'), [
    [1, 3],
    [2, 4],
  ]);
  await assertBackToBaseline(t, 'after the fresh runs');
});

test.serial('no error became an unhandled rejection', async (t) => {
  // Let anything still in flight settle first.
  for (let i = 0; i < 5; i++) await delay(20);
  t.deepEqual(unhandled, []);
});
