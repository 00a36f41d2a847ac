/**
 * @internal
 * The one place that adapts threads.js on the calling side. It starts the
 * pool's shard workers (see `pool.ts`) and actors' workers and makes their
 * control calls; the data path is a `MessagePort` per shard, owned by
 * pariter. No threads.js type leaves this file.
 *
 * Traps of threads.js 1.7 handled here:
 * - importing it installs SIGINT/SIGTERM handlers that call `process.exit(0)`:
 *   they are removed right after the import, and whenever pariter is loaded;
 * - its `Worker` keeps every worker ever made in a module-level array and
 *   resolves paths against the caller's file: a plain `worker_threads.Worker`
 *   with the event-target methods threads.js needs is used instead;
 * - its workers keep the process alive: shard workers and their ports are
 *   held (ref-ed) only while a consumer waits on them, so a script that stops
 *   reading (or leaves idle threads in the pool) exits, and one that waits
 *   sees its worker die;
 *   only a port that waits for an answer holds the process open;
 * - a worker that dies after start leaves its calls pending: the caller is
 *   told through `onExit` and never waits on threads.js for data;
 * - `spawn` waits for the handshake behind a 10 s timer that nothing else
 *   clears: a worker that exits or is terminated first has its handshake
 *   released.
 */
import { MessageChannel, Worker as NativeWorker, type MessagePort } from 'node:worker_threads';
import * as path from 'node:path';
import { ArgumentTypeError, ShardError, UsageError } from '../../errors';
import { ActorLink } from './actorLink';
import type { DataPort, ResourceLimits } from '../common/nodeShapes';
import { ThreadPool, type PoolWorker } from './pool';
import type { ActorThread, ExitListener, ShardThread } from './place';
import type { ShardWorkerData, ToPoolThread } from '../wire/protocol';
import { describeValue } from '../common/validate';
import { nativeTypeScript, typeScriptLoader } from '../common/typeScript';

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
  const file = path.join(__dirname, '..', 'shard', `shardWorker${ext}`);
  // From TypeScript sources, a worker loads them as this thread does: with
  // Node's own type stripping when nothing else is registered, else ts-node.
  if (ext !== '.ts' || typeScriptLoader() === 'native') return { file, eval: false };
  const source = `require('ts-node/register/transpile-only'); require(${JSON.stringify(file)});`;
  return { file: source, eval: true };
}

/** What pariter needs of a worker: Node's `Worker` events and threads.js's event-target surface. */
type WorkerLike = NativeWorker & {
  addEventListener(event: string, listener: Listener): void;
  removeEventListener(event: string, listener: Listener): void;
};

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
}

/**
 * Starts a pooled shard worker through threads.js, with the worker's end of
 * its first shard's channel (if any) in its `workerData`: that shard is
 * usable at once, and threads.js's handshake goes on alongside, so the first
 * item does not wait for it. Further shards' ports are posted to the worker.
 */
function spawnPoolWorker(
  first: MessagePort | undefined,
  resourceLimits: ResourceLimits | undefined,
): PoolWorker {
  const script = shardWorkerScript();
  const workerData: ShardWorkerData = first ? { port: first } : {};
  const worker = new HostWorker(script.file, {
    eval: script.eval,
    workerData,
    transferList: first ? [first] : [],
    ...(resourceLimits ? { resourceLimits } : {}),
  });
  const spawned = new Spawned(worker as WorkerLike);
  let ready = false;
  // The shards do not depend on the handshake: one that times out (a first
  // item computing for longer than threads.js waits) changes nothing for them.
  spawned.spawn().then(
    () => (ready = true),
    () => undefined,
  );
  return {
    attach: (port) => {
      const message: ToPoolThread = { type: 'attach', port };
      try {
        worker.postMessage(message, [port]);
      } catch {
        port.close(); // the worker is gone: its exit fails the shard
      }
    },
    onExit: (listener) => void spawned.onExit(listener, false),
    ref: (held) => (held ? worker.ref() : worker.unref()),
    get ready() {
      return ready;
    },
    terminate: () => spawned.terminate(),
  };
}

/** The process's pool of shard threads (one per thread that runs pariter). */
export const shardPool = new ThreadPool(spawnPoolWorker);

/**
 * Borrows a slot on a pooled shard thread for one shard of `run` (the shards
 * of one run pass the same object). The shard is usable at once: what is
 * posted on its port waits for the thread. A thread that fails to start is
 * seen as its exit (see {@link ShardThread.onExit}).
 */
export function startShardThread(run?: object): ShardThread {
  return shardPool.borrow(run);
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
function withTransfer(value: unknown, transfer: readonly DataPort[]): unknown {
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
 * Spawns a plain worker on the absolute path `file`, whose module called
 * `exposeActor`, through threads.js's handshake like {@link spawnActorThread}.
 * A TypeScript module runs with Node's own type stripping where Node has it
 * (22.6+), else under ts-node's transpile-only register.
 *
 * @throws ArgumentTypeError when the module does not call `exposeActor`, or
 *   is TypeScript and neither is there; ShardError when its worker exits
 *   while it starts
 */
export async function spawnActorModule(file: string): Promise<ActorThread> {
  const ts = /\.(c?ts|tsx)$/i.test(file) && !nativeTypeScript();
  const script = ts
    ? `require(${JSON.stringify(tsNodeRegister(file))}); require(${JSON.stringify(file)});`
    : file;
  const worker = new HostWorker(script, { eval: ts });
  return startActor(new Spawned(worker as WorkerLike), file);
}
