/**
 * @internal
 * The one place that adapts threads.js on the calling side. It starts shard
 * workers and makes their control calls; the data path is a `MessagePort`
 * owned by pariter. No threads.js type leaves this file.
 *
 * Traps of threads.js 1.7 handled here:
 * - importing it installs SIGINT/SIGTERM handlers that call `process.exit(0)`:
 *   they are removed right after the import, and whenever pariter is loaded;
 * - its `Worker` keeps every worker ever made in a module-level array and
 *   resolves paths against the caller's file: a plain `worker_threads.Worker`
 *   with the event-target methods threads.js needs is used instead;
 * - its workers keep the process alive: shard workers and their ports are
 *   held (ref-ed) only while a consumer waits on them, so a script that stops
 *   reading exits, and one that waits sees its worker die;
 *   only a port that waits for an answer holds the process open;
 * - a worker that dies after start leaves its calls pending: the caller is
 *   told through `onExit` and never waits on threads.js for data;
 * - `spawn` waits for the handshake behind a 10 s timer that nothing else
 *   clears: a worker that exits or is terminated first has its handshake
 *   released.
 */
import { MessageChannel, Worker as NativeWorker, type MessagePort } from 'node:worker_threads';
import * as path from 'node:path';
import { ArgumentTypeError, ShardError, UsageError } from '../errors';
import { ActorLink } from './actorLink';
import type { ShardWorkerData } from './protocol';
import { describeValue } from './validate';

type Listener = (...args: unknown[]) => void;

function threadsSignalListeners(signal: NodeJS.Signals): Listener[] {
  return (process.listeners(signal) as Listener[]).filter((listener) =>
    /terminateWorkersAndMaster/.test(String(listener)),
  );
}

function loadThreads(): typeof import('threads') {
  const before = new Map<NodeJS.Signals, Set<Listener>>();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    before.set(signal, new Set(process.listeners(signal) as Listener[]));
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const threads = require('threads') as typeof import('threads');
  for (const [signal, had] of before) {
    for (const listener of process.listeners(signal) as Listener[]) {
      if (!had.has(listener)) process.off(signal, listener);
    }
    for (const listener of threadsSignalListeners(signal)) process.off(signal, listener);
  }
  return threads;
}

const threads = loadThreads();

/** Converts values passed to or returned by threads.js calls; `next` handles the rest. */
export interface ValueSerializer {
  serialize(value: unknown, next: (value: unknown) => unknown): unknown;
  deserialize(message: unknown, next: (message: unknown) => unknown): unknown;
}

/** Adds a serializer for the arguments and results of every threads.js call in this thread. */
export function registerValueSerializer(serializer: ValueSerializer): void {
  threads.registerSerializer(serializer as never);
}

/** The event-target surface threads.js's `spawn` expects of a worker. */
class HostWorker extends NativeWorker {
  private readonly mapped = new WeakMap<Listener, Listener>();

  addEventListener(event: string, listener: Listener): void {
    const mapped: Listener = (data) => listener({ data });
    this.mapped.set(listener, mapped);
    this.on(event, mapped);
  }

  removeEventListener(event: string, listener: Listener): void {
    this.off(event, this.mapped.get(listener) ?? listener);
  }
}

/** The shard worker's script, next to this file (`.ts` under ts-node). */
function shardWorkerScript(): { file: string; eval: boolean } {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `shardWorker${ext}`);
  if (ext !== '.ts') return { file, eval: false };
  const source = `require('ts-node/register/transpile-only'); require(${JSON.stringify(file)});`;
  return { file: source, eval: true };
}

/** A started shard worker, seen through its data port. */
export interface ShardThread {
  /** The calling thread's end of the shard's data channel. */
  readonly port: MessagePort;
  /**
   * Called once if the worker exits other than by this shard's `terminate`
   * (for an actor, also when its handle terminates it), with the error the
   * worker reported, if any (e.g. `ERR_WORKER_OUT_OF_MEMORY`).
   */
  onExit(listener: ExitListener): void;
  /**
   * Whether the worker keeps the process alive: `true` while a consumer
   * waits on it (so that its death is seen), `false` while it is idle.
   */
  hold(held: boolean): void;
  /**
   * Ends the shard: stops its worker, or for an actor closes the data port
   * and leaves the actor running. Resolves when that is done.
   */
  terminate(): Promise<void>;
}

