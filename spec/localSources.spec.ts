/**
 * Local sources (`LocalIterator.from`), `NOT_READY`, `union`'s `'*'` and
 * fractional weights, `LocalIterator.take` leaving the iterator usable, and
 * caller-side sources closed on every early stop.
 *
 * Serial: the thread counts are per process.
 */
import test from 'ava';
import { interval, map, of, Subject, take as rxTake } from 'rxjs';
import {
  fromIterators,
  fromRange,
  LocalIterator,
  NOT_READY,
  UsageError,
  ArgumentRangeError,
  ArgumentTypeError,
  type NotReady,
} from 'pariter';
import { threadBaseline } from './helpers/baseline';
import { delay, within } from './helpers/hang';

const baseline = threadBaseline();

/** A generator source that records whether its `finally` ran. */
function tracked(items: ReadonlyArray<number | NotReady>, forever = false) {
  const state = { closed: 0, pulled: 0 };
  const source = function* () {
    try {
      do {
        for (const item of items) {
          state.pulled++;
          yield item;
        }
      } while (forever);
    } finally {
      state.closed++;
    }
  };
  return { state, source };
}

// --- LocalIterator.from -------------------------------------------------------

test.serial('from: iterables, async iterables, generator functions and Observables', async (t) => {
  t.deepEqual(await LocalIterator.from([1, 2, 3]).take(5), [1, 2, 3]);
  t.deepEqual(await LocalIterator.from(new Set(['a', 'b'])).take(5), ['a', 'b']);
  async function* agen() {
    yield 1;
    await delay(5);
    yield 2;
  }
  t.deepEqual(await LocalIterator.from(agen()).take(5), [1, 2]);
  t.deepEqual(await LocalIterator.from(agen).take(5), [1, 2]);
  t.deepEqual(await LocalIterator.from(of(4, 5, 6)).take(5), [4, 5, 6]);
  const ticks = LocalIterator.from(interval(2).pipe(map((i) => i * 2)));
  t.deepEqual(await ticks.take(3), [0, 2, 4]);
  await ticks.return();
});

test.serial(
  'from: printed as LocalIterator[from[name]], transformations run locally',
  async (t) => {
    const local = LocalIterator.from([1, 2, 3], { name: 'buffer' });
    t.is(String(local), 'LocalIterator[from[buffer]]');
    t.is(String(LocalIterator.from([1])), 'LocalIterator[from[source]]');
    const factor = 10; // a closure: local functions are not shipped
    const chained = local.forEach((x) => x * factor).filter((x) => x > 10);
    t.is(String(chained), 'LocalIterator[from[buffer].forEach().filter()]');
    t.deepEqual(await chained.take(5), [20, 30]);
  },
);

test.serial('from: bad sources and names are refused at the call', (t) => {
  t.throws(() => LocalIterator.from(42 as never), { instanceOf: ArgumentTypeError });
  t.throws(() => LocalIterator.from([1], { name: 3 as never }), { instanceOf: ArgumentTypeError });
});

test.serial('from: the generator function runs at the first pull, not before', async (t) => {
  let called = 0;
  const local = LocalIterator.from(function* () {
    called++;
    yield 1;
  });
  t.is(called, 0);
  t.deepEqual(await local.take(1), [1]);
  t.is(called, 1);
  await local.return();
});

// --- NOT_READY -----------------------------------------------------------------

test.serial('NOT_READY: transformations pass it on without calling their function', async (t) => {
  const seen: number[] = [];
  const local = LocalIterator.from([1, NOT_READY, 2, NOT_READY, NOT_READY, 3, 4])
    .forEach((x) => {
      seen.push(x);
      return x * 2;
    })
    .filter((x) => x > 2)
    .batch(2);
  t.deepEqual(await local.take(5), [[4, 6], [8]]);
  t.deepEqual(seen, [1, 2, 3, 4], 'fn never saw NOT_READY');
});

test.serial('NOT_READY: a local forEach may produce it; the consumer never sees it', async (t) => {
  const local = LocalIterator.from([1, 2, 3, 4]).forEach((x) => (x % 2 === 0 ? x : NOT_READY));
  const items: unknown[] = [];
  for await (const x of local) items.push(x);
  t.deepEqual(items, [2, 4]);
});

