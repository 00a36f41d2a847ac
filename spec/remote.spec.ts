/**
 * Shards on other machines: the Ray cases (sources, transformations,
 * gathers, repartition, union, actors, metrics) run with `runOn` on two
 * `pariter-host` child processes on 127.0.0.1 and give the same items as
 * the same chain run locally; strict pull holds across the network.
 *
 * Serial: the machine's cores are shared by both hosts and this process.
 */
import test from 'ava';
import * as path from 'node:path';
import { from, of } from 'rxjs';
import { spawn, Thread, Worker as ThreadsWorker } from 'threads';
import {
  ArgumentTypeError,
  ShardError,
  UsageError,
  cluster,
  fromActors,
  fromItems,
  fromIterators,
  fromObservable,
  fromRange,
  getMetrics,
  startHost,
  moduleFn,
  stateful,
  type Cluster,
  type ParallelIterator,
} from 'pariter';
import { delay, within } from './helpers/hang';
import { FIXTURES } from './helpers/paths';
import { startHostProcess, stopAllHosts, type HostProcess } from './helpers/hosts';

let hosts: HostProcess[] = [];
let c: Cluster;

test.before(async () => {
  hosts = await Promise.all([startHostProcess(), startHostProcess()]);
  c = cluster(
    hosts.map((h) => h.address),
    { keepaliveMs: 2000 },
  );
});

test.after.always(async () => {
  await c?.close();
  await stopAllHosts();
});

type Place = <T>(it: ParallelIterator<T>) => ParallelIterator<T>;
const local: Place = (it) => it;
const remote: Place = (it) => it.runOn(c);

/** Runs `scenario` locally and on the cluster: the same items. */
function same(title: string, scenario: (place: Place) => Promise<unknown>): void {
  test.serial(title, async (t) => {
    const expected = await within(scenario(local), `${title} (local)`);
    const actual = await within(scenario(remote), `${title} (on two hosts)`);
    t.deepEqual(actual, expected);
  });
}

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

// --- sources ----------------------------------------------------------------

same('fromItems', (p) => p(fromItems([1, 2, 3, 4, 5], 3)).take(10));
same('fromItems with structured-clone values', (p) =>
  p(fromItems([new Map([[1, 'a']]), new Date(0), 10n, new Uint8Array([1, 2]), undefined], 2)).take(
    10,
  ),
);
same('fromRange', (p) => p(fromRange(10, 4)).take(10));
same('fromRange repeat', (p) => p(fromRange(4, { numShards: 2, repeat: true })).take(12));
same('fromIterators: arrays and function sources', (p) =>
  p(
    fromIterators<number | string>([
      [1, 2, 3],
      function* () {
        yield* ['a', 'b'];
      },
      async function* () {
        yield 10;
        yield 11;
      },
    ]),
  ).take(10),
);
same('fromIterators over an iterable of this process (fed over the network)', (p) => {
  function* here(): Generator<number> {
    for (let i = 0; i < 5; i++) yield i * i;
  }
  return p(fromIterators([here(), new Set([7, 8])])).take(10);
});
same('fromObservable (fed over the network)', async (p) =>
  sorted(
    await p(fromObservable(from([1, 2, 3, 4, 5, 6, 7]), { numShards: 3 }))
      .gatherAsync()
      .take(10),
  ),
);

// --- transformations --------------------------------------------------------

same('forEach, filter with context', (p) => {
  const factor = 3;
  return p(fromRange(12, 3))
    .forEach((x) => x * factor, { context: { factor } })
    .filter((x) => x % 2 === 0)
    .take(12);
});
same('async forEach with maxConcurrency', async (p) =>
  sorted(
    await p(fromRange(8, 2))
      .forEach(async (x) => x + 1, { maxConcurrency: 4 })
      .gatherAsync()
      .take(8),
  ),
);
same('batch, flatten, combine', (p) =>
  p(fromRange(9, 2))
    .batch(2)
    .flatten()
    .combine((x) => [x, -x])
    .take(20),
);
same('localShuffle with a seed', (p) => p(fromRange(16, 2)).localShuffle(4, 7).take(16));
same('transform with rx', (p) =>
  p(fromRange(6, 2))
    .transform((s, rx) => s.pipe(rx.scan((a, x) => a + x, 0)))
    .take(6),
);
same('stateful and a callable instance (per shard)', (p) => {
  class CumulativeSum {
    total = 0;
    call(x: number): [number, number] {
      this.total += x;
      return [this.total, x];
    }
  }
  return Promise.all([
    p(fromRange(5, 1)).forEach(new CumulativeSum()).take(5),
    p(fromRange(6, 2))
      .forEach(
        stateful(() => {
          let n = 0;
          return (x: number) => [x, n++];
        }),
      )
      .take(6),
  ]);
});
same('moduleFn resolves on the host', (p) =>
  p(fromRange(4)).forEach(moduleFn('./fixtures/values-double.js', 'double')).take(4),
);

