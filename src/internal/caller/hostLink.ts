/**
 * @internal
 * The calling side of one pariter host on another machine: a gRPC client,
 * connected on first use, that opens one `Shard` stream per shard run (seen
 * by the shard's channel as a {@link ShardThread}) and one `Actor` stream
 * per remote actor (seen as an {@link ActorThread}).
 *
 * A stream that fails (the host died, was killed, or stopped answering
 * keepalive pings) is the shard's exit; the client is dropped, so that the
 * next run connects afresh (to a host restarted in the meantime, say).
 */
import type * as grpc from '@grpc/grpc-js';
import { ClosedError, UsageError } from '../../errors';
import { deserializeError, type FromShard, type ShardPort, type ToShard } from '../wire/protocol';
import type { ActorThread, ExitListener, LinkOptions, RemoteShard, ShardThread } from './place';
import {
  ACTOR_METADATA,
  channelOptions,
  encode,
  hostService,
  loadGrpc,
  tooLargeHint,
  type FromActor,
  type ToActor,
} from '../wire/service';

export type { LinkOptions, TlsOptions } from './place';

type HostClient = InstanceType<grpc.ServiceClientConstructor>;

let clientConstructor: grpc.ServiceClientConstructor | undefined;
/** The host service's client class, made on first use. */
function hostClient(): grpc.ServiceClientConstructor {
  return (clientConstructor ??= loadGrpc().makeGenericClientConstructor(hostService, 'Host'));
}
type Duplex = grpc.ClientDuplexStream<unknown, unknown>;

/** Why a stream failed, in words, from its gRPC status. */
function describeFailure(error: grpc.ServiceError, limit: number): string {
  const { status } = loadGrpc();
  switch (error.code) {
    case status.RESOURCE_EXHAUSTED:
      return `${tooLargeHint(limit)} (${error.details})`;
    case status.UNAVAILABLE:
      return `the connection to the host was lost: it died, was stopped, or stopped answering keepalive pings (${error.details})`;
    case status.CANCELLED:
      return `the host ended the run: it was stopped (${error.details})`;
    default:
      return `the host's stream failed: ${error.details || error.message}`;
  }
}

/** One host of a cluster. */
export class HostLink {
  private client: HostClient | undefined;
  private readonly calls = new Set<Duplex>();
  private closed = false;

  constructor(
    /** `address:port`, as the user gave it. */
    readonly address: string,
    private readonly options: LinkOptions,
  ) {}

  /** The client, made on first use (gRPC connects in the background). */
  private client_(): HostClient {
    if (this.client) return this.client;
    const { tls, keepaliveMs, connectTimeoutMs, maxMessageBytes } = this.options;
    const grpc = loadGrpc();
    const credentials = tls
      ? grpc.credentials.createSsl(
          Buffer.from(tls.ca),
          tls.key === undefined ? null : Buffer.from(tls.key),
          tls.cert === undefined ? null : Buffer.from(tls.cert),
        )
      : grpc.credentials.createInsecure();
    this.client = new (hostClient())(this.address, credentials, {
      ...channelOptions(keepaliveMs, maxMessageBytes),
      // A host restarted after a failure is found again quickly.
      'grpc.initial_reconnect_backoff_ms': Math.min(1000, connectTimeoutMs),
      'grpc.max_reconnect_backoff_ms': Math.min(1000, connectTimeoutMs),
    });
    return this.client;
  }

  /**
   * The client once its connection is ready: at once when it is, else
   * within `connectTimeoutMs` (a host restarted meanwhile is reached again).
   */
  private connect(): Promise<HostClient> {
    if (this.closed) return Promise.reject(new ClosedError(`The cluster was closed`));
    const client = this.client_();
    const { connectTimeoutMs } = this.options;
    return new Promise<HostClient>((resolve, reject) => {
      client.waitForReady(Date.now() + connectTimeoutMs, (error) => {
        if (!error) return resolve(client);
        this.drop(client);
        reject(
          new Error(
            `Could not connect to the pariter host at ${this.address} within ${connectTimeoutMs} ms (\`connectTimeoutMs\`): start it with \`pariter-host --listen ${this.address}\`, and check the address and the TLS options (${error.message})`,
            { cause: error },
          ),
        );
      });
    });
  }

  /** Forgets `client` (after a failure), so that the next use connects again. */
  private drop(client: HostClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.close();
  }

  private async open(kind: 'shard' | 'actor', actor?: string): Promise<Duplex> {
    const client = await this.connect();
    const grpc = loadGrpc();
    const metadata = new grpc.Metadata();
    if (actor !== undefined) metadata.set(ACTOR_METADATA, actor);
    const call = (client[kind] as (metadata: grpc.Metadata) => Duplex)(metadata);
    this.calls.add(call);
    call.on('status', () => this.calls.delete(call));
    call.on('error', (error: grpc.ServiceError) => {
      this.calls.delete(call);
      if (error.code === grpc.status.UNAVAILABLE) this.drop(client);
    });
    return call;
  }

  /** Opens a shard run on the host (on `actor`, one of its remote actors). */
  async openShard(actor?: string): Promise<ShardThread> {
    return this.shardThread(await this.open('shard', actor));
  }

