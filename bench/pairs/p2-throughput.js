'use strict';
/**
 * Pair 2 — throughput mode: shards read ahead in batches
 * (`{ batchMs: 10, numAsync: 4 }`) and the calling thread consumes the items
 * one by one. Against one raw worker that posts arrays of 4096 items with 4
 * arrays in flight on credit, consumed through an async generator. Numbers,
 * and small objects (`{ id, name, value }`, made by a shard `forEach` in
 * pariter and by the worker in the raw case). Timed from the first item to
 * the last.
 */
const { fromRange } = require('pariter');
const { Pair, afterFirst, repeat, inTurn } = require('../lib/common');
const { rawBatched } = require('../lib/raw');

const OPTIONS = { batchMs: 10, numAsync: 4 };

const toObject = (i) => ({ id: i, name: 'item' + i, value: i * 0.5 });

/** Items per second, and CPU (all threads) µs per item, after the first item. */
async function itemsPerSecond(iterable, n) {
  const { wallMs, cpuMs, count } = await afterFirst(iterable, n);
  return { rate: count / (wallMs / 1000), cpu: (cpuMs * 1000) / count };
}

module.exports = async function throughput({ quick, reps }) {
  const n = quick ? 60000 : 300000;
  const pair = new Pair(2, 'throughput mode', 'items/s consumed one by one in the calling thread');
  pair.params = { n, options: OPTIONS, rawBatch: 4096, rawCredit: 4, rawWorkers: 1 };
  const source = (objects, total) => {
    const it = fromRange(total, 2);
    return objects ? it.forEach(toObject) : it;
  };
  const contenders = [];
  for (const objects of [false, true]) {
    const kind = objects ? 'objects' : 'numbers';
    const RAW = `raw batched, ${kind}`;
    const GATHER = `pariter gatherAsync, ${kind}`;
    const SHARD = `pariter getShard(0), ${kind}`;
    const measure = (metric, iterable) => [
      metric,
      async () => {
        const { rate, cpu } = await itemsPerSecond(iterable(), n);
        pair.record(metric, 'items/s', rate);
        pair.record(`${metric}: CPU`, 'CPU µs/item', cpu);
      },
    ];
    contenders.push(
      measure(RAW, () => rawBatched(n, { objects })),
      measure(GATHER, () => source(objects, n).gatherAsync(OPTIONS)),
      measure(SHARD, () => source(objects, 2 * n).getShard(0, OPTIONS)),
    );
    pair.ratio(
      `gatherAsync / raw, ${kind}`,
      GATHER,
      RAW,
      { op: '>=', value: 0.5 },
      { primary: true },
    );
    pair.ratio(
      `getShard(0) / raw, ${kind}`,
      SHARD,
      RAW,
      { op: '>=', value: 0.5 },
      { primary: true },
    );
    pair.ratio(`gatherAsync / raw, ${kind}, CPU time per item`, `${GATHER}: CPU`, `${RAW}: CPU`);
  }
  // warm up
  await itemsPerSecond(fromRange(20000, 2).gatherAsync(OPTIONS), 20000);
  await itemsPerSecond(rawBatched(20000), 20000);
  await repeat(reps, (rep) => inTurn(rep, contenders));
  return pair.finish();
};
