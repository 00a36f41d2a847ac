'use strict';
/**
 * Pair 5 — first-item latency: from creating `fromRange(n, k).gatherAsync()`
 * to its first item (worker start-up, loading pariter and RxJS in the
 * worker, the plan, the first request), against spawning k raw
 * `new Worker`s whose script posts at once, to the first message. The pool
 * keeps no idle thread here (`idleTimeoutMs: 0`), so every run starts cold;
 * pair 7 measures the warm pool.
 */
const { configurePool, fromRange } = require('pariter');
const { Pair, now, repeat, inTurn } = require('../lib/common');
const { rawFirstMessage } = require('../lib/raw');

async function pariterFirst(shards) {
  const start = now();
  const it = fromRange(1000, shards).gatherAsync();
  await it.next();
  const ms = now() - start;
  await it.return();
  return ms;
}

async function rawFirst(workers) {
  const start = now();
  const terminate = await rawFirstMessage(workers);
  const ms = now() - start;
  await terminate();
  return ms;
}

module.exports = async function firstItem({ reps }) {
  const pair = new Pair(5, 'first-item latency', 'ms from creation to the first item');
  pair.params = {
    sources: 'fromRange(1000, k).gatherAsync()',
    raw: 'k x new Worker, first message',
  };
  const contenders = [];
  for (const k of [2, 4]) {
    const PARITER = `pariter, ${k} shards`;
    const RAW = `raw new Worker x ${k}`;
    contenders.push(
      [PARITER, async () => pair.record(PARITER, 'ms', await pariterFirst(k))],
      [RAW, async () => pair.record(RAW, 'ms', await rawFirst(k))],
    );
    pair.ratio(
      `pariter / raw, ${k} shards`,
      PARITER,
      RAW,
      { op: '<=', value: 1.5 },
      { primary: true },
    );
  }
  configurePool({ idleTimeoutMs: 0 });
  try {
    await pariterFirst(2); // warm up: the first spawn reads the modules from disk
    await rawFirst(2);
    await repeat(Math.max(reps, 7), (rep) => inTurn(rep, contenders));
  } finally {
    configurePool({ idleTimeoutMs: undefined });
  }
  pair.params.repetitions = Math.max(reps, 7);
  return pair.finish();
};
