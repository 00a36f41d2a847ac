import * as fs from 'node:fs';
import { ArgumentRangeError, ArgumentTypeError, UsageError } from './errors';
import { ParallelIterator, type ShardTemplate } from './parallelIterator';
import { callerFile, resolveModule } from './internal/common/callerPath';
import type { ActorThread } from './internal/caller/place';
import { spawnActorModule, spawnActorThread } from './internal/caller/threadHost';
import { encodeArgs } from './internal/caller/transfer';
import { checkOptions, describeValue } from './internal/common/validate';
import type { ParallelIteratorWorker } from './worker';

const ACTOR = Symbol('pariter.actor');

/** The instance type of `C`: the class's instances when `C` is a class, else `C` itself. */
type InstanceOf<C> = C extends abstract new (...args: never) => infer I ? I : C;

/** The constructor arguments of `C` when it is a class (`typeof Rollouts`); else unchecked. */
type ConstructorArgs<C> = C extends abstract new (...args: infer A) => unknown ? A : unknown[];

/** The item type of an actor class. */
type ItemOf<C> = C extends ParallelIteratorWorker<infer T> ? T : unknown;

/** The methods of an actor class, as async calls from the calling thread. */
export type ActorMethods<C> = {
  readonly [
    K in keyof C as K extends '__items'
      ? never
      : C[K] extends (...args: never[]) => unknown
        ? K
        : never
  ]: C[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/**
 * A handle to a custom actor running in its own worker, as `spawnActor`
 * returns it: the actor class's methods, callable (async) from the calling
 * thread, and `terminate()`. `T` is the type of the actor's items.
 */
export interface ActorHandle<T = unknown> {
  /** Stops the actor's worker. An actor lives until this is called. */
  terminate(): Promise<void>;
  /** @internal */
  readonly [ACTOR]: ActorThread;
  /** @internal Carries the item type; never set. */
  readonly __items?: T;
}

/**
 * The worker `spawnActor` starts an actor in: the actor module's path (absolute,
 * or relative to the calling file), its `file:` URL, or a threads.js `Worker`
 * on it.
 */
type ActorWorker =
  string | URL | { addEventListener(...args: never[]): void; terminate(): unknown };

/** The absolute path of the actor module `specifier`, as written in the file `from`. */
function actorModule(specifier: string | URL, from: string | undefined): string {
  const what = `\`worker\` to be an actor module's path or file: URL`;
  let file: string;
  try {
    file = resolveModule(specifier, from);
  } catch (error) {
    throw new ArgumentTypeError(`Expected ${what}, got ${describeValue(String(specifier))}`, {
      cause: error,
    });
  }
  if (fs.existsSync(file) && fs.statSync(file).isFile()) return file;
  try {
    return require.resolve(file); // './rollouts' for './rollouts.js', as `require` finds it
  } catch {
    throw new ArgumentTypeError(
      `Expected ${what} that exists, got ${describeValue(String(specifier))}: there is no ${file}${from === undefined ? '' : ` (a relative path is resolved against ${from})`}`,
    );
  }
}

/**
 * Starts a custom actor: runs `new Actor(...args)` in a worker of its own,
 * on the module that called `exposeActor(Actor)`.
 *
 * The worker is the actor module itself: an absolute path, a `file:` URL
 * (string or `URL`, e.g. `new URL('./rollouts.js', import.meta.url)`), or a
 * path relative to the file that calls `spawnActor` (whatever the working
 * directory); a module without an extension is found as `require` finds it,
 * and a TypeScript module runs with Node's own type stripping where Node has
 * it, else under ts-node's transpile-only register. A
 * threads.js `Worker` on the module also works.
 *
 * The handle has the class's own methods (up to `ParallelIteratorWorker`),
 * each returning a promise of its result; arguments and results are
 * structured-cloned. Constructor and method arguments may be iterators (a
 * `ParallelIterator`, one of its shards, a `LocalIterator` made from a
 * gather), also over other actors: the actor reads them with threads of its
 * own. A call made between two pulls of a gather over the actor is applied
 * before the actor computes its next item. The actor lives until
 * `handle.terminate()`: its worker keeps the process alive until then.
 *
 * Give the actor's class as `C` (`spawnActor<typeof Rollouts>`) to have
 * `args` checked against its constructor; its instance type
 * (`spawnActor<Rollouts>`) types the handle only.
 *
 * @param worker - the actor module (`'./rollouts.js'`, an absolute path, a
 *   `file:` URL) or a threads.js `Worker` on it
 * @param args - the constructor's arguments
 * @returns the handle, once the actor is constructed
 * @throws ArgumentTypeError (rejected) when `worker` is neither, names no
 *   file, is a `worker_threads.Worker` (which is terminated), or its module
 *   does not call `exposeActor`; ShardError when its worker exits while it
 *   starts (its module threw or exited as it loaded); the constructor's error
 *   when it throws. The actor's worker is stopped in each case.
 * @example
 * ```ts
 * const a = await spawnActor<typeof Rollouts>('./rollouts.js', [1, 2]);
 * await a.setWeights(3);
 * await a.terminate();
 * ```
 */
export async function spawnActor<
  C extends
    | ParallelIteratorWorker<unknown>
    | (abstract new (...args: never) => ParallelIteratorWorker<unknown>),
>(
  worker: ActorWorker,
  ...args: ConstructorArgs<C>
): Promise<ActorHandle<ItemOf<InstanceOf<C>>> & ActorMethods<InstanceOf<C>>> {
  const byPath = typeof worker === 'string' || worker instanceof URL;
  // Before any await: the stack still shows the caller.
  const from = byPath ? callerFile() : undefined;
  const thread = byPath
    ? await spawnActorModule(actorModule(worker, from))
    : await spawnActorThread(worker);
  let methods: string[];
  try {
    const encoded = encodeArgs(args);
    methods = await thread.construct(encoded.args, encoded.transfer);
  } catch (error) {
    await thread.terminate();
    throw error;
  }
  return actorHandle(thread, methods);
}

/** @internal The handle of a constructed actor: its `methods`, async, and `terminate()`. */
export function actorHandle<
  C extends
    | ParallelIteratorWorker<unknown>
    | (abstract new (...args: never) => ParallelIteratorWorker<unknown>),
>(
  thread: ActorThread,
  methods: readonly string[],
): ActorHandle<ItemOf<InstanceOf<C>>> & ActorMethods<InstanceOf<C>> {
  const handle: Record<string | symbol, unknown> = {
    terminate: () => thread.terminate(),
    [ACTOR]: thread,
  };
  for (const method of methods) {
    handle[method] = async (...callArgs: unknown[]) => {
      const encoded = encodeArgs(callArgs);
      return thread.invoke(method, encoded.args, encoded.transfer);
    };
  }
  return Object.freeze(handle) as unknown as ActorHandle<ItemOf<InstanceOf<C>>> &
    ActorMethods<InstanceOf<C>>;
}

/**
 * A `ParallelIterator` whose shards are custom actors: one shard per handle,
 * read from the actors' own sources. Transformations chained on it run in the
 * actors' workers; after a gather, `currentActor` and `zipWithSourceActor()`
 * give the user's handles. Ending a run leaves the actors running, with
 * their state.
 *
 * An actor has one reader at a time: while a run (a gather, `getShard`,
 * `take`) reads it, another run over it, in this thread or another, fails
 * with a `UsageError` when it starts, and the first run keeps every item. A
 * run releases its actors when it ends (read to the end, `return()`,
 * `close()`, an error).
 *
 * @param actors - handles from `spawnActor`
 * @param options - `name`: the printed name instead of `fromActors[shards=N]`
 * @returns the iterator
 * @throws ArgumentRangeError when `actors` is empty;
 *   ArgumentTypeError when an element is not an actor handle;
 *   UsageError when an actor is there twice
 * @example
 * ```ts
 * await fromActors([a, b]).gatherSync().take(4); // [1, 3, 2, 4] for data [1, 2] and [3, 4]
 * ```
 */
export function fromActors<T>(
  actors: ActorHandle<T>[],
  options: { readonly name?: string } = {},
): ParallelIterator<T> {
  checkOptions(options, ['name']);
  if (!Array.isArray(actors)) {
    throw new ArgumentTypeError(
      `Expected \`actors\` to be an array of actor handles, got ${describeValue(actors)}`,
    );
  }
  if (actors.length === 0) {
    throw new ArgumentRangeError(
      `Expected \`actors\` to be a non-empty array of actor handles, got ${describeValue(actors)}`,
    );
  }
  const seen = new Map<ActorThread, number>();
  const templates = actors.map((actor, i): ShardTemplate => {
    const thread = (actor as Partial<ActorHandle<T>> | null)?.[ACTOR];
    if (!thread) {
      throw new ArgumentTypeError(
        `Expected \`actors[${i}]\` to be a handle from spawnActor(), got ${describeValue(actor)}`,
      );
    }
    const first = seen.get(thread);
    if (first !== undefined) {
      throw new UsageError(
        `Expected \`actors\` to hold each actor once, got the same actor at ${first} and ${i}: an actor is read by one reader at a time, so it can be one shard only`,
      );
    }
    seen.set(thread, i);
    return {
      source: { kind: 'actor' },
      repeat: false,
      ops: [],
      actor,
      attach: () => thread.attach(),
      connect: () => thread.connector(),
      ...(thread.host === undefined ? {} : { host: thread.host }),
    };
  });
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new ArgumentTypeError(
      `Expected \`name\` to be a string, got ${describeValue(options.name)}`,
    );
  }
  return new ParallelIterator<T>(options.name ?? `fromActors[shards=${actors.length}]`, templates);
}