// --- gathers ----------------------------------------------------------------

same('gatherSync and batchAcrossShards', async (p) => [
  await p(fromRange(7, 3)).gatherSync().take(7),
  await p(fromRange(7, 3)).batchAcrossShards().take(7),
]);
same('gatherAsync, default and batched', async (p) => [
  sorted(await p(fromRange(50, 2)).gatherAsync().take(50)),
  sorted(await p(fromRange(5000, 2)).gatherAsync({ batchMs: 10, numAsync: 4 }).take(5000)),
]);
same('getShard and shards', async (p) => {
  const it = p(fromRange(9, 3));
  return [
    await it.getShard(1).take(9),
    await it.getShard(2, { numAsync: 3 }).take(9),
    await Promise.all(it.shards().map((s) => s.take(9))),
  ];
});
same('per-shard order under gatherAsync with read-ahead', async (p) => {
  const items = await p(fromRange(2000, 2)).gatherAsync({ numAsync: 8 }).take(2000);
  return [items.filter((x) => x < 1000), items.filter((x) => x >= 1000)];
});
same('local transformations after a gather', (p) =>
  p(fromRange(6, 2))
    .gatherSync()
    .forEach((x) => x * 10)
    .batch(4)
    .take(4),
);

// --- repartition and union --------------------------------------------------

same('repartition', async (p) => {
  const it = p(fromRange(9, 3))
    .repartition(2)
    .forEach((x) => 2 * x);
  return [sorted(await it.getShard(0).take(9)), sorted(await it.getShard(1).take(9))];
});
same('repartition of remote shards into remote shards', async (p) =>
  sorted(
    await p(p(fromRange(20, 4)).repartition(3, { batchMs: 5 }))
      .gatherAsync()
      .take(20),
  ),
);

test.serial('union of local and remote shards', async (t) => {
  const it = fromItems(['a', 'b', 'c'], 1).union(fromItems(['x', 'y', 'z'], 1).runOn(c));
  t.is(
    String(it),
    'ParallelIterator[ParallelUnion[ParallelIterator[fromItems[string, 3, shards=1]], ParallelIterator[fromItems[string, 3, shards=1].runOn(cluster[2 hosts])]]]',
  );
  t.deepEqual(await it.take(6), ['a', 'x', 'b', 'y', 'c', 'z']);
});

// --- metrics ----------------------------------------------------------------

same('metrics: currentActor and counters of a chain over remote shards', (p) =>
  p(fromRange(6, 2))
    .forEach((x) => x * 2)
    .gatherSync()
    .forEach((x) => {
      const m = getMetrics();
      m.counters.local = (m.counters.local as number) + 1;
      return [x, (m.currentActor as { shard: number }).shard, m.counters.local];
    })
    .take(6),
);

// --- names, placement, errors ----------------------------------------------

test.serial('printed name and placement: shard i on hosts[i % n]', async (t) => {
  const it = fromRange(8, 4)
    .forEach(() => process.pid)
    .runOn(c);
  t.is(String(it), 'ParallelIterator[fromRange[8, shards=4].forEach().runOn(cluster[2 hosts])]');
  const pids = await it.gatherSync().take(4);
  t.deepEqual(pids, [hosts[0]!.pid, hosts[1]!.pid, hosts[0]!.pid, hosts[1]!.pid]);
});

test.serial('a shard error names the host', async (t) => {
  const it = fromRange(4)
    .forEach((x) => {
      if (x === 2) throw new RangeError('two');
      return x;
    })
    .runOn(c);
  const error = await t.throwsAsync(within(it.take(4), 'failing run'), { instanceOf: ShardError });
  t.is(error?.host, hosts[1]!.address);
  t.is(error?.shard, 1);
  t.is((error?.cause as Error).name, 'RangeError');
  t.is((error?.cause as Error).message, 'two');
});

test.serial(
  'strict pull: a remote shard computes x[i+1] only after the local fn(x[i])',
  async (t) => {
    const events: Array<[string, number]> = [];
    const it = fromIterators([
      function* () {
        for (let i = 0; i < 5; i++) {
          yield { i, producedAt: Date.now() };
        }
      },
    ]).runOn(c);
    for await (const item of it.gatherSync()) {
      events.push(['produced', item.producedAt], ['local-start', Date.now()]);
      await new Promise((resolve) => setTimeout(resolve, 30));
      events.push(['local-end', Date.now()]);
    }
    // Each item after the first was produced after the local processing of the previous one ended.
    for (let i = 1; i < 5; i++) {
      const produced = events[i * 3]![1];
      const previousEnd = events[i * 3 - 1]![1];
      t.true(produced >= previousEnd, `item ${i} produced at ${produced}, before ${previousEnd}`);
    }
  },
);

