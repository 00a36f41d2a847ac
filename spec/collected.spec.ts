/**
 * A `LocalIterator` dropped after a partial read releases its threads (and
 * closes a caller-side source) when it is garbage-collected: in a child
 * `node --expose-gc`, so that the spec can force collections.
 */
import test from 'ava';
import * as path from 'node:path';
import { runNode } from './helpers/child';
import { FIXTURES } from './helpers/paths';

test('LocalIterators dropped after a partial read release their threads when collected', async (t) => {
  const outcome = await runNode(['--expose-gc', path.join(FIXTURES, 'gc-dropped-locals.js')], {
    capMs: 60_000,
  });
  t.false(outcome.hung, 'the child ended by itself');
  t.is(outcome.code, 0, outcome.stderr);
  const { baseline, held, heldShards, after, afterShards, closed } = JSON.parse(
    outcome.stdout,
  ) as Record<string, number>;
  // 5 partly read gathers of 2 shards each hold 10 shards, each on its own
  // worker thread (the child's pool has room for them and keeps no idle
  // thread), until collected.
  t.is(heldShards, 10, 'the pool serves the 10 shards of the dropped gathers');
  t.true((held ?? 0) >= (baseline ?? 0) + 10, `held ${held}, baseline ${baseline}`);
  t.is(afterShards, 0, 'the pool serves no shard after collection');
  t.true((after ?? Infinity) <= (baseline ?? 0), `after gc ${after}, baseline ${baseline}`);
  t.is(closed, 1, "the dropped source's finally ran");
});
