/**
 * @internal
 * Promise helpers with no dependencies, so that a worker that needs no RxJS
 * does not load it.
 */

/** True for a promise or any thenable. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
