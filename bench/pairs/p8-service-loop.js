'use strict';
/**
 * Pair 8 — a service loop: sequential requests, each computing 16 items in
 * threads, as an HTTP handler would. pariter answers each request with
 * `fromItems(batchOf16, 2).forEach(f).take(16)`, or with
 * `parallelMap(f)` over the 16 items, on its warm pool; Piscina runs the
 * same 16 tasks per request on a warm pool of as many threads. Requests/s.
 */
const { Piscina } = require('piscina');
const { from, lastValueFrom, toArray } = require('rxjs');
const { configurePool, fromItems, parallelMap } = require('pariter');
const { Pair, now, repeat, inTurn } = require('../lib/common');
const { workerFile } = require('../lib/raw');

const f = (x) => x + 1;
const BATCH = Array.from({ length: 16 }, (_, i) => i);
const EXPECTED = BATCH.map(f).reduce((a, b) => a + b, 0);
const sum = (items) => items.reduce((a, b) => a + b, 0);

module.exports = async function serviceLoop({ quick, reps }) {
  const requests = quick ? 400 : 2000;
  const pair = new Pair(
    8,
    'service loop',
    `requests/s, ${requests} sequential requests of 16 items`,
  );
  pair.params = {
    requests,
    pariter: 'fromItems(batchOf16, 2).forEach(x => x + 1).take(16) per request',
    parallelMap: 'from(batchOf16).pipe(parallelMap(x => x + 1), toArray()) per request',
    piscina: '16 x pool.run(x) per request (Promise.all), 2 threads, warm',
  };
  configurePool({ idleTimeoutMs: 60_000 });
  const piscina = new Piscina({
    filename: workerFile('piscina-trivial.js'),
    minThreads: 2,
    maxThreads: 2,
  });
  const handlers = {
    'pariter take(16)': async () => sum(await fromItems(BATCH, 2).forEach(f).take(16)),
    'pariter parallelMap': async () =>
      sum(await lastValueFrom(from(BATCH).pipe(parallelMap(f), toArray()))),
    'Piscina, 16 tasks': async () => sum(await Promise.all(BATCH.map((x) => piscina.run(x)))),
  };
  const loop = async (name) => {
    const handle = handlers[name];
    const start = now();
    for (let i = 0; i < requests; i++) {
      const total = await handle();
      if (total !== EXPECTED) throw new Error(`${name}: request ${i} summed to ${total}`);
    }
    pair.record(name, 'requests/s', requests / ((now() - start) / 1000));
  };
  try {
    // A service runs for long: warm each handler up to its steady state (JIT, pool, caches).
    for (const handle of Object.values(handlers)) for (let i = 0; i < 3000; i++) await handle();
    await repeat(reps, (rep) =>
      inTurn(
        rep,
        Object.keys(handlers).map((name) => [name, () => loop(name)]),
      ),
    );
  } finally {
    await piscina.destroy();
    configurePool({ idleTimeoutMs: undefined });
  }
  pair.params.repetitions = reps;
  pair.ratio(
    'pariter take(16) / Piscina',
    'pariter take(16)',
    'Piscina, 16 tasks',
    { op: '>=', value: 1.5 },
    { primary: true },
  );
  pair.ratio(
    'pariter parallelMap / Piscina',
    'pariter parallelMap',
    'Piscina, 16 tasks',
    { op: '>=', value: 1.5 },
    { primary: true },
  );
  return pair.finish();
};
