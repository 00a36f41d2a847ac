/**
 * Diagnostics: `NODE_DEBUG=pariter` (Node's `util.debuglog`) prints runs
 * starting and stopping, the pool's threads spawned and reused, errors and aborts on
 * stderr; without it pariter prints nothing. Each script runs in a child
 * process, from the compiled package (`npm run build` first).
 */
import test from 'ava';
import { runNode } from './helpers/child';

/** A run that ends, a run whose shard throws, and an aborted run. */
const SCRIPT = `
const { fromRange, fromItems, parallelMap } = require('pariter');
const { lastValueFrom, of, toArray } = require('rxjs');
(async () => {
  await fromRange(4, 2).take(4);
  await fromItems([1], 1).forEach(() => { throw new Error('boom'); }).take(1).catch(() => undefined);
  const controller = new AbortController();
  const local = fromRange(4, { repeat: true }).gatherSync({ signal: controller.signal });
  await local.next();
  controller.abort();
  await local.next().catch(() => undefined);
  await lastValueFrom(of(1, 2).pipe(parallelMap((x) => x, { numShards: 1 }), toArray()));
  console.log('done');
})();
`;

/** The `PARITER <pid>: …` lines of `stderr`, without their prefix. */
const debugLines = (stderr: string): string[] =>
  stderr
    .split('\n')
    .map((line) => /^PARITER \d+: (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined);

test('NODE_DEBUG=pariter logs runs, threads, errors and aborts on stderr', async (t) => {
  const run = await runNode(['-e', SCRIPT], { env: { NODE_DEBUG: 'pariter' }, capMs: 60_000 });
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, 'done\n');
  const lines = debugLines(run.stderr);
  const has = (re: RegExp, what: string): boolean =>
    t.true(
      lines.some((line) => re.test(line)),
      `${what}: no line matches ${String(re)} in\n${lines.join('\n')}`,
    );
  has(
    /^run 1 start ParallelIterator\[fromRange\[4, shards=2\]\]\.gatherSync\(\) shards=2$/,
    'start',
  );
  has(/^shard 0 of ParallelIterator\[fromRange\[4, shards=2\]\] took a pool thread$/, 'thread 0');
  has(/^shard 1 of ParallelIterator\[fromRange\[4, shards=2\]\] took a pool thread$/, 'thread 1');
  // The pool's own events: the first run starts threads, the next ones reuse them.
  has(/^thread \d+ spawned \(\d+ in the pool\)$/, 'thread spawned');
  has(/^thread \d+ reused$/, 'thread reused');
  has(/^run 1 stopping$/, 'stop');
  has(/^run 1 stopped: its shards are released$/, 'stopped');
  has(
    /^shard 0 of ParallelIterator\[fromItems\[number, 1, shards=1\]\.forEach\(\)\] failed: boom/,
    'shard error',
  );
  has(/^run 2 error ShardError: .*boom/, 'run error');
  has(/^run 3 abort AbortError: /, 'abort');
  has(/^run 3 stopping \(aborted\)$/, 'aborted stop');
  has(
    /^run 4 start ParallelIterator\[parallelMap\[shards=1\]\]\.chunks\(\) shards=1$/,
    'parallelMap run',
  );
  has(/^run 4 stopped/, 'parallelMap stop');
  // Every run that started stopped.
  const started = lines.filter((line) => / start /.test(line)).length;
  const stopped = lines.filter((line) => /stopped: /.test(line)).length;
  t.is(started, 4);
  t.is(stopped, started);
});

test('without NODE_DEBUG, pariter prints nothing', async (t) => {
  const run = await runNode(['-e', SCRIPT], { env: { NODE_DEBUG: '' }, capMs: 60_000 });
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, 'done\n');
  t.is(run.stderr, '');
});
