/**
 * A reactive service pipeline: a stream of requests, each answered by a
 * CPU-heavy step that runs in worker threads, with the answers coming out in
 * request order.
 *
 * ```sh
 * npm run build && node dist/examples/servicePipeline.js [count]   # default 20 requests
 * ```
 *
 * What it shows:
 *
 * - The requests are an ordinary RxJS Observable (`interval`-driven here; in a
 *   real service, an HTTP or queue adapter). Nothing about the source knows
 *   about threads.
 * - `parallelMap(countPrimes, { numShards: 2 })` is a drop-in pipeable
 *   operator: `countPrimes` is shipped to two worker threads by its source
 *   text, so it must be self-contained (no imports, no outer variables; pass
 *   values with `{ context }` if it needs any). Each request goes to whichever
 *   worker is free, and the results are emitted in request order.
 * - At most `maxInFlight` requests (an option of `parallelMap`) are inside
 *   the workers, or done and waiting for their turn, at once; the rest wait in
 *   the calling thread.
 * - When the source completes the workers stop, and the script exits on its
 *   own, without a `close()`.
 *
 * The plain-RxJS pipeline this replaces is
 *
 * ```ts
 * requests$.pipe(
 *   mergeMap(async (request) => countPrimes(request), 2),
 * );
 * ```
 *
 * which looks concurrent but is not: `countPrimes` is synchronous CPU work, so
 * it runs on the event loop one call at a time, blocking everything else in
 * the process (timers, I/O, other requests) while it counts. `mergeMap` also
 * emits in completion order; keeping request order takes `concatMap`, which
 * gives up even the appearance of concurrency. `parallelMap` runs the calls on
 * other cores, leaves the event loop free, and keeps the order.
 *
 * @packageDocumentation
 */
import { interval, lastValueFrom, map, take, tap, toArray, type Observable } from 'rxjs';
import { parallelMap } from '../src';

/** One request: count the primes below `n`. */
export interface PrimeRequest {
  readonly id: number;
  readonly n: number;
}

/** The answer to request `id`. */
export interface PrimeResponse {
  readonly id: number;
  readonly result: number;
}

/** The request sizes, cycled through by request id. */
export const REQUEST_SIZES: readonly number[] = [10, 100, 1000, 10_000, 50_000];

/** Request `id`: its `n` is `REQUEST_SIZES[id % REQUEST_SIZES.length]`. */
export function requestOf(id: number): PrimeRequest {
  return { id, n: REQUEST_SIZES[id % REQUEST_SIZES.length] ?? 0 };
}

/** `count` requests, one every `periodMs` milliseconds. */
export function requests(count: number, periodMs = 1): Observable<PrimeRequest> {
  return interval(periodMs).pipe(take(count), map(requestOf));
}

/**
 * The CPU-heavy step: counts the primes below `request.n` by trial division.
 *
 * It runs in a worker thread, shipped by its source text, so it uses nothing
 * but its argument.
 */
export function countPrimes(request: PrimeRequest): PrimeResponse {
  let count = 0;
  for (let candidate = 2; candidate < request.n; candidate++) {
    let prime = true;
    for (let divisor = 2; divisor * divisor <= candidate; divisor++) {
      if (candidate % divisor === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return { id: request.id, result: count };
}

/**
 * Serves `count` requests through two workers and returns the responses, in
 * request order.
 *
 * @param count - how many requests
 * @param onResponse - called with each response as it is emitted (e.g. to log it)
 * @returns the responses, `{ id, result }` for ids 0 to `count - 1`
 */
export function runService(
  count: number,
  onResponse: (response: PrimeResponse) => void = () => undefined,
): Promise<Array<{ id: number; result: number }>> {
  const responses$ = requests(count).pipe(
    parallelMap(countPrimes, { numShards: 2 }),
    tap(onResponse),
    map(({ id, result }) => ({ id, result })),
    toArray(),
  );
  return lastValueFrom(responses$, { defaultValue: [] });
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  if (!Number.isInteger(count) || count < 0) {
    throw new Error('usage: node dist/examples/servicePipeline.js [count]');
  }
  const responses = await runService(count, ({ id, result }) => {
    console.log(`request ${id}: ${result} primes below ${requestOf(id).n}`);
  });
  console.log(`served ${responses.length} requests`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
