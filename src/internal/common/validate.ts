/**
 * Argument checks shared by pariter's public functions, and the short value
 * descriptions their error messages use.
 *
 * Every message has the form ``Expected `name` to be <what>, got <value>``.
 *
 * @internal
 * @packageDocumentation
 */

import { ArgumentRangeError, ArgumentTypeError } from '../../errors';

/** Longest string content {@link describeValue} shows before it truncates. */
const MAX_STRING_LENGTH = 40;

/**
 * Describes a value in a few words, for error messages.
 *
 * Numbers, bigints, booleans, symbols, `null` and `undefined` are printed as
 * they are (`0`, `-0`, `NaN`, `-1.5`, `10n`, `true`, `null`). Strings are
 * single-quoted and cut to 40 characters, the last being `…` when cut.
 * Functions read `a function`, arrays `an array of length N`, and other objects
 * `an object (ClassName)`, or `an object` when plain or nameless.
 *
 * @param value - any value
 * @returns a short description, never throwing (not even for a hostile Proxy)
 *
 * @example
 * ```ts
 * describeValue(1.5); // '1.5'
 * describeValue('abc'); // "'abc'"
 * describeValue([1, 2]); // 'an array of length 2'
 * describeValue(new Map()); // 'an object (Map)'
 * ```
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'string':
      return `'${truncate(value)}'`;
    case 'function':
      return 'a function';
    case 'object':
      return value === null ? 'null' : describeObject(value);
    default:
      return String(value); // boolean, symbol, undefined
  }
}

function truncate(text: string): string {
  return text.length <= MAX_STRING_LENGTH ? text : `${text.slice(0, MAX_STRING_LENGTH - 1)}…`;
}

function describeObject(value: object): string {
  try {
    if (Array.isArray(value)) {
      return `an array of length ${value.length}`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null || proto === Object.prototype) {
      return 'an object';
    }
    const name: unknown = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `an object (${name})` : 'an object';
  } catch {
    return 'an object';
  }
}

function message(name: string, what: string, value: unknown): string {
  return `Expected \`${name}\` to be ${what}, got ${describeValue(value)}`;
}

/**
 * Checks that an argument is an integer of at least 1.
 *
 * @param name - the argument's name, as the caller wrote it
 * @param value - the argument
 * @returns `value`, typed as a number
 * @throws {@link ArgumentRangeError} unless `value` is a number that is an integer >= 1
 *
 * @example
 * ```ts
 * positiveInteger('n', 3); // 3
 * positiveInteger('n', 0); // throws ArgumentRangeError: Expected `n` to be a positive integer, got 0
 * ```
 */
export function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ArgumentRangeError(message(name, 'a positive integer', value));
  }
  return value;
}

/**
 * Checks that an argument is an integer of at least 0.
 *
 * @param name - the argument's name, as the caller wrote it
 * @param value - the argument
 * @returns `value`, typed as a number
 * @throws {@link ArgumentRangeError} unless `value` is a number that is an integer >= 0
 *
 * @example
 * ```ts
 * nonNegativeInteger('numAsync', 0); // 0
 * nonNegativeInteger('numAsync', -1); // throws ArgumentRangeError
 * ```
 */
export function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ArgumentRangeError(message(name, 'a non-negative integer', value));
  }
  return value;
}

/**
 * Checks that an argument is a finite number of at least 0.
 *
 * @param name - the argument's name, as the caller wrote it
 * @param value - the argument
 * @returns `value`, typed as a number
 * @throws {@link ArgumentRangeError} unless `value` is a finite number >= 0
 *
 * @example
 * ```ts
 * nonNegativeNumber('batchMs', 2.5); // 2.5
 * nonNegativeNumber('batchMs', Infinity); // throws ArgumentRangeError
 * ```
 */
export function nonNegativeNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ArgumentRangeError(message(name, 'a non-negative number', value));
  }
  return value;
}

