'use strict';
/**
 * Pair 9's measurement, in a fresh `node --expose-gc` process: peak RSS and
 * threads of `fromRange(2560, 256).forEach(x => x + 1).gatherSync()` read to
 * its end. Prints one JSON line.
 *
 *   node --expose-gc shards-child.js default|<maxThreads>
 */
const { readFileSync } = require('node:fs');
const { setInterval, clearInterval } = require('node:timers');
const { configurePool, fromRange, poolStats } = require('pariter');
const { now, sleep } = require('./common');

const MB = 1024 * 1024;
const threads = () =>
  Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);

(async () => {
  const max = process.argv[2];
  if (max !== 'default') configurePool({ maxThreads: Number(max) });
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await sleep(20);
  }
  const base = { rss: process.memoryUsage().rss, threads: threads() };
  const peak = { rss: base.rss, threads: base.threads, poolThreads: 0 };
  const sample = () => {
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    peak.threads = Math.max(peak.threads, threads());
    peak.poolThreads = Math.max(peak.poolThreads, poolStats().threads);
  };
  const timer = setInterval(sample, 5);
  const start = now();
  let count = 0;
  for await (const _ of fromRange(2560, 256)
    .forEach((x) => x + 1)
    .gatherSync()) {
    if (++count % 64 === 0) sample();
  }
  const ms = now() - start;
  clearInterval(timer);
  sample();
  if (count !== 2560) throw new Error(`Expected 2560 items, got ${count}`);
  console.log(
    JSON.stringify({
      ms,
      rssPeakGrowthMB: (peak.rss - base.rss) / MB,
      threadsPeakGrowth: peak.threads - base.threads,
      poolThreadsPeak: peak.poolThreads,
    }),
  );
  process.exit(0);
})();
