'use strict';
/**
 * The CPU-bound work of pair 3: a fixed number of integer multiply-xor
 * steps, the same module in every contender (pariter loads it with
 * `moduleFn` or a shipped function), so that all of them do the very same work.
 */
const { performance } = require('node:perf_hooks');

/** `iters` steps of dependent integer arithmetic on `x`. */
function busy(x, iters) {
  let h = x | 0;
  for (let i = 0; i < iters; i++) h = Math.imul(h ^ i, 16777619) >>> 0;
  return h;
}

/** For pariter's `moduleFn`: `iters` comes from BENCH_BUSY_ITERS, read when loaded. */
const envIters = Number(process.env.BENCH_BUSY_ITERS || 0);
function busyItem(x) {
  return busy(x, envIters);
}

/**
 * The number of steps that take about `ms` milliseconds here: the fastest of
 * several trials, so that a busy machine does not shrink the work.
 */
function calibrate(ms = 1) {
  let iters = 1e5;
  const perItem = (n) => {
    const trials = [];
    for (let t = 0; t < 7; t++) {
      const start = performance.now();
      for (let i = 0; i < 20; i++) busy(i, n);
      trials.push((performance.now() - start) / 20);
    }
    return Math.min(...trials);
  };
  perItem(iters); // warm up the JIT
  for (let round = 0; round < 3; round++) iters = Math.round((iters * ms) / perItem(iters));
  return { iters, msPerItem: perItem(iters) };
}

module.exports = { busy, busyItem, calibrate };
