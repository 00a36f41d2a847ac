/**
 * The package's entry points from plain Node.js (no TypeScript tooling at
 * the caller): `require` and `import`, of `pariter` and `pariter/operators`.
 * Each case runs in a child `node` process whose working directory is the
 * repository, so the package resolves by its own name.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { ROOT } from './helpers/paths';

const run = promisify(execFile);

/** What the operator scripts below print. */
const OPERATORS_OUT = {
  kinds: ['function', 'function', 'function', 'function'],
  batched: [[1, 2], [3]],
  flat: [1, 2, 3],
  combined: [1, 10, 2, 20],
  shuffled: [1, 2, 3, 4],
};

/** Runs `code` with plain `node` (`-e`, optionally as an ES module); returns its stdout. */
async function node(code: string, module = false): Promise<string> {
  const args = module ? ['--input-type=module', '-e', code] : ['-e', code];
  const { stdout } = await run(process.execPath, args, {
    cwd: ROOT,
    timeout: 30_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return stdout.trim();
}

test('require("pariter") gathers', async (t) => {
  const out = await node(`
    const { fromRange, fromItems, ParallelIterator, LocalIterator } = require('pariter');
    (async () => {
      const it = fromRange(4).forEach((x) => x * 10);
      console.log(JSON.stringify({
        items: await it.take(10),
        name: String(it),
        classes: it instanceof ParallelIterator && it.gatherSync() instanceof LocalIterator,
        fromItems: await fromItems(['a', 'b'], 1).take(10),
      }));
    })();
  `);
  t.deepEqual(JSON.parse(out), {
    items: [0, 20, 10, 30],
    name: 'ParallelIterator[fromRange[4, shards=2].forEach()]',
    classes: true,
    fromItems: ['a', 'b'],
  });
});

test('import { fromRange } from "pariter" gathers', async (t) => {
  const out = await node(
    `
    import { fromRange, fromIterators } from 'pariter';
    const items = await fromRange(4).gatherSync().take(10);
    const sources = await fromIterators([[1, 2], function* () { yield 3; }]).take(10);
    console.log(JSON.stringify({ items, sources }));
  `,
    true,
  );
  t.deepEqual(JSON.parse(out), { items: [0, 2, 1, 3], sources: [1, 3, 2] });
});

test('require and import give the same public names', async (t) => {
  const expected = [
    'ArgumentRangeError',
    'ArgumentTypeError',
    'ClosedError',
    'Cluster',
    'LocalIterator',
    'ParallelIterator',
    'ShardError',
    'UsageError',
    'batch',
    'cluster',
    'combine',
    'flatten',
    'fromItems',
    'fromIterators',
    'fromRange',
    'moduleFn',
    'shuffle',
    'startHost',
    'stateful',
  ];
  const list = `JSON.stringify(${JSON.stringify(expected)}.filter((name) => typeof p[name] !== 'function'))`;
  t.is(await node(`const p = require('pariter'); console.log(${list});`), '[]');
  t.is(await node(`import * as p from 'pariter'; console.log(${list});`, true), '[]');
});

test('an error class is the same from require and import', async (t) => {
  const out = await node(
    `
    import { createRequire } from 'node:module';
    import { ArgumentRangeError, fromRange } from 'pariter';
    const required = createRequire(process.cwd() + '/index.js')('pariter');
    let kind;
    try { fromRange(4, 0); } catch (e) {
      kind = [e instanceof ArgumentRangeError, e instanceof required.ArgumentRangeError, e instanceof RangeError];
    }
    console.log(JSON.stringify(kind));
  `,
    true,
  );
  t.deepEqual(JSON.parse(out), [true, true, true]);
});

test('pariter/operators under require', async (t) => {
  const out = await node(`
    const ops = require('pariter/operators');
    const { of, lastValueFrom, toArray } = require('rxjs');
    (async () => {
      console.log(JSON.stringify({
        kinds: ['batch', 'flatten', 'combine', 'shuffle'].map((name) => typeof ops[name]),
        batched: await lastValueFrom(of(1, 2, 3).pipe(ops.batch(2), toArray())),
        flat: await lastValueFrom(of([1, 2], [3]).pipe(ops.flatten(), toArray())),
        combined: await lastValueFrom(of(1, 2).pipe(ops.combine((x) => [x, x * 10]), toArray())),
        shuffled: (await lastValueFrom(of(1, 2, 3, 4).pipe(ops.shuffle(2, 42), toArray()))).sort(),
      }));
    })();
  `);
  t.deepEqual(JSON.parse(out), OPERATORS_OUT);
});

test('pariter/operators under import', async (t) => {
  const out = await node(
    `
    import { batch, flatten, combine, shuffle } from 'pariter/operators';
    import { of, lastValueFrom, toArray } from 'rxjs';
    console.log(JSON.stringify({
      kinds: [batch, flatten, combine, shuffle].map((f) => typeof f),
      batched: await lastValueFrom(of(1, 2, 3).pipe(batch(2), toArray())),
      flat: await lastValueFrom(of([1, 2], [3]).pipe(flatten(), toArray())),
      combined: await lastValueFrom(of(1, 2).pipe(combine((x) => [x, x * 10]), toArray())),
      shuffled: (await lastValueFrom(of(1, 2, 3, 4).pipe(shuffle(2, 42), toArray()))).sort(),
    }));
  `,
    true,
  );
  t.deepEqual(JSON.parse(out), OPERATORS_OUT);
});

test('the operators from pariter are those of pariter/operators', async (t) => {
  const out = await node(`
    const main = require('pariter');
    const ops = require('pariter/operators');
    console.log(JSON.stringify(['batch', 'flatten', 'combine', 'shuffle'].map((n) => main[n] === ops[n])));
  `);
  t.deepEqual(JSON.parse(out), [true, true, true, true]);
});

test('a plain script that never calls close() exits by itself', async (t) => {
  const out = await node(`
    const { fromRange } = require('pariter');
    const local = fromRange(10, { numShards: 2, repeat: true }).gatherSync();
    local.next().then((r) => console.log(JSON.stringify(r.value)));
  `);
  t.is(out, '0');
});
