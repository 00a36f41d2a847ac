'use strict';
/**
 * Pair 3 — CPU-bound `forEach`: about 1 ms of busy work per item on 2 shards,
 * against the same work run serially in the calling thread, in Piscina (2
 * threads, one task per item, all submitted at once) and in workerpool (2
 * workers, likewise), and the machine's ceiling: 2 raw workers that each
 * loop over half the items. pariter is read with `gatherAsync` (three option
 * sets) and with `gatherSync()`, whose rounds ask both shards at once. Each contender is timed for the whole job, from
 * creating its workers to having every result and its workers stopped.
 */
const { Worker } = require('node:worker_threads');
const { fromRange, stateful } = require('pariter');
const { Piscina } = require('piscina');
const workerpool = require('workerpool');
const { Pair, now, repeat, inTurn } = require('../lib/common');
const { workerFile } = require('../lib/raw');
const work = require('../lib/work');

const TARGET_OPTIONS = 'numAsync: 4';
const PARITER_OPTIONS = {
  defaults: undefined,
  'numAsync: 4': { numAsync: 4 },
  'batchMs: 10': { batchMs: 10 },
};

async function timed(fn) {
  const start = now();
  const checksum = await fn();
  return { ms: now() - start, checksum };
}

module.exports = async function cpuBound({ quick, reps }) {
  const n = quick ? 400 : 1500;
  const { iters, msPerItem } = work.calibrate(1);
  const pair = new Pair(
    3,
    'CPU-bound forEach',
    'whole job time, ~1 ms of work per item, 2 threads',
  );
  pair.params = { n, iters, calibratedMsPerItem: +msPerItem.toFixed(3), threads: 2 };
  // The same module's `busy` in the shards. `iters` goes in `context`: a
  // pooled thread started by an earlier pair would not see an environment
  // variable set now (a worker copies the environment when it starts).
  const workPath = require.resolve('../lib/work');
  const fn = stateful(() => {
    const { busy } = require(workPath); // once per shard
    return (x) => busy(x, iters);
  });
  const shardOptions = { context: { workPath, iters } };

  const serial = async () => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += work.busy(i, iters);
    return sum;
  };
  const pariter = (options) => async () => {
    let sum = 0;
    for await (const h of fromRange(n, 2).forEach(fn, shardOptions).gatherAsync(options)) sum += h;
    return sum;
  };
  // Ray's most common read: the deterministic round robin, nothing read ahead.
  const pariterSync = async () => {
    let sum = 0;
    for await (const h of fromRange(n, 2).forEach(fn, shardOptions).gatherSync()) sum += h;
    return sum;
  };
  const piscina = async () => {
    const pool = new Piscina({
      filename: workerFile('piscina-busy.js'),
      minThreads: 2,
      maxThreads: 2,
    });
    const results = await Promise.all(Array.from({ length: n }, (_, x) => pool.run({ x, iters })));
    await pool.destroy();
    return results.reduce((a, b) => a + b, 0);
  };
  // The machine's ceiling: 2 raw workers, half the items each, no messages per item.
  const raw = async () => {
    const half = Math.ceil(n / 2);
    const sums = await Promise.all(
      [0, half].map(
        (from) =>
          new Promise((resolve, reject) => {
            const workerData = { from, to: Math.min(n, from + half), iters };
            const worker = new Worker(workerFile('raw-busy.js'), { workerData });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    return sums[0] + sums[1];
  };
  const pool = async () => {
    const wp = workerpool.pool(workerFile('workerpool-busy.js'), {
      maxWorkers: 2,
      workerType: 'thread',
    });
    const results = await Promise.all(
      Array.from({ length: n }, (_, x) => wp.exec('busy', [x, iters])),
    );
    await wp.terminate();
    return results.reduce((a, b) => a + b, 0);
  };

  const SERIAL = 'serial, calling thread';
  const PISCINA = 'Piscina run() per item';
  const WORKERPOOL = 'workerpool exec() per item';
  const RAW = 'raw 2 workers, half the items each (ceiling)';
  const SYNC = 'pariter gatherSync()';
  const name = (label) => `pariter gatherAsync(${label === 'defaults' ? '' : `{ ${label} }`})`;
  // V8 re-optimizes `serial` (inlining `busy`) around its 4th call, and that
  // call runs about twice as slow: warm it up past that point.
  const expected = await serial();
  for (let i = 0; i < 4; i++) await serial();
  const check = async (metric, fn) => {
    const { ms, checksum } = await timed(fn);
    if (checksum !== expected) throw new Error(`${metric}: wrong checksum ${checksum}`);
    pair.record(metric, 'ms', ms);
  };
  const contenders = [
    [SERIAL, serial],
    ...Object.entries(PARITER_OPTIONS).map(([label, options]) => [name(label), pariter(options)]),
    [SYNC, pariterSync],
    [PISCINA, piscina],
    [WORKERPOOL, pool],
    [RAW, raw],
  ].map(([metric, fn]) => [metric, () => check(metric, fn)]);
  await pariter(undefined)(); // warm up
  await pariterSync();
  await repeat(reps, (rep) => inTurn(rep, contenders));

  for (const label of Object.keys(PARITER_OPTIONS)) {
    const primary = label === TARGET_OPTIONS;
    const tag = primary ? ' [target]' : '';
    pair.ratio(
      `speedup vs serial, ${label}${tag}`,
      SERIAL,
      name(label),
      { op: '>=', value: 1.85 },
      { primary },
    );
    pair.ratio(
      `vs Piscina, ${label}${tag}`,
      PISCINA,
      name(label),
      { op: '>=', value: 1.0 },
      { primary },
    );
  }
  pair.ratio(
    'gatherSync() vs the raw 2-worker ceiling [target]',
    RAW,
    SYNC,
    {
      op: '>=',
      value: 0.9,
    },
    { primary: true },
  );
  pair.ratio('gatherSync() speedup vs serial', SERIAL, SYNC);
  pair.ratio('Piscina speedup vs serial', SERIAL, PISCINA);
  pair.ratio('workerpool speedup vs serial', SERIAL, WORKERPOOL);
  pair.ratio('ceiling: raw 2 workers speedup vs serial', SERIAL, RAW);
  pair.notes.push(
    'The raw 2-worker row is what this machine gives for the work with no per-item messages at all: when it is well below 2x, other processes took the cores, and no contender could reach the target.',
  );
  pair.notes.push(
    `The targets apply to pariter with { ${TARGET_OPTIONS} }; the other option sets are shown for comparison.`,
  );
  return pair.finish();
};
