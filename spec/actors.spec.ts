/**
 * Custom actors: `spawnActor` and `fromActors` with threads.js workers whose
 * module calls `exposeActor` (JS and TS under ts-node), the RLlib weight-sync
 * pattern, state kept across gathers, the handles `zipWithSourceActor` gives,
 * failures (a throwing constructor, bad arguments, a worker that exits), and
 * threads.js's signal handlers.
 *
 * Every test is serial: the last one counts the threads of this process.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'threads';
import {
  fromActors,
  getMetrics,
  ParallelIterator,
  ShardError,
  spawnActor,
  UsageError,
  type ActorHandle,
} from 'pariter';
import type { ParallelIteratorWorker } from 'pariter/worker';
import type { TsActor } from './fixtures/comp-ts-actor';
import { threadBaseline } from './helpers/baseline';
import { delay, HANG_CAP_MS, within } from './helpers/hang';
import { ROOT } from './helpers/paths';

/** spec/fixtures/rollouts.js, as the calling thread sees it. */
interface Rollouts extends ParallelIteratorWorker<number> {
  setWeights(w: number): void;
  getWeights(): number;
}

/** spec/fixtures/comp-actor.js, as the calling thread sees it. */
interface CompActor extends ParallelIteratorWorker<unknown> {
  threadId(): number;
  getProduced(): number;
  isWaiting(): boolean;
  release(): void;
  exit(code: number): void;
}

const { assertBackToBaseline } = threadBaseline();

// threads.js resolves a relative path against the file that calls `new Worker`: this one.
const spawnRollouts = (data: number[]) =>
  within(spawnActor<Rollouts>(new Worker('./fixtures/rollouts.js'), data), 'spawnActor(rollouts)');
const spawnComp = (data: unknown[]) =>
  within(spawnActor<CompActor>(new Worker('./fixtures/comp-actor.js'), data), 'spawnActor(comp)');

async function terminateAll(actors: ReadonlyArray<{ terminate(): Promise<void> }>): Promise<void> {
  await within(Promise.all(actors.map((actor) => actor.terminate())), 'terminate()');
}

// --- fromActors ------------------------------------------------------------------

test.serial('fromActors reads the actors as shards, in round robin (Ray)', async (t) => {
  const a = await spawnRollouts([1, 2]);
  const b = await spawnRollouts([3, 4]);
  try {
    const it = fromActors([a, b]);
    t.true(it instanceof ParallelIterator);
    t.is(String(it), 'ParallelIterator[fromActors[shards=2]]');
    t.is(it.numShards(), 2);
    t.deepEqual(await within(it.gatherSync().take(100), 'gatherSync'), [1, 3, 2, 4]);
    t.is(String(fromActors([a], { name: 'rollouts' })), 'ParallelIterator[rollouts]');
  } finally {
    await terminateAll([a, b]);
  }
  await assertBackToBaseline(t, 'after terminating the actors');
});

test.serial("a parallel forEach after fromActors runs in the actor's worker", async (t) => {
  const a = await spawnComp([1, 2]);
  const b = await spawnComp([3, 4]);
  try {
    const ids = [await a.threadId(), await b.threadId()];
    t.not(ids[0], ids[1]);
    const it = fromActors([a, b]).forEach((x) => [
      (x as number) * 10,
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('node:worker_threads') as typeof import('node:worker_threads')).threadId,
    ]);
    t.is(String(it), 'ParallelIterator[fromActors[shards=2].forEach()]');
    const pairs = await within(it.gatherSync().take(100), 'gatherSync');
    t.deepEqual(pairs, [
      [10, ids[0]],
      [30, ids[1]],
      [20, ids[0]],
      [40, ids[1]],
    ]);
  } finally {
    await terminateAll([a, b]);
  }
});

