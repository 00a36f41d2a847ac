/**
 * RxJS interop: the `parallelMap` / `parallelFilter` operators, `fromObservable`
 * and `LocalIterator.asObservable()`, against the contract (API.md, "Operators",
 * "LocalIterator", "Errors", "Semantics that must hold") and their TSDoc.
 *
 * Every test that pulls starts real worker threads, so all tests run serially
 * with small item counts. Bounds are counted (shared counters, `tap`), never
 * timed; the only waits are bounded polls for a state.
 */
import { Readable } from 'node:stream';
import test from 'ava';
import { expectTypeOf } from 'expect-type';
import {
  EMPTY,
  Observable,
  Subject,
  concat,
  finalize,
  from,
  interval,
  lastValueFrom,
  map,
  of,
  range,
  take,
  tap,
  throwError,
  timeout,
  timer,
  toArray,
} from 'rxjs';
import {
  LocalIterator,
  OverflowError,
  ParallelIterator,
  ShardError,
  fromObservable,
  fromRange,
  parallelFilter,
  parallelMap,
} from 'pariter';
import { batch } from 'pariter/operators';
import { threadBaseline } from './helpers/baseline';
import { delay, HANG_CAP_MS, within } from './helpers/hang';
import { threadCount } from './helpers/threadCount';

/**
 * The name the TSDoc example of `parallelMap` uses inside its shipped function.
 * It only exists inside the workers, where `context: { k: 2 }` puts it.
 */
declare const k: number;
/** Likewise, passed by `context` to a shipped predicate below. */
declare const minLength: number;

const sortNumbers = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Blocks the calling thread for `ms` without spinning (lets workers run meanwhile). */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Collects an Observable, erroring instead of hanging past the cap. */
function collect<T>(source: Observable<T>): Promise<T[]> {
  return lastValueFrom(source.pipe(toArray(), timeout(HANG_CAP_MS)));
}

/** Polls (bounded) until `state()` holds; returns whether it did. */
async function eventually(state: () => boolean, capMs = 5000): Promise<boolean> {
  const deadline = Date.now() + capMs;
  while (!state()) {
    if (Date.now() > deadline) return false;
    await delay(10);
  }
  return true;
}

// The warm-up also runs a first parallelMap.
const baseline = threadBaseline(() =>
  collect(of(1, 2).pipe(parallelMap<number, number>((x: number) => x))),
);
const { assertBackToBaseline } = baseline;

/**
 * Shared counters for functions running in workers: `[inside, maxInside,
 * started]`. The function calls `enter` first and `leave` last.
 */
function insideCounters(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
}

// ---------------------------------------------------------------------------- parallelMap

test.serial('parallelMap emits fn of each item in upstream order', async (t) => {
  const factor = 2;
  const out = await collect(
    range(0, 200).pipe(
      parallelMap<number, number>((x: number) => x * factor, { numShards: 3, context: { factor } }),
    ),
  );
  t.deepEqual(
    out,
    upTo(200).map((x) => x * 2),
  );
});

test.serial('parallelMap with ordered: false emits the same multiset', async (t) => {
  const out = await collect(
    range(0, 60).pipe(
      parallelMap<number, number>(
        async (x: number) => {
          // later items finish first within a batch, so completion order differs
          await new Promise((resolve) => setTimeout(resolve, (5 - (x % 5)) * 2));
          return x * 3;
        },
        { numShards: 2, ordered: false },
      ),
    ),
  );
  t.is(out.length, 60);
  t.deepEqual(
    sortNumbers(out),
    upTo(60).map((x) => x * 3),
  );
});

test.serial('parallelMap takes an async fn and still emits in order', async (t) => {
  const out = await collect(
    range(0, 30).pipe(
      parallelMap<number, string>(
        async (x: number) => {
          await new Promise((resolve) => setTimeout(resolve, (x * 7) % 5));
          return `#${x}`;
        },
        { numShards: 2 },
      ),
    ),
  );
  t.deepEqual(
    out,
    upTo(30).map((x) => `#${x}`),
  );
});

