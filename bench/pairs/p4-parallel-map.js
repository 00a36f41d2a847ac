'use strict';
/**
 * Pair 4 — `parallelMap` of a trivial function (`x => x + 1`) over `range`:
 * here the per-item cost of crossing threads is all there is. Against
 * Piscina `run()` per item (at most 1000 tasks in flight) and RxJS
 * `mergeMap` in the calling thread. Whole job time (workers' start and stop
 * included), items/s.
 */
const { parallelMap } = require('pariter');
const { Piscina } = require('piscina');
const { range, of, mergeMap, reduce, lastValueFrom } = require('rxjs');
const { Pair, now, cpuNow, repeat, inTurn } = require('../lib/common');
const { workerFile } = require('../lib/raw');

const PISCINA_IN_FLIGHT = 1000;

module.exports = async function parallelMapPair({ quick, reps }) {
  const n = Number(process.env.BENCH_PMAP_ITEMS) || (quick ? 20000 : 200000);
  const pair = new Pair(4, 'parallelMap, trivial fn', 'items/s over the whole job, x => x + 1');
  const expected = (n * (n + 1)) / 2;
  const variants = { defaults: {}, 'maxInFlight: 1000': { maxInFlight: 1000 } };
  pair.params = { n, numShards: 2, piscinaThreads: 2, piscinaInFlight: PISCINA_IN_FLIGHT };

  const sum = (op) =>
    lastValueFrom(
      range(0, n).pipe(
        op,
        reduce((a, b) => a + b, 0),
      ),
    );
  const pariter = (options) => () => sum(parallelMap((x) => x + 1, options));
  // A synchronous inner Observable: `mergeMap(async …)` over a synchronous
  // 200k-item range is quadratic in RxJS 7 (its buffer and its list of inner
  // subscriptions are arrays), which would measure RxJS, not the work.
  const mergeMapOne = () => sum(mergeMap((x) => of(x + 1)));
  const piscina = async () => {
    const pool = new Piscina({
      filename: workerFile('piscina-trivial.js'),
      minThreads: 2,
      maxThreads: 2,
    });
    let total = 0;
    let next = 0;
    const lane = async () => {
      while (next < n) {
        const result = await pool.run(next++);
        total += result;
      }
    };
    await Promise.all(Array.from({ length: PISCINA_IN_FLIGHT }, lane));
    await pool.destroy();
    return total;
  };

  const measure = async (metric, fn) => {
    const start = now();
    const cpu = cpuNow();
    const total = await fn();
    const seconds = (now() - start) / 1000;
    if (total !== expected) throw new Error(`${metric}: wrong sum ${total}`);
    pair.record(metric, 'items/s', n / seconds);
    pair.record(`${metric}: CPU`, 'CPU µs/item', ((cpuNow() - cpu) * 1000) / n);
  };
  const PISCINA = `Piscina run() per item, ${PISCINA_IN_FLIGHT} in flight`;
  const MERGE_MAP = 'RxJS mergeMap(x => of(x + 1)), one thread';
  const name = (label) => `pariter parallelMap(${label === 'defaults' ? '' : `{ ${label} }`})`;
  const contenders = [
    ...Object.entries(variants).map(([label, options]) => [name(label), pariter(options)]),
    [PISCINA, piscina],
    [MERGE_MAP, mergeMapOne],
  ].map(([metric, fn]) => [metric, () => measure(metric, fn)]);
  await lastValueFrom(range(0, 2000).pipe(parallelMap((x) => x + 1))); // warm up
  // The slowest pair: at most 3 repetitions.
  const pairReps = Math.min(reps, 3);
  pair.params.repetitions = pairReps;
  await repeat(pairReps, (rep) => inTurn(rep, contenders));

  for (const label of Object.keys(variants)) {
    const primary = label === 'defaults';
    pair.ratio(
      `pariter / Piscina, ${label}`,
      name(label),
      PISCINA,
      { op: '>=', value: 5 },
      { primary },
    );
    pair.ratio(`pariter / mergeMap, ${label}`, name(label), MERGE_MAP);
    pair.ratio(
      `Piscina / pariter, CPU time per item, ${label}`,
      `${PISCINA}: CPU`,
      `${name(label)}: CPU`,
    );
  }
  pair.notes.push(
    'The target applies to parallelMap with default options; maxInFlight: 1000 is shown for comparison.',
  );
  return pair.finish();
};