test.serial('a TypeScript actor module runs under ts-node, with typed methods', async (t) => {
  const actor = await within(
    spawnActor<TsActor>(new Worker('./fixtures/comp-ts-actor.ts'), ['a', 'b', 'c']),
    'spawnActor(ts)',
  );
  try {
    await actor.setPrefix('>');
    const described: { prefix: string; n: number } = await actor.describe(3);
    t.deepEqual(described, { prefix: '>', n: 3 });
    const it = fromActors([actor]).forEach((s) => s.toUpperCase());
    t.deepEqual(await within(it.gatherSync().take(100), 'gatherSync'), ['>A', '>B', '>C']);
  } finally {
    await terminateAll([actor]);
  }
});

// --- control calls between pulls ---------------------------------------------------

test.serial(
  'weight sync: a call between two pulls applies before the next item (RLlib)',
  async (t) => {
    const a = await spawnRollouts([1, 2, 3]);
    const b = await spawnRollouts([4, 5, 6]);
    try {
      const local = fromActors([a]).gatherSync();
      const first = await within(local.next(), 'item 1');
      t.deepEqual(first, { done: false, value: 1 }, 'item 1 has the initial weight');
      await a.setWeights(10);
      t.is(await a.getWeights(), 10);
      const second = await within(local.next(), 'item 2');
      t.deepEqual(second, { done: false, value: 20 }, 'item 2 reflects the new weight');
      await a.setWeights(100);
      t.deepEqual(await within(local.next(), 'item 3'), { done: false, value: 300 });
      await local.return();

      // Two actors, each set between pulls, also through gatherAsync.
      const both = fromActors([b]).gatherAsync();
      t.deepEqual(await within(both.next(), 'b item 1'), { done: false, value: 4 });
      await b.setWeights(-1);
      t.deepEqual(await within(both.next(), 'b item 2'), { done: false, value: -5 });
      await both.return();
    } finally {
      await terminateAll([a, b]);
    }
  },
);

test.serial('actors keep their state across gathers: a second gather continues', async (t) => {
  const a = await spawnComp([1, 2, 3, 4, 5]);
  try {
    const it = fromActors([a]);
    t.deepEqual(await within(it.take(2), 'first take(2)'), [1, 2]);
    t.is(await a.getProduced(), 2, 'the actor computed no item ahead');
    t.deepEqual(await within(it.take(2), 'second gather'), [3, 4]);
    t.deepEqual(await within(fromActors([a]).gatherAsync().take(100), 'third gather'), [5]);
    t.deepEqual(await within(fromActors([a]).take(100), 'after the end'), []);
    t.is(await a.getProduced(), 5);
  } finally {
    await terminateAll([a]);
  }
});

test.serial(
  "zipWithSourceActor and currentActor after a gather give the user's handles",
  async (t) => {
    const a = await spawnRollouts([1, 2]);
    const b = await spawnRollouts([3, 4]);
    try {
      const pairs = await within(
        fromActors([a, b]).gatherSync().zipWithSourceActor().take(100),
        'zipWithSourceActor',
      );
      const expected: Array<[ActorHandle<number>, number]> = [
        [a, 1],
        [b, 3],
        [a, 2],
        [b, 4],
      ];
      t.is(pairs.length, expected.length);
      expected.forEach(([actor, x], i) => {
        t.is(pairs[i]?.[0], actor, `item ${i}: the user's handle itself`);
        t.is(pairs[i]?.[1], x);
      });
    } finally {
      await terminateAll([a, b]);
    }
    // gatherAsync, and the metrics' currentActor.
    const c = await spawnRollouts([5, 6]);
    const d = await spawnRollouts([7, 8]);
    try {
      const items = await within(
        fromActors([c, d])
          .forEach((x) => x * 2)
          .gatherAsync()
          .forEach((x) => [getMetrics().currentActor, x] as const)
          .take(100),
        'currentActor',
      );
      t.deepEqual(
        items
          .map(([actor, x]) => [actor === c ? 'c' : actor === d ? 'd' : 'other', x] as const)
          .sort((p, q) => p[1] - q[1]),
        [
          ['c', 10],
          ['c', 12],
          ['d', 14],
          ['d', 16],
        ],
      );
    } finally {
      await terminateAll([c, d]);
    }
  },
);

