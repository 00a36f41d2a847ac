'use strict';
/**
 * Pair 7 — first item on a warm pool: from creating
 * `fromRange(1000, 2).gatherAsync()` to its first item when the pool has
 * idle threads (the second and later runs of a script or a service), against
 * the cold floor (spawning 2 raw `new Worker`s, to the first message) and
 * the warm floor (one `postMessage` round trip to a started raw worker).
 * Each repetition records the median of `samples` tries of each.
 */
const { Worker } = require('node:worker_threads');
const { configurePool, fromRange, poolStats } = require('pariter');
const { Pair, now, repeat, inTurn, summarize } = require('../lib/common');
const { rawFirstMessage, workerFile } = require('../lib/raw');

async function median(samples, fn) {
  const runs = [];
  for (let i = 0; i < samples; i++) runs.push(await fn());
  return summarize(runs).median;
}

async function warmFirst() {
  const start = now();
  const it = fromRange(1000, 2).gatherAsync();
  await it.next();
  const ms = now() - start;
  await it.return();
  return ms;
}

async function coldSpawn() {
  const start = now();
  const terminate = await rawFirstMessage(2);
  const ms = now() - start;
  await terminate();
  return ms;
}

module.exports = async function warmFirstItem({ quick, reps }) {
  const samples = quick ? 5 : 15;
  const pair = new Pair(7, 'first item, warm pool', 'ms from creation to the first item');
  pair.params = {
    pariter: 'fromRange(1000, 2).gatherAsync(), pool warm (idle threads)',
    cold: '2 x new Worker, first message',
    warm: 'one postMessage round trip to a started worker',
    samplesPerRepetition: samples,
  };
  configurePool({ idleTimeoutMs: 60_000 });
  const echo = new Worker(workerFile('raw-echo.js'));
  const roundTrip = () =>
    new Promise((resolve) => {
      const start = now();
      echo.once('message', () => resolve(now() - start));
      echo.postMessage(1);
    });
  const PARITER = 'pariter, 2 shards, warm pool';
  const COLD = 'raw new Worker x 2 (cold floor)';
  const WARM = 'raw warm round trip (warm floor)';
  try {
    await warmFirst(); // the pool's threads start here, once
    await coldSpawn();
    await roundTrip();
    const spawned = poolStats().spawned;
    await repeat(Math.max(reps, 5), (rep) =>
      inTurn(rep, [
        [PARITER, async () => pair.record(PARITER, 'ms', await median(samples, warmFirst))],
        [
          COLD,
          async () => pair.record(COLD, 'ms', await median(Math.ceil(samples / 3), coldSpawn)),
        ],
        [WARM, async () => pair.record(WARM, 'ms', await median(samples, roundTrip))],
      ]),
    );
    pair.params.threadsSpawnedDuringTheRepetitions = poolStats().spawned - spawned;
  } finally {
    await echo.terminate();
    configurePool({ idleTimeoutMs: undefined });
  }
  pair.params.repetitions = Math.max(reps, 5);
  pair.ratio(
    'pariter warm / raw cold spawn',
    PARITER,
    COLD,
    { op: '<=', value: 0.2 },
    { primary: true },
  );
  pair.ratio('pariter warm / raw warm round trip', PARITER, WARM);
  return pair.finish();
};
