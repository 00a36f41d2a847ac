/**
 * Fetch ordering and bounded read-ahead, observed through counters in a
 * `SharedArrayBuffer` that the shard functions bump as they compute.
 *
 * The contract: after a gather with default options, `fn(x_i)` of a local
 * `forEach` runs before `x_{i+1}` is requested from that shard (the shard
 * computes nothing ahead). Only `numAsync > 1`, `batchMs > 0` or a parallel
 * `forEach` with `maxConcurrency` ≠ 1 let a shard run ahead, by a bounded
 * amount, also for infinite sources.
 *
 * Serial, so that few workers start at once on a small machine.
 */
import test from 'ava';
import { fromRange, type LocalIterator, type ParallelIterator } from 'pariter';
import { delay } from './helpers/hang';

/** Polls (bounded) until `state()` holds; returns whether it did. */
async function eventually(state: () => boolean, capMs = 5000): Promise<boolean> {
  const deadline = Date.now() + capMs;
  while (!state()) {
    if (Date.now() > deadline) return false;
    await delay(5);
  }
  return true;
}

/** Lets the workers run for a while (not a duration assertion: a pause). */
async function pause(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    await delay(40);
  }
}

/** A counter per shard, shared with the workers. */
function counters(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}

/**
 * `fromRange(20, 2)` whose shard fn counts what each shard computed:
 * shard 0 holds 0..9, shard 1 holds 10..19.
 */
function counted(c: Int32Array): ParallelIterator<number> {
  return fromRange(20, 2).forEach(
    (x) => {
      Atomics.add(c, x < 10 ? 0 : 1, 1);
      return x;
    },
    { context: { c } },
  );
}

const shardOf = (x: number): 0 | 1 => (x < 10 ? 0 : 1);

/** One observation: the k-th item of `shard` and that shard's counter when the local fn ran. */
interface Seen {
  readonly x: number;
  readonly shard: 0 | 1;
  readonly k: number;
  readonly computed: number;
}

/** Drains `local` through a local `forEach` that records each shard's counter. */
async function observe(
  local: LocalIterator<number>,
  c: Int32Array,
  before?: (seen: Omit<Seen, 'computed'>) => Promise<void>,
): Promise<Seen[]> {
  const taken = [0, 0];
  const seen: Seen[] = [];
  const observed = local.forEach(async (x) => {
    const shard = shardOf(x);
    const k = (taken[shard] = (taken[shard] ?? 0) + 1);
    await before?.({ x, shard, k });
    seen.push({ x, shard, k, computed: Atomics.load(c, shard) });
    return x;
  });
  for await (const x of observed) void x;
  return seen;
}

// --- default options: nothing ahead -------------------------------------------

test.serial(
  'gatherSync: a shard computes item k+1 only after the local fn of item k',
  async (t) => {
    const c = counters(2);
    const seen = await observe(counted(c).gatherSync(), c);
    t.deepEqual(
      seen.map((s) => s.x),
      [0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16, 7, 17, 8, 18, 9, 19],
    );
    for (const s of seen) t.is(s.computed, s.k, `item ${s.x}: shard ${s.shard} computed ahead`);
  },
);

test.serial(
  'gatherSync: each round asks every shard at once, so shards compute together',
  async (t) => {
    // Each item of round k spins (CPU-bound) until both shards have started
    // their item k, with a cap: it counts as overlapped only if the other
    // shard arrived while it was still computing. Asking one shard at a time
    // would leave every item of shard 0 alone until its cap.
    const arrived = counters(3);
    const overlapped = counters(1);
    const it = fromRange(6, 2).forEach(
      (x) => {
        const round = x % 3;
        Atomics.add(arrived, round, 1);
        const cap = Date.now() + 10_000;
        while (Atomics.load(arrived, round) < 2 && Date.now() < cap) {
          // busy: this shard keeps its core while it waits for the other
        }
        if (Atomics.load(arrived, round) >= 2) Atomics.add(overlapped, 0, 1);
        return x;
      },
      { context: { arrived, overlapped } },
    );
    t.deepEqual(await it.gatherSync().take(6), [0, 3, 1, 4, 2, 5]);
    t.is(
      Atomics.load(overlapped, 0),
      6,
      'every item computed while the other shard computed its own',
    );
  },
);

test.serial(
  "gatherSync: a shard is asked again once its own item was consumed, not at the round's end",
  async (t) => {
    const c = counters(2);
    const aheadOfRound: boolean[] = [];
    const seen = await observe(counted(c).gatherSync(), c, async ({ shard, k }) => {
      // While shard 1's item k is consumed, shard 0 (whose item k was
      // consumed before it) computes its item k + 1: no barrier at the end
      // of the round.
      if (shard === 1 && k < 10) {
        aheadOfRound.push(await eventually(() => Atomics.load(c, 0) === k + 1));
      }
      // Give this item's own shard time to run ahead if it were asked early.
      await delay(20);
    });
    t.is(seen.length, 20);
    for (const s of seen) t.is(s.computed, s.k, `item ${s.x}: shard ${s.shard} computed ahead`);
    t.deepEqual(aheadOfRound, Array<boolean>(9).fill(true));
  },
);