/**
 * Checks that an argument is a function.
 *
 * @typeParam F - the argument's declared type
 * @param name - the argument's name, as the caller wrote it
 * @param value - the argument
 * @returns `value`, unchanged
 * @throws {@link ArgumentTypeError} unless `typeof value === 'function'`
 *
 * @example
 * ```ts
 * functionArg('fn', (x: number) => x); // the function
 * functionArg('fn', 42); // throws ArgumentTypeError: Expected `fn` to be a function, got 42
 * ```
 */
export function functionArg<F>(name: string, value: F): F {
  if (typeof value !== 'function') {
    throw new ArgumentTypeError(message(name, 'a function', value));
  }
  return value;
}

/**
 * Checks an options argument: undefined, or an object whose own keys are all
 * among `keys`, so that a misspelt or foreign option (`numshards`, Ray's
 * `resources`) is an error rather than silently ignored.
 *
 * @param value - the options argument
 * @param keys - the option names the call knows
 * @param name - the argument's name, as the caller wrote it
 * @throws {@link ArgumentTypeError} for anything else than undefined or an
 *   object (null, a number, an array), or for an object with another key,
 *   naming that key and the known ones
 *
 * @example
 * ```ts
 * checkOptions({ numShards: 2 }, ['numShards', 'repeat']); // passes
 * checkOptions({ numshards: 2 }, ['numShards', 'repeat']); // throws ArgumentTypeError naming `numshards`
 * ```
 */
export function checkOptions(value: unknown, keys: readonly string[], name = 'options'): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArgumentTypeError(
      `Expected \`${name}\` to be an object, got ${describeValue(value)}`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      const known = keys.map((k) => `\`${k}\``).join(', ');
      throw new ArgumentTypeError(
        `Expected \`${name}\` to have only the keys ${known || '(none)'}, got the unknown key \`${key}\`: check its spelling`,
      );
    }
  }
}

/** The largest shard (or partition) count (shards share the pool's threads; each still has a channel and a pipeline). */
export const MAX_SHARDS = 1024;

/** The most requests a reader keeps in flight per shard (`numAsync`). */
export const MAX_NUM_ASYNC = 1024;

/**
 * Checks a count with an upper bound: a positive integer up to `max`.
 *
 * @param name - the argument's name, as the caller wrote it
 * @param value - the argument
 * @param max - the largest count allowed
 * @param why - a short reason for the bound, shown in parentheses
 * @returns `value`, typed as a number
 * @throws {@link ArgumentRangeError} unless `value` is an integer from 1 to `max`
 */
export function boundedCount(name: string, value: unknown, max: number, why: string): number {
  const n = positiveInteger(name, value);
  if (n > max) {
    throw new ArgumentRangeError(
      `Expected \`${name}\` to be a positive integer up to ${max} (${why}), got ${describeValue(value)}`,
    );
  }
  return n;
}

/** Checks a shard count: a positive integer up to {@link MAX_SHARDS}. */
export function shardCount(name: string, value: unknown): number {
  return boundedCount(name, value, MAX_SHARDS, 'each shard has its own channel and pipeline');
}

/**
 * An item that `flatten` may iterate.
 *
 * @throws ArgumentTypeError when `item` is not iterable
 */
export function flattenable(item: unknown): Iterable<unknown> {
  const iterable = item as Partial<Iterable<unknown>> | null | undefined;
  if (iterable == null || typeof iterable[Symbol.iterator] !== 'function') {
    throw new ArgumentTypeError(
      `Expected each item given to \`flatten()\` to be iterable, got ${describeValue(item)}`,
    );
  }
  return iterable as Iterable<unknown>;
}

/**
 * Checks a `signal` option: undefined or an `AbortSignal`.
 *
 * @throws ArgumentTypeError for anything else
 */
export function signalOption(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new ArgumentTypeError(message('signal', 'an AbortSignal', value));
}
