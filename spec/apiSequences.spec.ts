/**
 * Random sequences of API calls (create, transform, repartition, union, a
 * failing shard, read some, break, close, take, duplicate, a local union,
 * send to a worker) checked against a reference model: items, errors, and
 * the threads back to their baseline after each (see helpers/apiModel.ts).
 *
 * A few dozen runs here; `npm run soak` runs 1,000.
 */
import test from 'ava';
import { checkApiSequences } from './helpers/apiModel';

/** Runs per `npm test`; each starts one to a dozen workers. */
const RUNS = 30;

test.serial('random API call sequences match the model and leave no thread', async (t) => {
  const report = await checkApiSequences(RUNS);
  t.log(`${report.runs} runs, seed ${report.seed}, baseline ${report.baseline} threads`);
  t.is(report.runs, RUNS);
});
