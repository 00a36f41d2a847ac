import { inspectCustom } from './internal/common/nodeShapes';
import { actorHandle, type ActorHandle, type ActorMethods } from './actors';
import { ArgumentRangeError, ArgumentTypeError, ClosedError } from './errors';
import { HostLink, type LinkOptions, type TlsOptions } from './internal/caller/hostLink';
import { knownKeys, maxMessageBytes, parseAddress, pem } from './internal/common/remoteOptions';
import type { RemoteShard, ShardPlacement, ShardThread } from './internal/caller/place';
import { describeValue, nonNegativeInteger, positiveInteger } from './internal/common/validate';
import type { ParallelIteratorWorker } from './worker';

export type { TlsOptions as ClusterTlsOptions } from './internal/caller/hostLink';

/** Options of {@link cluster}. */
export interface ClusterOptions {
  /**
   * TLS to the hosts: `ca` (PEM) signed the hosts' certificates; `cert` and
   * `key` are this client's, for hosts that require mutual TLS. Without
   * it, connections are plaintext (loopback, or hosts started `--insecure`).
   */
  readonly tls?: TlsOptions;
  /**
   * Interval of keepalive pings, in ms (default 10000): a host that stops
   * answering fails its runs within twice this.
   */
  readonly keepaliveMs?: number;
  /** How long the first pull waits for a host to accept the connection, in ms (default 10000). */
  readonly connectTimeoutMs?: number;
  /**
   * The largest message in bytes (default 4 MiB, gRPC's default): an item, a
   * batch of items or a shard's plan. Give the host the same with
   * `--max-message-bytes`.
   */
  readonly maxMessageBytes?: number;
}

/** The default keepalive interval and connect timeout, in ms. */
const DEFAULT_KEEPALIVE_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * pariter hosts on other machines (see {@link cluster}): where
 * {@link ParallelIterator.runOn} runs shards and
 * {@link Cluster.spawnActor} starts actors.
 */
export class Cluster implements ShardPlacement {
  private readonly links: readonly HostLink[];
  private closed = false;

  /** @internal */
  constructor(
    /** The hosts' addresses, as given. */
    readonly hosts: readonly string[],
    private readonly options: LinkOptions,
  ) {
    this.links = hosts.map((address) => new HostLink(address, options));
  }

  private link(index: number): HostLink {
    if (this.closed) throw new ClosedError(`${String(this)} was closed`);
    return this.links[index % this.links.length] as HostLink;
  }

  /** @internal Where shard `index` runs: its host, and how to open a run there. */
  placeShard(index: number): {
    readonly host: string;
    readonly attach: () => Promise<ShardThread>;
    readonly remote: RemoteShard;
  } {
    const host = this.hosts[index % this.hosts.length] as string;
    return {
      host,
      attach: async () => this.link(index).openShard(),
      remote: { address: host, options: this.options },
    };
  }

  /**
   * Starts a custom actor in a thread of host `hostIndex`: its module (a
   * path on the host, absolute or relative to the host's working directory)
   * calls `exposeActor(Class)`, and `new Class(...args)` runs there. The
   * handle is the same as a local actor's: the class's methods (async) and
   * `terminate()`, usable in `fromActors`. The actor lives until
   * `terminate()`, the cluster's `close()`, or the end of this process.
   *
   * @param hostIndex - the host, an index into `hosts`
   * @param modulePath - the actor's module, on the host
   * @param args - the constructor's arguments (structured-cloned)
   * @returns the handle, once the actor is constructed
   * @throws ArgumentRangeError for a bad `hostIndex`; ArgumentTypeError for a
   *   bad `modulePath`; the host's or the constructor's error (rejected)
   * @example
   * ```ts
   * const a = await c.spawnActor<Rollouts>(0, '/srv/app/rollouts.js', [1, 2]);
   * await a.setWeights(3);
   * await fromActors([a]).gatherSync().take(2);
   * ```
   */
  async spawnActor<C extends ParallelIteratorWorker<unknown>>(
    hostIndex: number,
    modulePath: string,
    ...args: unknown[]
  ): Promise<
    ActorHandle<C extends ParallelIteratorWorker<infer T> ? T : unknown> & ActorMethods<C>
  > {
    const index = nonNegativeInteger('hostIndex', hostIndex);
    if (index >= this.hosts.length) {
      throw new ArgumentRangeError(
        `Expected \`hostIndex\` to be a host index from 0 to ${this.hosts.length - 1}, got ${index}`,
      );
    }
    if (typeof modulePath !== 'string' || modulePath === '') {
      throw new ArgumentTypeError(
        `Expected \`modulePath\` to be the path of the actor's module on the host, got ${describeValue(modulePath)}`,
      );
    }
    const host = this.hosts[index] as string;
    const thread = await this.link(index).spawnActor(modulePath, args);
    return actorHandle<C>({ ...thread, host }, thread.methods) as never;
  }

