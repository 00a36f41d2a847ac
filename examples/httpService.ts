/**
 * pariter in a service: an HTTP server (`node:http`) that answers each
 * request with a `parallelMap` over its body, on the process's warm thread
 * pool.
 *
 * ```sh
 * npm run build && node dist/examples/httpService.js [port] [maxRequests]
 * curl -s -d '[10, 100, 1000, 10000]' http://127.0.0.1:3000/primes   # [4,25,168,1229]
 * ```
 *
 * What it shows:
 *
 * - Each request is one `parallelMap` run: its body (a JSON array of numbers)
 *   becomes an Observable, `countPrimes` runs on two pooled threads, and the
 *   answers come back in request order. The run borrows warm threads from
 *   the pool and gives them back when it completes, so a request pays no
 *   thread start; at most `maxThreads` threads serve any number of requests
 *   at once.
 * - The event loop stays free while the primes are counted: other requests
 *   are read and answered meanwhile.
 * - Bad input is a 400 with a message; nothing a client sends can stop the
 *   server.
 * - With `maxRequests`, the server closes itself after that many requests,
 *   and the process exits on its own: idle pooled threads never keep it
 *   alive.
 *
 * @packageDocumentation
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { from, lastValueFrom, toArray } from 'rxjs';
import { configurePool, parallelMap, poolStats } from '../src';

/** The largest number a request may ask about (bounds the work per item). */
export const MAX_N = 1_000_000;
/** The most numbers in one request. */
export const MAX_ITEMS = 1000;

/** The number of primes below `n`, by trial division (runs in a pooled thread). */
export function countPrimes(n: number): number {
  let count = 0;
  for (let candidate = 2; candidate < n; candidate++) {
    let prime = true;
    for (let divisor = 2; divisor * divisor <= candidate; divisor++) {
      if (candidate % divisor === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

/** The numbers of a request body, or a message saying what is wrong with it. */
export function parseBody(body: string): number[] | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'the body is not JSON: send an array of numbers, e.g. [10, 100]';
  }
  if (!Array.isArray(value) || value.length > MAX_ITEMS) {
    return `the body must be an array of at most ${MAX_ITEMS} numbers`;
  }
  for (const n of value) {
    if (!Number.isSafeInteger(n) || (n as number) < 0 || (n as number) > MAX_N) {
      return `every number must be an integer from 0 to ${MAX_N}, got ${JSON.stringify(n)}`;
    }
  }
  return value as number[];
}

/** Answers one body: the primes below each number, in order, on two pooled threads. */
export function answer(numbers: readonly number[]): Promise<number[]> {
  return lastValueFrom(from(numbers).pipe(parallelMap(countPrimes, { numShards: 2 }), toArray()));
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The server: `POST /primes` with a JSON array of numbers answers the count
 * of primes below each; `GET /stats` answers `poolStats()`. With
 * `maxRequests`, it closes itself after that many requests.
 */
export function createService(maxRequests = Infinity): http.Server {
  let served = 0;
  const server = http.createServer((req, res) => {
    if (++served >= maxRequests) server.close();
    res.on('finish', () => {
      if (served >= maxRequests) server.closeIdleConnections();
    });
    if (req.method === 'GET' && req.url === '/stats') {
      reply(res, 200, poolStats());
      return;
    }
    if (req.method !== 'POST' || req.url !== '/primes') {
      reply(res, 404, { error: 'POST a JSON array of numbers to /primes, or GET /stats' });
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 64 * 1024) req.destroy();
    });
    req.on('end', () => {
      const numbers = parseBody(body);
      if (typeof numbers === 'string') {
        reply(res, 400, { error: numbers });
        return;
      }
      answer(numbers).then(
        (primes) => reply(res, 200, primes),
        (error: unknown) => reply(res, 500, { error: String(error) }),
      );
    });
  });
  return server;
}

function main(): void {
  const port = Number(process.argv[2] ?? 3000);
  const maxRequests = Number(process.argv[3] ?? Infinity);
  if (!Number.isInteger(port) || port < 0 || !(maxRequests > 0)) {
    throw new Error('usage: node dist/examples/httpService.js [port] [maxRequests]');
  }
  // Threads stay warm between requests for 10 s (the default is 2 s).
  configurePool({ idleTimeoutMs: 10_000 });
  const server = createService(maxRequests);
  server.listen(port, '127.0.0.1', () => {
    const { port: bound } = server.address() as AddressInfo;
    console.log(`listening on http://127.0.0.1:${bound}`);
  });
  server.on('close', () => console.log(`closed; pool: ${JSON.stringify(poolStats())}`));
}

if (require.main === module) main();
