/**
 * @internal
 * Types and checks shared by the public methods that take functions.
 */
import { ArgumentTypeError } from '../../errors';
import { describeValue } from './validate';

/**
 * A function applied to each item: it may return a promise, or be an object
 * with a `call(item)` method (a stateful callable).
 */
export type ItemFn<T, U> = ((item: T) => U | PromiseLike<U>) | Callable<T, U>;

/**
 * A stateful callable: an object whose `call(item)` method is applied to
 * each item. (`bind?: never` keeps plain functions, which also have a `call`
 * method, out of this type. Methods that take an `ItemFn` and return its
 * results have one signature per form, since inferring the result type from
 * the union would also read a plain function's `call` method.)
 */
export interface Callable<T, U> {
  /** Called with each item, in order; may return a promise. */
  call(item: T): U | PromiseLike<U>;
  /** Never set: tells a callable object apart from a plain function. */
  readonly bind?: never;
}

/** Options of the methods whose function runs in shards. */
export interface ContextOptions {
  /**
   * Values the function may use by name: structured-cloned into each worker
   * (a `SharedArrayBuffer` is shared).
   */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** The keys of {@link ContextOptions}. */
export const CONTEXT_KEYS = ['context'] as const satisfies ReadonlyArray<keyof ContextOptions>;

/** Options of `forEach`. */
export interface ForEachOptions extends ContextOptions {
  /**
   * How many calls run at once per shard (default 1; 0 = unbounded, up to
   * 1024 items held per shard). Above 1, results come in completion order and
   * the shard reads ahead of its consumer.
   */
  readonly maxConcurrency?: number;
}

/** The keys of {@link ForEachOptions}. */
export const FOR_EACH_KEYS = ['maxConcurrency', 'context'] as const satisfies ReadonlyArray<
  keyof ForEachOptions
>;

/** A local callable for `fn`: a function, or an object's `call` method. */
export function callableOf<T, U>(name: string, fn: ItemFn<T, U>): (item: T) => U | PromiseLike<U> {
  if (typeof fn === 'function') return fn;
  if (typeof fn === 'object' && fn !== null && typeof fn.call === 'function') {
    return (item) => fn.call(item);
  }
  throw new ArgumentTypeError(
    `Expected \`${name}\` to be a function or an object with a \`call(item)\` method, got ${describeValue(fn)}`,
  );
}
