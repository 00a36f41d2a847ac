/**
 * Cancellation with `{ signal }` (API.md, "Cancellation"): aborting stops the
 * run's workers and rejects a waiting pull (or errors the Observable) with the
 * signal's reason; an already-aborted signal rejects at once without starting
 * a thread; no abort listener is left on the signal once the run has ended.
 *
 * Every test is serial: they count the threads of this process.
 */
import test, { type ExecutionContext } from 'ava';
import { getEventListeners } from 'node:events';
import {
  defer,
  lastValueFrom,
  of,
  range,
  toArray,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import {
  ArgumentTypeError,
  fromItems,
  fromRange,
  parallelFilter,
  parallelMap,
  type LocalIterator,
  type ParallelIterator,
} from 'pariter';
import { threadBaseline } from './helpers/baseline';
import { delay, within } from './helpers/hang';
import { threadCount } from './helpers/threadCount';

const baseline = threadBaseline(() =>
  lastValueFrom(
    of(1, 2).pipe(
      parallelMap((x: number) => x),
      toArray(),
    ),
  ),
);
const { assertBackToBaseline } = baseline;

/**
 * Two shards of `[0, 1]`: each shard's first item (0) comes at once, its
 * second never does, so the pull after both zeros waits until it is stopped.
 */
function stalling(): ParallelIterator<number> {
  return fromItems([0, 0, 1, 1], 2).forEach((x) =>
    x === 0 ? x : new Promise<number>(() => undefined),
  );
}

const abortListeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** Asserts that `promise` rejects with exactly `reason`, within the hang cap. */
async function rejectsWith(
  t: ExecutionContext,
  promise: Promise<unknown>,
  reason: unknown,
  what: string,
): Promise<void> {
  const error = await within(
    promise.then(
      () => undefined,
      (e: unknown) => ({ e }),
    ),
    what,
  );
  t.truthy(error, `${what}: rejected`);
  t.is(error?.e, reason, `${what}: with the signal's reason`);
}

type Reader = (it: ParallelIterator<number>, signal: AbortSignal) => LocalIterator<unknown>;

/** Each listed call, with how many items come before its pulls wait forever. */
const READERS: Array<[string, Reader, number]> = [
  ['gatherSync', (it, signal) => it.gatherSync({ signal }), 2],
  ['gatherAsync', (it, signal) => it.gatherAsync({ signal }), 2],
  ['batchAcrossShards', (it, signal) => it.batchAcrossShards({ signal }), 1],
  ['getShard(1)', (it, signal) => it.getShard(1, { signal }), 1],
  ['shards()[0]', (it, signal) => it.shards({ signal })[0] as LocalIterator<unknown>, 1],
];

for (const [name, read, ready] of READERS) {
  test.serial(
    `${name}: aborting rejects the waiting pull with an AbortError and stops the workers`,
    async (t) => {
      const controller = new AbortController();
      const local = read(stalling(), controller.signal);
      for (let i = 0; i < ready; i++) {
        t.false((await within(local.next(), `${name}: item ${i}`)).done);
      }
      t.is(abortListeners(controller.signal), 1, 'the run listens while it runs');
      const waiting = local.next();
      let settled = false;
      waiting.then(
        () => (settled = true),
        () => (settled = true),
      );
      await delay(50);
      t.false(settled, 'the pull waits for a shard that never answers');
      t.true(threadCount() > baseline.count, 'the run has workers');
      controller.abort();
      const reason: unknown = controller.signal.reason;
      t.true(reason instanceof DOMException && reason.name === 'AbortError', 'the default reason');
      await rejectsWith(t, waiting, reason, name);
      t.deepEqual(await local.next(), { done: true, value: undefined }, 'the run is over');
      t.is(abortListeners(controller.signal), 0, 'no listener left');
      await assertBackToBaseline(t, `${name} after abort`);
    },
  );

  test.serial(
    `${name}: an already-aborted signal rejects at once and starts no thread`,
    async (t) => {
      const reason = new Error('stopped before it started');
      const signal = AbortSignal.abort(reason);
      const local = read(fromRange(4, 2), signal);
      await rejectsWith(t, local.next(), reason, name);
      t.is(threadCount(), baseline.count, 'no thread was started');
      t.is(abortListeners(signal), 0, 'no listener added');
    },
  );
}

test.serial('a run that ends by itself leaves no listener on the signal', async (t) => {
  const controller = new AbortController();
  const it = fromRange(6, 2);
  // A LocalIterator's take leaves it usable (API.md, "Local sources"): read to
  // its end, it is exhausted; read in part, it is closed with return().
  const whole = it.gatherSync({ signal: controller.signal });
  t.deepEqual(await whole.take(7), [0, 3, 1, 4, 2, 5]);
  const part = it.gatherSync({ signal: controller.signal });
  t.deepEqual(await part.take(2), [0, 3]);
  t.is(abortListeners(controller.signal), 1, 'a LocalIterator read in part still runs');
  await part.return();
  t.deepEqual(await it.take(2, { signal: controller.signal }), [0, 3]);
  const local = it.gatherAsync({ signal: controller.signal, numAsync: 2 });
  await local.next();
  await local.return();
  t.deepEqual(
    await lastValueFrom(
      of(1, 2, 3).pipe(
        parallelMap((x: number) => x * 2, { signal: controller.signal }),
        toArray(),
      ),
    ),
    [2, 4, 6],
  );
  t.is(abortListeners(controller.signal), 0);
  controller.abort(); // nothing left to stop
  await assertBackToBaseline(t, 'after runs that ended');
});

test.serial('take: aborting rejects it with the reason (TSDoc @example: take)', async (t) => {
  const error = await within(
    fromRange(4, { repeat: true })
      .take(1e9, { signal: AbortSignal.timeout(100) })
      .then(
        () => undefined,
        (e: unknown) => e,
      ),
    'take with a timeout signal',
  );
  t.true(error instanceof DOMException && error.name === 'TimeoutError', String(error));
  await assertBackToBaseline(t, 'take after abort');
});

test.serial('take: an already-aborted signal rejects at once and starts no thread', async (t) => {
  const signal = AbortSignal.abort();
  await rejectsWith(t, fromRange(4).take(4, { signal }), signal.reason, 'take');
  t.is(threadCount(), baseline.count);
});

test.serial('gatherSync: TSDoc @example', async (t) => {
  const controller = new AbortController();
  const local = fromRange(4, { repeat: true }).gatherSync({ signal: controller.signal });
  t.deepEqual(await local.next(), { value: 0, done: false });
  controller.abort();
  await rejectsWith(t, local.next(), controller.signal.reason, 'the next pull');
  await assertBackToBaseline(t, 'after the example');
});

test.serial('a local transformation after the gather sees the abort too', async (t) => {
  const controller = new AbortController();
  const fresh = stalling()
    .gatherSync({ signal: controller.signal })
    .forEach((x) => x + 1);
  t.is((await fresh.next()).value, 1);
  const waiting = fresh.next().then(() => fresh.next());
  await delay(50);
  controller.abort();
  await rejectsWith(t, waiting, controller.signal.reason, 'forEach after gatherSync');
  await assertBackToBaseline(t, 'after abort through a local forEach');
});

type Operator = (
  fn: (x: number) => number | Promise<number>,
  options: { signal: AbortSignal },
) => OperatorFunction<number, unknown>;

const OPERATORS: Array<[string, Operator]> = [
  ['parallelMap', (fn, options) => parallelMap(fn, options)],
  ['parallelFilter', (fn, options) => parallelFilter(fn, options)],
];

for (const [name, operator] of OPERATORS) {
  test.serial(
    `${name}: aborting errors the Observable with the reason and stops the workers`,
    async (t) => {
      const controller = new AbortController();
      const out$: Observable<unknown> = range(0, 100).pipe(
        operator((x: number) => (x < 4 ? x : new Promise<number>(() => undefined)), {
          signal: controller.signal,
        }),
      );
      const seen: unknown[] = [];
      const ended = new Promise<unknown>((resolve) => {
        out$.subscribe({
          next: (x) => seen.push(x),
          error: (e: unknown) => resolve({ e }),
          complete: () => resolve(undefined),
        });
      });
      while (seen.length < (name === 'parallelMap' ? 4 : 3)) await delay(10);
      t.true(threadCount() > baseline.count, 'the workers run');
      const reason = new Error('user stopped');
      controller.abort(reason);
      const outcome = (await within(ended, `${name} after abort`)) as { e: unknown } | undefined;
      t.is(outcome?.e, reason);
      t.is(abortListeners(controller.signal), 0, 'no listener left');
      await assertBackToBaseline(t, `${name} after abort`);
    },
  );

  test.serial(
    `${name}: an already-aborted signal errors at once, without threads or a subscription`,
    async (t) => {
      const signal = AbortSignal.abort();
      let subscribed = false;
      const source$ = defer(() => {
        subscribed = true;
        return of(1, 2, 3);
      });
      const error = await within(
        lastValueFrom(source$.pipe(operator((x: number) => x, { signal }))).then(
          () => undefined,
          (e: unknown) => e,
        ),
        name,
      );
      t.is(error, signal.reason);
      t.false(subscribed, 'the source was not subscribed');
      t.is(threadCount(), baseline.count, 'no thread was started');
    },
  );
}

test.serial('a signal that is not an AbortSignal is an ArgumentTypeError at the call', (t) => {
  const it = fromRange(4);
  const bad = { signal: { aborted: false } } as unknown as { signal: AbortSignal };
  const calls: Array<[string, () => unknown]> = [
    ['gatherSync', () => it.gatherSync(bad)],
    ['gatherAsync', () => it.gatherAsync(bad)],
    ['batchAcrossShards', () => it.batchAcrossShards(bad)],
    ['getShard', () => it.getShard(0, bad)],
    ['shards', () => it.shards(bad)],
    ['take', () => it.take(1, bad)],
    ['parallelMap', () => parallelMap((x: number) => x, bad)],
    ['parallelFilter', () => parallelFilter((x: number) => x, bad)],
  ];
  for (const [name, call] of calls) {
    const error = t.throws(call, { instanceOf: ArgumentTypeError }, name);
    t.regex(error?.message ?? '', /^Expected `signal` to be an AbortSignal, got an object$/, name);
  }
  t.is(threadCount(), baseline.count);
});
