import { ArgumentRangeError, ArgumentTypeError } from './errors';
import { ParallelIterator, type ShardTemplate } from './parallelIterator';
import { spawnActorThread, type ActorThread } from './internal/threadHost';
import { checkOptions, describeValue } from './internal/validate';
import type { ParallelIteratorWorker } from './worker';

const ACTOR = Symbol('pariter.actor');

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
 * Starts a custom actor: runs `new Actor(...args)` in `worker`, whose module
 * called `exposeActor(Actor)`.
 *
 * The handle has the class's own methods (up to `ParallelIteratorWorker`),
 * each returning a promise of its result; arguments and results are
 * structured-cloned. A call made between two pulls of a gather over the actor
 * is applied before the actor computes its next item. The actor lives until
 * `handle.terminate()`: its worker keeps the process alive until then.
 *
 * @param worker - a threads.js `Worker` for the actor's module, e.g. `new Worker('./rollouts')`
 * @param args - the constructor's arguments
 * @returns the handle, once the actor is constructed
 * @throws ArgumentTypeError when `worker` is not a worker; the constructor's
 *   error (rejected) when it throws
 * @example
 * ```ts
 * const a = await spawnActor<Rollouts>(new Worker('./rollouts'), [1, 2]);
 * await a.setWeights(3);
 * await a.terminate();
 * ```
 */
export async function spawnActor<C extends ParallelIteratorWorker<unknown>>(
  worker: unknown,
  ...args: unknown[]
): Promise<ActorHandle<ItemOf<C>> & ActorMethods<C>> {
  const thread = await spawnActorThread(worker);
  let methods: string[];
  try {
    methods = (await thread.call('construct', args)) as string[];
  } catch (error) {
    await thread.terminate();
    throw error;
  }
  return actorHandle(thread, methods);
}

/** @internal The handle of a constructed actor: its `methods`, async, and `terminate()`. */
export function actorHandle<C extends ParallelIteratorWorker<unknown>>(
  thread: ActorThread,
  methods: readonly string[],
): ActorHandle<ItemOf<C>> & ActorMethods<C> {
  const handle: Record<string | symbol, unknown> = {
    terminate: () => thread.terminate(),
    [ACTOR]: thread,
  };
  for (const method of methods) {
    handle[method] = (...callArgs: unknown[]) => thread.call('invoke', method, callArgs);
  }
  return Object.freeze(handle) as unknown as ActorHandle<ItemOf<C>> & ActorMethods<C>;
}

/**
 * A `ParallelIterator` whose shards are custom actors: one shard per handle,
 * read from the actors' own sources. Transformations chained on it run in the
 * actors' workers; after a gather, `currentActor` and `zipWithSourceActor()`
 * give the user's handles. Ending a run leaves the actors running, with
 * their state.
 *
 * @param actors - handles from `spawnActor`
 * @param options - `name`: the printed name instead of `fromActors[shards=N]`
 * @returns the iterator
 * @throws ArgumentRangeError when `actors` is empty;
 *   ArgumentTypeError when an element is not an actor handle
 * @example
 * ```ts
 * await fromActors([a, b]).gatherSync().take(4); // [1, 3, 2, 4] for data [1, 2] and [3, 4]
 * ```
 */
export function fromActors<T>(
  actors: ActorHandle<T>[],
  options: { readonly name?: string } = {},
): ParallelIterator<T> {
  checkOptions(options);
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
  const templates = actors.map((actor, i): ShardTemplate => {
    const thread = (actor as Partial<ActorHandle<T>> | null)?.[ACTOR];
    if (!thread) {
      throw new ArgumentTypeError(
        `Expected \`actors[${i}]\` to be a handle from spawnActor(), got ${describeValue(actor)}`,
      );
    }
    return {
      source: { kind: 'actor' },
      repeat: false,
      ops: [],
      actor,
      attach: () => thread.attach(),
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