test.serial('NOT_READY: a read waits for the source without a hot spin', async (t) => {
  const buffer: number[] = [];
  let polls = 0;
  const local = LocalIterator.from(function* () {
    for (;;) {
      polls++;
      yield buffer.length > 0 ? (buffer.shift() as number) : NOT_READY;
    }
  });
  const read = local.next();
  await delay(300);
  buffer.push(7);
  t.deepEqual(await within(read, 'the read'), { done: false, value: 7 });
  // 300 ms of waiting: a hot spin would poll hundreds of thousands of times.
  t.true(polls < 300, `${polls} polls in 300 ms`);
  await local.return();
});

// --- union with '*' and fractional weights ----------------------------------------

/** A replay buffer as RLlib has it: not ready until something was stored. */
function replayBuffer() {
  const buffer: number[] = [];
  const replay = LocalIterator.from(
    function* () {
      for (;;) yield buffer.length > 0 ? (buffer.shift() as number) : NOT_READY;
    },
    { name: 'replay' },
  );
  return { buffer, replay };
}

test.serial(
  'union: a replay input that is not ready at first does not stall the round robin',
  async (t) => {
    const { buffer, replay } = replayBuffer();
    const store = fromRange(8, 2)
      .gatherSync()
      .forEach((x) => {
        buffer.push(100 + x);
        return x;
      });
    const union = store.union(replay, { deterministic: true, roundRobinWeights: [1, '*'] });
    try {
      const items = await within(union.take(16), 'the union');
      // '*' takes what is ready: each stored item right after its store step.
      t.deepEqual(items, [0, 100, 4, 104, 1, 101, 5, 105, 2, 102, 6, 106, 3, 103, 7, 107]);
    } finally {
      await union.return();
    }
  },
);

test.serial("union '*': takes what is ready now, possibly nothing, without waiting", async (t) => {
  const { buffer, replay } = replayBuffer();
  const other = LocalIterator.from([1, 2, 3, 4, 5, 6], { name: 'other' });
  buffer.push(100, 101, 102);
  const union = other.union(replay, { deterministic: true, roundRobinWeights: [1, '*'] });
  // The round takes 1 from `other`, then all three ready replay items; after
  // that the replay input has nothing and never holds `other` back.
  t.deepEqual(await within(union.take(9), 'the union'), [1, 100, 101, 102, 2, 3, 4, 5, 6]);
  await union.return();
});

test.serial(
  'union: fractional weights take floor(w) or floor(w)+1 per turn, w on average',
  async (t) => {
    const a = LocalIterator.from(tracked([0], true).source, { name: 'a' });
    const b = LocalIterator.from(tracked([1], true).source, { name: 'b' });
    const union = a.union(b, { deterministic: true, roundRobinWeights: [1, 0.5] });
    const items = await union.take(3000);
    await union.return();
    const ones = items.filter((x) => x === 1).length;
    const zeros = items.length - ones;
    // Each round: one `a`, then a `b` with probability 0.5; the ratio is 0.5 in expectation.
    t.true(Math.abs(ones / zeros - 0.5) < 0.1, `${ones} b for ${zeros} a`);
    // Never two `b` in a row: a turn takes at most ceil(0.5) = 1.
    t.false(items.some((x, i) => x === 1 && items[i + 1] === 1));
  },
);

test.serial('union: weights are checked at the call', (t) => {
  const make = () => [LocalIterator.from([1]), LocalIterator.from([2])] as const;
  for (const bad of [
    [1, 0],
    [1, -1],
    [1, Number.NaN],
    [1, Infinity],
  ]) {
    const [a, b] = make();
    t.throws(() => a.union(b, { roundRobinWeights: bad }), { instanceOf: ArgumentRangeError });
  }
  const [a, b] = make();
  t.notThrows(() => a.union(b, { roundRobinWeights: [2.5, '*'] }));
});

test.serial('union as ready: a not-ready input never blocks the others', async (t) => {
  const { replay } = replayBuffer();
  const union = fromRange(6, 2).gatherAsync().union(replay);
  t.deepEqual((await within(union.take(6), 'the union')).sort(), [0, 1, 2, 3, 4, 5]);
  await union.return();
  await baseline.assertBackToBaseline(t, 'after the union');
});

test.serial(
  'union of an iterator with itself is refused at the call and starts nothing',
  async (t) => {
    const local = fromRange(8, 2).gatherSync();
    t.throws(() => local.union(local), { instanceOf: UsageError });
    t.throws(() => local.union(local.forEach((x) => x)), { instanceOf: UsageError });
    await baseline.assertBackToBaseline(t, 'after the refused unions');
    t.deepEqual(await local.take(2), [0, 4], 'the iterator is still usable');
    await local.return();
    await baseline.assertBackToBaseline(t, 'after return()');
  },
);