test.serial('runOn checks its argument and the cluster its options', (t) => {
  t.throws(() => fromRange(4).runOn({} as Cluster), { instanceOf: ArgumentTypeError });
  t.throws(() => fromRange(4).runOn(null as unknown as Cluster), {
    instanceOf: ArgumentTypeError,
  });
  t.throws(() => cluster([]), { instanceOf: RangeError });
  t.throws(() => cluster(['no-port']), { instanceOf: ArgumentTypeError });
  t.throws(() => cluster(['127.0.0.1:1'], { keepalive: 1 } as never), {
    instanceOf: ArgumentTypeError,
  });
  t.throws(() => cluster(['127.0.0.1:1'], { keepaliveMs: 0 }), { instanceOf: RangeError });
  t.is(String(c), 'cluster[2 hosts]');
  t.throws(() => of(1) && fromRange(2).runOn(c).getShard(2), { instanceOf: RangeError });
  void UsageError;
});

test.serial(
  'a runOn iterator passed to a worker thread runs on the same hosts from there',
  async (t) => {
    type SumWorker = {
      sum(iterator: unknown): Promise<number>;
      gatherSum(parallel: unknown): Promise<number>;
    };
    const worker = await within(
      spawn<SumWorker>(new ThreadsWorker('./fixtures/sumWorker.js')),
      'spawn(sumWorker)',
    );
    try {
      const it = fromRange(100, 4)
        .forEach((x: number) => x * 2)
        .runOn(c);
      const expected = 2 * ((99 * 100) / 2);
      t.is(await within(worker.gatherSum(it), 'gatherSum of a ParallelIterator'), expected);
      t.is(await within(worker.sum(it.gatherAsync()), 'sum of its gather'), expected);
      t.is(
        await within(worker.sum(it.getShard(1)), 'sum of one shard'),
        2 * [...Array(25).keys()].reduce((a, i) => a + 25 + i, 0),
      );
      // A union of local and remote shards crosses too.
      const both = fromRange(10, 1).union(fromRange(10, 2).runOn(c));
      t.is(await within(worker.gatherSum(both), 'a union of local and remote shards'), 90);
    } finally {
      await within(Thread.terminate(worker), 'terminate the worker');
    }
  },
);

// --- remote actors ----------------------------------------------------------

test.serial('remote actors: same handle as local ones, usable in fromActors', async (t) => {
  const file = path.join(FIXTURES, 'rollouts.js');
  const a = await within(c.spawnActor(0, file, [1, 2]), 'spawnActor on host 0');
  const b = await within(c.spawnActor(1, file, [3, 4]), 'spawnActor on host 1');
  try {
    await (a as unknown as { setWeights(w: number): Promise<void> }).setWeights(3);
    t.is(await (a as unknown as { getWeights(): Promise<number> }).getWeights(), 3);
    const pairs = await fromActors([a, b]).gatherSync().zipWithSourceActor().take(4);
    t.deepEqual(
      pairs.map(([, x]) => x),
      [3, 3, 6, 4],
    );
    t.is(pairs[0]![0], a);
    t.is(pairs[1]![0], b);
    t.throws(() => fromActors([a]).runOn(c), { instanceOf: UsageError });
  } finally {
    await a.terminate();
    await b.terminate();
  }
  await t.throwsAsync(
    (a as unknown as { getWeights(): Promise<number> }).getWeights(),
    undefined,
    'a terminated actor rejects its calls',
  );
});

test.serial(
  'startHost in this process: a run is served while open and freed when it stops',
  async (t) => {
    const host = await startHost({ listen: '127.0.0.1:0' });
    const here = cluster([host.address]);
    try {
      t.regex(host.address, /^127\.0\.0\.1:\d+$/);
      const local = fromRange(10, { numShards: 2, repeat: true }).runOn(here).gatherSync();
      t.deepEqual(await local.take(4), [0, 5, 1, 6]);
      t.is(host.stats().runs, 2);
      await local.return?.();
      const deadline = Date.now() + 5000;
      while (host.stats().runs > 0 && Date.now() < deadline) await delay(20);
      t.is(host.stats().runs, 0);
    } finally {
      await here.close();
      await host.close();
    }
  },
);