/** Options for a shard worker. */
export interface ShardThreadOptions {
  /** Passed to `worker_threads` (heap limits for a worker). */
  readonly resourceLimits?: import('node:worker_threads').ResourceLimits;
}

/** What pariter needs of a worker: Node's `Worker` events and threads.js's event-target surface. */
type WorkerLike = NativeWorker & {
  addEventListener(event: string, listener: Listener): void;
  removeEventListener(event: string, listener: Listener): void;
};

/** Told of a worker's exit: its code, and the error it reported, if any. */
export type ExitListener = (exitCode: number | undefined, error: unknown) => void;

/** How a worker's exit reaches its pending calls. */
class WorkerExit extends Error {
  constructor(
    readonly exitCode: number,
    /** Ended by `terminate()` (for an actor, its handle's). */
    readonly terminated: boolean,
    cause: unknown,
  ) {
    super(
      terminated
        ? 'The worker was terminated'
        : `The worker exited with code ${exitCode}${cause instanceof Error ? ` (${cause.message})` : ''}`,
      { cause },
    );
  }
}

/** What a run over an actor is told when the actor's handle terminated it. */
const terminated = (): Error => new Error('The worker was terminated (terminate() on its handle)');

/** A worker spawned through threads.js, with its exit watched. */
class Spawned {
  private terminating = false;
  private exitCode: number | undefined;
  private workerError: unknown;
  /** Listeners, each told also of an exit by `terminate()` when `always`. */
  private readonly exitListeners = new Map<ExitListener, { readonly always: boolean }>();
  /** Rejects when the worker exits: threads.js leaves calls pending then, so every wait races it. */
  readonly exited: Promise<never>;
  private proxy: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  /** threads.js's handshake has begun and not yet ended. */
  private handshaking = false;
  /** The `message` listeners added during the handshake (Node drops them before `exit`). */
  private readonly handshakeListeners: Listener[] = [];
  private readonly recordListener = (event: string | symbol, listener: Listener): void => {
    if (event === 'message') this.handshakeListeners.push(listener);
  };

  constructor(readonly worker: WorkerLike) {
    // An uncaught error or running out of memory is reported before 'exit'.
    worker.on('error', (error: unknown) => (this.workerError = error));
    this.exited = new Promise<never>((_, reject) => {
      worker.once('exit', (code: number) => {
        this.exitCode = code;
        if (this.handshaking) this.releaseHandshake();
        for (const [listener, { always }] of this.exitListeners) {
          if (!always && this.terminating) continue;
          listener(code, this.workerError ?? (this.terminating ? terminated() : undefined));
        }
        reject(new WorkerExit(code, this.terminating, this.workerError));
      });
    });
    this.exited.catch(() => undefined);
  }

  /** threads.js's `spawn`: waits for the worker's handshake. */
  spawn(): Promise<void> {
    this.handshaking = true;
    this.worker.on('newListener', this.recordListener);
    const spawning = Promise.race([threads.spawn(this.worker as never), this.exited]).then(
      (proxy) => {
        this.proxy = proxy as unknown as typeof this.proxy;
      },
    );
    spawning.then(
      () => this.endHandshake(),
      () => this.endHandshake(),
    );
    return spawning;
  }

  private endHandshake(): void {
    this.handshaking = false;
    this.worker.off('newListener', this.recordListener);
    this.handshakeListeners.length = 0;
  }

  /**
   * threads.js waits for a worker's handshake behind a 10 s timer that only
   * the handshake clears: a worker that exits before it would keep the
   * process alive that long. Its listeners are handed an empty handshake.
   */
  private releaseHandshake(): void {
    const handshake = { type: 'init', exposed: { type: 'module', methods: [] } };
    for (const listener of this.handshakeListeners) listener(handshake);
  }

  /** Whether the worker's module exposed `method` (after the handshake). */
  exposes(method: string): boolean {
    return typeof this.proxy[method] === 'function';
  }

  /** Makes a control call. */
  call(method: string, ...args: unknown[]): Promise<unknown> {
    const fn = this.proxy[method];
    if (!fn) return Promise.reject(new Error(`The worker does not expose \`${method}\``));
    return Promise.race([fn(...args), this.exited]);
  }