test.serial('copies of one gather can be unioned', async (t) => {
  // Two iterators of one gather in one union are refused at the call; two
  // `duplicate` copies are separate readers.
  const [a, b] = fromRange(4, 2).gatherSync().duplicate(2) as [
    LocalIterator<number>,
    LocalIterator<number>,
  ];
  const union = a.union(b, { deterministic: true });
  t.deepEqual(await union.take(9), [0, 0, 2, 2, 1, 1, 3, 3], 'exhausted, so the run stopped');
  await baseline.assertBackToBaseline(t, 'after the union of copies');
});

// --- take leaves the iterator usable ------------------------------------------

test.serial('LocalIterator.take twice continues where it stopped', async (t) => {
  const local = fromRange(6, 1).gatherSync();
  t.deepEqual(await local.take(2), [0, 1]);
  t.deepEqual(await local.take(2), [2, 3]);
  t.deepEqual(await local.take(5), [4, 5]);
  t.deepEqual(await local.take(2), [], 'exhausted');
  await baseline.assertBackToBaseline(t, 'once exhausted');
});

test.serial('LocalIterator.take leaves the run going until return()', async (t) => {
  const local = fromRange(100, 2).gatherSync();
  t.deepEqual(await local.take(2), [0, 50]);
  t.true((await local.next()).value === 1);
  await local.return();
  await baseline.assertBackToBaseline(t, 'after return()');
  t.deepEqual(await local.take(2), [], 'closed');
});

test.serial('ParallelIterator.take still stops its run', async (t) => {
  const it = fromRange(100, 2);
  t.deepEqual(await it.take(3), [0, 50, 1]);
  await baseline.assertBackToBaseline(t, 'after ParallelIterator.take');
  t.deepEqual(await it.take(3), [0, 50, 1], 'a fresh cold run each time');
  await baseline.assertBackToBaseline(t, 'after the second take');
});

// --- caller-side sources are closed on every early stop -------------------------

test.serial('from: return(), break, errors and close() call the source return()', async (t) => {
  {
    const { state, source } = tracked([1, 2, 3], true);
    const local = LocalIterator.from(source);
    await local.take(2);
    t.is(state.closed, 0, 'take leaves it open');
    await local.return();
    t.is(state.closed, 1, 'return()');
  }
  {
    const { state, source } = tracked([1, 2, 3], true);
    for await (const x of LocalIterator.from(source).forEach((x) => x)) if (x === 2) break;
    t.is(state.closed, 1, 'break');
  }
  {
    const { state, source } = tracked([1, 2, 3], true);
    const local = LocalIterator.from(source).forEach((x) => {
      if (x === 2) throw new Error('boom');
      return x;
    });
    await t.throwsAsync(local.take(5), { message: 'boom' });
    t.is(state.closed, 1, 'an error downstream');
  }
  {
    const { state, source } = tracked([1, 2, 3], true);
    const local = LocalIterator.from(source);
    await local.next();
    await local.close();
    t.is(state.closed, 1, 'close()');
  }
  {
    const subject = new Subject<number>();
    const local = LocalIterator.from(subject.pipe(rxTake(100)));
    const first = local.next();
    subject.next(1);
    t.deepEqual(await first, { done: false, value: 1 });
    t.true(subject.observed);
    await local.return();
    t.false(subject.observed, 'unsubscribed');
  }
});

test.serial(
  'fromIterators over calling-thread generators closes them on an early stop',
  async (t) => {
    const a = tracked([1, 2, 3], true);
    const b = tracked([10, 20], true);
    t.deepEqual(await fromIterators([a.source(), b.source()]).take(3), [1, 10, 2]);
    await baseline.assertBackToBaseline(t, 'after take');
    t.deepEqual([a.state.closed, b.state.closed], [1, 1], 'take');
    const c = tracked([1, 2, 3], true);
    const d = tracked([10, 20], true);
    for await (const x of fromIterators([c.source(), d.source()]).gatherAsync()) if (x === 2) break;
    await baseline.assertBackToBaseline(t, 'after break');
    t.is(c.state.closed, 1, 'break');
    // A generator never pulled has not started: its finally has nothing to run.
    t.is(d.state.closed, d.state.pulled > 0 ? 1 : 0, 'break, the other shard');
  },
);
