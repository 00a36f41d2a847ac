/**
 * Printed names (`String(it)` and `util.inspect(it)`), as the contract's
 * "Printed names" section lists them. Naming starts no worker.
 */
import { inspect } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { map } from 'rxjs';
import { fromItems, fromIterators, fromRange } from 'pariter';

/** Asserts both `String(it)` and `util.inspect(it)`. */
function printsAs(t: ExecutionContext, it: object, expected: string): void {
  t.is(String(it), expected);
  t.is(`${it as never}`, expected);
  t.is(inspect(it), expected);
}

test('fromItems: type word, count, shards', (t) => {
  printsAs(t, fromItems([1, 2, 3, 4]), 'ParallelIterator[fromItems[number, 4, shards=2]]');
  printsAs(t, fromItems([1, 2, 3, 4], 2), 'ParallelIterator[fromItems[number, 4, shards=2]]');
  printsAs(
    t,
    fromItems([1, 2, 3, 4], { numShards: 2, repeat: true }),
    'ParallelIterator[fromItems[number, 4, shards=2, repeat=true]]',
  );
  printsAs(
    t,
    fromItems([1, 2, 3, 4], { numShards: 2, repeat: false }),
    'ParallelIterator[fromItems[number, 4, shards=2]]',
  );
});

test('fromItems: the type word of the first item', (t) => {
  printsAs(t, fromItems(['a', 'b'], 1), 'ParallelIterator[fromItems[string, 2, shards=1]]');
  printsAs(t, fromItems([true], 1), 'ParallelIterator[fromItems[boolean, 1, shards=1]]');
  printsAs(t, fromItems([[1], [2], [3]], 3), 'ParallelIterator[fromItems[Array, 3, shards=3]]');
  printsAs(t, fromItems([{ a: 1 }], 1), 'ParallelIterator[fromItems[Object, 1, shards=1]]');
  printsAs(t, fromItems([new Map(), new Map()]), 'ParallelIterator[fromItems[Map, 2, shards=2]]');
  printsAs(t, fromItems([], 2), 'ParallelIterator[fromItems[none, 0, shards=2]]');
  printsAs(t, fromItems([1, 'mixed']), 'ParallelIterator[fromItems[number, 2, shards=2]]');
});

test('fromRange', (t) => {
  printsAs(t, fromRange(4), 'ParallelIterator[fromRange[4, shards=2]]');
  printsAs(t, fromRange(1000000, 32), 'ParallelIterator[fromRange[1000000, shards=32]]');
  printsAs(
    t,
    fromRange(4, { numShards: 2, repeat: true }),
    'ParallelIterator[fromRange[4, shards=2, repeat=true]]',
  );
});

test('fromIterators', (t) => {
  printsAs(
    t,
    fromIterators([
      [1, 2],
      [3, 4],
    ]),
    'ParallelIterator[fromIterators[shards=2]]',
  );
  printsAs(
    t,
    fromIterators([[1], new Set([2]), () => [3]]),
    'ParallelIterator[fromIterators[shards=3]]',
  );
  printsAs(t, fromIterators([[1]], { name: 'logs' }), 'ParallelIterator[logs]');
});

test('parallel transforms are appended', (t) => {
  printsAs(
    t,
    fromRange(4)
      .forEach((x) => [x])
      .filter(() => true)
      .batch(2)
      .flatten()
      .combine((x) => x),
    'ParallelIterator[fromRange[4, shards=2].forEach().filter().batch(2).flatten().combine()]',
  );
  printsAs(
    t,
    fromRange(8).localShuffle(2),
    'ParallelIterator[fromRange[8, shards=2].localShuffle(shuffleBufferSize=2, seed=undefined)]',
  );
  printsAs(
    t,
    fromRange(8).localShuffle(3, 42),
    'ParallelIterator[fromRange[8, shards=2].localShuffle(shuffleBufferSize=3, seed=42)]',
  );
});

test('repartition', (t) => {
  printsAs(
    t,
    fromRange(9, 3)
      .repartition(2)
      .forEach((x) => x),
    'ParallelIterator[fromRange[9, shards=3].repartition[numPartitions=2].forEach()]',
  );
});

test('a transform leaves the original name alone', (t) => {
  const base = fromRange(4);
  base.forEach((x) => x);
  printsAs(t, base, 'ParallelIterator[fromRange[4, shards=2]]');
});

test('union', (t) => {
  const a = fromRange(4);
  const b = fromItems(['x'], 1);
  printsAs(
    t,
    a.union(b),
    'ParallelIterator[ParallelUnion[ParallelIterator[fromRange[4, shards=2]], ParallelIterator[fromItems[string, 1, shards=1]]]]',
  );
  printsAs(
    t,
    a.union(b).forEach((x) => x),
    'ParallelIterator[ParallelUnion[ParallelIterator[fromRange[4, shards=2]], ParallelIterator[fromItems[string, 1, shards=1]]].forEach()]',
  );
  printsAs(
    t,
    a.union(b).gatherSync(),
    'LocalIterator[ParallelIterator[ParallelUnion[ParallelIterator[fromRange[4, shards=2]], ParallelIterator[fromItems[string, 1, shards=1]]]].gatherSync()]',
  );
});