  /** Whether the worker has exited. */
  hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  /** `always`: also when the worker is terminated (a run over an actor it does not own). */
  onExit(listener: ExitListener, always: boolean): () => void {
    if (this.exitCode !== undefined && (always || !this.terminating)) {
      listener(this.exitCode, this.workerError ?? (this.terminating ? terminated() : undefined));
    }
    this.exitListeners.set(listener, { always });
    return () => this.exitListeners.delete(listener);
  }

  async terminate(): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    // One ended mid-handshake has it released on exit (see releaseHandshake).
    if (this.exitCode === undefined) await this.worker.terminate();
  }

  /** The shard on `port1`; `ownsWorker` when ending the shard ends the worker. */
  shard(port1: MessagePort, ownsWorker: boolean): ShardThread {
    const removers: Array<() => void> = [];
    return {
      port: port1,
      onExit: (listener) => void removers.push(this.onExit(listener, !ownsWorker)),
      hold: (held) => {
        if (held) port1.ref();
        else port1.unref();
        if (ownsWorker && held) this.worker.ref();
        else if (ownsWorker) this.worker.unref();
      },
      terminate: async () => {
        for (const remove of removers) remove();
        port1.close();
        if (ownsWorker) await this.terminate();
      },
    };
  }
}

/**
 * Starts a shard worker through threads.js, with the worker's end of a fresh
 * `MessageChannel` in its `workerData`. The shard is usable at once: what is
 * posted on its port waits for the worker, and threads.js's handshake goes on
 * alongside, so the first item does not wait for it. A worker that fails to
 * start is seen as its exit (see {@link ShardThread.onExit}).
 */
export function startShardThread(options: ShardThreadOptions = {}): ShardThread {
  const script = shardWorkerScript();
  const { port1, port2 } = new MessageChannel();
  const workerData: ShardWorkerData = { port: port2 };
  const worker = new HostWorker(script.file, {
    eval: script.eval,
    workerData,
    transferList: [port2],
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
  });
  const spawned = new Spawned(worker as WorkerLike);
  // The shard does not depend on the handshake: one that times out (its first
  // item computing for longer than threads.js waits) changes nothing for it.
  spawned.spawn().catch(() => undefined);
  return spawned.shard(port1, true);
}

/** A custom actor's worker, as the calling thread drives it. */
export interface ActorThread {
  /**
   * Constructs the actor with `args` (encoded, with `transfer` the ports in
   * them to move rather than copy); resolves to its methods' names.
   */
  construct(args: readonly unknown[], transfer: readonly MessagePort[]): Promise<string[]>;
  /** Calls one of the actor's methods, with arguments as for `construct`. */
  invoke(
    method: string,
    args: readonly unknown[],
    transfer: readonly MessagePort[],
  ): Promise<unknown>;
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
  connector(): MessagePort;
  /** Stops the actor's worker. */
  terminate(): Promise<void>;
}

/** How a starting actor is named in errors. */
const ACTOR_ORIGIN = (what: string) => ({ iterator: `spawnActor(${what})`, shard: 0 });

function notAnActor(what: string, cause?: unknown): ArgumentTypeError {
  return new ArgumentTypeError(
    `Expected \`worker\` to be an actor module, got ${what}, which does not call exposeActor(): call exposeActor(YourActorClass) at the top level of the module (from 'pariter/worker')`,
    cause === undefined ? undefined : { cause },
  );
}

/** The pariter error for an actor's worker that failed to start. */
function startError(error: unknown, what: string): Error {
  if (error instanceof ArgumentTypeError) return error;
  if (error instanceof WorkerExit) {
    if (error.exitCode === 0 && error.cause === undefined) return notAnActor(what);
    return new ShardError(
      ACTOR_ORIGIN(what),
      `the actor's worker exited with code ${error.exitCode} while it started${error.cause instanceof Error ? ` (${error.cause.message})` : ''}: its module threw or exited as it loaded; check that it loads on its own`,
      error.cause ?? error,
    );
  }
  // threads.js's handshake timed out: the module never exposed anything.
  return notAnActor(what, error);
}

/** A control call's argument, with the ports in it moved rather than copied. */
function withTransfer(value: unknown, transfer: readonly MessagePort[]): unknown {
  return transfer.length === 0 ? value : threads.Transfer(value as never, transfer as never[]);
}