// --- one reader per actor ------------------------------------------------------------

test.serial(
  'a second reader of an actor gets a UsageError; the first keeps every item',
  async (t) => {
    const data = [1, 2, 3, 4, 5, 6, 7, 8];
    const a = await spawnComp(data);
    const b = await spawnComp([10, 20]);
    try {
      const first = fromActors([a]).gatherSync();
      t.deepEqual(await within(first.next(), 'first item'), { done: false, value: 1 });
      // Another gather, a getShard and a gather over [a, b], while `first` reads a.
      await t.throwsAsync(within(fromActors([a]).gatherAsync().next(), 'second gather'), {
        instanceOf: UsageError,
      });
      await t.throwsAsync(within(fromActors([a]).getShard(0).next(), 'getShard(0)'), {
        instanceOf: UsageError,
      });
      await t.throwsAsync(within(fromActors([b, a]).gatherSync().take(10), 'gather over [b, a]'), {
        instanceOf: UsageError,
      });
      const rest: number[] = [];
      for await (const x of first) rest.push(x as number);
      t.deepEqual([1, ...rest], data, 'the first reader got every item, in order');
      t.is(await a.getProduced(), data.length);
      // The refused run over [b, a] let go of b; the ended run lets go of a.
      t.deepEqual(await within(fromActors([b]).gatherSync().take(10), 'b alone'), [10, 20]);
      t.deepEqual(await within(fromActors([a]).gatherSync().take(10), 'a again'), []);
    } finally {
      await terminateAll([a, b]);
    }
    await assertBackToBaseline(t, 'after the readers');
  },
);

test.serial('two getShard(0) over one actor do not share its items', async (t) => {
  const a = await spawnComp([1, 2, 3, 4]);
  try {
    const it = fromActors([a]);
    const one = it.getShard(0);
    const two = it.getShard(0);
    const [x, y] = await Promise.allSettled([
      within(one.next(), 'one.next()'),
      within(two.next(), 'two.next()'),
    ]);
    const outcomes = [x, y].map((r) => (r.status === 'fulfilled' ? 'item' : r.reason));
    t.is(outcomes.filter((o) => o === 'item').length, 1, 'one reader gets the actor');
    t.true(
      outcomes.some((o) => o instanceof UsageError),
      'the other gets a UsageError',
    );
    const reader = x.status === 'fulfilled' ? one : two;
    const other = reader === one ? two : one;
    const got = [
      (x.status === 'fulfilled'
        ? x.value
        : (y as PromiseFulfilledResult<IteratorResult<unknown>>).value
      ).value,
    ];
    for await (const item of reader) got.push(item);
    t.deepEqual(got, [1, 2, 3, 4]);
    await other.return();
  } finally {
    await terminateAll([a]);
  }
});

test.serial('fromActors with the same actor twice is a UsageError at the call', async (t) => {
  const c = await spawnComp([1, 2]);
  try {
    t.throws(() => fromActors([c, c]), { instanceOf: UsageError });
  } finally {
    await terminateAll([c]);
  }
});

// --- failures ------------------------------------------------------------------

test.serial(
  'a constructor that throws rejects spawnActor with its error and leaves no thread',
  async (t) => {
    const worker = new Worker('./fixtures/comp-throwing-actor.js');
    const error = await t.throwsAsync(
      within(spawnActor(worker, 'comp constructor failed'), 'spawnActor(throwing)'),
    );
    t.is(error?.message, 'comp constructor failed');
    await assertBackToBaseline(t, 'after the failed spawnActor');
    await worker.terminate();
  },
);