test.serial('gatherAsync: per shard, nothing is computed ahead of the local fn', async (t) => {
  const c = counters(2);
  const seen = await observe(counted(c).gatherAsync(), c);
  t.is(seen.length, 20);
  for (const shard of [0, 1]) {
    t.deepEqual(
      seen.filter((s) => s.shard === shard).map((s) => s.x),
      Array.from({ length: 10 }, (_, i) => shard * 10 + i),
      `shard ${shard} keeps its order`,
    );
  }
  for (const s of seen) t.is(s.computed, s.k, `item ${s.x}: shard ${s.shard} computed ahead`);
});

test.serial('getShard: nothing is computed ahead of the local fn', async (t) => {
  for (const index of [0, 1]) {
    const c = counters(2);
    const seen = await observe(counted(c).getShard(index), c);
    t.deepEqual(
      seen.map((s) => s.x),
      Array.from({ length: 10 }, (_, i) => index * 10 + i),
    );
    for (const s of seen) t.is(s.computed, s.k, `item ${s.x}: shard ${s.shard} computed ahead`);
    t.is(Atomics.load(c, 1 - index), 0, 'the other shard computed nothing');
  }
});

test.serial('batchAcrossShards: each step computes one item per shard', async (t) => {
  const c = counters(2);
  const local = counted(c).batchAcrossShards();
  let step = 0;
  for await (const items of local) {
    step++;
    t.deepEqual(items, [step - 1, 10 + step - 1]);
    t.deepEqual([Atomics.load(c, 0), Atomics.load(c, 1)], [step, step], `step ${step}`);
  }
  t.is(step, 10);
});

// --- the opt-ins run ahead, boundedly -------------------------------------------

test.serial('gatherAsync({ numAsync: 4 }) runs ahead by at most 4 per shard', async (t) => {
  const c = counters(2);
  const seen = await observe(counted(c).gatherAsync({ numAsync: 4 }), c, async ({ shard, k }) => {
    // On each shard's first item, wait until the shard has run ahead.
    if (k === 1) await eventually(() => Atomics.load(c, shard) > 1);
  });
  t.is(seen.length, 20);
  t.true(
    seen.some((s) => s.computed > s.k),
    'a shard computed ahead of its consumer',
  );
  for (const s of seen) {
    t.true(s.computed >= s.k, `item ${s.x}`);
    t.true(
      s.computed <= s.k + 4,
      `item ${s.x}: shard ${s.shard} computed ${s.computed} at k=${s.k}`,
    );
  }
});

test.serial('getShard(i, { numAsync: 3 }) runs ahead by at most 3', async (t) => {
  const c = counters(2);
  const seen = await observe(counted(c).getShard(1, { numAsync: 3 }), c, async ({ k }) => {
    if (k === 1) await eventually(() => Atomics.load(c, 1) > 1);
  });
  t.is(seen.length, 10);
  t.true(seen.some((s) => s.computed > s.k));
  for (const s of seen) t.true(s.computed <= s.k + 3, `item ${s.x}: ${s.computed} at k=${s.k}`);
});

test.serial('gatherAsync({ batchMs }) runs ahead within the batch', async (t) => {
  const c = counters(2);
  const seen = await observe(counted(c).gatherAsync({ batchMs: 200 }), c, async ({ shard, k }) => {
    if (k === 1) await eventually(() => Atomics.load(c, shard) > 1);
  });
  t.is(seen.length, 20);
  t.true(seen.some((s) => s.computed > s.k));
  // A shard holds 10 items; a batch cannot hold more than the shard has.
  for (const s of seen) t.true(s.computed <= 10, `item ${s.x}`);
});

// --- bounded memory with a slow consumer of an infinite source ------------------

/** `fromRange(4, { numShards: 2, repeat: true })` counting what each shard computed. */
function countedForever(c: Int32Array): ParallelIterator<number> {
  return fromRange(4, { numShards: 2, repeat: true }).forEach(
    (x) => {
      Atomics.add(c, x < 2 ? 0 : 1, 1);
      return x;
    },
    { context: { c } },
  );
}

test.serial(
  'a slow consumer of a repeat source: gatherSync computes exactly what was read',
  async (t) => {
    const c = counters(2);
    const local = countedForever(c).gatherSync();
    try {
      for (let i = 0; i < 5; i++) t.false((await local.next()).done);
      // Five items read, three of shard 0 and two of shard 1: the fifth
      // pull asked shard 1 for its third item; shard 0 is asked for its
      // fourth only at the next pull.
      await pause();
      t.deepEqual([Atomics.load(c, 0), Atomics.load(c, 1)], [3, 3]);
      await pause();
      t.deepEqual([Atomics.load(c, 0), Atomics.load(c, 1)], [3, 3], 'no runaway');
    } finally {
      await local.return();
    }
  },
);