/** Opens this thread's connector to a spawned actor, and the actor's controls. */
async function startActor(spawned: Spawned, what: string): Promise<ActorThread> {
  let link: ActorLink;
  try {
    await spawned.spawn();
    if (!spawned.exposes('construct') || !spawned.exposes('connect')) throw notAnActor(what);
    const connector = (): MessagePort => {
      const { port1, port2 } = new MessageChannel();
      spawned.call('connect', threads.Transfer(port2 as never, [port2 as never])).catch(() => {
        port1.close();
      });
      return port1;
    };
    link = new ActorLink(connector(), spawned.exited, (listener) => spawned.onExit(listener, true));
    return {
      construct: async (args, transfer) =>
        (await spawned.call('construct', withTransfer(args, transfer))) as string[],
      invoke: (method, args, transfer) =>
        spawned.call('invoke', method, withTransfer(args, transfer)),
      attach: () => link.attach(),
      connector: () => {
        if (spawned.hasExited()) {
          throw new UsageError(
            "An iterator over this actor cannot be sent: the actor's worker has exited or was terminated; spawn a new actor",
          );
        }
        return connector();
      },
      terminate: () => spawned.terminate(),
    };
  } catch (error) {
    await spawned.terminate();
    throw startError(error, what);
  }
}

/** Whether `worker` is a `worker_threads.Worker` rather than threads.js's. */
function isNativeWorker(worker: unknown): worker is NativeWorker {
  return (
    worker instanceof NativeWorker &&
    typeof (worker as Partial<WorkerLike>).addEventListener !== 'function'
  );
}

/**
 * Spawns a user's worker (threads.js's `Worker`) whose module called
 * `exposeActor`.
 *
 * @throws ArgumentTypeError when `worker` is not a running threads.js worker
 *   (a `worker_threads.Worker` is terminated first), or its module does not
 *   call `exposeActor`; ShardError when it exits while it starts
 */
export async function spawnActorThread(worker: unknown): Promise<ActorThread> {
  if (isNativeWorker(worker)) {
    await worker.terminate();
    throw new ArgumentTypeError(
      "Expected `worker` to be a threads.js Worker or an actor module's path, got a worker_threads Worker (now terminated): pass the module's path instead, spawnActor('./actor.js')",
    );
  }
  const w = worker as Partial<WorkerLike> | null;
  if (
    typeof w !== 'object' ||
    w === null ||
    typeof w.addEventListener !== 'function' ||
    typeof w.once !== 'function' ||
    typeof w.terminate !== 'function'
  ) {
    throw new ArgumentTypeError(
      `Expected \`worker\` to be a threads.js Worker or an actor module's path or file: URL, got ${describeValue(worker)}`,
    );
  }
  if ((w as WorkerLike).threadId === -1) {
    throw new ArgumentTypeError(
      "Expected `worker` to be a running threads.js Worker, got one that has exited: pass a new Worker, or the actor module's path",
    );
  }
  return startActor(new Spawned(w as WorkerLike), "a threads.js Worker's module");
}

/** ts-node's transpile-only register, resolved from `file`'s folder or this package. */
function tsNodeRegister(file: string): string {
  const request = 'ts-node/register/transpile-only';
  try {
    return require.resolve(request, { paths: [path.dirname(file), process.cwd()] });
  } catch {
    try {
      return require.resolve(request);
    } catch (error) {
      throw new ArgumentTypeError(
        `Expected ts-node to be installed to run the TypeScript actor module ${file}: npm install --save-dev ts-node, or pass the compiled .js module`,
        { cause: error },
      );
    }
  }
}

/**
 * Spawns a plain worker on the absolute path `file` (a TypeScript module
 * under ts-node's transpile-only register), whose module called
 * `exposeActor`, through threads.js's handshake like {@link spawnActorThread}.
 *
 * @throws ArgumentTypeError when the module does not call `exposeActor`;
 *   ShardError when its worker exits while it starts
 */
export async function spawnActorModule(file: string): Promise<ActorThread> {
  const ts = /\.(c?ts|tsx)$/i.test(file);
  const script = ts
    ? `require(${JSON.stringify(tsNodeRegister(file))}); require(${JSON.stringify(file)});`
    : file;
  const worker = new HostWorker(script, { eval: ts });
  return startActor(new Spawned(worker as WorkerLike), file);
}