  private shardThread(call: Duplex): ShardThread {
    const limit = this.options.maxMessageBytes;
    const listeners: ExitListener[] = [];
    let ended = false;
    const lost = (error: Error): void => {
      if (ended) return;
      ended = true;
      for (const listener of listeners) listener(undefined, error);
    };
    call.on('error', (error: grpc.ServiceError) =>
      lost(
        this.closed
          ? new ClosedError('the cluster was closed while the run was open')
          : new Error(describeFailure(error, limit), { cause: error }),
      ),
    );
    // A host answers every run to its end or its error: a stream that ends
    // before is a host that stopped.
    call.on('end', () => lost(new Error('the host ended the run before its end: it was stopped')));
    const port: ShardPort = {
      postMessage: (message: ToShard) => {
        if (!ended) call.write(encode(message, limit));
      },
      on: (_event, listener: (message: FromShard) => void) => call.on('data', listener),
      close: () => {
        ended = true;
        call.cancel();
      },
    };
    return {
      port,
      onExit: (listener) => void listeners.push(listener),
      // An open stream keeps the process alive (gRPC refs its connection
      // while a call is active), so that a host's loss is always seen.
      hold: () => undefined,
      terminate: async () => {
        listeners.length = 0;
        port.close();
      },
    };
  }

  /** Starts an actor on the host: its module's `exposeActor` class, constructed with `args`. */
  async spawnActor(
    modulePath: string,
    args: readonly unknown[],
  ): Promise<ActorThread & { methods: readonly string[] }> {
    const call = await this.open('actor');
    const limit = this.options.maxMessageBytes;
    const pending = new Map<
      number,
      { resolve(value: unknown): void; reject(error: unknown): void }
    >();
    let nextId = 1;
    let failure: Error | undefined;
    let spawned: ((message: FromActor & { type: 'spawned' }) => void) | undefined;
    const failAll = (error: Error): void => {
      failure ??= error;
      for (const { reject } of pending.values()) reject(failure);
      pending.clear();
    };
    const started = new Promise<FromActor & { type: 'spawned' }>((resolve, reject) => {
      spawned = resolve;
      pending.set(0, { resolve: () => undefined, reject });
    });
    call.on('data', (message: FromActor) => {
      if (message.type === 'spawned') {
        pending.delete(0);
        spawned?.(message);
        return;
      }
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (message.type === 'result') waiting?.resolve(message.value);
      else waiting?.reject(deserializeError(message.error));
    });
    call.on('error', (error: grpc.ServiceError) =>
      failAll(
        error.code === loadGrpc().status.CANCELLED && failure
          ? failure
          : new Error(
              `The actor on host ${this.address} is gone: ${describeFailure(error, limit)}`,
              {
                cause: error,
              },
            ),
      ),
    );
    call.on('end', () =>
      failAll(new Error(`The actor on host ${this.address} is gone: the host ended it`)),
    );
    const send = (message: ToActor): void => void call.write(encode(message, limit));
    send({ type: 'spawn', modulePath, args });
    let actor: FromActor & { type: 'spawned' };
    try {
      actor = await started;
    } catch (error) {
      call.cancel();
      throw error;
    }
    const invoke = (
      method: string,
      methodArgs: readonly unknown[],
      transfer: readonly unknown[],
    ): Promise<unknown> => {
      if (failure) return Promise.reject(failure);
      if (transfer.length > 0) {
        return Promise.reject(
          new UsageError(
            `An iterator cannot be an argument of an actor on host ${this.address}: it would have to cross machines; build the iterator on that host's actor from data, or read it here`,
          ),
        );
      }
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        try {
          send({ type: 'call', id, method, args: [...methodArgs] });
        } catch (error) {
          pending.delete(id);
          reject(error);
        }
      });
    };
    return {
      methods: actor.methods,
      construct: () =>
        Promise.reject(new UsageError(`The actor on host ${this.address} is already constructed`)),
      invoke,
      attach: () => this.openShard(actor.actor),
      connector: () => {
        throw new UsageError(
          `An iterator over the actor on host ${this.address} cannot be sent to another thread: read it here`,
        );
      },
      terminate: async () => {
        failAll(new ClosedError(`The actor on host ${this.address} was terminated`));
        this.calls.delete(call);
        call.cancel();
      },
    };
  }

  /** Ends every stream to the host and closes its connection. */
  close(): void {
    this.closed = true;
    for (const call of this.calls) call.cancel();
    this.calls.clear();
    if (this.client) this.drop(this.client);
  }
}

/** This thread's links to hosts reached from iterators made in another thread, by host and options. */
const shared = new Map<string, HostLink>();

/**
 * The link of this thread to the host of a remote shard described in
 * another thread (a `runOn` iterator passed to a worker or an actor): one
 * per host and options, kept for the thread's life like a cluster that is
 * never closed.
 */
export function sharedLink(remote: RemoteShard): HostLink {
  const key = JSON.stringify([remote.address, remote.options]);
  let link = shared.get(key);
  if (!link) {
    link = new HostLink(remote.address, remote.options);
    shared.set(key, link);
  }
  return link;
}
