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
 * - its workers keep the process alive: shard workers are `unref()`-ed, and
 *   only a port that waits for an answer holds the process open;
 * - a worker that dies after start leaves its calls pending: the caller is
 *   told through `onExit` and never waits on threads.js for data.
 */
import { MessageChannel, Worker as NativeWorker, type MessagePort } from 'node:worker_threads';
import * as path from 'node:path';

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
  /** Called once if the worker exits on its own (not by `terminate`). */
  onExit(listener: (exitCode: number) => void): void;
  /** Lets the process exit while this worker is idle. */
  unref(): void;
  /** Stops the worker; resolves when its thread is gone. */
  terminate(): Promise<void>;
}

/** Options for a shard worker. */
export interface ShardThreadOptions {
  /** Passed to `worker_threads` (heap limits for a worker). */
  readonly resourceLimits?: import('node:worker_threads').ResourceLimits;
}

/**
 * Starts a shard worker through threads.js and hands it the worker's end of a
 * fresh `MessageChannel`.
 */
export async function startShardThread(options: ShardThreadOptions = {}): Promise<ShardThread> {
  const script = shardWorkerScript();
  const worker = new HostWorker(script.file, {
    eval: script.eval,
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
  });
  let terminating = false;
  let exitListener: ((exitCode: number) => void) | undefined;
  let exitCode: number | undefined;
  let workerError: unknown;
  // threads.js leaves calls pending when a worker dies, so every wait on it
  // races the worker's exit.
  const exited = new Promise<never>((_, reject) => {
    worker.once('exit', (code: number) => {
      exitCode = code;
      if (!terminating) exitListener?.(code);
      reject(
        new Error(`The shard worker exited with code ${code} while starting`, { cause: workerError }),
      );
    });
  });
  exited.catch(() => undefined);
  // An error thrown at the top level of the worker is followed by 'exit'.
  worker.on('error', (error: unknown) => (workerError = error));

  const terminate = async (): Promise<void> => {
    if (terminating) return;
    terminating = true;
    if (exitCode === undefined) await worker.terminate();
  };

  try {
    const thread = (await Promise.race([threads.spawn(worker as never), exited])) as unknown as {
      start(port: unknown): Promise<void>;
    };
    const { port1, port2 } = new MessageChannel();
    await Promise.race([thread.start(threads.Transfer(port2 as never, [port2 as never])), exited]);
    return {
      port: port1,
      onExit(listener) {
        exitListener = listener;
        if (exitCode !== undefined && !terminating) listener(exitCode);
      },
      unref: () => worker.unref(),
      terminate,
    };
  } catch (error) {
    await terminate();
    throw error;
  }
}
