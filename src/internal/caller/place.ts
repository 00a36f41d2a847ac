/**
 * @internal
 * The one interface between the calling side and a place that runs a shard
 * and carries its requests and deliveries. Two places implement it: a slot
 * on a pooled thread of this process (`pool.ts`, started by
 * `threadHost.startShardThread`) and a stream to a host on another machine
 * (`hostLink.ts`); a run over a custom actor is a third kind of slot
 * (`actorLink.ts`). The calling side (`shardChannel.ts`) sees only this.
 */
import type { DataPort } from '../common/nodeShapes';
import type { ShardPlan, ShardPort } from '../wire/protocol';
import type { Puller } from '../common/pullPipeline';

/**
 * A place that runs one shard, seen through the shard's data port: a slot on
 * a pooled thread ({@link startShardThread}), or a run over an actor.
 */
export interface ShardThread {
  /** The calling thread's end of the shard's data channel. */
  readonly port: ShardPort;
  /**
   * Called once if the thread dies while it serves this shard (for an actor,
   * also when its handle terminates it), with the error the worker reported,
   * if any (e.g. `ERR_WORKER_OUT_OF_MEMORY`).
   */
  onExit(listener: ExitListener): void;
  /**
   * Whether the shard keeps the process alive: `true` while a consumer
   * waits on it (so that its thread's death is seen), `false` while it is idle.
   */
  hold(held: boolean): void;
  /**
   * Ends the shard: gives its pooled thread back (the thread closes the
   * shard's pipeline and is kept for other runs), or for an actor closes the
   * data port and leaves the actor running. Resolves when that is done.
   * `after`: `'idle'` when no request of the shard is pending, so a pooled
   * thread may take its next shard at once (its `close` is on the way);
   * `'closed'` when the shard closed its run itself (its last answer said
   * `closed`), so no `close` is needed.
   */
  terminate(after?: 'idle' | 'closed'): Promise<void>;
}

/**
 * Told of a worker's exit: its code, and the error it reported, if any. The
 * code is `undefined` when the place that ran the shard was lost rather than
 * exited (a host on another machine); the error then says how.
 */
export type ExitListener = (exitCode: number | undefined, error: unknown) => void;

/** A custom actor's worker, as the calling thread drives it. */
export interface ActorThread {
  /**
   * Constructs the actor with `args` (encoded, with `transfer` the ports in
   * them to move rather than copy); resolves to its methods' names.
   */
  construct(args: readonly unknown[], transfer: readonly DataPort[]): Promise<string[]>;
  /** Calls one of the actor's methods, with arguments as for `construct`. */
  invoke(method: string, args: readonly unknown[], transfer: readonly DataPort[]): Promise<unknown>;
  /**
   * Opens a data port for one run over the actor.
   *
   * @throws UsageError when another reader holds the actor;
   *   ActorGoneError when its worker has exited or was terminated
   */
  attach(): Promise<ShardThread>;
  /**
   * A new connector to the actor, to be transferred to another thread that
   * reads it (an `ActorLink` there).
   *
   * @throws UsageError when its worker has exited or was terminated
   */
  connector(): DataPort;
  /** Stops the actor's worker. */
  terminate(): Promise<void>;
  /** The host (`address:port`) the actor runs on, for an actor on another machine. */
  readonly host?: string;
}

/**
 * What the shards of one run share: a feed that serves several shards (one
 * Observable subscription, say) is made once per run and closed with it.
 */
export interface RunScope {
  /** The value under `key` for this run, made by `make` on first use. */
  shared<V extends { close(): void | Promise<void> }>(key: object, make: () => V): V;
  /** Resolves at the next message of any of the run's shards. */
  changed(): Promise<void>;
  /** The user's stack frames that started the run, as stack lines (none when unknown). */
  readonly startedBy?: () => string;
}

/** What one shard runs: its plan, and for a `feed` source, what feeds it. */
export interface ShardSetup {
  readonly plan: ShardPlan;
  /**
   * Opens the feed; `demanded` tells, at any time, whether a reader has asked
   * this shard for items it has not had yet (its worker works towards them).
   */
  readonly feed?: (scope: RunScope, demanded: () => boolean) => Puller<unknown>;
  /**
   * Opens the place that runs the shard instead of starting a local thread:
   * a data port to an actor, or a stream to a host on another machine.
   */
  readonly attach?: () => Promise<ShardThread>;
  /** The host that runs the shard, when it runs on another machine (for errors). */
  readonly host?: string;
}

/** A run over an actor could not start: the actor's worker is gone. */
export class ActorGoneError extends Error {
  override name = 'ActorGoneError';
}

/** Client certificates and the CA that signed the hosts' certificates (PEM). */
export interface TlsOptions {
  /** PEM of the CA that signed the hosts' certificates. */
  readonly ca: string | Uint8Array;
  /** PEM of this client's certificate, for hosts that require mutual TLS. */
  readonly cert?: string | Uint8Array;
  /** PEM of this client's private key, with `cert`. */
  readonly key?: string | Uint8Array;
}

/** How a cluster connects to its hosts. */
export interface LinkOptions {
  readonly tls: TlsOptions | undefined;
  readonly keepaliveMs: number;
  readonly connectTimeoutMs: number;
  readonly maxMessageBytes: number;
}

/** A shard's host as plain data: enough to reach it from another thread. */
export interface RemoteShard {
  readonly address: string;
  readonly options: LinkOptions;
}

/**
 * Where `runOn` places each shard of an iterator: a `Cluster` (from
 * `cluster()`), whose shard `i` runs on host `i % hosts.length`.
 */
export interface ShardPlacement {
  /**
   * @internal Where shard `index` runs: its host, how to open a run there,
   * and how to reach the host from another thread.
   */
  placeShard(index: number): {
    readonly host: string;
    readonly attach: () => Promise<ShardThread>;
    readonly remote: RemoteShard;
  };
  /** The printed name, e.g. `cluster[2 hosts]`. */
  toString(): string;
}
