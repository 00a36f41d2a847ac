'use strict';
/**
 * Pair 6 — memory. (a) RSS and heap growth of a 1M-item throughput-mode run
 * (`fromRange(1e6, 2).gatherAsync({ batchMs: 10, numAsync: 4 })`, fully
 * consumed), with the raw batched transfer of pair 2 as a reference; (b) a
 * slow consumer of an infinite `repeat: true` source, RSS and heap sampled
 * after a gc as it reads, which must stay flat. Each measurement runs in a
 * fresh `node --expose-gc` process.
 */
const path = require('node:path');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { Pair, repeat, inTurn } = require('../lib/common');

const CHILD = path.join(__dirname, '..', 'lib', 'memory-child.js');

async function child(...args) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', CHILD, ...args.map(String)],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').pop());
}

/** Least-squares slope of y over x. */
function slope(points, x, y) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[x], 0) / n;
  const my = points.reduce((a, p) => a + p[y], 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p[x] - mx) * (p[y] - my);
    den += (p[x] - mx) ** 2;
  }
  return num / den;
}

module.exports = async function memory({ quick, reps }) {
  const n = quick ? 300000 : 1000000;
  const size = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
  const slowItems = quick ? 120000 : 300000;
  const slowReps = Math.min(reps, 3);
  const every = 50;
  const samples = 30;
  const steadyFrom = 0.4;
  const pair = new Pair(6, 'memory', 'RSS / heap growth in MB (whole process, workers included)');
  pair.params = {
    bulk: { n, options: { batchMs: 10, numAsync: 4 }, repetitions: reps },
    slow: {
      source: 'fromRange(1000, { numShards: 2, repeat: true }).forEach(i => ({ id, name, value }))',
      options: { batchMs: 10, numAsync: 4 },
      items: slowItems,
      pause: `1 ms every ${every} items`,
      samples,
      steadyWindow: `samples after the first ${steadyFrom * 100}% of items (before: workers start, buffers fill)`,
      repetitions: slowReps,
    },
  };
  const PEAK = `pariter ${size} run: RSS peak growth`;
  const RAW_PEAK = `raw batched ${size} run: RSS peak growth`;
  const bulk = [
    [
      `pariter ${size} run`,
      async () => {
        const r = await child('bulk', 'pariter', n);
        pair.record(PEAK, 'MB', r.rssPeakGrowthMB);
        pair.record(`pariter ${size} run: RSS retained after gc`, 'MB', r.rssRetainedMB);
        pair.record(`pariter ${size} run: heap peak growth`, 'MB', r.heapPeakGrowthMB);
        pair.record(`pariter ${size} run: heap retained after gc`, 'MB', r.heapRetainedMB);
      },
    ],
    [
      `raw batched ${size} run`,
      async () => {
        const r = await child('bulk', 'raw', n);
        pair.record(RAW_PEAK, 'MB', r.rssPeakGrowthMB);
        pair.record(`raw batched ${size} run: heap peak growth`, 'MB', r.heapPeakGrowthMB);
      },
    ],
  ];
  const curves = [];
  const slow = [
    'slow consumer',
    async () => {
      const r = await child('slow', slowItems, every, samples);
      const points = r.points;
      const steady = points.filter((p) => p.items > steadyFrom * slowItems);
      const [first, from, last] = [points[0], steady[0], points[points.length - 1]];
      pair.record('slow consumer: RSS at first sample', 'MB', first.rssMB);
      pair.record('slow consumer: RSS at start of steady window', 'MB', from.rssMB);
      pair.record('slow consumer: RSS at last sample', 'MB', last.rssMB);
      pair.record('slow consumer: RSS slope (steady)', 'MB/s', slope(steady, 's', 'rssMB'));
      pair.record('slow consumer: heap at first sample', 'MB', first.heapMB);
      pair.record('slow consumer: heap at last sample', 'MB', last.heapMB);
      pair.record('slow consumer: heap slope (steady)', 'MB/s', slope(steady, 's', 'heapMB'));
      pair.record(
        'slow consumer: read rate',
        'items/s',
        (last.items - first.items) / (last.s - first.s),
      );
      curves.push(
        points.map((p) => [p.items, +p.s.toFixed(2), +p.rssMB.toFixed(1), +p.heapMB.toFixed(2)]),
      );
    },
  ];
  await repeat(reps, (rep) => inTurn(rep, rep < slowReps ? [...bulk, slow] : bulk));
  pair.limit(`${size} run RSS peak growth (MB)`, PEAK, { op: '<', value: 100 });
  pair.ratio('pariter / raw, RSS peak growth', PEAK, RAW_PEAK);
  pair.limit('slow consumer RSS slope, steady (MB/s)', 'slow consumer: RSS slope (steady)', {
    op: '<',
    value: 1,
  });
  pair.limit('slow consumer heap slope, steady (MB/s)', 'slow consumer: heap slope (steady)', {
    op: '<',
    value: 0.5,
  });
  const result = pair.finish();
  result.slowConsumerCurves = { columns: ['items', 's', 'rssMB', 'heapMB'], runs: curves };
  return result;
};
