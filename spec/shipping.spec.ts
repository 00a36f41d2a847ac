/**
 * Functions that run in shards, as users' real code writes them: any valid
 * arrow or method, whatever `Function.prototype.toString` was replaced with,
 * compiled by TypeScript to older targets, instrumented for coverage; with
 * paths, `require` and stack traces that belong to the file that wrote them.
 */
import test from 'ava';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArgumentTypeError, ShardError, fromItems, fromRange, stateful } from 'pariter';
import * as ts from 'typescript';
import { resolveModule } from '../src/internal/common/callerPath';
import { loadFunction, loadModuleExport } from '../src/internal/wire/shipping';
import { nativeTypeScript, typeScriptLoader } from '../src/internal/common/typeScript';
import { runNode } from './helpers/child';
import { within } from './helpers/hang';
import { FIXTURES } from './helpers/paths';

const load = createRequire(__filename);
const { createInstrumenter } = load('istanbul-lib-instrument') as {
  createInstrumenter(options: object): { instrumentSync(code: string, file: string): string };
};

/** A folder for the modules a test writes; removed after the file's tests. */
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'pariter-shipping-'));
test.after.always(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** Writes `code` as `TMP/name` and loads it with `require`, as a user's module. */
function writeModule<M>(name: string, code: string): M {
  const file = path.join(TMP, name);
  fs.writeFileSync(file, code);
  return load(file) as M;
}

/** `source` compiled by TypeScript to CommonJS for `target`, as `tsc` writes it. */
function compiled(source: string, target: ts.ScriptTarget): string {
  return ts.transpileModule(source, {
    compilerOptions: { target, module: ts.ModuleKind.CommonJS },
  }).outputText;
}

/** Items of a shard function run over `fromRange(n)`, in order. */
async function mapped(fn: (x: number) => unknown, n = 4): Promise<unknown[]> {
  return within(
    fromRange(n, 1)
      .forEach(fn)
      .take(n + 1),
    `forEach over fromRange(${n})`,
  );
}

/** A function whose source text is exactly `text`, as a user's file would define it. */
const defined = <F>(text: string): F => new Function(`return (${text});`)() as F;

test.serial('valid arrows without parentheses and with comments are shipped', async (t) => {
  t.deepEqual(await mapped(defined('ñ => ñ * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('async ü => ü * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('x /* c */ => x * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('(x /* ) => */) => x * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('(\n  x\n) =>\n  x * 2')), [0, 2, 4, 6]);
  t.deepEqual(await mapped(defined('$ => `${$}`')), ['0', '1', '2', '3']);
});

test.serial(
  'methods in shorthand are shipped: named, computed, async, generator, private',
  async (t) => {
    const obj = defined<Record<string, (x: number) => unknown>>(
      `({ double(x) { return x * 2; }, ['tri' + 'ple'](x = 0) { return x * 3; },
        async 'quoted name'(x) { return x + 1; }, *pair(x) { yield x; } })`,
    );
    t.deepEqual(await mapped(obj.double!), [0, 2, 4, 6]);
    t.deepEqual(await mapped(obj.triple!), [0, 3, 6, 9]);
    t.deepEqual(await mapped(obj['quoted name']!), [1, 2, 3, 4]);
    const gen = await within(
      fromRange(2, 1)
        .forEach(obj.pair!)
        .forEach((g) => [...(g as Iterable<number>)])
        .take(4),
      'a generator method',
    );
    t.deepEqual(gen, [[0], [1]]);
    const Private = defined<new () => { fn(): (x: number) => unknown }>(
      'class { #m(x) { return -x; } fn() { return this.#m; } }',
    );
    t.deepEqual(await mapped(new Private().fn()), [-0, -1, -2, -3]);
  },
);

test.serial('a replaced Function.prototype.toString does not change what is shipped', async (t) => {
  const original = Object.getOwnPropertyDescriptor(Function.prototype, 'toString')!;
  Object.defineProperty(Function.prototype, 'toString', {
    ...original,
    value: () => '() => "replaced"',
  });
  try {
    t.deepEqual(await mapped((x) => x * 10), [0, 10, 20, 30]);
    const counts = await within(
      fromItems([1, 1, 1], 1)
        .forEach(
          stateful(() => {
            let n = 0;
            return (x: number) => (n += x);
          }),
        )
        .take(4),
      'a stateful function',
    );
    t.deepEqual(counts, [1, 2, 3]);
  } finally {
    Object.defineProperty(Function.prototype, 'toString', original);
  }
});

test.serial('a call() instance with #private members is refused at the call', (t) => {
  class Counter {
    #total = 0;
    call(x: number): number {
      return (this.#total += x);
    }
  }
  class Doubler {
    #twice(x: number): number {
      return x * 2;
    }
    call(x: number): number {
      return this.#twice(x);
    }
  }
  for (const instance of [new Counter(), new Doubler()]) {
    const error = t.throws(() => fromRange(4).forEach(instance), {
      instanceOf: ArgumentTypeError,
    });
    t.regex(error?.message ?? '', /`fn`.*#private.*stateful\(\(\) =>/s);
  }
  // The same state in a plain field is fine.
  class PlainCounter {
    total = 0;
    call(x: number): number {
      return (this.total += x);
    }
  }
  t.notThrows(() => fromRange(4).forEach(new PlainCounter()));
});

test.serial('a shard function that throws is still a ShardError', async (t) => {
  await t.throwsAsync(
    mapped(() => {
      throw new Error('boom');
    }),
    { instanceOf: ShardError },
  );
});

/** A module as TypeScript users write it: async code, spreads, rest, a class callable. */
const TS_MODULE = `
export const asyncDouble = async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return x * 2;
};
export function spreads(x: number) {
  const { a, ...rest } = { a: x, ...{ b: x + 1 } };
  return [...[a], ...Object.values(rest)];
}
export class Sum {
  total = 0;
  call(x: number) {
    return (this.total += x);
  }
}
`;

interface TsModule {
  asyncDouble(x: number): Promise<number>;
  spreads(x: number): number[];
  Sum: new () => { call(x: number): number };
}

for (const [label, target] of [
  ['ES2015', ts.ScriptTarget.ES2015],
  ['ES5', ts.ScriptTarget.ES5],
] as const) {
  test.serial(`functions compiled by TypeScript for ${label} run in shards`, async (t) => {
    const code = compiled(TS_MODULE, target);
    t.regex(code, /__awaiter/, 'the compiled module uses tslib helpers');
    const mod = writeModule<TsModule>(`target-${label}.js`, code);
    t.deepEqual(await mapped(mod.asyncDouble), [0, 2, 4, 6]);
    t.deepEqual(await mapped(mod.spreads), [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    const sums = await within(fromItems([1, 2, 3, 4], 1).forEach(new mod.Sum()).take(5), 'Sum');
    t.deepEqual(sums, [1, 3, 6, 10]);
  });
}

test.serial('functions instrumented by istanbul run in shards', async (t) => {
  const file = path.join(TMP, 'covered.js');
  const code = createInstrumenter({}).instrumentSync(
    `exports.parity = (x) => (x % 2 ? 'odd' : 'even');
exports.later = async function (x) { if (x > 1) { return x * 10; } return x; };
exports.Counter = class Counter { constructor() { this.n = 0; } call(x) { this.n += x; return this.n; } };
`,
    file,
  );
  t.regex(code, /cov_\w+\(\)/, 'the module is instrumented');
  const mod = writeModule<{
    parity(x: number): string;
    later(x: number): Promise<number>;
    Counter: new () => { call(x: number): number };
  }>('covered.js', code);
  t.deepEqual(await mapped(mod.parity), ['even', 'odd', 'even', 'odd']);
  t.deepEqual(await mapped(mod.later), [0, 1, 20, 30]);
  t.deepEqual(
    await within(fromItems([1, 1, 1], 1).forEach(new mod.Counter()).take(4), 'Counter'),
    [1, 2, 3],
  );
});

test.serial("Babel's helpers are there for a shipped function", async (t) => {
  const fn = defined<(x: number) => Promise<number>>(
    `(x) => _asyncToGenerator(function* () {
      const o = _objectSpread2({}, { y: yield Promise.resolve(x) });
      return o.y * 2;
    })()`,
  );
  t.deepEqual(await mapped(fn), [0, 2, 4, 6]);
  const viaRuntime = defined<(x: number) => number[]>(
    `(x) => { const gen = regeneratorRuntime.mark(function g() {
      return regeneratorRuntime.wrap(function (ctx) {
        switch (ctx.prev = ctx.next) { case 0: ctx.next = 2; return x; case 2: case 'end': return ctx.stop(); }
      }, g);
    }); return [...gen()]; }`,
  );
  t.deepEqual(await mapped(viaRuntime), [[0], [1], [2], [3]]);
});

test.serial(
  'a missing import of the compiled file is named, with what to do instead',
  async (t) => {
    writeModule('helpers.js', 'exports.double = (x) => x * 2;');
    const mod = writeModule<{ f(x: number): number }>(
      'imports.js',
      compiled(
        "import { double } from './helpers';\nexport const f = (x: number) => double(x);",
        ts.ScriptTarget.ES2020,
      ),
    );
    const error = await t.throwsAsync(mapped(mod.f), { instanceOf: ShardError });
    t.regex(error?.message ?? '', /`helpers_1` is not defined/);
    t.regex(error?.message ?? '', /moduleFn\(/);
    t.regex(error?.message ?? '', /require\(\) it inside the function/);
    t.notRegex(error?.message ?? '', /Pass it in `context`/);
  },
);

test.serial(
  'paths in a script started from another folder resolve against the script',
  async (t) => {
    const script = path.join(FIXTURES, 'ship-paths.js');
    const outcome = await runNode([script], { cwd: TMP });
    t.false(outcome.hung, 'the script ends by itself');
    t.is(outcome.code, 0, outcome.stderr);
    const out = JSON.parse(outcome.stdout) as Record<string, unknown>;
    t.is(fs.realpathSync(out.cwd as string), fs.realpathSync(TMP));
    for (const key of ['relative', 'absolute', 'url', 'required', 'imported'])
      t.deepEqual(out[key], [0, 2, 4, 6], key);
    t.deepEqual(out.dirname, [FIXTURES]);
    t.deepEqual(out.typescript, [0, 1, 4, 9], 'a .ts module through ts-node');
    for (const key of ['missingModule', 'missingRequire']) {
      const error = out[key] as { name: string; message: string; cause: string };
      t.is(error.name, 'ShardError', key);
      const named =
        key === 'missingModule' ? path.join(FIXTURES, 'missing-module.js') : './missing';
      t.true(error.cause.includes(named), error.cause);
      t.true(error.cause.includes(`- ${script}`), `${key}: the require stack names the script`);
    }
  },
);

test('a package not found from the calling file is looked for where pariter runs', async (t) => {
  // A host on another machine gets the consumer's file name, where nothing
  // is installed; the packages are installed with the host.
  const elsewhere = path.join(os.tmpdir(), 'no-such-app', 'main.js');
  const of = (await loadModuleExport('rxjs', 'of', elsewhere)) as (...xs: number[]) => unknown;
  t.is(typeof of, 'function');
  const shipped = await loadFunction({
    kind: 'source',
    source: "(x) => require('rxjs').isObservable(x)",
    context: {},
    stateful: false,
    origin: { file: elsewhere, line: 1, column: 1 },
  });
  t.is(shipped(of(1)), true);
  // A package that is nowhere is still the first error, naming the file.
  const error = await t.throwsAsync(loadModuleExport('no-such-package-xyz', 'x', elsewhere));
  t.is((error as { code?: unknown }).code, 'MODULE_NOT_FOUND');
});

test('resolveModule: relative to the calling file, absolute, file: URLs, packages', (t) => {
  const from = path.join(FIXTURES, 'caller.js');
  t.is(resolveModule('./x.js', from), path.join(FIXTURES, 'x.js'));
  t.is(resolveModule('../x.js', from), path.join(FIXTURES, '..', 'x.js'));
  t.is(resolveModule('./x.js', undefined), path.resolve('x.js'));
  t.is(resolveModule('/abs/x.js', from), '/abs/x.js');
  t.is(resolveModule('file:///abs/x.js', from), '/abs/x.js');
  t.is(resolveModule(new URL('file:///abs/y.js'), from), '/abs/y.js');
  t.is(resolveModule('rxjs', from), require.resolve('rxjs'));
  t.throws(() => resolveModule('no-such-package-here', from), { code: 'MODULE_NOT_FOUND' });
});

test("TypeScript modules load with a registered hook, else Node's own support, else ts-node", (t) => {
  t.is(typeScriptLoader({ features: { typescript: 'strip' }, hooked: true }), 'hook');
  t.is(typeScriptLoader({ features: { typescript: 'strip' }, hooked: false }), 'native');
  t.is(typeScriptLoader({ features: { typescript: 'transform' }, hooked: false }), 'native');
  t.is(typeScriptLoader({ features: { typescript: false }, hooked: false }), 'ts-node');
  t.is(typeScriptLoader({ features: {}, hooked: false }), 'ts-node');
  // This process runs the specs through ts-node's hook.
  t.is(typeScriptLoader(), 'hook');
});

test("a TypeScript actor's new thread uses Node's own support when there, whatever hook this thread has", (t) => {
  // A worker does not inherit this thread's require hooks.
  t.true(nativeTypeScript({ features: { typescript: 'strip' }, hooked: true }));
  t.true(nativeTypeScript({ features: { typescript: 'transform' }, hooked: false }));
  t.false(nativeTypeScript({ features: { typescript: false }, hooked: true }));
  t.false(nativeTypeScript({ features: {}, hooked: false }));
});

/** The 1-based line of this file that contains `text`. */
function lineOfThisFile(text: string): number {
  const index = fs
    .readFileSync(__filename, 'utf8')
    .split('\n')
    .findIndex((line) => line.includes(text));
  if (index === -1) throw new Error(`${text} is not in ${__filename}`);
  return index + 1;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test.serial(
  "a throwing shard function's stack names this file and the line of the throw",
  async (t) => {
    const reading = fromRange(4, 1)
      .forEach((x: number) => {
        if (x === 2) throw new RangeError('two is not allowed here');
        return x;
      })
      .take(4);
    const error = await t.throwsAsync(within(reading, 'a throwing forEach'), {
      instanceOf: ShardError,
    });
    const cause = error?.cause as Error;
    const throwLine = lineOfThisFile("throw new RangeError('two is not allowed here')");
    t.regex(
      String(cause.stack),
      new RegExp(`\\n\\s+at .*${escape(__filename)}:${throwLine}:\\d+`),
      "the cause's stack names the line of the throw",
    );
    // The ShardError itself shows where the read was started.
    const readLine = lineOfThisFile('const reading = fromRange(4, 1)');
    t.regex(
      String(error?.stack),
      new RegExp(`\\n\\s+at .*${escape(__filename)}:(${readLine}|${readLine + 5}):\\d+`),
      "the ShardError's stack names the call that started the read",
    );
  },
);

test.serial(
  'a function in a JavaScript file: its stack names the file, line and column',
  async (t) => {
    const outcome = await runNode([path.join(FIXTURES, 'ship-throws.js')], { cwd: TMP });
    t.is(outcome.code, 0, outcome.stderr);
    const { stack } = JSON.parse(outcome.stdout) as { stack: string };
    const file = path.join(FIXTURES, 'ship-throws.js');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes("throw new Error('odd')")) + 1;
    const column = (lines[line - 1] ?? '').indexOf('new Error') + 1;
    t.regex(stack, new RegExp(`\\n\\s+at .*${escape(file)}:${line}:${column}\\)`), stack);
  },
);

test.serial('a one-line typed arrow: its stack names the line of the call', async (t) => {
  // prettier-ignore
  const reading = fromRange(2, 1).forEach((x: number): number => { throw new TypeError(`typed ${x}`); }).take(2);
  const error = await t.throwsAsync(within(reading, 'a one-line arrow'), {
    instanceOf: ShardError,
  });
  const line = lineOfThisFile('throw new TypeError(`typed ${x}`)');
  t.regex(String((error?.cause as Error).stack), new RegExp(`${escape(__filename)}:${line}:`));
});
