'use strict';
/**
 * Pair 6's measurements, each in a fresh `node --expose-gc` process so that
 * nothing else the suite did is in its figures. Prints one JSON line.
 *
 *   node --expose-gc memory-child.js bulk pariter|raw <n>
 *   node --expose-gc memory-child.js slow <items> <every> <samples>
 */
const { setInterval, clearInterval } = require('node:timers');
const { fromRange } = require('pariter');
const { now, sleep } = require('./common');
const { rawBatched } = require('./raw');

const MB = 1024 * 1024;
const OPTIONS = { batchMs: 10, numAsync: 4 };

async function collected() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await sleep(20);
  }
  return process.memoryUsage();
}

/** RSS and heap before, at the peak of, and after a full read of n items. */
async function bulk(kind, n) {
  const base = await collected();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 20);
  const start = now();
  const source = kind === 'raw' ? rawBatched(n) : fromRange(n, 2).gatherAsync(OPTIONS);
  let count = 0;
  for await (const _ of source) {
    if (++count % 65536 === 0) sample();
  }
  const ms = now() - start;
  clearInterval(timer);
  sample();
  if (count !== n) throw new Error(`Expected ${n} items, got ${count}`);
  const end = await collected();
  return {
    ms,
    rssPeakGrowthMB: (peakRss - base.rss) / MB,
    heapPeakGrowthMB: (peakHeap - base.heapUsed) / MB,
    rssRetainedMB: (end.rss - base.rss) / MB,
    heapRetainedMB: (end.heapUsed - base.heapUsed) / MB,
    baseRssMB: base.rss / MB,
  };
}

/**
 * A slow consumer of an infinite source: reads `items` objects, pausing 1 ms
 * every `every` items, and samples RSS and heap (after a gc) `samples` times.
 */
async function slow(items, every, samples) {
  const it = fromRange(1000, { numShards: 2, repeat: true })
    .forEach((i) => ({ id: i, name: 'item' + i, value: i * 0.5 }))
    .gatherAsync(OPTIONS);
  const base = await collected();
  const points = [];
  const step = Math.floor(items / samples);
  const start = now();
  let count = 0;
  for await (const _ of it) {
    count++;
    if (count % every === 0) await sleep(1);
    if (count % step === 0) {
      globalThis.gc();
      const m = process.memoryUsage();
      points.push({
        items: count,
        s: (now() - start) / 1000,
        rssMB: m.rss / MB,
        heapMB: m.heapUsed / MB,
      });
    }
    if (count >= items) break;
  }
  return { baseRssMB: base.rss / MB, baseHeapMB: base.heapUsed / MB, points };
}

async function main() {
  if (typeof globalThis.gc !== 'function') throw new Error('Run with node --expose-gc');
  const [mode, ...args] = process.argv.slice(2);
  const result =
    mode === 'bulk' ? await bulk(args[0], Number(args[1])) : await slow(...args.map(Number));
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