test.serial(
  'parallelMap with an async fn completes: one shard, a tight or uneven maxInFlight, defaults',
  async (t) => {
    // one worker, async fn: the worker runs up to maxInFlight calls at once
    t.deepEqual(
      await collect(
        range(0, 10).pipe(
          parallelMap<number, number>(async (x: number) => x + 100, { numShards: 1 }),
        ),
      ),
      upTo(10).map((x) => x + 100),
    );
    t.deepEqual(
      await collect(
        range(0, 10).pipe(
          parallelMap<number, number>(
            async (x: number) => {
              await new Promise((resolve) => setTimeout(resolve, 1));
              return -x;
            },
            { numShards: 1, maxInFlight: 3 },
          ),
        ),
      ),
      upTo(10).map((x) => -x),
    );
    // maxInFlight that is not a multiple of numShards: the workers together
    // could run more calls than maxInFlight allows
    for (const maxInFlight of [3, 5]) {
      t.deepEqual(
        await collect(
          range(0, 30).pipe(
            parallelMap<number, number>(
              async (x: number) => {
                await new Promise((resolve) => setTimeout(resolve, 1 + (x % 3)));
                return x * 2;
              },
              { numShards: 2, maxInFlight },
            ),
          ),
        ),
        upTo(30).map((x) => x * 2),
        `maxInFlight ${maxInFlight}`,
      );
    }
    // default options, more items than maxInFlight, uneven finishing times
    t.deepEqual(
      await collect(
        range(0, 120).pipe(
          parallelMap<number, number>(async (x: number) => {
            await new Promise((resolve) => setTimeout(resolve, 1 + ((x * 7) % 5)));
            return x;
          }),
        ),
      ),
      upTo(120),
    );
    await assertBackToBaseline(t, 'after the async runs');
  },
);

test.serial('parallelFilter keeps the items whose predicate is truthy', async (t) => {
  t.deepEqual(
    await collect(range(0, 10).pipe(parallelFilter((x: number) => x % 3 === 0))),
    [0, 3, 6, 9],
  );
  // an async predicate, and the source's own items (not what fn returns) come out
  const words = ['apple', 'kiwi', 'banana', 'fig', 'cherry'];
  t.deepEqual(
    await collect(
      from(words).pipe(
        parallelFilter(
          async (w: string) => {
            await new Promise((resolve) => setTimeout(resolve, w.length));
            return w.length > minLength ? w.length : 0;
          },
          { context: { minLength: 4 } },
        ),
      ),
    ),
    ['apple', 'banana', 'cherry'],
  );
});

test.serial('parallelMap on an empty source completes with nothing', async (t) => {
  t.deepEqual(await collect(EMPTY.pipe(parallelMap<number, number>((x: number) => x))), []);
  await assertBackToBaseline(t, 'after an empty source');
});

test.serial('each subscription of a parallelMap Observable is its own run', async (t) => {
  const doubled$ = of(1, 2, 3).pipe(parallelMap<number, number>((x: number) => x * 2));
  const [a, b] = await Promise.all([collect(doubled$), collect(doubled$)]);
  t.deepEqual(a, [2, 4, 6]);
  t.deepEqual(b, [2, 4, 6]);
  await assertBackToBaseline(t, 'after two subscriptions');
});

test.serial(
  'parallelMap subscribes to its source when subscribed: a hot Subject loses no item',
  async (t) => {
    const requests = new Subject<number>();
    const result = collect(requests.pipe(parallelMap<number, number>((x: number) => x * 2)));
    // pushed right after subscribing, as any RxJS operator chain allows
    requests.next(1);
    requests.next(2);
    requests.next(3);
    requests.complete();
    t.deepEqual(await result, [2, 4, 6]);
    await assertBackToBaseline(t, 'after a Subject source');
  },
);

test.serial(
  'unsubscribing (take) from parallelMap over an infinite source stops the source and all workers',
  async (t) => {
    for (const [name, source$] of [
      ['interval(0)', interval(0)],
      ['timer(0, 1)', timer(0, 1)],
    ] as const) {
      let unsubscribed = 0;
      let peak = 0;
      const out = await collect(
        source$.pipe(
          finalize(() => unsubscribed++),
          parallelMap<number, number>((x: number) => x + 1, { numShards: 3 }),
          tap(() => {
            peak = Math.max(peak, threadCount());
          }),
          take(10),
        ),
      );
      t.deepEqual(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], name);
      t.true(
        peak > baseline.count,
        `${name}: workers were running (peak ${peak}, baseline ${baseline.count})`,
      );
      t.true(await eventually(() => unsubscribed === 1), `${name}: the source was unsubscribed`);
      await assertBackToBaseline(t, `${name} after take(10)`);
    }
  },
);

