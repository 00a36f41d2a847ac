'use strict';
/**
 * Pair 9 — many shards: peak RSS and threads of a 256-shard run,
 * `fromRange(2560, 256).forEach(x => x + 1).gatherSync()` read to its end,
 * with the default pool, in a fresh process. (A thread per shard, as pariter
 * ran before its pool, is `node bench/lib/shards-child.js 256`: about 2 GB
 * and 256 threads on the reference machine, too heavy to repeat here.)
 */
const path = require('node:path');
const { execFile } = require('node:child_process');
const os = require('node:os');
const { promisify } = require('node:util');
const { Pair, repeat, inTurn } = require('../lib/common');

const CHILD = path.join(__dirname, '..', 'lib', 'shards-child.js');

async function child(maxThreads) {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--expose-gc',
    CHILD,
    String(maxThreads),
  ]);
  return JSON.parse(stdout.trim().split('\n').pop());
}

module.exports = async function manyShards({ reps }) {
  const defaultMax = Math.max(4, 2 * os.availableParallelism());
  const pair = new Pair(9, '256 shards', 'peak RSS growth (MB) and threads of a 256-shard run');
  pair.params = {
    run: 'fromRange(2560, 256).forEach(x => x + 1).gatherSync(), to the end',
    defaultMaxThreads: defaultMax,
    repetitions: reps,
  };
  const contender = (label, maxThreads) => [
    label,
    async () => {
      const r = await child(maxThreads);
      pair.record(`${label}: RSS peak growth`, 'MB', r.rssPeakGrowthMB);
      pair.record(`${label}: threads peak growth`, 'threads', r.threadsPeakGrowth);
      pair.record(`${label}: pool threads peak`, 'threads', r.poolThreadsPeak);
      pair.record(`${label}: run time`, 'ms', r.ms);
    },
  ];
  const POOL = 'default pool';
  await repeat(reps, (rep) => inTurn(rep, [contender(POOL, 'default')]));
  pair.limit(`pool threads peak (<= maxThreads ${defaultMax})`, `${POOL}: pool threads peak`, {
    op: '<=',
    value: defaultMax,
  });
  pair.limit('RSS peak growth (MB)', `${POOL}: RSS peak growth`, { op: '<', value: 200 });
  return pair.finish();
};
