/**
 * What a custom actor's worker module needs: `pariter/worker`.
 *
 * @packageDocumentation
 * @module pariter/worker
 */
import { ArgumentTypeError, UsageError } from './errors';
import type { Puller } from './internal/common/pullPipeline';
import { repeating, openIterable } from './internal/common/sources';
import { describeValue } from './internal/common/validate';
import { exposeWorker } from './internal/shard/workerHost';

/**
 * Rebuilds the iterators among an actor's arguments. The iterator machinery
 * is loaded only when an argument is one.
 */
function decodeArgs(args: readonly unknown[]): unknown[] {
  if (!args.some((arg) => typeof arg === 'object' && arg !== null)) return [...args];
  type Transfer = typeof import('./internal/caller/transfer');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const transfer = require('./internal/caller/transfer') as Transfer;
  return transfer.decodeArgs(args);
}

const SOURCE = Symbol('pariter.actorSource');

/** What an actor's items come from: an iterable, or a function of the actor that returns one. */
export type ActorSource<T> =
  Iterable<T> | AsyncIterable<T> | ((this: never) => Iterable<T> | AsyncIterable<T>);

/**
 * The base class of a custom actor: a long-lived worker that produces a
 * shard's items and has methods of its own that the calling thread can call
 * between pulls (Ray's `ParallelIteratorWorker`).
 *
 * Subclass it in a worker module, call `exposeActor(YourClass)` there, and
 * start it from the calling thread with `spawnActor('./module.js', ...args)`.
 * `fromActors([...handles])` then reads the actors as the shards of a
 * `ParallelIterator`; transformations chained on it run in the actors'
 * workers. The source is shared by all the runs over the actor, so a second
 * gather continues where the first stopped.
 *
 * @example
 * ```ts
 * // rollouts.ts, the worker module
 * class Rollouts extends ParallelIteratorWorker<number> {
 *   weights = 0;
 *   constructor(data: number[]) { super(data, false); }
 *   setWeights(w: number) { this.weights = w; }
 * }
 * exposeActor(Rollouts);
 * ```
 */
export class ParallelIteratorWorker<T> {
  /** @internal */
  readonly [SOURCE]: Puller<unknown>;
  /** @internal Carries the item type for `fromActors`; never set. */
  declare readonly __items?: T;

  /**
   * @param source - the items: an iterable or async iterable, or a function
   *   called with the actor as `this` (again for each cycle when `repeat`),
   *   for items that depend on the actor's state
   * @param repeat - cycle the source forever (default false)
   * @throws ArgumentTypeError when `source` is not an iterable or a function
   */
  constructor(source: ActorSource<T>, repeat = false) {
    if (typeof repeat !== 'boolean') {
      throw new ArgumentTypeError(
        `Expected \`repeat\` to be a boolean, got ${describeValue(repeat)}`,
      );
    }
    const s = source as Partial<Iterable<T> & AsyncIterable<T>> | null;
    if (
      typeof source !== 'function' &&
      typeof s?.[Symbol.iterator] !== 'function' &&
      typeof s?.[Symbol.asyncIterator] !== 'function'
    ) {
      throw new ArgumentTypeError(
        `Expected \`source\` to be an iterable, an async iterable or a function, got ${describeValue(source)}`,
      );
    }
    const open = (): Iterator<unknown> | AsyncIterator<unknown> =>
      openIterable(
        typeof source === 'function' ? (source as (this: unknown) => unknown).call(this) : source,
        "the actor's source",
      );
    this[SOURCE] = repeating(open, repeat);
  }
}

/** The names of the methods of `instance` up to `ParallelIteratorWorker`. */
function methodNames(instance: object): string[] {
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(instance) as object | null;
    proto && proto !== ParallelIteratorWorker.prototype && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (name !== 'constructor' && typeof descriptor?.value === 'function') names.add(name);
    }
  }
  names.delete('terminate');
  return [...names];
}

/**
 * Makes this worker module a custom actor of class `Actor`: call it once, at
 * the top level of the module that `spawnActor` starts.
 *
 * @param Actor - a subclass of {@link ParallelIteratorWorker}
 * @throws ArgumentTypeError when `Actor` is not such a class
 * @example
 * ```ts
 * exposeActor(Rollouts);
 * ```
 */
export function exposeActor<A extends ParallelIteratorWorker<unknown>>(
  Actor: new (...args: never[]) => A,
): void {
  if (typeof Actor !== 'function' || !(Actor.prototype instanceof ParallelIteratorWorker)) {
    throw new ArgumentTypeError(
      `Expected \`Actor\` to be a class that extends ParallelIteratorWorker, got ${describeValue(Actor)}`,
    );
  }
  let instance: A | undefined;
  const actor = (): A => {
    if (!instance)
      throw new UsageError('The actor was not constructed: start it with spawnActor()');
    return instance;
  };
  exposeWorker({
    construct: async (args) => {
      if (instance) throw new UsageError('The actor was already constructed');
      instance = new Actor(...(decodeArgs(args) as never[]));
      return methodNames(instance);
    },
    invoke: async (method, encoded) => {
      const args = decodeArgs(encoded);
      const fn = (actor() as unknown as Record<string, unknown>)[method];
      if (typeof fn !== 'function') {
        throw new ArgumentTypeError(
          `Expected \`${method}\` to be a method of the actor, got ${describeValue(fn)}`,
        );
      }
      return (await (fn as (...a: unknown[]) => unknown).apply(instance, args)) as unknown;
    },
    source: () => actor()[SOURCE],
  });
}