test.serial('unsubscribing by hand while items are inside the workers stops them', async (t) => {
  const stats = insideCounters();
  let got = 0;
  let unsubscribed = false;
  const subscription = interval(1)
    .pipe(
      finalize(() => {
        unsubscribed = true;
      }),
      parallelMap<number, number>(
        (x: number) => {
          Atomics.add(stats, 2, 1);
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
          return x;
        },
        { numShards: 2, context: { stats } },
      ),
    )
    .subscribe(() => got++);
  t.true(await eventually(() => got >= 3), 'results came');
  subscription.unsubscribe();
  t.true(unsubscribed, 'the source was unsubscribed at once');
  await assertBackToBaseline(t, 'after unsubscribe()');
});

// ---------------------------------------------------------------------------- errors

test.serial(
  'an error thrown in fn arrives as a ShardError with the original as cause',
  async (t) => {
    let unsubscribed = 0;
    const error = await t.throwsAsync(
      collect(
        interval(1).pipe(
          finalize(() => unsubscribed++),
          parallelMap<number, number>((x: number) => {
            if (x === 4) throw new TypeError(`bad item ${x}`);
            return x;
          }),
        ),
      ),
      { instanceOf: ShardError },
    );
    t.true(error instanceof Error);
    t.true(error?.cause instanceof Error);
    t.is((error?.cause as Error).message, 'bad item 4');
    t.is((error?.cause as Error).name, 'TypeError');
    t.regex(error?.message ?? '', /parallelMap/);
    t.true(await eventually(() => unsubscribed === 1), 'the source was unsubscribed');
    await assertBackToBaseline(t, 'after an error in fn');

    // a rejected promise, and parallelFilter too
    const rejected = await t.throwsAsync(
      collect(
        range(0, 5).pipe(
          parallelFilter(async (x: number) => {
            if (x === 2) throw new Error('no two');
            return true;
          }),
        ),
      ),
      { instanceOf: ShardError },
    );
    t.is((rejected?.cause as Error).message, 'no two');
    await assertBackToBaseline(t, 'after a rejection in parallelFilter');
  },
);

test.serial('an error of the source Observable passes through parallelMap as it is', async (t) => {
  const sourceError = new RangeError('source failed');
  const seen: number[] = [];
  const failed = await t.throwsAsync(
    lastValueFrom(
      concat(
        of(1, 2, 3),
        throwError(() => sourceError),
      ).pipe(
        parallelMap<number, number>((x: number) => x * 10),
        tap((x) => seen.push(x)),
        toArray(),
        timeout(HANG_CAP_MS),
      ),
    ),
  );
  t.false(failed instanceof ShardError, 'not wrapped');
  t.is(failed, sourceError);
  t.is(failed?.message, 'source failed');
  // whatever came out before the error is a prefix of the results, in order
  t.deepEqual(seen, [10, 20, 30].slice(0, seen.length));

  // also when the source fails before any worker could start
  const early = new Error('at once');
  t.is(
    await t.throwsAsync(
      collect(throwError(() => early).pipe(parallelMap<number, number>((x: number) => x))),
    ),
    early,
  );
  await assertBackToBaseline(t, 'after a source error');
});

// ---------------------------------------------------------------------------- bounded buffering

test.serial(
  'parallelMap never has more than maxInFlight items inside the workers (async fn)',
  async (t) => {
    const stats = insideCounters();
    const maxInFlight = 3;
    let emitted = 0;
    let out = 0;
    let worstGap = 0;
    const results = await collect(
      range(0, 40).pipe(
        tap(() => emitted++),
        parallelMap<number, number>(
          async (x: number) => {
            const now = Atomics.add(stats, 0, 1) + 1;
            Atomics.add(stats, 2, 1);
            for (let m = Atomics.load(stats, 1); m < now; m = Atomics.load(stats, 1)) {
              Atomics.compareExchange(stats, 1, m, now);
            }
            await new Promise((resolve) => setTimeout(resolve, 2 + (x % 3)));
            Atomics.sub(stats, 0, 1);
            return x;
          },
          { numShards: 2, maxInFlight, context: { stats } },
        ),
        tap(() => {
          out++;
          // started but not yet emitted: inside a worker or waiting for its turn
          worstGap = Math.max(worstGap, Atomics.load(stats, 2) - out);
        }),
      ),
    );
    t.deepEqual(results, upTo(40));
    t.is(emitted, 40, 'a synchronous source pushes everything; the rest waits in the queue');
    t.is(Atomics.load(stats, 2), 40, 'every item went through fn once');
    const maxInside = Atomics.load(stats, 1);
    t.true(maxInside >= 1 && maxInside <= maxInFlight, `max inside ${maxInside}`);
    t.true(worstGap <= maxInFlight, `started - emitted reached ${worstGap}`);
    await assertBackToBaseline(t, 'after the bounded run');
  },
);