test('gathers', (t) => {
  printsAs(
    t,
    fromRange(4).gatherSync(),
    'LocalIterator[ParallelIterator[fromRange[4, shards=2]].gatherSync()]',
  );
  printsAs(
    t,
    fromRange(4).gatherAsync(),
    'LocalIterator[ParallelIterator[fromRange[4, shards=2]].gatherAsync()]',
  );
  printsAs(
    t,
    fromRange(4).gatherAsync({ numAsync: 2, batchMs: 5 }),
    'LocalIterator[ParallelIterator[fromRange[4, shards=2]].gatherAsync()]',
  );
  printsAs(
    t,
    fromIterators([[1], [2]]).batchAcrossShards(),
    'LocalIterator[ParallelIterator[fromIterators[shards=2]].batchAcrossShards()]',
  );
  printsAs(
    t,
    fromRange(1000000, 1).gatherSync(),
    'LocalIterator[ParallelIterator[fromRange[1000000, shards=1]].gatherSync()]',
  );
  printsAs(
    t,
    fromRange(4)
      .forEach((x) => x)
      .gatherSync(),
    'LocalIterator[ParallelIterator[fromRange[4, shards=2].forEach()].gatherSync()]',
  );
});

test('shards', (t) => {
  const it = fromRange(10000, 3);
  printsAs(t, it.getShard(0), 'LocalIterator[fromRange[10000, shards=3].shard[0]]');
  t.deepEqual(
    it.shards().map((shard) => String(shard)),
    [
      'LocalIterator[fromRange[10000, shards=3].shard[0]]',
      'LocalIterator[fromRange[10000, shards=3].shard[1]]',
      'LocalIterator[fromRange[10000, shards=3].shard[2]]',
    ],
  );
  t.is(
    inspect(it.shards()),
    '[\n' +
      '  LocalIterator[fromRange[10000, shards=3].shard[0]],\n' +
      '  LocalIterator[fromRange[10000, shards=3].shard[1]],\n' +
      '  LocalIterator[fromRange[10000, shards=3].shard[2]]\n' +
      ']',
  );
  printsAs(
    t,
    fromRange(4).batch(2).getShard(1),
    'LocalIterator[fromRange[4, shards=2].batch(2).shard[1]]',
  );
});

test('local transforms are appended', (t) => {
  const gathered = fromRange(4).gatherSync();
  const base = 'ParallelIterator[fromRange[4, shards=2]].gatherSync()';
  printsAs(
    t,
    gathered.forEach((x) => x),
    `LocalIterator[${base}.forEach()]`,
  );
  printsAs(
    t,
    gathered.filter(() => true),
    `LocalIterator[${base}.filter()]`,
  );
  printsAs(t, gathered.batch(2), `LocalIterator[${base}.batch(2)]`);
  printsAs(t, gathered.batch(2).flatten(), `LocalIterator[${base}.batch(2).flatten()]`);
  printsAs(
    t,
    gathered.combine((x) => [x]),
    `LocalIterator[${base}.combine()]`,
  );
  printsAs(
    t,
    gathered
      .forEach((x) => x + 1)
      .filter(() => true)
      .batch(3),
    `LocalIterator[${base}.forEach().filter().batch(3)]`,
  );
  t.regex(String(gathered.shuffle(2)), /^LocalIterator\[.*\.gatherSync\(\)\.shuffle\(.*\)\]$/);
  t.regex(
    String(gathered.transform(map((x) => x))),
    /^LocalIterator\[.*\.gatherSync\(\)\.transform\(.*\)\]$/,
  );
  printsAs(t, gathered, `LocalIterator[${base}]`);
  printsAs(
    t,
    fromRange(10000, 3)
      .getShard(0)
      .forEach((x) => x),
    'LocalIterator[fromRange[10000, shards=3].shard[0].forEach()]',
  );
});

test('LocalIterator union', (t) => {
  const a = fromRange(4).gatherSync();
  const b = fromItems(['x'], 1).gatherAsync();
  printsAs(
    t,
    a.union(b),
    'LocalIterator[LocalUnion[LocalIterator[ParallelIterator[fromRange[4, shards=2]].gatherSync()], LocalIterator[ParallelIterator[fromItems[string, 1, shards=1]].gatherAsync()]]]',
  );
});

test('names print inside other values', (t) => {
  t.is(inspect({ it: fromRange(4) }), '{ it: ParallelIterator[fromRange[4, shards=2]] }');
  t.is(`${fromRange(4)}`, 'ParallelIterator[fromRange[4, shards=2]]');
});
