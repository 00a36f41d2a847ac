/**
 * @internal
 * The pool's figures, as `poolStats()` reports them: a module of its own,
 * free of Node's types, so that the pool and the public API share one
 * definition.
 */

/** What `poolStats()` reports. */
export interface PoolStatistics {
  /** Threads in the pool now, idle or busy. */
  readonly threads: number;
  /** Threads serving no shard, kept warm. */
  readonly idle: number;
  /** Threads serving at least one shard. */
  readonly busy: number;
  /** Shards being served. */
  readonly shards: number;
  /** Runs (gathers, `getShard`s, `take`s, …) with a shard being served. */
  readonly runs: number;
  /** Threads started since the process began (a flat count means threads are reused). */
  readonly spawned: number;
}