test.serial(
  'parallelMap: maxInFlight below numShards bounds the items inside the workers (sync fn)',
  async (t) => {
    const stats = insideCounters();
    const maxInFlight = 2;
    let emitted = 0;
    let out = 0;
    let worstGap = 0;
    const results = await collect(
      range(0, 24).pipe(
        tap(() => emitted++),
        parallelMap<number, number>(
          (x: number) => {
            const now = Atomics.add(stats, 0, 1) + 1;
            Atomics.add(stats, 2, 1);
            for (let m = Atomics.load(stats, 1); m < now; m = Atomics.load(stats, 1)) {
              Atomics.compareExchange(stats, 1, m, now);
            }
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3);
            Atomics.sub(stats, 0, 1);
            return -x;
          },
          { numShards: 3, maxInFlight, ordered: false, context: { stats } },
        ),
        tap(() => {
          out++;
          worstGap = Math.max(worstGap, Atomics.load(stats, 2) - out);
        }),
      ),
    );
    t.deepEqual(sortNumbers(results.map((x) => -x)), upTo(24));
    t.is(emitted, 24);
    const maxInside = Atomics.load(stats, 1);
    t.true(maxInside >= 1 && maxInside <= maxInFlight, `max inside ${maxInside}`);
    t.true(worstGap <= maxInFlight, `started - emitted reached ${worstGap}`);
    await assertBackToBaseline(t, 'after the bounded run');
  },
);

test.serial(
  "parallelMap with onOverflow: 'error' fails with an OverflowError on a fast source, and stops",
  async (t) => {
    const stats = insideCounters();
    const failed = await t.throwsAsync(
      collect(
        range(0, 1000).pipe(
          parallelMap<number, number>(
            (x: number) => {
              Atomics.add(stats, 2, 1);
              Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
              return x;
            },
            { onOverflow: 'error', bufferSize: 5, maxInFlight: 4, context: { stats } },
          ),
        ),
      ),
      { instanceOf: OverflowError },
    );
    t.is(failed?.name, 'OverflowError');
    t.false(failed instanceof ShardError, 'the overflow is not wrapped');
    // no result came out before the overflow (the source is synchronous), so at
    // most maxInFlight items were ever handed to the workers, and none after it
    t.true(Atomics.load(stats, 2) <= 4, `${Atomics.load(stats, 2)} items reached fn`);
    await assertBackToBaseline(t, 'after the overflow');
  },
);

test.serial(
  "parallelMap with onOverflow: 'buffer' (the default) buffers the same source",
  async (t) => {
    const out = await collect(
      range(0, 200).pipe(
        parallelMap<number, number>((x: number) => x + 1, { bufferSize: 5, numShards: 2 }),
      ),
    );
    t.deepEqual(
      out,
      upTo(200).map((x) => x + 1),
    );
  },
);

// ---------------------------------------------------------------------------- fromObservable

test.serial('fromObservable deals the items round robin to its shards', async (t) => {
  const it = fromObservable(of(1, 2, 3, 4), { numShards: 2 });
  t.true(it instanceof ParallelIterator);
  t.is(it.numShards(), 2);
  t.is(String(it), 'ParallelIterator[fromObservable[shards=2]]');
  t.deepEqual(await it.getShard(0).take(10), [1, 3]);
  t.deepEqual(await it.getShard(1).take(10), [2, 4]);
  t.deepEqual(await it.forEach((x) => x * 10).take(4), [10, 20, 30, 40]);
  const three = fromObservable(range(0, 9), { numShards: 3 });
  t.deepEqual(await three.shards()[2]?.take(10), [2, 5, 8]);
  t.deepEqual(await three.gatherSync().take(20), upTo(9));
  await assertBackToBaseline(t, 'after fromObservable runs');
});

test.serial('fromObservable of a live interval works with take, and stops it', async (t) => {
  let subscriptions = 0;
  let unsubscribed = 0;
  const ticks$ = interval(1).pipe(
    tap({ subscribe: () => subscriptions++ }),
    finalize(() => unsubscribed++),
  );
  const it = fromObservable(ticks$, { numShards: 2 }).forEach((x) => x * 2);
  const got = await within(it.take(6), 'take(6) of interval');
  t.deepEqual(got, [0, 2, 4, 6, 8, 10]);
  t.is(subscriptions, 1, 'one subscription per gather');
  t.true(await eventually(() => unsubscribed === 1), 'the interval was unsubscribed');
  await assertBackToBaseline(t, 'after take of a live interval');

  // asObservable + take: the same, from the Observable side
  const viaRx = await collect(
    fromObservable(interval(1), { numShards: 2 }).gatherSync().asObservable().pipe(take(4)),
  );
  t.deepEqual(viaRx, [0, 1, 2, 3]);
  await assertBackToBaseline(t, 'after asObservable().pipe(take(4)) of a live interval');
});

