/**
 * RLlib's A3C execution plan, with pariter: rollout workers compute policy
 * gradients in their own threads; the learner applies each gradient as it
 * arrives and sends the new weights back to the worker that sent it only.
 *
 * ```sh
 * npm run build && node dist/examples/a3c.js [workers] [iterations]
 * # default: 2 workers, 5 reports of 10 gradients each
 * ```
 *
 * In RLlib:
 *
 * ```python
 * grads = AsyncGradients(workers)        # from_actors(...).gather_async().zip_with_source_actor()
 * train_op = grads.for_each(ApplyGradients(workers, update_all=False))
 * return StandardMetricsReporting(train_op, workers, config)
 * ```
 *
 * What it shows:
 *
 * - Actors (`spawnActor`, `examples/rolloutWorker.ts`) as fake rollout
 *   workers with a one-number policy, read with `fromActors(...).gatherAsync()`.
 * - `zipWithSourceActor()` pairs each gradient with the actor that computed
 *   it, and the learner sends the new weights back to that actor alone
 *   (`update_all=False`). Fetch ordering makes this exact: an actor is asked
 *   for its next gradient only after the learner's step on its last one ran,
 *   so each gradient is computed with the weights the learner sent.
 * - Metrics as RLlib keeps them: counters of steps sampled and trained, a
 *   timer around the gradient step, and a report every `reportEvery`
 *   gradients read from `sharedMetrics` (`StandardMetricsReporting`).
 *
 * @packageDocumentation
 */
import { Worker } from 'threads';
import { fromActors, getMetrics, spawnActor, type ActorHandle, type ActorMethods } from '../src';
import type { GradientBatch, RolloutWorker } from './rolloutWorker';

/** The learner's step size. */
const LR = 0.2;

type Rollout = ActorHandle<GradientBatch> & ActorMethods<RolloutWorker>;

/** One metrics report (RLlib's `StandardMetricsReporting` result). */
export interface A3CReport {
  readonly iteration: number;
  readonly timestepsSampled: number;
  readonly timestepsTrained: number;
  readonly gradientsApplied: number;
  readonly learnerWeights: number;
  readonly meanReward: number;
  readonly applyMs: number;
}

/** What a run did, for checking. */
export interface A3CResult {
  readonly reports: A3CReport[];
  /** Gradients whose source actor (from `zipWithSourceActor`) was not the one that made them. */
  readonly misrouted: number;
  /** Updates each worker received, by worker index. */
  readonly updatesReceived: number[];
  /** Gradients taken from each worker, by worker index. */
  readonly gradientsFrom: number[];
  /** Gradients computed with weights other than the last ones sent to that worker. */
  readonly stale: number;
}

/**
 * Runs the A3C plan with `numWorkers` fake rollout workers until
 * `iterations` reports of `reportEvery` gradients each.
 */
export async function runA3C(numWorkers = 2, iterations = 5, reportEvery = 10): Promise<A3CResult> {
  const workers: Rollout[] = await Promise.all(
    Array.from({ length: numWorkers }, (_, i) =>
      spawnActor<RolloutWorker>(new Worker('./rolloutWorker'), i),
    ),
  );
  try {
    let weights = 0;
    let misrouted = 0;
    let stale = 0;
    const gradientsFrom = workers.map(() => 0);
    const sent = workers.map(() => 0); // updates sent, by worker
    const trainOp = fromActors(workers)
      .gatherAsync()
      .zipWithSourceActor()
      .forEach(async ([actor, batch]) => {
        const m = getMetrics();
        const index = workers.indexOf(actor as Rollout);
        if (index !== batch.worker) misrouted++;
        if (batch.weightsVersion !== sent[batch.worker]) stale++;
        gradientsFrom[batch.worker] = (gradientsFrom[batch.worker] ?? 0) + 1;
        m.counters.stepsSampled! += batch.count;
        const timer = m.timers.applyGrad!;
        timer.pushUnitsProcessed(batch.count);
        await timer.time(async () => {
          weights += LR * batch.grad; // apply the gradient
          sent[index] = (sent[index] ?? 0) + 1;
          await (actor as Rollout).setWeights(weights); // update_all=False: its sender only
        });
        m.counters.stepsTrained! += batch.count;
        m.counters.gradientsApplied! += 1;
        m.info.meanReward = batch.meanReward;
        return batch;
      });
    const metrics = trainOp.sharedMetrics;
    let iteration = 0;
    const reports = trainOp.batch(reportEvery).forEach((): A3CReport => {
      const m = metrics.get();
      return {
        iteration: ++iteration,
        timestepsSampled: m.counters.stepsSampled ?? 0,
        timestepsTrained: m.counters.stepsTrained ?? 0,
        gradientsApplied: m.counters.gradientsApplied ?? 0,
        learnerWeights: weights,
        meanReward: m.info.meanReward as number,
        applyMs: m.timers.applyGrad?.mean ?? 0,
      };
    });
    const out: A3CReport[] = [];
    for await (const report of reports) {
      out.push(report);
      if (out.length >= iterations) break;
    }
    const updatesReceived = (await Promise.all(workers.map((w) => w.stats()))).map(
      (s) => s.version,
    );
    return { reports: out, misrouted, updatesReceived, gradientsFrom, stale };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function main(): Promise<void> {
  const [workers = 2, iterations = 5] = process.argv.slice(2).map(Number);
  if (![workers, iterations].every((x) => Number.isInteger(x) && x >= 1)) {
    throw new Error('usage: node dist/examples/a3c.js [workers >= 1] [iterations >= 1]');
  }
  const result = await runA3C(workers, iterations);
  for (const r of result.reports) {
    console.log(
      `iteration ${r.iteration}: ${r.timestepsSampled} steps sampled, ${r.gradientsApplied} gradients, weights ${r.learnerWeights.toFixed(4)}, mean reward ${r.meanReward.toFixed(4)}`,
    );
  }
  console.log(`updates received by each worker: ${result.updatesReceived.join(', ')}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
