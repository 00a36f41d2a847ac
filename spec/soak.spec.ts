/**
 * The short soak: `spec/soak/run.js` in a child `node --expose-gc` (so that it
 * can force GCs), with few runs. It ends short runs of a repeating 4-shard
 * iterator each way (take(1), break out of for await, unsubscribe from
 * asObservable with rxjs take(2)), then reads an infinite source fast with
 * getShard. Its JSON summary must show the thread count back to the
 * baseline after each way, a heap that did not grow over the runs, a heap
 * that does not grow with the number of items read, and no unhandled
 * rejection or process warning.
 *
 * The long version is `npm run soak` (1,000 runs of each way, every reader
 * read fast, and slow consumers of an infinite source for two minutes); its
 * figures are in docs/reliability.md.
 */
import test from 'ava';
import * as path from 'node:path';
import { runNode, type ChildOutcome } from './helpers/child';

const SCRIPT = path.join(__dirname, 'soak', 'run.js');
/** Runs of each way of ending (each starts one to four workers). */
const RUNS = 20;

interface Summary {
  readonly runsPerEnding: number;
  readonly phases: Record<string, { runs: number; threadsAfter: number }>;
  readonly threads: { baseline: number; afterRuns: number; afterFast: number; after: number };
  readonly heapGrowthMb: number;
  readonly rssGrowthMb: number;
  readonly fast: Record<string, { items: number; bytesPerItem: number; heapMb: number[] }>;
  readonly margins: {
    heapGrowthMb: number;
    rssGrowthMb: number;
    fastBytesPerItem: number;
  };
  readonly unhandledRejections: string[];
  readonly warnings: string[];
  readonly failures: string[];
}

function runSoak(args: string[]): Promise<ChildOutcome> {
  // A hang is killed well before ava's own timeout.
  return runNode(['--expose-gc', SCRIPT, ...args], { capMs: 55_000 });
}

test('short soak: threads back to baseline, no heap growth, no unhandled rejection', async (t) => {
  const { code, stdout, stderr } = await runSoak([
    '--runs',
    String(RUNS),
    '--parallel',
    '2',
    '--async-every',
    '10',
    '--fast-items',
    '120000',
  ]);
  const line = stdout.trim().split('\n').pop() ?? '';
  let summary: Summary;
  try {
    summary = JSON.parse(line) as Summary;
  } catch {
    t.fail(`no JSON summary (exit code ${String(code)}): ${stdout} ${stderr}`);
    return;
  }
  t.log(line);
  t.is(summary.runsPerEnding, RUNS, line);
  const { baseline } = summary.threads;
  t.deepEqual(Object.keys(summary.phases), ['take', 'break', 'unsubscribe']);
  for (const [ending, phase] of Object.entries(summary.phases)) {
    t.is(phase.runs, RUNS, ending);
    t.true(phase.threadsAfter <= baseline, `${ending}: ${phase.threadsAfter} threads, ${baseline}`);
  }
  t.true(summary.threads.afterRuns <= baseline, 'threads after the runs');
  t.true(summary.threads.afterFast <= baseline, 'threads after the fast reader');
  t.true(summary.threads.after <= baseline, 'threads at the end');
  t.true(
    summary.heapGrowthMb < summary.margins.heapGrowthMb,
    `the heap grew ${summary.heapGrowthMb} MB over ${3 * RUNS} runs`,
  );
  t.true(
    summary.rssGrowthMb < summary.margins.rssGrowthMb,
    `RSS grew ${summary.rssGrowthMb} MB over ${3 * RUNS} runs`,
  );
  const fast = summary.fast.getShard;
  t.truthy(fast, 'the fast reader ran');
  if (fast) {
    t.true(
      fast.bytesPerItem < summary.margins.fastBytesPerItem,
      `reading an infinite shard, the heap grew by ${fast.bytesPerItem} bytes per item (${fast.heapMb.join(', ')} MB over ${fast.items} items)`,
    );
  }
  t.deepEqual(summary.unhandledRejections, []);
  t.deepEqual(summary.warnings, []);
  t.deepEqual(summary.failures, []);
  t.is(code, 0, stderr);
});
