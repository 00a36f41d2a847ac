'use strict';
/**
 * CPU profiles of pairs 1 and 4 (pariter's side only), and where their time
 * goes: runs each scenario in a child `node --cpu-prof` with the profiles in
 * a temporary folder (not the repository), then sums self time per function
 * over the calling thread's profile and over the shard workers' profiles.
 *
 *   node bench/profile.js [--scenario pull|raw-pull|pmap|throughput|cpu] [--top 15] [--keep]
 *   node bench/profile.js --summarize <dir>     (profiles made elsewhere)
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

/** pariter's side of a pair, run once with the full sizes. */
const SCENARIOS = {
  pull: {
    title: 'pair 1: fromRange(50000, 1).gatherSync(), for await',
    async run() {
      const { fromRange } = require('pariter');
      let sum = 0;
      for await (const x of fromRange(50000, 1).gatherSync()) sum += x;
      return sum;
    },
  },
  'raw-pull': {
    title: "pair 1's baseline: 50000 raw postMessage round trips, for await",
    async run() {
      const { rawPull } = require('./lib/raw');
      let sum = 0;
      for await (const x of rawPull(50000)) sum += x;
      return sum;
    },
  },
  pmap: {
    title: 'pair 4: range(0, 200000).pipe(parallelMap(x => x + 1))',
    async run() {
      const { parallelMap } = require('pariter');
      const { range, reduce, lastValueFrom } = require('rxjs');
      const n = Number(process.env.BENCH_PMAP_ITEMS) || 200000;
      return lastValueFrom(
        range(0, n).pipe(
          parallelMap((x) => x + 1),
          reduce((a, b) => a + b, 0),
        ),
      );
    },
  },
  throughput: {
    title: 'pair 2: fromRange(300000, 2).gatherAsync({ batchMs: 10, numAsync: 4 })',
    async run() {
      const { fromRange } = require('pariter');
      let sum = 0;
      for await (const x of fromRange(300000, 2).gatherAsync({ batchMs: 10, numAsync: 4 }))
        sum += x;
      return sum;
    },
  },
  cpu: {
    title: 'pair 3: fromRange(1500, 2).forEach(~1 ms of work).gatherAsync({ numAsync: 4 })',
    async run() {
      const { fromRange, moduleFn } = require('pariter');
      const work = require('./lib/work');
      process.env.BENCH_BUSY_ITERS = String(work.calibrate(1).iters);
      const fn = moduleFn(require.resolve('./lib/work'), 'busyItem');
      let sum = 0;
      for await (const h of fromRange(1500, 2).forEach(fn).gatherAsync({ numAsync: 4 })) sum += h;
      return sum;
    },
  },
};

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : (process.argv[i + 1] ?? '');
}

/** Self time per function of one .cpuprofile, in ms. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    const { callFrame } = byId.get(samples[i]);
    const file = callFrame.url.replace(/^file:\/\//, '');
    const where = file ? `${shorten(file)}:${callFrame.lineNumber + 1}` : '';
    const key = `${callFrame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    const entry = self.get(key) ?? { ms: 0, group: group(callFrame) };
    entry.ms += dt;
    self.set(key, entry);
  }
  return self;
}

function shorten(file) {
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) return file.slice(nm + 'node_modules/'.length);
  const root = path.join(__dirname, '..') + path.sep;
  return file.startsWith(root) ? file.slice(root.length) : file;
}

/** Module loading: start-up cost, not per-item cost. */
const STARTUP = 'module loading';

/** Native functions that only module loading calls. */
const LOADING = new Set([
  'readFileUtf8',
  'internalModuleStat',
  'lstat',
  'realpath',
  'compileFunction',
]);

