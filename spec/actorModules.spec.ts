/**
 * `spawnActor` on the actor module itself: absolute paths, `file:` URLs
 * (strings and `URL`s), paths relative to the calling file whatever the
 * working directory, TypeScript modules; and the errors of a module that is
 * not an actor, a `worker_threads.Worker` passed by mistake, a worker that
 * exits while it starts, and an actor read after it died. Each case leaves no
 * thread behind.
 *
 * Every test is serial: they count the threads of this process.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker as NativeWorker } from 'node:worker_threads';
import { expectTypeOf } from 'expect-type';
import { Worker } from 'threads';
import {
  ArgumentTypeError,
  fromActors,
  ParallelIterator,
  ShardError,
  spawnActor,
  type ActorHandle,
} from 'pariter';
import type { ParallelIteratorWorker } from 'pariter/worker';
import type { TsActor } from './fixtures/comp-ts-actor';
import { threadBaseline } from './helpers/baseline';
import { HANG_CAP_MS, within } from './helpers/hang';
import { FIXTURES } from './helpers/paths';

interface Rollouts extends ParallelIteratorWorker<number> {
  setWeights(w: number): void;
}

interface CompActor extends ParallelIteratorWorker<unknown> {
  exit(code: number): void;
}

const FORM = /^Expected `worker` to be .+, got .+/;
const ROLLOUTS = path.join(FIXTURES, 'rollouts.js');

const { assertBackToBaseline } = threadBaseline();

async function readAndTerminate(actor: ActorHandle<number>): Promise<number[]> {
  try {
    return await within(fromActors([actor]).gatherSync().take(10), 'gatherSync');
  } finally {
    await within(actor.terminate(), 'terminate()');
  }
}

// --- naming the module ---------------------------------------------------------

test.serial('spawnActor takes a relative path, resolved against the calling file', async (t) => {
  const a = await within(spawnActor<Rollouts>('./fixtures/rollouts.js', [1, 2]), 'spawnActor');
  t.deepEqual(await readAndTerminate(a), [1, 2]);
  // Without an extension, as `require` finds it.
  const b = await within(spawnActor<Rollouts>('./fixtures/rollouts', [3]), 'spawnActor');
  t.deepEqual(await readAndTerminate(b), [3]);
  await assertBackToBaseline(t, 'after the actors');
});

test.serial('spawnActor takes an absolute path and file: URLs, string or URL', async (t) => {
  const byPath = await within(spawnActor<Rollouts>(ROLLOUTS, [1]), 'absolute path');
  t.deepEqual(await readAndTerminate(byPath), [1]);
  const url = pathToFileURL(ROLLOUTS);
  const byUrl = await within(spawnActor<Rollouts>(url, [2]), 'URL');
  t.deepEqual(await readAndTerminate(byUrl), [2]);
  const byHref = await within(spawnActor<Rollouts>(url.href, [3]), 'file: string');
  t.deepEqual(await readAndTerminate(byHref), [3]);
  await assertBackToBaseline(t, 'after the actors');
});

test.serial('a TypeScript actor module by path runs under ts-node', async (t) => {
  const actor = await within(
    spawnActor<typeof TsActor>('./fixtures/comp-ts-actor.ts', ['a', 'b']),
    'spawnActor(ts)',
  );
  try {
    await actor.setPrefix('>');
    t.deepEqual(await within(fromActors([actor]).gatherSync().take(10), 'gather'), ['>a', '>b']);
  } finally {
    await within(actor.terminate(), 'terminate()');
  }
  await assertBackToBaseline(t, 'after the TypeScript actor');
});

test.serial(
  "a script started from another directory resolves './actor.js' against its own file",
  async (t) => {
    const cwd = os.tmpdir();
    const stdout = await within(
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [path.join(FIXTURES, 'actor-cwd', 'main.js')],
          { cwd, timeout: HANG_CAP_MS },
          (error, out) => (error ? reject(new Error(`${String(error)}\n${out}`)) : resolve(out)),
        );
      }),
      'child script',
    );
    // actor-cwd/rollouts.js negates its data; ../rollouts.js does not.
    t.deepEqual(JSON.parse(stdout), { cwd, items: [-1, 3, -2, 4] });
  },
);

// --- errors, each leaving no thread ------------------------------------------------

test.serial('a path that names no module is an ArgumentTypeError at the call', async (t) => {
  for (const bad of [
    './fixtures/no-such-actor.js',
    path.join(FIXTURES, 'none.js'),
    'no-such-pkg',
  ]) {
    const error = await t.throwsAsync(within(spawnActor(bad), `spawnActor(${bad})`), {
      instanceOf: ArgumentTypeError,
    });
    t.regex(error?.message ?? '', FORM);
  }
  const httpUrl = new URL('https://example.com/actor.js');
  await t.throwsAsync(within(spawnActor(httpUrl), 'http URL'), { instanceOf: ArgumentTypeError });
  await assertBackToBaseline(t, 'after the bad paths');
});

test.serial(
  'a module that does not call exposeActor is an ArgumentTypeError saying to call it',
  async (t) => {
    // One that ends at once, and a threads.js worker module exposing functions.
    for (const worker of ['./fixtures/actor-no-expose.js', new Worker('./fixtures/sumWorker.js')]) {
      const error = await t.throwsAsync(within(spawnActor(worker), 'spawnActor'), {
        instanceOf: ArgumentTypeError,
      });
      t.regex(error?.message ?? '', /exposeActor\(/);
    }
    await assertBackToBaseline(t, 'after the modules that are not actors');
  },
);

test.serial(
  'a worker that exits while it starts is a ShardError with the cause, and leaves no thread',
  async (t) => {
    const threw = await t.throwsAsync(
      within(spawnActor('./fixtures/actor-throws-at-load.js'), 'spawnActor(throws)'),
      { instanceOf: ShardError },
    );
    t.is((threw?.cause as Error | undefined)?.message, 'actor module failed to load');
    t.regex(threw?.message ?? '', /while it started/);
    // Each worker made when it is passed, so that it exits while it starts.
    for (const worker of [
      () => './fixtures/life-exit-at-load.js',
      () => new Worker('./fixtures/life-exit-at-load.js'),
    ]) {
      const exited = await t.throwsAsync(within(spawnActor(worker()), 'spawnActor(exit)'), {
        instanceOf: ShardError,
      });
      t.regex(exited?.message ?? '', /exited with code 3/);
    }
    // A threads.js Worker that exited before it was passed: no handshake to wait for.
    const early = new Worker('./fixtures/life-exit-at-load.js');
    await within(
      new Promise((resolve) => (early as unknown as NativeWorker).once('exit', resolve)),
      'the worker exits',
    );
    const before = Date.now();
    await t.throwsAsync(within(spawnActor(early), 'spawnActor(exited)'), {
      instanceOf: ArgumentTypeError,
    });
    t.true(Date.now() - before < 5000, "it did not wait for threads.js's handshake timeout");
    await assertBackToBaseline(t, 'after the workers that exited');
  },
);

test.serial(
  'a worker_threads.Worker passed by mistake is an ArgumentTypeError, and it is terminated',
  async (t) => {
    const worker = new NativeWorker(ROLLOUTS);
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const error = await t.throwsAsync(within(spawnActor(worker as never, [1]), 'spawnActor'), {
      instanceOf: ArgumentTypeError,
    });
    t.regex(error?.message ?? '', FORM);
    t.regex(error?.message ?? '', /path/);
    await within(exited, 'the worker exits', 5000);
    await assertBackToBaseline(t, 'after the worker_threads.Worker');
  },
);

test.serial(
  'reading an actor after it died says it exited, not that it could not start',
  async (t) => {
    const a = await within(spawnActor<CompActor>('./fixtures/comp-actor.js', [1, 2]), 'spawnActor');
    await t.throwsAsync(within(a.exit(3), 'exit()'));
    const died = await t.throwsAsync(within(fromActors([a]).take(1), 'take after exit'), {
      instanceOf: ShardError,
    });
    t.notRegex(died?.message ?? '', /could not start/);
    t.regex(died?.message ?? '', /exited/);
    await within(a.terminate(), 'terminate()');

    const b = await within(spawnActor<CompActor>('./fixtures/comp-actor.js', [1, 2]), 'spawnActor');
    await within(b.terminate(), 'terminate()');
    const ended = await t.throwsAsync(within(fromActors([b]).take(1), 'take after terminate'), {
      instanceOf: ShardError,
    });
    t.notRegex(ended?.message ?? '', /could not start/);
    t.regex(ended?.message ?? '', /terminated/);
    await assertBackToBaseline(t, 'after the dead actors');
  },
);

test('spawnActor checks constructor arguments when given the class (types)', (t) => {
  // Compiled, never run: `tsc` checks the expectations.
  const typed = async (): Promise<void> => {
    const actor = await spawnActor<typeof TsActor>('./fixtures/comp-ts-actor.ts', ['a']);
    expectTypeOf(actor.setPrefix).toEqualTypeOf<(prefix: string) => Promise<void>>();
    expectTypeOf(fromActors([actor])).toEqualTypeOf<ParallelIterator<string>>();
    // @ts-expect-error TsActor's constructor takes string[]
    await spawnActor<typeof TsActor>('./fixtures/comp-ts-actor.ts', [1]);
    // @ts-expect-error a worker_threads Worker is not a threads.js Worker
    await spawnActor(new NativeWorker(ROLLOUTS), [1]);
    // The instance type types the handle; its arguments are not checked.
    await spawnActor<Rollouts>(new URL('file:///rollouts.js'), 'anything');
  };
  t.is(typeof typed, 'function');
});

test.serial('every thread is gone at the end', async (t) => {
  await assertBackToBaseline(t, 'at the end of actorModules.spec.ts');
});
