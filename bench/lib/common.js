'use strict';
/**
 * Shared helpers of the benchmark suite: settings, timing, statistics and
 * the shape of a pair's results.
 */
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');

const now = () => performance.now();

/** CPU time of the whole process (every thread, user + system), in ms. */
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Parses flags and environment variables into the run's settings. */
function settings(argv = process.argv.slice(2), env = process.env) {
  const flag = (name) => argv.includes(`--${name}`);
  const value = (name) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    const a = argv[i];
    return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  };
  const quick = flag('quick') || env.BENCH_QUICK === '1';
  const only = value('only') ?? env.BENCH_ONLY;
  const reps = Number(value('reps') ?? env.BENCH_REPS ?? (quick ? 3 : 5));
  return {
    quick,
    reps,
    only: only ? only.split(',').map(Number) : undefined,
    write: !flag('no-write'),
  };
}

/** Median, min and max of the runs. */
function summarize(runs) {
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { runs, median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/**
 * Collects the measurements of one pair: `metric(name, unit)` gives a list to
 * push one figure per repetition into; `ratio(...)` derives a per-repetition
 * ratio of two metrics, so that load that drifts between repetitions cancels.
 */
class Pair {
  constructor(id, title, what) {
    this.id = id;
    this.title = title;
    this.what = what;
    this.params = {};
    this.metrics = {};
    this.ratios = [];
    this.notes = [];
  }

  record(name, unit, value) {
    (this.metrics[name] ??= { unit, runs: [] }).runs.push(value);
  }

  /**
   * A ratio `a / b` per repetition. `target` is `{ op: '<=' | '>=' | '<' | '>', value }`
   * or undefined for a figure that is only informative.
   */
  ratio(name, a, b, target, { primary = false, label } = {}) {
    this.ratios.push({ name, of: [a, b], target, primary, label });
  }

  /** Like `ratio`, for a metric compared with a fixed limit. */
  limit(name, metric, target, { primary = true, label } = {}) {
    this.ratios.push({ name, of: [metric], target, primary, label });
  }

  finish() {
    const metrics = {};
    for (const [name, m] of Object.entries(this.metrics)) {
      metrics[name] = { unit: m.unit, ...summarize(m.runs) };
    }
    const ratios = this.ratios.map((r) => {
      const runs =
        r.of.length === 2
          ? this.metrics[r.of[0]].runs.map((x, i) => x / this.metrics[r.of[1]].runs[i])
          : this.metrics[r.of[0]].runs;
      const s = summarize(runs);
      const pass = r.target === undefined ? undefined : meets(s.median, r.target);
      return {
        name: r.name,
        of: r.of,
        unit: r.of.length === 2 ? 'x' : this.metrics[r.of[0]].unit,
        label: r.label,
        primary: r.primary,
        target: r.target && `${r.target.op} ${r.target.value}`,
        pass,
        ...s,
      };
    });
    return {
      id: this.id,
      title: this.title,
      what: this.what,
      params: this.params,
      metrics,
      ratios,
      notes: this.notes,
    };
  }
}

/** Whether `value` meets `{ op, value }`. */
function meets(value, target) {
  switch (target.op) {
    case '<=':
      return value <= target.value;
    case '<':
      return value < target.value;
    case '>=':
      return value >= target.value;
    case '>':
      return value > target.value;
  }
  throw new Error(`Unknown target ${target.op}`);
}

/** Runs `fn(rep)` `reps` times. */
async function repeat(reps, fn) {
  for (let rep = 0; rep < reps; rep++) await fn(rep);
}

/** Seconds a contender may take before the suite calls it a hang (BENCH_TIMEOUT_S). */
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S) || 180;

/** Runs `fn`, failing if it takes longer than `TIMEOUT_S`. */
async function watched(label, fn) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${label} did not finish within ${TIMEOUT_S} s (a hang?)`)),
      TIMEOUT_S * 1000,
    );
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the contenders (`[label, fn]`) one after the other, reversed on odd
 * repetitions to spread drift evenly, letting the process settle after each.
 * BENCH_VERBOSE=1 logs each one's time.
 */
async function inTurn(rep, contenders) {
  const order = rep % 2 ? [...contenders].reverse() : contenders;
  for (const [label, run] of order) {
    const start = now();
    await watched(label, run);
    if (process.env.BENCH_VERBOSE)
      console.log(`  rep ${rep} ${label}: ${(now() - start).toFixed(0)} ms`);
    await settle();
  }
}

/**
 * Reads `iterable` (which must yield `n` items) to its end and times every
 * item after the first: wall and CPU (all threads) ms, and the item count.
 */
async function afterFirst(iterable, n) {
  const it = iterable[Symbol.asyncIterator]();
  await it.next();
  const start = now();
  const cpu = cpuNow();
  let count = 0;
  for (let r = await it.next(); !r.done; r = await it.next()) count++;
  if (count !== n - 1) throw new Error(`Expected ${n - 1} items, got ${count}`);
  return { wallMs: now() - start, cpuMs: cpuNow() - cpu, count };
}

/** Lets the process settle (finished workers exit, garbage is collected). */
async function settle(ms = 50) {
  await sleep(ms);
  globalThis.gc?.();
}

module.exports = {
  now,
  cpuNow,
  sleep,
  settings,
  summarize,
  Pair,
  repeat,
  inTurn,
  settle,
  watched,
  afterFirst,
};