test.serial(
  'fromObservable: a hot Subject pushed after the first pull loses no item',
  async (t) => {
    const subject = new Subject<number>();
    const local = fromObservable(subject, { numShards: 2 }).gatherSync();
    const first = local.take(4); // the first pull: the gather subscribes to the Subject
    await new Promise((resolve) => setImmediate(resolve));
    for (const x of [1, 2, 3, 4]) subject.next(x);
    subject.complete();
    try {
      t.deepEqual(await within(first, 'take(4) of a Subject', 5000), [1, 2, 3, 4]);
    } finally {
      await local.return();
    }
    await assertBackToBaseline(t, 'after a Subject source');
  },
);

test.serial(
  "fromObservable with onOverflow: 'error' fails with a ShardError caused by an OverflowError",
  async (t) => {
    const failed = await t.throwsAsync(
      within(
        fromObservable(range(0, 1000), { numShards: 2, bufferSize: 3, onOverflow: 'error' })
          .forEach((x) => {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
            return x;
          })
          .gatherSync()
          .take(1000),
        'the overflowing run',
      ),
      { instanceOf: ShardError },
    );
    const cause = failed?.cause as Error | undefined;
    t.truthy(cause);
    t.true(cause instanceof OverflowError || cause?.name === 'OverflowError', String(cause));
    t.is(cause?.name, 'OverflowError');
    t.regex(cause?.message ?? '', /bufferSize/);
    await assertBackToBaseline(t, 'after the fromObservable overflow');
  },
);

test.serial(
  'fromObservable: the source error ends the run with a ShardError caused by it',
  async (t) => {
    const failed = await t.throwsAsync(
      within(
        fromObservable(
          concat(
            of(1, 2, 3),
            throwError(() => new Error('feed broke')),
          ),
        )
          .gatherSync()
          .take(10),
        'a failing source',
      ),
      { instanceOf: ShardError },
    );
    t.is((failed?.cause as Error).message, 'feed broke');
    await assertBackToBaseline(t, 'after a failing fromObservable source');
  },
);

// ---------------------------------------------------------------------------- asObservable

test.serial('asObservable emits the gather order and completes', async (t) => {
  t.deepEqual(
    await lastValueFrom(fromRange(4).gatherSync().asObservable().pipe(toArray())),
    [0, 2, 1, 3],
  );
  t.deepEqual(
    await collect(
      fromRange(6, 2)
        .gatherAsync()
        .asObservable()
        .pipe(map((x) => x * 2)),
    ).then(sortNumbers),
    [0, 2, 4, 6, 8, 10],
  );
  await assertBackToBaseline(t, 'after asObservable completed');
});

test.serial('asObservable pulls the next item only after the subscriber took one', async (t) => {
  const computed = new Int32Array(new SharedArrayBuffer(4));
  const seenAtNext: Array<[item: number, computed: number]> = [];
  const items = await collect(
    fromRange(6, 1)
      .forEach(
        (x) => {
          Atomics.add(computed, 0, 1);
          return x;
        },
        { context: { computed } },
      )
      .gatherSync()
      .asObservable()
      .pipe(
        tap((x) => {
          // give a shard that was asked ahead the time to compute, then look
          blockFor(15);
          seenAtNext.push([x, Atomics.load(computed, 0)]);
        }),
      ),
  );
  t.deepEqual(items, upTo(6));
  t.deepEqual(
    seenAtNext,
    upTo(6).map((x) => [x, x + 1]),
  );
});

test.serial(
  'unsubscribing from asObservable of a repeating source stops the workers',
  async (t) => {
    let peak = 0;
    const out = await collect(
      fromRange(5, { numShards: 2, repeat: true })
        .gatherSync()
        .asObservable()
        .pipe(
          tap(() => {
            peak = Math.max(peak, threadCount());
          }),
          take(3),
        ),
    );
    t.deepEqual(out, [0, 2, 1]);
    t.true(
      peak > baseline.count,
      `workers were running (peak ${peak}, baseline ${baseline.count})`,
    );
    await assertBackToBaseline(t, 'after take(3) of asObservable');

    // and by hand, while a pull is pending on a slow shard
    const local = fromRange(4, { numShards: 1, repeat: true })
      .forEach((x) => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
        return x;
      })
      .gatherSync();
    let got = 0;
    const subscription = local.asObservable().subscribe(() => got++);
    t.true(await eventually(() => got >= 2), 'items came');
    subscription.unsubscribe();
    await assertBackToBaseline(t, 'after unsubscribe() of asObservable');
  },
);