  /**
   * Ends every run and actor on the cluster (pending pulls reject with a
   * `ShardError` whose cause is a `ClosedError`) and closes the connections.
   *
   * @returns when the connections are closed
   * @example
   * ```ts
   * await c.close();
   * ```
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links) link.close();
  }

  /** Same as {@link Cluster.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @returns the printed name, `cluster[n hosts]` */
  toString(): string {
    return `cluster[${this.hosts.length} hosts]`;
  }

  /** @internal */
  [inspectCustom](): string {
    return this.toString();
  }
}

/**
 * pariter hosts on other machines, each started with `pariter-host` (or
 * {@link startHost}), for {@link ParallelIterator.runOn} and
 * {@link Cluster.spawnActor}. Nothing connects until the first pull.
 *
 * @param hosts - `'host:port'` addresses, at least one
 * @param options - `tls`, `keepaliveMs`, `connectTimeoutMs`, `maxMessageBytes`
 * @returns the cluster
 * @throws ArgumentRangeError when `hosts` is empty or a number is out of
 *   range; ArgumentTypeError for a bad address or an unknown option
 * @example
 * ```ts
 * const c = cluster(['127.0.0.1:7100']);
 * await fromRange(4).runOn(c).take(4); // [0, 2, 1, 3]
 * await c.close();
 * ```
 */
export function cluster(hosts: readonly string[], options: ClusterOptions = {}): Cluster {
  if (!Array.isArray(hosts)) {
    throw new ArgumentTypeError(
      `Expected \`hosts\` to be an array of 'host:port' addresses, got ${describeValue(hosts)}`,
    );
  }
  if (hosts.length === 0) {
    throw new ArgumentRangeError(
      `Expected \`hosts\` to be a non-empty array of 'host:port' addresses, got ${describeValue(hosts)}`,
    );
  }
  hosts.forEach((host, i) => parseAddress(`hosts[${i}]`, host));
  knownKeys(options, ['tls', 'keepaliveMs', 'connectTimeoutMs', 'maxMessageBytes']);
  let tls: TlsOptions | undefined;
  if (options.tls !== undefined) {
    knownKeys(options.tls, ['ca', 'cert', 'key'], 'tls');
    const { ca, cert, key } = options.tls;
    if ((cert === undefined) !== (key === undefined)) {
      throw new ArgumentTypeError(
        `Expected \`tls.cert\` and \`tls.key\` together (this client's certificate and key), got only ${cert === undefined ? '`tls.key`' : '`tls.cert`'}`,
      );
    }
    tls = {
      ca: pem('tls.ca', ca),
      ...(cert === undefined ? {} : { cert: pem('tls.cert', cert) }),
      ...(key === undefined ? {} : { key: pem('tls.key', key) }),
    };
  }
  return new Cluster([...hosts], {
    tls,
    keepaliveMs: positiveInteger('keepaliveMs', options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS),
    connectTimeoutMs: positiveInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ),
    maxMessageBytes: maxMessageBytes(options.maxMessageBytes),
  });
}
