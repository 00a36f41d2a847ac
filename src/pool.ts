import type { ResourceLimits } from './internal/common/nodeShapes';
import { ArgumentRangeError, ArgumentTypeError } from './errors';
import { defaultPoolConfig, type PoolConfig } from './internal/caller/pool';
import type { PoolStatistics } from './internal/caller/poolStatistics';
import { shardPool } from './internal/caller/threadHost';
import { checkOptions, describeValue, positiveInteger } from './internal/common/validate';

export type { PoolStatistics } from './internal/caller/poolStatistics';

/** Settings of the thread pool, for {@link configurePool}. */
export interface PoolOptions {
  /**
   * The most threads the pool starts (default `max(4, 2 × os.availableParallelism())`).
   * Above it, shards share threads.
   */
  readonly maxThreads?: number;
  /** How long an idle thread is kept warm, in ms (default 2000; 0 stops it at once; `Infinity` keeps it). */
  readonly idleTimeoutMs?: number;
  /** Heap and stack limits of each new thread, as `worker_threads` takes them (default: none). */
  readonly resourceLimits?: ResourceLimits;
}

const OPTION_KEYS = ['maxThreads', 'idleTimeoutMs', 'resourceLimits'] as const;
const LIMIT_KEYS = [
  'maxOldGenerationSizeMb',
  'maxYoungGenerationSizeMb',
  'codeRangeSizeMb',
  'stackSizeMb',
] as const;

function idleTimeout(value: unknown): number {
  if (value === Infinity) return value;
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < 0 ||
    value > 2 ** 31 - 1
  ) {
    throw new ArgumentRangeError(
      `Expected \`idleTimeoutMs\` to be a non-negative integer up to 2147483647, or Infinity, got ${describeValue(value)}`,
    );
  }
  return value;
}

function resourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  checkOptions(value, LIMIT_KEYS, 'resourceLimits');
  const limits = value as Record<string, unknown>;
  const checked: Record<string, number> = {};
  for (const key of LIMIT_KEYS) {
    const limit = limits[key];
    if (limit === undefined) continue;
    if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) {
      throw new ArgumentRangeError(
        `Expected \`resourceLimits.${key}\` to be a positive number, got ${describeValue(limit)}`,
      );
    }
    checked[key] = limit;
  }
  return Object.freeze(checked);
}

/**
 * Configures the process-wide pool of shard threads that every run borrows
 * from (actors are not pooled).
 *
 * Options left out keep their current value; an option given as `undefined`
 * goes back to its default. The pool starts at most `maxThreads` threads:
 * above that, shards share threads, one thread serving several shards'
 * requests in turn, with each shard's order, state and fetch ordering kept
 * and no run waiting for another run to end. A thread with no shard left is
 * kept warm for `idleTimeoutMs`; idle threads never keep the process alive.
 * `resourceLimits` apply to threads started from now on: idle threads
 * started with other limits stop, busy ones stop when they become idle.
 * Lowering `maxThreads` stops idle threads above it the same way.
 *
 * State a shard function leaves in a thread's globals may be seen by a later
 * run on that thread; context values, stateful functions and pipelines are
 * per run. A thread that a shard kills (`process.exit`, out of memory) is
 * replaced, and fails only the shards it served: under the cap, those of
 * that shard's run; above it, also the other shards sharing the thread
 * (the same goes for an error nothing caught, e.g. a timer's throw).
 * A shard still computing a second after its run stopped has its thread
 * stopped, unless the thread serves other shards.
 *
 * @param options - `maxThreads` (a positive integer, default
 *   `max(4, 2 × os.availableParallelism())`), `idleTimeoutMs` (a
 *   non-negative integer or `Infinity`, default 2000), `resourceLimits`
 *   (`worker_threads`' `maxOldGenerationSizeMb`, `maxYoungGenerationSizeMb`,
 *   `codeRangeSizeMb`, `stackSizeMb`; default none)
 * @throws ArgumentTypeError when `options` is not an object or has an unknown
 *   key (the message names it); ArgumentRangeError when a value is out of range
 * @example
 * ```ts
 * configurePool({ maxThreads: 8, idleTimeoutMs: 10_000 });
 * configurePool({ resourceLimits: { maxOldGenerationSizeMb: 256 } });
 * configurePool({ maxThreads: undefined }); // back to the default
 * ```
 */
export function configurePool(options: PoolOptions): void {
  if (options === undefined) {
    throw new ArgumentTypeError('Expected `options` to be an object, got undefined');
  }
  checkOptions(options, OPTION_KEYS);
  const defaults = defaultPoolConfig();
  const current = shardPool.settings;
  const has = (key: (typeof OPTION_KEYS)[number]): boolean => Object.hasOwn(options, key);
  const pick = <K extends keyof PoolConfig>(key: K, check: (v: unknown) => PoolConfig[K]) => {
    if (!has(key)) return current[key];
    const value = options[key];
    return value === undefined ? defaults[key] : check(value);
  };
  const config: PoolConfig = {
    maxThreads: pick('maxThreads', (v) => positiveInteger('maxThreads', v)),
    idleTimeoutMs: pick('idleTimeoutMs', idleTimeout),
    resourceLimits: pick('resourceLimits', resourceLimits),
  };
  shardPool.configure(config);
}

/**
 * The thread pool's counts now: for dashboards, and for checking that runs
 * reuse threads.
 *
 * @returns `threads` in the pool, of which `idle` and `busy`; the `shards`
 *   and `runs` being served; threads `spawned` since the process began
 * @example
 * ```ts
 * await fromRange(8, 2).take(8);
 * const { threads, idle, spawned } = poolStats(); // e.g. 2, 2, 2: both threads kept warm
 * ```
 */
export function poolStats(): PoolStatistics {
  return shardPool.stats();
}
