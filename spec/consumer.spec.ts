/**
 * The published types, as a new user's project sees them: the package is
 * packed with `npm pack` (from the built `dist/`: `npm run build` first),
 * installed from the tarball into a fresh project in a temporary folder, and
 * that project is type-checked by `tsc` under the `node10`, `node16` and
 * `bundler` module resolutions, with `skipLibCheck: false` and no
 * `@types/node`. Nothing is fetched: the package's dependencies are linked
 * from this repository's `node_modules`.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers/paths';

/** Generous: packing, installing and three `tsc` runs on a loaded machine. */
const CAP_MS = 120_000;
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const run = promisify(execFile);

/** What the user's code does with each entry point; it compiles only if the types are real. */
const CONSUMER = `
import { fromItems, fromRange, LocalIterator, ParallelIterator, ShardError } from 'pariter';
import { batch, parallelFilter } from 'pariter/operators';
import { ParallelIteratorWorker, exposeActor } from 'pariter/worker';
import { of, type Observable } from 'rxjs';

export class Rollouts extends ParallelIteratorWorker<number> {
  constructor() {
    super([1, 2], false);
  }
}
export const expose: (actor: typeof Rollouts) => void = exposeActor;

export async function main(): Promise<number[]> {
  const numbers: ParallelIterator<number> = fromItems([1, null, 2], 1).filter(
    (x): x is number => x !== null,
  );
  const local: LocalIterator<string> = numbers.forEach((x) => String(x)).gatherSync();
  const batches: Observable<number[]> = of(1, null, 3).pipe(
    parallelFilter((x): x is number => x !== null),
    batch(2),
  );
  // @ts-expect-error the types are real: take() gives numbers
  const wrong: string[] = await fromRange(2).take(2);
  void [local, batches, wrong, ShardError];
  return numbers.take(2);
}
`;

/** One `tsc` project per resolution; `module` is the one each resolution goes with. */
const RESOLUTIONS = {
  node10: { module: 'commonjs', files: ['index.ts'] },
  node16: { module: 'node16', files: ['index.ts', 'esm.mts'] },
  bundler: { module: 'esnext', files: ['index.ts'] },
} as const;

/** Runs `command args` in `cwd`; its stdout, or an error carrying its output. */
async function sh(command: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, timeout: CAP_MS, encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
}

test('a project installed from the packed tarball type-checks under node10, node16 and bundler, without @types/node', async (t) => {
  t.timeout(3 * CAP_MS);
  t.true(
    fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.d.ts')),
    'the package is packed from dist/: run `npm run build` first',
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pariter-consumer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

  const packed = JSON.parse(
    await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT),
  ) as [{ filename: string }];
  const tarball = path.join(dir, packed[0].filename);

  const app = path.join(dir, 'app');
  fs.mkdirSync(path.join(app, 'node_modules', '@grpc'), { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  // Linked with their own dependencies (@grpc/grpc-js's bring @types/node,
  // which the registry would have to be asked for): the types must not need it.
  for (const dependency of ['rxjs', 'threads', '@grpc/grpc-js']) {
    fs.symlinkSync(
      path.join(ROOT, 'node_modules', dependency),
      path.join(app, 'node_modules', dependency),
      'dir',
    );
  }
  await sh(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--ignore-scripts',
      tarball,
    ],
    app,
  );
  t.false(fs.existsSync(path.join(app, 'node_modules', '@types')), 'no @types/node in the project');
  fs.writeFileSync(path.join(app, 'index.ts'), CONSUMER);
  fs.writeFileSync(path.join(app, 'esm.mts'), CONSUMER);

  for (const [resolution, { module, files }] of Object.entries(RESOLUTIONS)) {
    const config = `tsconfig.${resolution}.json`;
    const compilerOptions = {
      target: 'es2022',
      module,
      moduleResolution: resolution,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    };
    fs.writeFileSync(path.join(app, config), JSON.stringify({ compilerOptions, files }, null, 2));
    await t.notThrowsAsync(sh(process.execPath, [TSC, '-p', config], app), resolution);
  }
});