// ---------------------------------------------------------------------------- interop and types

test.serial('a LocalIterator works with for await, Readable.from and rxjs from', async (t) => {
  const viaForAwait: number[] = [];
  for await (const x of fromRange(6, 2).gatherSync()) viaForAwait.push(x);
  t.deepEqual(viaForAwait, [0, 3, 1, 4, 2, 5]);

  const viaStream: number[] = [];
  for await (const x of Readable.from(fromRange(6, 2).gatherSync())) viaStream.push(x as number);
  t.deepEqual(viaStream, [0, 3, 1, 4, 2, 5]);

  t.deepEqual(await collect(from(fromRange(6, 2).gatherSync())), [0, 3, 1, 4, 2, 5]);

  // and the operators compose with a LocalIterator source
  t.deepEqual(
    await collect(
      from(fromRange(6, 3).gatherSync()).pipe(
        parallelMap<number, number>((x: number) => x * x, { numShards: 2 }),
      ),
    ),
    [0, 4, 16, 1, 9, 25],
  );
  await assertBackToBaseline(t, 'after the interop runs');
});

test('types infer through pipe', (t) => {
  expectTypeOf(range(0, 3).pipe(parallelMap((x: number) => String(x)))).toEqualTypeOf<
    Observable<string>
  >();
  expectTypeOf(range(0, 3).pipe(parallelMap(async (x: number) => ({ x })))).toEqualTypeOf<
    Observable<{ x: number }>
  >();
  expectTypeOf(of('a', 'b').pipe(parallelFilter((s: string) => s.length))).toEqualTypeOf<
    Observable<string>
  >();
  expectTypeOf(fromObservable(of('a'))).toEqualTypeOf<ParallelIterator<string>>();
  expectTypeOf(fromRange(3).gatherSync()).toEqualTypeOf<LocalIterator<number>>();
  expectTypeOf(fromRange(3).gatherSync().asObservable()).toEqualTypeOf<Observable<number>>();
  expectTypeOf(
    fromObservable(of(1))
      .forEach((x) => [x])
      .gatherSync()
      .asObservable(),
  ).toEqualTypeOf<Observable<number[]>>();
  t.pass();
});

// ---------------------------------------------------------------------------- TSDoc examples

test.serial('TSDoc @example: parallelMap', async (t) => {
  const out = await collect(
    range(0, 200).pipe(parallelMap((x) => x * k, { numShards: 3, context: { k: 2 } })),
  );
  t.deepEqual(
    out,
    upTo(200).map((x) => 2 * x),
  );
});

test.serial('TSDoc @example: parallelFilter', async (t) => {
  t.deepEqual(await collect(range(0, 10).pipe(parallelFilter((x) => x % 3 === 0))), [0, 3, 6, 9]);
});

test.serial('TSDoc @example: fromObservable', async (t) => {
  t.deepEqual(
    await fromObservable(of(1, 2, 3, 4))
      .forEach((x) => x * 10)
      .take(4),
    [10, 20, 30, 40],
  );
  await assertBackToBaseline(t, 'after the fromObservable example');
});

test.serial('TSDoc @example: asObservable', async (t) => {
  t.deepEqual(
    await lastValueFrom(fromRange(4).gatherSync().asObservable().pipe(toArray())),
    [0, 2, 1, 3],
  );
});

test.serial('TSDoc @example: OverflowError (interval into a slow parallelMap)', async (t) => {
  const failed = await t.throwsAsync(
    collect(
      interval(0).pipe(
        parallelMap<number, number>(
          (x: number) => {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
            return x;
          },
          { bufferSize: 10, onOverflow: 'error' },
        ),
      ),
    ),
    { instanceOf: OverflowError },
  );
  t.is(failed?.name, 'OverflowError');
  await assertBackToBaseline(t, 'after the OverflowError example');
});

test.serial('TSDoc @example: pariter/operators batch', async (t) => {
  t.deepEqual(await collect(of(1, 2, 3).pipe(batch(2))), [[1, 2], [3]]);
});
