'use strict';

/*
 * Leak and soak run for pariter. Three phases, each measured in this
 * process's OS threads (/proc/self/status), V8 heap and RSS, after forced GCs:
 *
 * 1. runs: many short runs of a repeating 4-shard iterator, each ending one
 *    way: take(1), break out of for await, unsubscribe from asObservable()
 *    (rxjs take(2)). Every --async-every-th run reads with gatherAsync, which
 *    starts all four workers and stops them while some are still starting.
 *    After each way: thread count back to the baseline. After all: heap and
 *    RSS growth.
 * 2. fast: infinite sources read as fast as possible by each reader; the heap
 *    must not grow with the number of items read (bytes per item).
 * 3. stream (--long, or --stream-ms): an infinite source read by slow
 *    consumers for a while; RSS and heap at 25% and 100% must stay flat.
 * 4. hostile (--long, or --hostile): abandoned fromObservable readers of an
 *    infinite Observable, getShard(0) of a repartition whose other
 *    partitions nobody reads, and a slow consumer of gatherAsync with a large
 *    read-ahead ({ numAsync: 64, batchMs: 50 }); heap and RSS must stay flat.
 * 5. api (--long, or --api-runs N): N random sequences of API calls checked
 *    against a model, threads back to the baseline after each
 *    (spec/helpers/apiModel.ts, loaded with ts-node).
 *
 * Runs use the default thread pool: the baseline holds its idle threads, and
 * the pool's counts (`poolStats()`) are in the summary; the short runs must
 * reuse its threads (few spawned over all of them).
 *
 * Prints one JSON summary line on stdout; exit code 0 when every check
 * passed, 1 otherwise (the failed checks are in `failures`).
 *
 *   node --expose-gc spec/soak/run.js --runs 10      # short: spec/soak.spec.ts
 *   node --expose-gc spec/soak/run.js --runs 1000 --long   # npm run soak
 *
 * Options: --runs N (per way of ending), --parallel P (runs at once),
 * --async-every K, --fast-items N (per fast reader), --stream-ms MS, --hostile,
 * --api-runs N, --skip-base (only phases 4 and 5), --long.
 */
const { readFileSync } = require('node:fs');
const { setInterval, clearInterval } = require('node:timers');
const { performance } = require('node:perf_hooks');
const { availableParallelism } = require('node:os');
const { fromIterators, fromObservable, fromRange, poolStats } = require('pariter');
const { Observable, lastValueFrom, take, toArray } = require('rxjs');

const MB = 1024 * 1024;

