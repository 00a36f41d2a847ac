'use strict';
/**
 * Pair 1 — strict pull: one item requested at a time, nothing computed
 * ahead. pariter's `fromRange(n, 1).gatherSync()` against a hand-written
 * `postMessage` round trip per item. Both are timed from the first item to
 * the last (worker start-up is pair 5's subject), read with `for await`.
 */
const { fromRange } = require('pariter');
const { Pair, afterFirst, repeat, inTurn } = require('../lib/common');
const { rawPull } = require('../lib/raw');

/** Wall-clock and CPU (all threads) microseconds per item after the first. */
async function perItem(iterable, n) {
  const { wallMs, cpuMs, count } = await afterFirst(iterable, n);
  return { wall: (wallMs * 1000) / count, cpu: (cpuMs * 1000) / count };
}

module.exports = async function strictPull({ quick, reps }) {
  const n = quick ? 3000 : 20000;
  const pair = new Pair(1, 'strict pull', 'µs per item, one item requested at a time');
  pair.params = { n, read: 'for await' };
  const PARITER = 'pariter fromRange(n, 1).gatherSync()';
  const RAW = 'raw postMessage round trip';
  const measure = async (metric, iterable) => {
    const { wall, cpu } = await perItem(iterable(), n);
    pair.record(metric, 'µs/item', wall);
    pair.record(`${metric}: CPU`, 'CPU µs/item', cpu);
  };
  await perItem(fromRange(1000, 1).gatherSync(), 1000); // warm up both paths
  await perItem(rawPull(1000), 1000);
  await repeat(reps, (rep) =>
    inTurn(rep, [
      [PARITER, () => measure(PARITER, () => fromRange(n, 1).gatherSync())],
      [RAW, () => measure(RAW, () => rawPull(n))],
    ]),
  );
  pair.ratio('pariter / raw', PARITER, RAW, { op: '<=', value: 1.5 }, { primary: true });
  pair.ratio('pariter / raw, CPU time per item', `${PARITER}: CPU`, `${RAW}: CPU`);
  return pair.finish();
};