test.serial(
  'a slow consumer of a repeat source: gatherAsync({ numAsync: 2 }) stays bounded',
  async (t) => {
    const c = counters(2);
    const local = countedForever(c).gatherAsync({ numAsync: 2 });
    const taken: [number, number] = [0, 0];
    try {
      for (let i = 0; i < 5; i++) {
        const result = await local.next();
        if (result.done) return t.fail('a repeat source ended');
        taken[result.value < 2 ? 0 : 1]++;
      }
      for (let round = 0; round < 2; round++) {
        await pause();
        for (const shard of [0, 1]) {
          const computed = Atomics.load(c, shard);
          const read = taken[shard as 0 | 1];
          t.true(computed <= read + 2, `shard ${shard}: computed ${computed}, read ${read}`);
        }
      }
    } finally {
      await local.return();
    }
    return undefined;
  },
);

test.serial(
  'a slow consumer of a repeat source: getShard({ batchMs }) stops after its batch',
  async (t) => {
    const c = counters(2);
    const local = countedForever(c).getShard(0, { batchMs: 20 });
    try {
      for (let i = 0; i < 5; i++) t.false((await local.next()).done);
      await pause();
      const first = Atomics.load(c, 0);
      await pause();
      const second = Atomics.load(c, 0);
      t.true(first >= 5);
      // One batch per request in flight; no request is in flight once the
      // consumer holds unread items of the last batch.
      t.is(second, first, `no runaway: ${first} then ${second}`);
      t.true(second < 100_000, `${second} items computed for 5 read`);
    } finally {
      await local.return();
    }
  },
);

// --- maxConcurrency of a parallel forEach -----------------------------------------

/**
 * A slow async forEach that records, per shard, how many calls were in flight
 * at once: slots [running, max] for shard 0, then for shard 1.
 */
function tracked(s: Int32Array, maxConcurrency?: number): ParallelIterator<number> {
  return fromRange(12, 2).forEach(
    async (x) => {
      const slot = x < 6 ? 0 : 2;
      const running = Atomics.add(s, slot, 1) + 1;
      if (running > Atomics.load(s, slot + 1)) Atomics.store(s, slot + 1, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      Atomics.sub(s, slot, 1);
      return x;
    },
    { context: { s }, ...(maxConcurrency === undefined ? {} : { maxConcurrency }) },
  );
}

test.serial('a parallel async forEach runs one call at a time by default', async (t) => {
  const s = counters(4);
  const items = await tracked(s).gatherAsync().take(12);
  t.deepEqual(
    [...items].sort((a, b) => a - b),
    Array.from({ length: 12 }, (_, i) => i),
  );
  t.is(Atomics.load(s, 1), 1, 'shard 0');
  t.is(Atomics.load(s, 3), 1, 'shard 1');
});

test.serial(
  'a parallel async forEach with maxConcurrency: 3 runs at most 3 calls per shard',
  async (t) => {
    const s = counters(4);
    const items = await tracked(s, 3).gatherAsync().take(12);
    t.deepEqual(
      [...items].sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i),
    );
    for (const slot of [1, 3]) {
      const max = Atomics.load(s, slot);
      t.true(max <= 3, `shard ${(slot - 1) / 2}: ${max} calls at once`);
      t.true(max >= 2, `shard ${(slot - 1) / 2}: calls ran concurrently (max ${max})`);
    }
  },
);

test.serial(
  "ParallelIterator.take(n) asks each shard for its share at once: gatherSync's items, each computed once",
  async (t) => {
    const c = counters(2);
    t.deepEqual(await counted(c).take(7), [0, 10, 1, 11, 2, 12, 3]);
    // Shard 0 gives items 0, 2, 4, 6 of the round robin, shard 1 items 1, 3, 5.
    t.is(Atomics.load(c, 0), 4, 'shard 0 computed its share only');
    t.is(Atomics.load(c, 1), 3, 'shard 1 computed its share only');
  },
);

test.serial(
  'ParallelIterator.take(n): a shard that ends before its share leaves the rest to the others',
  async (t) => {
    const c = counters(2);
    // Shard 0 holds 0..1, shard 1 holds 10..19.
    const it = fromRange(20, 2)
      .filter((x) => x >= 10 || x < 2)
      .forEach(
        (x) => {
          Atomics.add(c, x < 10 ? 0 : 1, 1);
          return x;
        },
        { context: { c } },
      );
    t.deepEqual(await it.take(7), [0, 10, 1, 11, 12, 13, 14]);
    t.is(Atomics.load(c, 0), 2);
    t.is(Atomics.load(c, 1), 5, 'shard 1 computed what was taken, nothing more');
    const gathered = it.gatherSync();
    t.deepEqual(await it.take(7), await gathered.take(7), 'the same items as gatherSync');
    await gathered.return();
  },
);
