/**
 * @internal
 * The worker side of the threads.js boundary: exposes a worker's control
 * calls. Every pariter worker exposes `start`, which receives a data port for
 * one more shard (how runs over an actor reach its worker; a shard worker
 * gets its port with its `workerData`); an actor's worker also exposes
 * `construct` and `invoke`.
 */
import type { MessagePort } from 'node:worker_threads';
import { expose } from 'threads/worker';
import type { Puller } from './pullPipeline';
import { runShard } from './shardRuntime';

/** The control calls of a custom actor's worker. */
export interface ActorControls {
  /** Constructs the actor; returns the names of its methods. */
  construct(args: unknown[]): Promise<string[]>;
  /** Calls one of the actor's methods. */
  invoke(method: string, args: unknown[]): Promise<unknown>;
  /** The actor's own source, once constructed. */
  source(): Puller<unknown>;
}

/** Exposes this worker's control calls; with `actor`, an actor's as well. */
export function exposeWorker(actor?: ActorControls): void {
  const start = (port: MessagePort): void => runShard(port, actor ? actor.source() : undefined);
  if (!actor) {
    expose({ start });
    return;
  }
  expose({
    start,
    construct: (args: unknown[]) => actor.construct(args),
    invoke: (method: string, args: unknown[]) => actor.invoke(method, args),
  });
}
