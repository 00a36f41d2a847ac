/**
 * The RLlib plan ports, `examples/a3c.ts` and `examples/dqn.ts`, run as
 * specs (from the build, as a user runs them), and as scripts.
 */
import test from 'ava';
import * as path from 'node:path';
import { runA3C } from '../dist/examples/a3c';
import { runDQN } from '../dist/examples/dqn';
import { threadBaseline } from './helpers/baseline';
import { runNode } from './helpers/child';
import { within } from './helpers/hang';
import { ROOT } from './helpers/paths';

const baseline = threadBaseline();

test.serial('A3C: each gradient goes back to the actor that computed it', async (t) => {
  const result = await within(runA3C(2, 4, 10), 'the A3C plan', 60_000);
  t.is(result.reports.length, 4);
  t.is(result.misrouted, 0, 'zipWithSourceActor named the sending actor');
  t.is(result.stale, 0, 'every gradient was computed with the weights sent to its actor');
  t.deepEqual(
    result.updatesReceived,
    result.gradientsFrom,
    'one update per gradient, to its sender',
  );
  t.is(
    result.gradientsFrom.reduce((a, b) => a + b, 0),
    40,
  );
  const last = result.reports[3];
  t.is(last?.timestepsSampled, 40 * 8);
  t.is(last?.timestepsTrained, 40 * 8);
  t.is(last?.gradientsApplied, 40);
  t.true(Math.abs((last?.learnerWeights ?? 0) - 1) < 0.01, `weights ${last?.learnerWeights}`);
  t.true((last?.applyMs ?? -1) >= 0);
  await baseline.assertBackToBaseline(t, 'after the A3C plan');
});

test.serial('DQN: a replay buffer not ready at first, round robin with [1, 0.5]', async (t) => {
  const { results, trainedBeforeLearningStarts, targetUpdates } = await within(
    runDQN(40, [1, 0.5], { learningStarts: 32, targetUpdateFreq: 5 }),
    'the DQN plan',
    60_000,
  );
  t.is(results.length, 40);
  t.is(trainedBeforeLearningStarts, 0, 'the replay input gave nothing before learning starts');
  t.true((results[0]?.stepsSampled ?? 0) >= 32);
  t.deepEqual(
    results.map((r) => r.trainStep),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  t.is(targetUpdates, 8);
  // Ray's randomised rounding: about one train step per two store steps.
  const last = results[39];
  const storeSteps = ((last?.stepsSampled ?? 0) - 32) / 4;
  t.true(storeSteps >= 40 && storeSteps < 160, `${storeSteps} store steps for 40 train steps`);
  await baseline.assertBackToBaseline(t, 'after the DQN plan');
});

test.serial(
  "DQN: round robin with [1, '*'] trains on what is ready after each store step",
  async (t) => {
    const { results, trainedBeforeLearningStarts } = await within(
      runDQN(20, [1, '*'], { learningStarts: 32 }),
      'the DQN plan',
      60_000,
    );
    t.is(results.length, 20);
    t.is(trainedBeforeLearningStarts, 0);
    // The buffer holds 32 steps when learning starts: the first '*' turn
    // takes the 4 replays (8 steps each) it has ready at once, in one turn.
    t.deepEqual(
      results.slice(0, 4).map((r) => r.stepsSampled),
      [32, 32, 32, 32],
    );
    // Then one replay is ready every other store step (4 steps each), and '*'
    // takes it right away, never waiting.
    for (let i = 5; i < results.length; i++) {
      const grown = (results[i]?.stepsSampled ?? 0) - (results[i - 1]?.stepsSampled ?? 0);
      t.is(grown, 8, `train step ${i + 1}`);
    }
    await baseline.assertBackToBaseline(t, "after the '*' plan");
  },
);

test.serial('the compiled scripts run and exit by themselves', async (t) => {
  const a3c = await runNode([path.join(ROOT, 'dist', 'examples', 'a3c.js'), '2', '2']);
  t.is(a3c.code, 0, a3c.stderr);
  t.regex(a3c.stdout, /iteration 2: 160 steps sampled, 20 gradients/);
  const dqn = await runNode([path.join(ROOT, 'dist', 'examples', 'dqn.js'), '5', '1,*']);
  t.is(dqn.code, 0, dqn.stderr);
  t.regex(dqn.stdout, /train step 5: /);
});