function parseArgs(argv) {
  const options = { runs: 60, long: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${arg} needs a non-negative integer`);
      return n;
    };
    if (arg === '--runs') options.runs = value();
    else if (arg === '--long') options.long = true;
    else if (arg === '--hostile') options.hostile = true;
    else if (arg === '--skip-base') options.skipBase = true;
    else if (arg === '--api-runs') options.apiRuns = value();
    else if (arg === '--parallel') options.parallel = Math.max(1, value());
    else if (arg === '--stream-ms') options.streamMs = value();
    else if (arg === '--fast-items') options.fastItems = value();
    else if (arg === '--async-every') options.asyncEvery = Math.max(1, value());
    else throw new Error(`unknown option ${arg}`);
  }
  options.parallel ??= options.long ? 2 : 1;
  options.hostile ??= options.long;
  options.apiRuns ??= options.long ? 1000 : 0;
  options.streamMs ??= options.long ? 120_000 : 0;
  options.fastItems ??= options.long ? 500_000 : 120_000;
  options.asyncEvery ??= options.long ? 10 : Math.max(1, options.runs);
  // The short run reads only the fastest reader; the long run all of them.
  options.fastReaders = options.long
    ? ['getShard', 'gatherSync', 'batchAcrossShards', 'gatherAsync']
    : ['getShard'];
  return options;
}

const options = parseArgs(process.argv.slice(2));

if (typeof globalThis.gc !== 'function') {
  console.error('Run with node --expose-gc');
  process.exit(2);
}

const problems = { unhandledRejections: [], warnings: [] };
process.on('unhandledRejection', (reason) => problems.unhandledRejections.push(String(reason)));
process.on('warning', (warning) => problems.warnings.push(`${warning.name}: ${warning.message}`));

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function threadCount() {
  const match = /^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(match[1]);
}

/** Rejects when `promise` takes longer than `ms`: a hang. */
function within(promise, what, ms = 30_000) {
  let timer;
  const cap = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, cap]).finally(() => clearTimeout(timer));
}

/** Waits (bounded) until the thread count is steady and at most `atMost`; returns it. */
async function steadyThreads(atMost = Infinity, timeoutMs = 10_000) {
  let last = threadCount();
  let steady = 0;
  const deadline = Date.now() + timeoutMs;
  while ((steady < 5 || last > atMost) && Date.now() < deadline) {
    await delay(20);
    const now = threadCount();
    steady = now === last ? steady + 1 : 0;
    last = now;
  }
  return last;
}

/** Heap and RSS in bytes, after full collections. */
async function memory() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

const mb = (bytes) => Math.round((bytes / MB) * 100) / 100;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// --- phase 1: short runs ---------------------------------------------------------

// Shard i of fromRange(8, 4 shards, repeat) cycles 2i, 2i + 1 forever.
const it = fromRange(8, { numShards: 4, repeat: true });
const FIRSTS = [0, 2, 4, 6];

/** One short run ending the given way; `wide` reads all four shards with gatherAsync. */
const ENDINGS = {
  async take(i, wide) {
    // A LocalIterator's take leaves it usable: return() stops its run.
    const local = wide ? it.gatherAsync() : undefined;
    const items = local ? await local.take(1) : await it.take(1);
    await local?.return();
    check(items.length === 1, `take(1) gave ${JSON.stringify(items)}`);
    check(wide ? FIRSTS.includes(items[0]) : items[0] === 0, `take(1) gave ${items[0]}`);
  },
  async break(i, wide) {
    const local = wide ? it.gatherAsync() : it.getShard(i % 4);
    const items = [];
    for await (const x of local) {
      items.push(x);
      if (items.length === (wide ? 2 : 1)) break;
    }
    check(items.length === (wide ? 2 : 1), `break gave ${JSON.stringify(items)}`);
    if (!wide) check(items[0] === 2 * (i % 4), `getShard(${i % 4}) began with ${items[0]}`);
  },
  async unsubscribe(i, wide) {
    const local = wide ? it.gatherAsync() : it.getShard(i % 4);
    const items = await lastValueFrom(local.asObservable().pipe(take(2), toArray()));
    check(items.length === 2, `asObservable take(2) gave ${JSON.stringify(items)}`);
    const first = 2 * (i % 4);
    if (!wide) check(items[0] === first && items[1] === first + 1, `getShard gave ${items}`);
  },
};

async function shortRuns(baselineThreads) {
  const phases = {};
  for (const [name, end] of Object.entries(ENDINGS)) {
    const t0 = performance.now();
    let wide = 0;
    for (let i = 0; i < options.runs; i += options.parallel) {
      const batch = [];
      for (let j = i; j < Math.min(options.runs, i + options.parallel); j++) {
        const isWide = (j + 1) % options.asyncEvery === 0;
        if (isWide) wide++;
        batch.push(within(end(j, isWide), `${name} run ${j}`));
      }
      await Promise.all(batch);
    }
    const threadsAfter = await steadyThreads(baselineThreads);
    phases[name] = {
      runs: options.runs,
      gatherAsyncRuns: wide,
      ms: Math.round(performance.now() - t0),
      threadsAfter,
    };
  }
  return phases;
}

// --- phase 2: fast readers of infinite sources ---------------------------------------

function reader(kind) {
  const source = fromRange(1000, { numShards: 2, repeat: true });
  switch (kind) {
    case 'getShard':
      return source.getShard(0);
    case 'gatherSync':
      return source.gatherSync();
    case 'batchAcrossShards':
      return source.batchAcrossShards();
    default:
      return source.gatherAsync();
  }
}

/**
 * Reads `items` items, sampling the heap at each eighth; returns the
 * least-squares growth in bytes per item over the samples after the first.
 */
async function fast(kind, items) {
  const every = Math.round(items / 8);
  const samples = [];
  let n = 0;
  const t0 = performance.now();
  for await (const x of reader(kind)) {
    check(x !== undefined, 'an undefined item');
    n++;
    if (n % every === 0) samples.push({ n, heap: (await memory()).heapUsed });
    if (n === items) break;
  }
  const used = samples.slice(1);
  const meanN = used.reduce((sum, s) => sum + s.n, 0) / used.length;
  const meanHeap = used.reduce((sum, s) => sum + s.heap, 0) / used.length;
  const slope =
    used.reduce((sum, s) => sum + (s.n - meanN) * (s.heap - meanHeap), 0) /
    used.reduce((sum, s) => sum + (s.n - meanN) ** 2, 0);
  return {
    items,
    ms: Math.round(performance.now() - t0),
    heapMb: samples.map((s) => mb(s.heap)),
    bytesPerItem: Math.round(slope * 100) / 100,
  };
}

// --- phase 3: slow consumers of an infinite source ------------------------------------

async function stream(ms) {
  const source = fromRange(1_000_000, { numShards: 4, repeat: true }).forEach(
    (x) => ({ x, pad: 'p'.repeat(64) }),
    { maxConcurrency: 0 },
  );
  const readers = [
    // The defaults: nothing computed ahead of the consumer.
    { name: 'gatherAsync()', local: source.gatherAsync(), pause: 1 },
    // Read-ahead allowed, but bounded (numAsync requests of a batch each).
    {
      name: 'gatherAsync({ numAsync: 4, batchMs: 5 })',
      local: source.gatherAsync({ numAsync: 4, batchMs: 5 }),
      pause: 2,
    },
    { name: 'gatherSync()', local: source.gatherSync(), pause: 3 },
  ];
  const counts = readers.map(() => 0);
  let stop = false;
  const loops = readers.map(async ({ local, pause }, r) => {
    for await (const item of local) {
      check(typeof item.x === 'number' && item.pad.length === 64, 'a bad item');
      counts[r]++;
      if (stop) break;
      await delay(pause);
    }
  });
  const samples = [];
  const start = performance.now();
  for (const quarter of [1, 2, 3, 4]) {
    await Promise.race([delay(start + (quarter * ms) / 4 - performance.now()), ...loops]);
    const mem = await memory();
    samples.push({ at: `${quarter * 25}%`, threads: threadCount(), ...mem });
  }
  stop = true;
  await within(Promise.all(loops), 'stopping the stream readers');
  const first = samples[0];
  const last = samples[samples.length - 1];
  return {
    ms,
    items: Object.fromEntries(readers.map((r, i) => [r.name, counts[i]])),
    samples: samples.map((s) => ({
      at: s.at,
      threads: s.threads,
      heapMb: mb(s.heapUsed),
      rssMb: mb(s.rss),
    })),
    rssDriftMb: mb(last.rss - first.rss),
    heapDriftMb: mb(last.heapUsed - first.heapUsed),
  };
}

// --- phase 4: hostile cases of issue 11 --------------------------------------------------

/** Heap and RSS of `samples` (taken at regular steps): the first, the last, and the drift. */
function drift(samples) {
  const first = samples[0];
  const last = samples[samples.length - 1];
  return {
    heapMb: samples.map((s) => mb(s.heapUsed)),
    rssMb: samples.map((s) => mb(s.rss)),
    heapDriftMb: mb(last.heapUsed - first.heapUsed),
    rssDriftMb: mb(last.rss - first.rss),
  };
}

/** An endless Observable of ~100-byte objects, 2,000 per millisecond tick; counts live subscriptions. */
function endlessObservable(stats) {
  return new Observable((subscriber) => {
    stats.live++;
    let i = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < 2000; k++) subscriber.next({ i: i++, pad: 'x'.repeat(100) });
    }, 1);
    return () => {
      clearInterval(timer);
      stats.live--;
    };
  });
}

/** Readers of fromObservable that read 3 items and are dropped, round after round. */
async function abandonedReaders(rounds) {
  const stats = { live: 0 };
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    await (async () => {
      const local = fromObservable(endlessObservable(stats), { numShards: 2 }).gatherSync();
      for (let i = 0; i < 3; i++) await within(local.next(), 'abandoned reader next()');
    })();
    await delay(50);
    samples.push(await memory());
  }
  // Collected readers stop their runs, which unsubscribe.
  const deadline = Date.now() + 30_000;
  while (stats.live > 0 && Date.now() < deadline) {
    await memory();
    await delay(100);
  }
  return { rounds, liveSubscriptions: stats.live, ...drift(samples.slice(Math.floor(rounds / 4))) };
}

/** getShard(0) of repartition(3) of an endless source: partitions 1 and 2 are never read. */
async function unreadPartitions(items) {
  const local = fromIterators([
    function* () {
      for (let i = 0; ; i++) yield { i, pad: 'x'.repeat(100) };
    },
  ])
    .repartition(3, { batchMs: 5 })
    .getShard(0);
  const samples = [];
  for (let n = 1, expected = 0; n <= items; n++, expected += 3) {
    const { value } = await local.next();
    check(value.i === expected, `partition 0 gave ${value.i}, expected ${expected}`);
    if (n % (items / 4) === 0) samples.push(await memory());
  }
  await local.return();
  return { items, ...drift(samples) };
}

/** A slow consumer of gatherAsync({ numAsync: 64, batchMs: 50 }) over an endless source. */
async function slowReadAhead(ms) {
  const local = fromIterators([
    function* () {
      for (let i = 0; ; i++) yield { i, pad: 'x'.repeat(100) };
    },
    function* () {
      for (let i = 0; ; i++) yield { i, pad: 'y'.repeat(100) };
    },
  ]).gatherAsync({ numAsync: 64, batchMs: 50 });
  const samples = [];
  const start = performance.now();
  let items = 0;
  for (const quarter of [1, 2, 3, 4]) {
    while (performance.now() - start < (quarter * ms) / 4) {
      await within(local.next(), 'slow read-ahead next()');
      items++;
      await delay(1);
    }
    samples.push(await memory());
  }
  await local.return();
  return { ms, items, ...drift(samples) };
}

async function hostile() {
  return {
    abandonedReaders: await within(abandonedReaders(options.long ? 40 : 12), 'abandoned', 600_000),
    unreadPartitions: await within(
      unreadPartitions(options.long ? 400_000 : 100_000),
      'unread partitions',
      600_000,
    ),
    slowReadAhead: await within(
      slowReadAhead(options.long ? 60_000 : 10_000),
      'slow read-ahead',
      600_000,
    ),
  };
}

// --- phase 5: random API call sequences against a model ---------------------------------

async function apiSequences(runs) {
  require('ts-node').register({ transpileOnly: true });
  const { checkApiSequences } = require('../helpers/apiModel.ts');
  const t0 = performance.now();
  // Progress on stderr: the summary comes only at the end.
  const report = await checkApiSequences(runs, undefined, (done) => {
    if (done % 50 === 0) console.error(`api sequences: ${done} of ${runs} passed`);
  });
  return { ...report, ms: Math.round(performance.now() - t0) };
}

// --- main ----------------------------------------------------------------------------

async function main() {
  const startedAt = performance.now();
  // Warm up: the threads that stay after first use (libuv, V8 platform) exist.
  await within(ENDINGS.take(0, false), 'warm-up');
  await within(ENDINGS.take(0, true), 'warm-up (gatherAsync)');
  const baselineThreads = await steadyThreads();
  const before = await memory();
  const poolBefore = poolStats();
  const phases = options.skipBase ? {} : await shortRuns(baselineThreads);
  const poolAfterRuns = poolStats();
  const afterRuns = await memory();
  const threadsAfterRuns = await steadyThreads(baselineThreads);

  const fastPhase = {};
  for (const kind of options.skipBase ? [] : options.fastReaders) {
    fastPhase[kind] = await within(fast(kind, options.fastItems), `fast ${kind}`, 600_000);
  }
  const threadsAfterFast = await steadyThreads(baselineThreads);
  const streamed =
    options.streamMs > 0 && !options.skipBase
      ? await within(stream(options.streamMs), 'stream', options.streamMs + 60_000)
      : undefined;
  const hostilePhase = options.hostile ? await hostile() : undefined;
  const threadsAfterHostile = await steadyThreads(baselineThreads);
  let api;
  try {
    api = options.apiRuns > 0 ? await apiSequences(options.apiRuns) : undefined;
  } catch (error) {
    api = { error: String(error && error.message ? error.message : error) };
  }
  const threadsAfter = await steadyThreads(baselineThreads);
  const after = await memory();

  const margins = {
    heapGrowthMb: options.long ? 8 : 4,
    rssGrowthMb: 96,
    fastBytesPerItem: 3,
    streamRssDriftMb: 48,
    streamHeapDriftMb: 8,
    hostileHeapDriftMb: 8,
    hostileRssDriftMb: 64,
  };
  const summary = {
    mode: options.long ? 'long' : 'short',
    node: process.version,
    runsPerEnding: options.runs,
    parallel: options.parallel,
    phases,
    threads: {
      baseline: baselineThreads,
      afterRuns: threadsAfterRuns,
      afterFast: threadsAfterFast,
      after: threadsAfter,
    },
    heapMb: {
      before: mb(before.heapUsed),
      afterRuns: mb(afterRuns.heapUsed),
      end: mb(after.heapUsed),
    },
    rssMb: { before: mb(before.rss), afterRuns: mb(afterRuns.rss), end: mb(after.rss) },
    pool: {
      maxThreads: Math.max(4, 2 * availableParallelism()),
      beforeRuns: poolBefore,
      afterRuns: poolAfterRuns,
      end: poolStats(),
      spawnedDuringRuns: poolAfterRuns.spawned - poolBefore.spawned,
    },
    heapGrowthMb: mb(afterRuns.heapUsed - before.heapUsed),
    rssGrowthMb: mb(afterRuns.rss - before.rss),
    fast: fastPhase,
    stream: streamed,
    hostile: hostilePhase,
    api,
    margins,
    unhandledRejections: problems.unhandledRejections,
    warnings: problems.warnings,
    totalMs: Math.round(performance.now() - startedAt),
    failures: [],
  };
  const fail = (ok, message) => ok || summary.failures.push(message);
  for (const [name, phase] of Object.entries(phases)) {
    fail(
      phase.threadsAfter <= baselineThreads,
      `${name}: ${phase.threadsAfter} threads after the runs, baseline ${baselineThreads}`,
    );
  }
  // Each way of ending may find the pool's threads retired by the idle
  // timeout while the threads settle; within one, runs reuse threads.
  fail(
    summary.pool.spawnedDuringRuns <= 3 * 2 * summary.pool.maxThreads,
    `${summary.pool.spawnedDuringRuns} threads spawned for ${3 * options.runs} runs`,
  );
  fail(summary.pool.end.shards === 0, `the pool still serves ${summary.pool.end.shards} shards`);
  fail(threadsAfterFast <= baselineThreads, `${threadsAfterFast} threads after the fast readers`);
  fail(
    threadsAfter <= baselineThreads,
    `${threadsAfter} threads at the end, baseline ${baselineThreads}`,
  );
  fail(
    summary.heapGrowthMb < margins.heapGrowthMb,
    `heap grew ${summary.heapGrowthMb} MB over the runs`,
  );
  fail(
    summary.rssGrowthMb < margins.rssGrowthMb,
    `RSS grew ${summary.rssGrowthMb} MB over the runs`,
  );
  for (const [kind, result] of Object.entries(fastPhase)) {
    fail(
      result.bytesPerItem < margins.fastBytesPerItem,
      `fast ${kind}: the heap grew by ${result.bytesPerItem} bytes per item read (${result.heapMb.join(', ')} MB)`,
    );
  }
  if (streamed) {
    fail(
      streamed.rssDriftMb < margins.streamRssDriftMb,
      `stream: RSS grew ${streamed.rssDriftMb} MB from 25% to 100%`,
    );
    fail(
      streamed.heapDriftMb < margins.streamHeapDriftMb,
      `stream: heap grew ${streamed.heapDriftMb} MB from 25% to 100%`,
    );
    for (const [name, count] of Object.entries(streamed.items)) {
      fail(count > 0, `stream: ${name} read nothing`);
    }
  }
  if (hostilePhase) {
    for (const [name, result] of Object.entries(hostilePhase)) {
      fail(
        result.heapDriftMb < margins.hostileHeapDriftMb,
        `${name}: heap grew ${result.heapDriftMb} MB (${result.heapMb.join(', ')})`,
      );
      fail(
        result.rssDriftMb < margins.hostileRssDriftMb,
        `${name}: RSS grew ${result.rssDriftMb} MB (${result.rssMb.join(', ')})`,
      );
    }
    fail(
      hostilePhase.abandonedReaders.liveSubscriptions === 0,
      `${hostilePhase.abandonedReaders.liveSubscriptions} abandoned readers still subscribed`,
    );
    fail(
      threadsAfterHostile <= baselineThreads,
      `${threadsAfterHostile} threads after the hostile cases`,
    );
  }
  if (api) fail(api.error === undefined, `api sequences: ${api.error}`);
  fail(problems.unhandledRejections.length === 0, 'unhandled rejections');
  fail(problems.warnings.length === 0, 'process warnings');
  console.log(JSON.stringify(summary));
  process.exitCode = summary.failures.length === 0 ? 0 : 1;
}

main().catch((error) => {
  console.log(JSON.stringify({ failures: [String(error && error.stack ? error.stack : error)] }));
  process.exitCode = 1;
});
