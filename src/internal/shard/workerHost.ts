/**
 * @internal
 * The worker side of the threads.js boundary: exposes a worker's control
 * calls. A shard worker exposes `start`, which receives a data port for one
 * more shard (a shard worker gets its first port with its `workerData`). An
 * actor's worker exposes `construct`, `invoke` and `connect`, which receives
 * a connector port from a thread that reads the actor (see `actorLink`): runs
 * over the actor are asked for and released on connectors, one reader at a
 * time.
 */
import type { MessagePort } from 'node:worker_threads';
import { expose } from 'threads/worker';
import { UsageError } from '../../errors';
import { serializeError, type AttachAnswer, type ToActor } from '../wire/protocol';
import type { Puller } from '../common/pullPipeline';
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

/** The run that holds an actor: who asked for it, on which connector. */
interface Reader {
  readonly connector: MessagePort;
  readonly reader: number;
}

/** Serves the runs asked for on connectors over `source()`, one at a time. */
function actorReaders(source: () => Puller<unknown>): (connector: MessagePort) => void {
  let holder: Reader | undefined;
  const attach = (connector: MessagePort, reader: number, port: MessagePort, looks = 2): void => {
    if (holder && looks > 0) {
      // The holder's release may be on its way on another port, sent before
      // this attach (a reader that ended, then told this thread's caller).
      // It is then already queued on its port, but this thread may have
      // looked at that port just before it arrived: look again after the
      // next poll of the ports (an immediate set from a check phase runs
      // after the next loop's poll phase).
      setImmediate(() => attach(connector, reader, port, looks - 1));
      return;
    }
    let actorSource: Puller<unknown>;
    try {
      if (holder) {
        throw new UsageError(
          'The actor is read by another reader: an actor has one reader at a time; end the other gather or shard (return(), close() or read it to the end) before reading the actor again',
        );
      }
      actorSource = source();
    } catch (error) {
      const refused: AttachAnswer = { type: 'refused', error: serializeError(error) };
      port.postMessage(refused);
      port.close();
      return;
    }
    const mine: Reader = { connector, reader };
    holder = mine;
    port.once('close', () => {
      if (holder === mine) holder = undefined;
    });
    const attached: AttachAnswer = { type: 'attached' };
    port.postMessage(attached);
    runShard(port, actorSource);
  };
  return (connector) => {
    connector.on('message', (message: ToActor) => {
      if (message.type === 'attach') {
        attach(connector, message.reader, message.port as MessagePort); // a real port, moved here
      } else if (holder?.connector === connector && holder.reader === message.reader) {
        holder = undefined;
      }
    });
    connector.unref();
  };
}

/** Exposes this worker's control calls; with `actor`, an actor's instead. */
export function exposeWorker(actor?: ActorControls): void {
  if (!actor) {
    expose({ start: (port: MessagePort): void => runShard(port) });
    return;
  }
  const connect = actorReaders(() => actor.source());
  expose({
    connect: (connector: MessagePort) => connect(connector),
    construct: (args: unknown[]) => actor.construct(args),
    invoke: (method: string, args: unknown[]) => actor.invoke(method, args),
  });
}
