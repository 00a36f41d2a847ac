import type * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { configurePool, type PoolOptions } from './pool';
import { hostCredentials } from './internal/host/hostCredentials';
import { relayShard } from './internal/host/hostRelay';
import { serializeError, type FromShard } from './internal/wire/protocol';
import { knownKeys, maxMessageBytes, parseAddress } from './internal/common/remoteOptions';
import type { ActorThread, ShardThread } from './internal/caller/place';
import { spawnActorModule, startShardThread } from './internal/caller/threadHost';
import { nonNegativeInteger } from './internal/common/validate';
import {
  ACTOR_METADATA,
  channelOptions,
  encode,
  hostService,
  loadGrpc,
  type FromActor,
  type ToActor,
} from './internal/wire/service';

/** A host's certificate and key, and the CA its clients' certificates must be signed by (PEM). */
export interface HostTlsOptions {
  /** PEM of the host's certificate (its name or IP as clients dial it). */
  readonly cert: string | Uint8Array;
  /** PEM of the host's private key. */
  readonly key: string | Uint8Array;
  /** Clients must present a certificate signed by this CA (mutual TLS). */
  readonly clientCa: string | Uint8Array;
}

/** Options of {@link startHost}. */
export interface HostOptions {
  /** `host:port` to listen on; port 0 picks a free port (see {@link Host.port}). */
  readonly listen: string;
  /** Mutual TLS. Required on a non-loopback address unless `insecure`. */
  readonly tls?: HostTlsOptions;
  /** Listen on a non-loopback address without mutual TLS (warns on every start). */
  readonly insecure?: boolean;
  /** How shard threads are started. */
  /** The host's thread pool, as `configurePool` takes it (each shard run borrows a thread). */
  readonly pool?: PoolOptions;
  /** The largest message in bytes, as in `cluster()` (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Interval of keepalive pings to consumers, in ms (default 10000): a dead consumer's runs end within twice this. */
  readonly keepaliveMs?: number;
}

/** A running host (see {@link startHost}). */
export interface Host {
  /** The address it listens on, with the bound port. */
  readonly address: string;
  /** The bound port. */
  readonly port: number;
  /** Shard runs and actors it serves now. */
  stats(): {
    /** Shard runs open now. */
    readonly runs: number;
    /** Actors alive now. */
    readonly actors: number;
  };
  /** Stops listening, ends every run (their consumers see a `ShardError`) and actor; resolves when their threads are gone. */
  close(): Promise<void>;
  /** Same as {@link Host.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a pariter host in this process: it serves shard runs and actors to
 * `cluster()`s on other machines over gRPC, one bidirectional stream per
 * shard run, each run in a thread of its own with the same shard runtime as
 * a local shard. A run ends when its consumer stops, dies or stops
 * answering keepalive pings; its thread is then terminated.
 *
 * A host runs whatever code it is sent: on a non-loopback address it
 * requires mutual TLS (`tls`), unless `insecure` is set.
 *
 * @param options - `listen` (`'127.0.0.1:7100'`, port 0 for any), `tls`,
 *   `insecure`, `pool` (`resourceLimits` of each shard thread),
 *   `maxMessageBytes`, `keepaliveMs`
 * @returns the running host, once it listens
 * @throws ArgumentTypeError for a bad address or options, or a non-loopback
 *   address without `tls` or `insecure`; the listen error (rejected) when the
 *   port is taken
 * @example
 * ```ts
 * const host = await startHost({ listen: '127.0.0.1:0' });
 * const c = cluster([host.address]);
 * await fromRange(4).runOn(c).take(4); // [0, 2, 1, 3]
 * await c.close();
 * await host.close();
 * ```
 */
export async function startHost(options: HostOptions): Promise<Host> {
  knownKeys(options, ['listen', 'tls', 'insecure', 'pool', 'maxMessageBytes', 'keepaliveMs']);
  const { host } = parseAddress('listen', options.listen);
  if (options.pool !== undefined) configurePool(options.pool);
  const limit = maxMessageBytes(options.maxMessageBytes);
  const keepaliveMs = nonNegativeInteger('keepaliveMs', options.keepaliveMs ?? 10_000) || 10_000;
  const server = new (loadGrpc().Server)(channelOptions(keepaliveMs, limit));
  const actors = new Map<string, ActorThread>();
  const ending = new Set<Promise<void>>();
  let runs = 0;

  const track = (done: Promise<void>): void => {
    ending.add(done);
    void done.finally(() => ending.delete(done));
  };

  const shard = async (call: grpc.ServerDuplexStream<unknown, unknown>): Promise<void> => {
    const actorId = call.metadata.get(ACTOR_METADATA)[0];
    let thread: ShardThread;
    try {
      if (actorId === undefined) {
        thread = startShardThread();
      } else {
        const actor = actors.get(String(actorId));
        if (!actor) throw new Error('The actor is not on this host any more (it was terminated)');
        thread = await actor.attach();
        if (call.cancelled) {
          await thread.terminate();
          return;
        }
      }
    } catch (error) {
      const message: FromShard = {
        type: 'error',
        error: serializeError(error),
        hint: 'it could not start on the host',
      };
      call.end(encode(message, Number.MAX_SAFE_INTEGER));
      return;
    }
    runs++;
    let done!: () => void;
    track(new Promise<void>((resolve) => (done = resolve)));
    relayShard(call, thread, limit, () => {
      runs--;
      done();
    });
  };

  const actor = (call: grpc.ServerDuplexStream<unknown, unknown>): void => {
    let thread: Promise<ActorThread> | undefined;
    let id: string | undefined;
    let ended = false;
    const send = (message: FromActor): void => {
      if (ended) return;
      try {
        call.write(encode(message, limit));
      } catch (error) {
        if (message.type === 'spawned') throw error;
        call.write(encode({ type: 'failed', id: message.id, error: serializeError(error) }, limit));
      }
    };
    const end = (): void => {
      if (ended) return;
      ended = true;
      if (id !== undefined) actors.delete(id);
      if (thread) track(thread.then((t) => t.terminate()).catch(() => undefined));
    };
    call.on('data', (message: ToActor) => {
      if (message.type === 'spawn') {
        const file = path.resolve(message.modulePath);
        thread = spawnActorModule(file);
        thread
          .then(async (t) => {
            const methods = await t.construct(message.args, []);
            if (ended) return;
            id = randomUUID();
            actors.set(id, t);
            send({ type: 'spawned', actor: id, methods });
          })
          .catch((error: unknown) => {
            send({ type: 'failed', id: 0, error: serializeError(error) });
            call.end();
            end();
          });
        return;
      }
      const { id: callId, method, args } = message;
      void thread
        ?.then((t) => t.invoke(method, args, []))
        .then(
          (value) => send({ type: 'result', id: callId, value }),
          (error: unknown) => send({ type: 'failed', id: callId, error: serializeError(error) }),
        );
    });
    call.on('end', end);
    call.on('cancelled', end);
    call.on('error', end);
    call.on('close', end);
  };

  server.addService(hostService, {
    shard: (call: grpc.ServerDuplexStream<unknown, unknown>) => void shard(call),
    actor,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, hostCredentials(options, host), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const address = `${host}:${port}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      server.forceShutdown();
      for (const t of actors.values()) track(t.terminate());
      actors.clear();
      while (ending.size > 0) await Promise.all(ending);
    })());
  return Object.freeze({
    address,
    port,
    stats: () => ({ runs, actors: actors.size }),
    close,
    [Symbol.asyncDispose]: close,
  });
}
