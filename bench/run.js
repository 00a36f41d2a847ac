'use strict';
/**
 * The benchmark suite: `npm run bench` (after `npm run build`).
 *
 *   node bench/run.js [--quick] [--reps N] [--only 1,4] [--no-write]
 *
 * Env: BENCH_QUICK=1, BENCH_REPS, BENCH_ONLY, BENCH_PMAP_ITEMS (pair 4's item
 * count). Re-spawns node with --expose-gc when it is missing. Writes
 * bench/results/latest.json and latest.md unless --no-write.
 */
const { spawnSync } = require('node:child_process');

if (typeof globalThis.gc !== 'function') {
  const args = ['--expose-gc', ...process.execArgv, __filename, ...process.argv.slice(2)];
  const child = spawnSync(process.execPath, args, { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { settings, now } = require('./lib/common');
const { textTable, markdownTable } = require('./lib/report');

const PAIRS = {
  1: require('./pairs/p1-strict-pull'),
  2: require('./pairs/p2-throughput'),
  3: require('./pairs/p3-cpu-bound'),
  4: require('./pairs/p4-parallel-map'),
  5: require('./pairs/p5-first-item'),
  6: require('./pairs/p6-memory'),
  7: require('./pairs/p7-warm-first-item'),
  8: require('./pairs/p8-service-loop'),
  9: require('./pairs/p9-many-shards'),
  10: require('./pairs/p10-remote'),
};

/** Which build of pariter was measured: HEAD, whether sources differ from it, and dist's age. */
function build() {
  const root = path.join(__dirname, '..');
  const git = (...args) =>
    spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const dist = path.join(root, 'dist', 'src', 'index.js');
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommittedSourceFiles: git('status', '--porcelain', 'src', 'operators')
      .split('\n')
      .filter(Boolean).length,
    distBuiltAt: fs.existsSync(dist) ? fs.statSync(dist).mtime.toISOString() : 'missing',
  };
}

/** Warns when dist/ is missing or older than a source file: `npm run build` first. */
function checkBuild() {
  const root = path.join(__dirname, '..');
  const dist = path.join(root, 'dist', 'src', 'index.js');
  if (!fs.existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first');
  const built = fs.statSync(dist).mtimeMs;
  const newer = ['src', 'src/internal', 'operators']
    .flatMap((dir) => fs.readdirSync(path.join(root, dir)).map((f) => path.join(root, dir, f)))
    .filter((f) => f.endsWith('.ts') && fs.statSync(f).mtimeMs > built);
  if (newer.length > 0) {
    console.warn(
      `warning: ${newer.length} source file(s) changed after dist/ was built; run \`npm run build\``,
    );
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemoryGB: +(os.totalmem() / 2 ** 30).toFixed(1),
  };
}

async function main() {
  const config = settings();
  checkBuild();
  const ids = config.only ?? Object.keys(PAIRS).map(Number);
  const started = now();
  const report = {
    machine: machine(),
    date: new Date().toISOString(),
    build: build(),
    mode: config.quick ? 'quick' : 'full',
    repetitions: config.reps,
    loadAverageAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    pairs: [],
  };
  const m = report.machine;
  console.log(
    `pariter bench (${report.mode}, ${config.reps} repetitions): ${m.cpu}, ${m.cores} cores, node ${m.node}`,
  );
  if (os.loadavg()[0] > m.cores / 2) {
    console.warn(
      `warning: load average ${os.loadavg()[0].toFixed(1)} on ${m.cores} cores: other processes compete for the CPU, and the parallel pairs (3 above all) cannot show their speed-ups`,
    );
  }
  for (const id of ids) {
    const run = PAIRS[id];
    if (!run) throw new Error(`No pair ${id}`);
    const t = now();
    const loadAverage = os.loadavg().map((x) => +x.toFixed(2));
    process.stdout.write(`pair ${id}… `);
    try {
      const result = await run(config);
      result.seconds = +((now() - t) / 1000).toFixed(1);
      result.loadAverageAtStart = loadAverage;
      report.pairs.push(result);
      console.log(`${result.title}: ${result.seconds} s`);
    } catch (error) {
      console.log(`failed: ${error.stack ?? error}`);
      report.pairs.push({ id, error: String(error.stack ?? error) });
      process.exitCode = 1;
    }
  }
  report.loadAverageAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  const distAtEnd = build().distBuiltAt;
  if (distAtEnd !== report.build.distBuiltAt) {
    report.build.distRebuiltDuringRun = distAtEnd;
    console.warn(
      'warning: dist/ was rebuilt during the run: the pairs may have measured different builds',
    );
  }
  report.seconds = +((now() - started) / 1000).toFixed(1);
  console.log();
  console.log(textTable(report));
  console.log(
    `\nload average ${report.loadAverageAtStart.join(' ')} at start, ${report.loadAverageAtEnd.join(' ')} at end; ${report.seconds} s in all`,
  );
  if (config.write) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
    fs.writeFileSync(path.join(dir, 'latest.md'), markdownTable(report) + '\n');
    console.log('wrote bench/results/latest.json and latest.md');
  }
  // Every run stops its workers; exit now rather than wait for pools' timers.
  process.exit();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