/** Where a function belongs: pariter, rxjs, threads.js, module loading, Node.js, V8, … */
function group({ url, functionName }) {
  if (!url) {
    if (/^\((idle|program|garbage collector|root)\)$/.test(functionName)) return functionName;
    return LOADING.has(functionName) ? STARTUP : 'native / V8';
  }
  if (/^node:(internal\/modules\/|internal\/bootstrap\/realm|path$|fs$)/.test(url)) return STARTUP;
  if (url.startsWith('node:')) return 'Node.js internals';
  if (/node_modules\/rxjs\//.test(url)) return 'rxjs';
  if (/node_modules\/threads\//.test(url)) return 'threads.js';
  if (/\/dist\/(src|operators)\//.test(url)) return 'pariter';
  if (/\/bench\//.test(url)) return 'bench';
  return 'other';
}

function merge(into, from) {
  for (const [key, value] of from) {
    const entry = into.get(key) ?? { ms: 0, group: value.group };
    entry.ms += value.ms;
    into.set(key, entry);
  }
  return into;
}

function report(title, self, top) {
  const total = [...self.values()].reduce((a, e) => a + e.ms, 0);
  const idle = self.get('(idle)')?.ms ?? 0;
  const busy = total - idle;
  const pct = (ms) => `${((100 * ms) / busy).toFixed(1)}%`.padStart(6);
  const lines = [
    `${title}: ${total.toFixed(0)} ms sampled, ${idle.toFixed(0)} ms idle, ${busy.toFixed(0)} ms busy`,
  ];
  const groups = new Map();
  for (const [key, e] of self)
    if (key !== '(idle)') groups.set(e.group, (groups.get(e.group) ?? 0) + e.ms);
  lines.push(
    '  by origin (% of busy; the list below leaves module loading out): ' +
      [...groups]
        .sort((a, b) => b[1] - a[1])
        .map(([g, ms]) => `${g} ${pct(ms).trim()}`)
        .join(', '),
  );
  // The per-item picture: start-up (module loading) is left out of the list.
  const rows = [...self]
    .filter(([key, e]) => key !== '(idle)' && e.group !== STARTUP)
    .sort((a, b) => b[1].ms - a[1].ms);
  for (const [key, e] of rows.slice(0, top)) {
    lines.push(`  ${e.ms.toFixed(1).padStart(8)} ms ${pct(e.ms)}  ${key}`);
  }
  return lines.join('\n');
}

/** Summarizes the profiles in `dir`: the calling thread, then the workers together. */
function summarize(dir, top, title = '') {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the calling thread.
  const thread = (f) => Number(f.split('.')[4]);
  const load = (f) => selfTimes(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  const main = files
    .filter((f) => thread(f) === 0)
    .map(load)
    .reduce(merge, new Map());
  const workerFiles = files.filter((f) => thread(f) !== 0);
  const workers = workerFiles.map(load).reduce(merge, new Map());
  const out = [];
  if (title) out.push(`== ${title}`);
  out.push(report('calling thread', main, top));
  out.push(report(`shard workers (${workerFiles.length} profiles, summed)`, workers, top));
  return out.join('\n');
}

async function main() {
  const top = Number(arg('top') ?? 15);
  const scenario = arg('run-scenario');
  if (scenario !== undefined) {
    const result = await SCENARIOS[scenario].run();
    console.log(`${scenario}: ${result}`);
    return;
  }
  const summarizeDir = arg('summarize');
  if (summarizeDir !== undefined) {
    console.log(summarize(summarizeDir, top));
    return;
  }
  const names = (arg('scenario') ?? 'pull,pmap').split(',');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pariter-prof-'));
  for (const name of names) {
    if (!SCENARIOS[name])
      throw new Error(`No scenario ${name}: ${Object.keys(SCENARIOS).join(', ')}`);
    const dir = path.join(base, name);
    fs.mkdirSync(dir);
    const start = Date.now();
    const child = spawnSync(
      process.execPath,
      ['--cpu-prof', `--cpu-prof-dir=${dir}`, __filename, '--run-scenario', name],
      { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
    );
    if (child.status !== 0) throw new Error(`${name} failed: ${child.stdout}`);
    console.log(summarize(dir, top, `${SCENARIOS[name].title} (${Date.now() - start} ms wall)`));
    console.log();
  }
  if (process.argv.includes('--keep')) console.log(`profiles kept in ${base}`);
  else fs.rmSync(base, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
