import * as path from 'node:path';
import { ArgumentTypeError } from './errors';
import { callerFile, resolveModule } from './internal/common/callerPath';
import { MODULE_FN, STATEFUL, loadModuleExport } from './internal/wire/shipping';
import { describeValue, functionArg } from './internal/common/validate';

/**
 * Makes a stateful function for a parallel `forEach` (or `filter`,
 * `combine`): `factory` runs once per shard, in that shard's worker, and the
 * function it returns keeps its state across that shard's items, in order.
 *
 * The factory is shipped by its source text like any shard function, so it
 * sees only its `context`. Called in the calling thread (in a
 * `LocalIterator`), the result runs `factory` once on its first call.
 *
 * @param factory - returns the per-shard function
 * @returns a function to pass where a shard function is expected
 * @throws ArgumentTypeError when `factory` is not a function
 * @example
 * ```ts
 * const sums = fromRange(5, 1).forEach(
 *   stateful(() => { let total = 0; return (x: number) => [(total += x), x]; }),
 * );
 * await sums.take(5); // [[0, 0], [1, 1], [3, 2], [6, 3], [10, 4]]
 * ```
 */
export function stateful<T, U>(factory: () => (item: T) => U): (item: T) => U {
  functionArg('factory', factory);
  let instance: ((item: T) => U) | undefined;
  const fn = (item: T): U => {
    instance ??= factory();
    if (typeof instance !== 'function') {
      throw new ArgumentTypeError(
        `Expected the factory given to stateful() to return a function, got ${describeValue(instance)}`,
      );
    }
    return instance(item);
  };
  return Object.assign(fn, { [STATEFUL]: factory });
}

/** True for a path or `file:` URL, false for a package name. */
function isPath(specifier: string): boolean {
  return /^(\.\.?([\\/]|$)|file:)/.test(specifier) || path.isAbsolute(specifier);
}

/**
 * A function exported by a module, loaded in each worker: for shard code
 * that needs imports. JavaScript modules (CommonJS or ES) and TypeScript
 * modules work: TypeScript through the require hook the process registered
 * (ts-node, tsx), else Node's own type stripping where Node has it (22.6+),
 * else ts-node.
 *
 * A relative `specifier` is resolved against the file that called
 * `moduleFn` (as `require` in that file would), not the working directory;
 * absolute paths and `file:` URLs are taken as they are; a package name is
 * resolved in the worker as that file would resolve it. In the calling
 * thread (in a `LocalIterator`) the function loads the module on its first
 * call and returns a promise. A module that cannot be found fails the run
 * with a `ShardError` whose cause names the calling file.
 *
 * Types: give the module's type, `moduleFn<typeof import('./double')>(…)`,
 * and the item and result types come from its default export; for a named
 * export, give its name as a second type argument too:
 * `moduleFn<typeof import('./double'), 'double'>('./double.js', 'double')`
 * (TypeScript infers no type argument once one is given). Otherwise give the
 * item and result types, `moduleFn<number, number>(…)`.
 *
 * @typeParam M - the module's type, `typeof import('…')`
 * @typeParam K - the name of the function export to use (default `'default'`)
 * @param specifier - a path (absolute, relative, or `file:` URL) or a package name
 * @param exportName - the export to use (default `'default'`; a CommonJS
 *   module's `module.exports` serves as its default)
 * @returns a function to pass where a shard function is expected
 * @throws ArgumentTypeError when `specifier` or `exportName` is not a non-empty string
 * @example
 * ```ts
 * // double.js, next to this file: exports.double = (x) => x * 2;
 * await fromRange(4).forEach(moduleFn('./double.js', 'double')).take(4); // [0, 4, 2, 6]
 * // square.ts, next to this file: export default (x: number) => x * x;
 * const square = moduleFn<typeof import('./square')>('./square.ts');
 * await fromRange(4).forEach(square).take(4); // [0, 4, 1, 9], a number[]
 * ```
 */
export function moduleFn<
  M extends object = object,
  K extends FunctionExports<M> = 'default' & FunctionExports<M>,
>(specifier: [K] extends [never] ? never : string, exportName?: K): ModuleFn<M, K>;
export function moduleFn<T = unknown, U = unknown>(
  specifier: string,
  exportName?: string,
): (item: T) => Promise<U>;
export function moduleFn<T = unknown, U = unknown>(
  specifier: string,
  exportName = 'default',
): (item: T) => Promise<U> {
  for (const [name, value] of [
    ['specifier', specifier],
    ['exportName', exportName],
  ] as const) {
    if (typeof value !== 'string' || value === '') {
      throw new ArgumentTypeError(
        `Expected \`${name}\` to be a non-empty string, got ${describeValue(value)}`,
      );
    }
  }
  const from = callerFile();
  // A bare specifier (a package) is resolved where the module is loaded.
  const resolved = isPath(specifier) ? resolveModule(specifier, from) : specifier;
  let loaded: Promise<(item: T) => U> | undefined;
  const fn = async (item: T): Promise<U> => {
    loaded ??= loadModuleExport(resolved, exportName, from) as Promise<(item: T) => U>;
    return (await loaded)(item);
  };
  return Object.assign(fn, { [MODULE_FN]: [resolved, exportName, from] as const });
}

/** The names of the exports of module type `M` that are functions (of one item). */
export type FunctionExports<M> = {
  [K in keyof M]: M[K] extends (item: never) => unknown ? K : never;
}[keyof M] &
  string;

/**
 * What {@link moduleFn} gives for export `K` of module type `M`: a function
 * of the export's first parameter, returning a promise of its result.
 */
export type ModuleFn<M, K extends keyof M> = M[K] extends (item: infer T) => infer U
  ? (item: T) => Promise<Awaited<U>>
  : never;
