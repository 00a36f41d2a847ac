/**
 * Waiting in specs without hanging: a plain delay, and a cap that turns a
 * promise which never settles into a failure with a name.
 */

/** How long a pull, a worker call or a child script may take before it counts as a hang. */
export const HANG_CAP_MS = 20_000;

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** A `within` function: `promise`, capped at `ms` (or its default cap). */
export type Within = <T>(promise: Promise<T>, what: string, ms?: number) => Promise<T>;

/**
 * Rejects if `promise` has not settled within `ms`: a hang, not a slow run.
 * The error names `what`; the timer is cleared either way.
 */
export function within<T>(promise: Promise<T>, what: string, ms = HANG_CAP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, cap]).finally(() => clearTimeout(timer));
}

/** `within` with another default cap, for a file whose calls take longer. */
export function withinCap(defaultMs: number): Within {
  return (promise, what, ms = defaultMs) => within(promise, what, ms);
}
