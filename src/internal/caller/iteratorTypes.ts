/**
 * @internal
 * The shapes that `ParallelIterator`, `LocalIterator` and the local sources
 * share: what one shard runs, an iterator as plain data, and where a
 * `LocalIterator`'s items come from. Kept apart so that none of those
 * modules imports another in a cycle.
 */
import type { SharedMetrics } from '../../metrics';
import type { DataPort } from '../common/nodeShapes';
import type { OpSpec, SourceSpec } from '../wire/protocol';
import type { Puller } from '../common/pullPipeline';
import type { ReadOptions, RunScope } from './shardChannel';
import type { RemoteShard, ShardThread } from './place';

/** @internal What one shard runs, before it is named. */
export interface ShardTemplate {
  readonly source: SourceSpec;
  readonly repeat: boolean;
  readonly ops: readonly OpSpec[];
  /** For a `feed` source: what feeds it, from the calling thread. */
  readonly feed?: (scope: RunScope, demanded: () => boolean) => Puller<unknown>;
  /** The shard's handle for `currentActor`, when the user made it (`fromActors`). */
  readonly actor?: unknown;
  /** For an actor's shard: opens a data port to the actor; for a remote shard, a stream to its host. */
  readonly attach?: () => Promise<ShardThread>;
  /** The host that runs the shard, for a shard on another machine. */
  readonly host?: string;
  /** For a shard on another machine: how to reach its host, as plain data (for another thread). */
  readonly remote?: RemoteShard;
  /** For an actor's shard: a new connector to the actor, for another thread. */
  readonly connect?: () => DataPort;
}

/** @internal A shard's template as plain data (an actor's comes with a connector to it). */
export interface TemplateDescription {
  readonly source: SourceSpec;
  readonly repeat: boolean;
  readonly ops: readonly OpSpec[];
  readonly connector?: DataPort;
  /** For a shard on another machine: its host, reached again from the other thread. */
  readonly remote?: RemoteShard;
}

/**
 * How a `LocalIterator` reads its shards (`chunks`, internal: arrays of
 * whatever has arrived, for bulk readers).
 */
export type ReadKind = 'gatherSync' | 'gatherAsync' | 'batchAcrossShards' | 'shard' | 'chunks';

/** @internal A `ParallelIterator` as plain data. */
export interface ParallelDescription {
  readonly name: string;
  readonly fromUnion: boolean;
  readonly templates: readonly TemplateDescription[];
}

/** @internal A gather as plain data. */
export interface GatherDescription {
  readonly parallel: ParallelDescription;
  readonly read: ReadKind;
  readonly options: ReadOptions;
  readonly indices: readonly number[];
}

/**
 * @internal
 * Where a `LocalIterator`'s items come from: created on the first pull and
 * shared by the iterators derived from it.
 */
export interface LocalSource {
  /** The metrics of the chain; a `union` points its inputs' at one context. */
  readonly metrics: SharedMetrics;
  /**
   * The source of the item this source returned last (after a gather, the
   * shard's handle): what `currentActor` is for that item.
   */
  actor?: unknown;
  /** The shared puller, created on first use. */
  open(): Puller<unknown>;
  /** Whether `open()` was called: the source has started (and may hold threads). */
  readonly started?: () => boolean;
  /** Stops what the source started (workers, inputs); resolves when they are gone. */
  close(): Promise<void>;
  /**
   * For a gather: how to rebuild it in another thread. With `transfer`, the
   * ports to move with the description (connectors to actors) are added to it.
   */
  describe?(transfer?: DataPort[]): GatherDescription;
}
