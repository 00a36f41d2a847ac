/**
 * The thread baseline of a spec file: the steady thread count after a warm-up,
 * which every run must come back to once it has stopped.
 *
 * A file that counts threads calls `threadBaseline()` once, at top level (it
 * registers a `test.before`), and runs its tests serially. It runs with a
 * pool that keeps no idle thread (`idleTimeoutMs: 0`): a thread given back
 * by a run stops at once, so the count shows that every run gave its threads
 * back. That the pool keeps and reuses threads is shown in `pool.spec.ts`.
 */
import test, { type ExecutionContext } from 'ava';
import { promises as fsp } from 'node:fs';
import { configurePool, fromRange, poolStats } from 'pariter';
import { steadyThreadCount, threadsSettle } from './threadCount';

/**
 * Makes the threads that come and stay on first use (libuv's pool, V8's
 * platform threads, a first worker's) exist, then returns the thread count
 * once it is steady (the same for 5 polls 20 ms apart, or after 5 s).
 *
 * @param extra - more warm-up, run after a first pariter run and before a
 *   file read: e.g. a first `parallelMap`, for a file that uses the operators
 */
export async function warmUp(extra?: () => Promise<unknown>): Promise<number> {
  await fromRange(2).take(2);
  await extra?.();
  await fsp.readFile(__filename);
  return steadyThreadCount();
}

/** What `threadBaseline()` gives a spec file. */
export interface ThreadBaseline {
  /** The steady thread count after the warm-up; 0 until `test.before` has run. */
  readonly count: number;
  /**
   * Waits (bounded) for the thread count to come back, then asserts that it is
   * at or below the baseline and that the pool serves no shard; `when` names
   * the moment in the failure message.
   */
  readonly assertBackToBaseline: (t: ExecutionContext, when: string) => Promise<void>;
}

/**
 * Registers a `test.before` that warms up (see `warmUp`, with `extra`) and
 * records the baseline; returns it, read at test time.
 */
export function threadBaseline(extra?: () => Promise<unknown>): ThreadBaseline {
  let baseline = 0;
  test.before(async () => {
    configurePool({ idleTimeoutMs: 0 });
    baseline = await warmUp(extra);
  });
  return {
    get count() {
      return baseline;
    },
    async assertBackToBaseline(t, when) {
      const count = await threadsSettle(baseline);
      t.true(count <= baseline, `${when}: ${count} threads, baseline ${baseline}`);
      const { shards, threads } = poolStats();
      t.is(shards, 0, `${when}: the pool still serves ${shards} shards on ${threads} threads`);
    },
  };
}
