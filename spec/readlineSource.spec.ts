/**
 * `fromIterators` over async iterables that live in the calling thread and
 * are driven by events: a `readline.Interface` starts emitting lines as soon
 * as it is created, so its iterator must be taken at the call, not at the
 * first pull, or lines are lost and its end is never seen.
 *
 * Serial: the tests count threads.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { fromIterators } from 'pariter';
import { threadBaseline } from './helpers/baseline';
import { delay, within } from './helpers/hang';

const { assertBackToBaseline } = threadBaseline();

const linesOf = (n: number, prefix: string): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

test.serial('a readline.Interface over a gzip file gives every line, in order', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pariter-rl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'a.log.gz');
  const lines = linesOf(20_000, 'a');
  fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n'));
  const rl = readline.createInterface({
    input: fs.createReadStream(file).pipe(zlib.createGunzip()),
    crlfDelay: Infinity,
  });
  const it = fromIterators([rl]).forEach((line) => line.toUpperCase());
  await delay(100); // the interface reads and emits lines meanwhile
  const got = await within(it.gatherSync().take(1e6), 'reading the gzip lines');
  t.deepEqual(
    got,
    lines.map((line) => line.toUpperCase()),
  );
  await assertBackToBaseline(t, 'after the gzip lines');
});

test.serial('two readline sources in two shards: every line of each, no hang', async (t) => {
  const a = linesOf(3000, 'a');
  const b = linesOf(5000, 'b');
  const open = (lines: string[]): readline.Interface =>
    readline.createInterface({ input: Readable.from([lines.join('\n')]), crlfDelay: Infinity });
  const it = fromIterators([open(a), open(b)]);
  const got = await within(it.gatherAsync().take(1e6), 'reading two interfaces');
  t.deepEqual(
    got.filter((line) => line.startsWith('a ')),
    a,
  );
  t.deepEqual(
    got.filter((line) => line.startsWith('b ')),
    b,
  );
  await assertBackToBaseline(t, 'after two interfaces');
});

test.serial('stopping early releases the interface and the workers', async (t) => {
  const rl = readline.createInterface({
    input: Readable.from([linesOf(10_000, 'x').join('\n')]),
    crlfDelay: Infinity,
  });
  let closed = false;
  rl.on('close', () => (closed = true));
  t.deepEqual(await within(fromIterators([rl]).take(2), 'take(2)'), ['x 0', 'x 1']);
  await assertBackToBaseline(t, 'after take(2)');
  t.true(closed || rl.listenerCount('line') === 0, 'nothing keeps listening to the interface');
});

test.serial('a re-iterable async iterable still gives its items on every run', async (t) => {
  const source = {
    async *[Symbol.asyncIterator]() {
      await delay(1);
      yield* [1, 2, 3];
    },
  };
  const it = fromIterators([source]);
  t.deepEqual(await within(it.take(10), 'first run'), [1, 2, 3]);
  t.deepEqual(await within(it.take(10), 'second run'), [1, 2, 3]);
  await assertBackToBaseline(t, 'after two runs');
});
