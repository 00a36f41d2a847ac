/**
 * The service example (`examples/httpService.ts`), run as a child process
 * from its compiled form (`npm run build` first) on 127.0.0.1: concurrent
 * requests each answered by a `parallelMap` on the warm pool, a bad body
 * answered with a 400, and the server closing itself after a bounded number
 * of requests, the process exiting on its own.
 */
import test from 'ava';
import * as os from 'node:os';
import * as path from 'node:path';
import { countPrimes } from '../examples/httpService';
import { runNode } from './helpers/child';
import { within } from './helpers/hang';

const SCRIPT = path.join('dist', 'examples', 'httpService.js');

test('the HTTP service answers concurrent requests on a few pooled threads, then exits', async (t) => {
  const bodies = Array.from({ length: 12 }, (_, i) => [i, 10 * i, 1000 + i, 20_000 + 7 * i]);
  const maxRequests = bodies.length + 2; // and one bad body, one /stats
  let listening: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (listening = resolve));
  const child = runNode([SCRIPT, '0', String(maxRequests)], {
    onStdout: (stdout) => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match?.[1]) listening(match[1]);
    },
  });
  const base = await within(Promise.race([url, child.then(() => '')]), 'the server to listen');
  t.not(base, '', 'the server did not start');
  const post = (body: string) =>
    fetch(`${base}/primes`, { method: 'POST', body }).then(async (res) => ({
      status: res.status,
      json: (await res.json()) as unknown,
    }));
  const answers = await within(
    Promise.all(bodies.map((body) => post(JSON.stringify(body)))),
    'the concurrent requests',
  );
  for (const [i, answer] of answers.entries()) {
    t.is(answer.status, 200);
    t.deepEqual(answer.json, bodies[i]?.map(countPrimes), `request ${i}`);
  }
  const bad = await within(post('[1, "two"]'), 'a bad request');
  t.is(bad.status, 400);
  t.regex((bad.json as { error: string }).error, /integer/);
  const stats = (await within(
    fetch(`${base}/stats`).then((res) => res.json()),
    'GET /stats',
  )) as { spawned: number; shards: number };
  // 24 shards were served, by at most the pool's default cap of threads.
  const cap = Math.max(4, 2 * os.availableParallelism());
  t.true(stats.spawned <= cap, `the service started ${stats.spawned} threads, cap ${cap}`);
  const outcome = await child;
  t.false(outcome.hung, `the service did not exit by itself: ${outcome.stdout}`);
  t.is(outcome.code, 0, outcome.stderr);
  t.regex(outcome.stdout, /closed; pool: \{"threads":\d+/);
});
