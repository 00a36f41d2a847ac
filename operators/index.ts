/**
 * Pipeable RxJS operators: the ones pariter's shards run, usable on any
 * Observable.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { batch } from 'pariter/operators';
 * of(1, 2, 3).pipe(batch(2)); // emits [1, 2], then [3]
 * ```
 *
 * @packageDocumentation
 * @module pariter/operators
 */

export { batch } from './batch';
export { combine } from './combine';
export { flatten } from './flatten';
export type { FlattenItem } from './flatten';
export { shuffle } from './shuffle';
export { parallelMap } from './parallelMap';
export type { ParallelMapOptions } from './parallelMap';
export { parallelFilter } from './parallelFilter';