test.serial('fromActors and spawnActor check their arguments', async (t) => {
  t.throws(() => fromActors([]), { instanceOf: RangeError });
  t.throws(() => fromActors([{}] as never), { instanceOf: TypeError });
  t.throws(() => fromActors([null] as never), { instanceOf: TypeError });
  await t.throwsAsync(async () => spawnActor({} as never), { instanceOf: TypeError });
  await t.throwsAsync(async () => spawnActor(null as never), { instanceOf: TypeError });
  const a = await spawnRollouts([1]);
  try {
    t.throws(() => fromActors([a, {}] as never), { instanceOf: TypeError });
  } finally {
    await terminateAll([a]);
  }
  await assertBackToBaseline(t, 'after the argument checks');
});

test.serial('an actor whose worker exits fails a pending gather with a ShardError', async (t) => {
  const a = await spawnComp(['x', 'block', 'y']);
  const local = fromActors([a]).gatherSync();
  t.deepEqual(await within(local.next(), 'item 1'), { done: false, value: 'x' });
  const pending = local.next();
  pending.catch(() => undefined);
  // Wait (bounded) until the actor is computing the pending item.
  const deadline = Date.now() + HANG_CAP_MS;
  while (!(await a.isWaiting()) && Date.now() < deadline) await delay(10);
  t.true(await a.isWaiting(), 'the pull is pending in the actor');
  await t.throwsAsync(within(a.exit(3), 'exit()'));
  const error = await t.throwsAsync(within(pending, 'the pending next()'), {
    instanceOf: ShardError,
  });
  t.is((error as ShardError | undefined)?.shard, 0);
  // The dead actor's methods fail rather than hang; terminate() still resolves.
  await t.throwsAsync(within(a.getProduced(), 'a call to the dead actor'));
  await within(a.terminate(), 'terminate() of the dead actor');
  await assertBackToBaseline(t, 'after the actor exited');
});

test.serial(
  'an actor whose worker exits between pulls: what it sent before is read, then a ShardError',
  async (t) => {
    const a = await spawnComp([1, 2, 3]);
    const b = await spawnComp([10, 20, 30]);
    try {
      const again = fromActors([a, b]).gatherSync();
      t.deepEqual(await within(again.next(), 'item 1'), { done: false, value: 1 });
      t.deepEqual(await within(again.next(), 'item 2'), { done: false, value: 10 });
      await t.throwsAsync(within(a.exit(1), 'exit()'));
      // Taking 10 asked `a` for its next item, which it may have sent before
      // it exited: that item is read, in its turn, and nothing after it.
      const after: unknown[] = [];
      const error = await t.throwsAsync(
        within(
          (async () => {
            for await (const x of again) after.push(x);
          })(),
          'reading on',
        ),
        { instanceOf: ShardError },
      );
      t.is((error as ShardError | undefined)?.shard, 0);
      t.deepEqual(after, [2, 20].slice(0, after.length), 'no item of the actor after its exit');
      // The other actor lives on, with its state.
      t.true((await b.getProduced()) >= 1);
    } finally {
      await terminateAll([a, b]);
    }
    await assertBackToBaseline(t, 'after one actor exited');
  },
);

// --- threads.js's signal handlers ------------------------------------------------

test.serial('importing threads.js and pariter leaves no SIGINT/SIGTERM listener', async (t) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const fromThreads = process
      .listeners(signal)
      .filter((listener) => /terminateWorkersAndMaster/.test(String(listener)));
    t.deepEqual(fromThreads, [], `this process has no threads.js ${signal} handler`);
  }
  for (const order of ['threads-first', 'pariter-first']) {
    const stdout = await within(
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [path.join(__dirname, 'fixtures', 'comp-signals.js'), order],
          { cwd: ROOT },
          (error, out) => (error ? reject(error) : resolve(out)),
        );
      }),
      `child process (${order})`,
    );
    t.deepEqual(
      JSON.parse(stdout),
      { before: { SIGINT: 0, SIGTERM: 0 }, after: { SIGINT: 0, SIGTERM: 0 } },
      order,
    );
  }
});

// --- the end -------------------------------------------------------------------

test.serial('every thread is gone at the end', async (t) => {
  await assertBackToBaseline(t, 'at the end of actors.spec.ts');
});
