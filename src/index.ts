/**
 * pariter: parallel iterators for Node.js. Sharded, lazy, pull-based RxJS
 * pipelines that run in worker threads, read in the calling thread with
 * `gatherSync()` or `gatherAsync()`.
 *
 * @packageDocumentation
 * @module pariter
 */
export { fromItems, fromRange, fromIterators, fromObservable } from './create';
export type { IteratorsOptions, ObservableSourceOptions, Source, SourceOptions } from './create';
export type { OverflowPolicy } from './internal/caller/observableFeed';
export { ParallelIterator } from './parallelIterator';
// Lets iterators be arguments of threads.js worker functions.
import './internal/caller/transfer';
export type { ReadAheadOptions, SignalOptions } from './parallelIterator';
export { LocalIterator } from './localIterator';
export type { LocalFromOptions, LocalForEachOptions } from './localIterator';
export type { LocalSourceInput } from './internal/caller/callerSources';
export { NOT_READY } from './notReady';
export type { NotReady } from './notReady';
export { stateful, moduleFn } from './functions';
export type { FunctionExports, ModuleFn } from './functions';
export { fromActors, spawnActor } from './actors';
export type { ActorHandle, ActorMethods } from './actors';
export { getMetrics, MetricsContext, SharedMetrics, Timer } from './metrics';
export type { SavedMetrics, SavedTimer, ShardHandle } from './metrics';
export { configurePool, poolStats } from './pool';
export type { PoolOptions, PoolStatistics } from './pool';
export type { UnionOptions } from './internal/caller/localSources';
export type { Callable, ContextOptions, ForEachOptions, ItemFn } from './internal/common/options';
export {
  ArgumentRangeError,
  ArgumentTypeError,
  ClosedError,
  OverflowError,
  ShardError,
  UsageError,
} from './errors';
export type { ShardErrorOrigin } from './errors';
export { batch, combine, flatten, parallelFilter, parallelMap, shuffle } from '../operators';
export type { FlattenItem, ParallelMapOptions } from '../operators';
export { cluster, Cluster } from './cluster';
export type { ShardPlacement } from './internal/caller/place';
export type { ClusterOptions, ClusterTlsOptions } from './cluster';
export { startHost } from './host';
export type { Host, HostOptions, HostTlsOptions } from './host';
