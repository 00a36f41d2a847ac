/**
 * @internal
 * Functions that run in shards: turning a function (or stateful callable, or
 * module reference) into a {@link ShippedFn} in the calling thread, and back
 * into a callable in the worker.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { ArgumentTypeError } from '../errors';
import type { ShippedFn } from './protocol';
import { describeValue } from './validate';

/** Marks a function made by `stateful()`; its value is the factory. */
export const STATEFUL = Symbol.for('pariter.stateful');
/** Marks a function made by `moduleFn()`; its value is `[specifier, exportName]`. */
export const MODULE_FN = Symbol.for('pariter.moduleFn');

type Marked = { [STATEFUL]?: () => unknown; [MODULE_FN]?: readonly [string, string] };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** True when `key` can name a parameter of a function (not a reserved word). */
function isParameterName(key: string): boolean {
  if (!IDENTIFIER.test(key)) return false;
  try {
    new Function(key, 'return 0');
    return true;
  } catch {
    return false;
  }
}

/** Checks a `context` option and returns it as a plain record. */
export function checkContext(context: unknown): Readonly<Record<string, unknown>> {
  if (context === undefined) return {};
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw new ArgumentTypeError(
      `Expected \`context\` to be an object of named values, got ${describeValue(context)}`,
    );
  }
  for (const [key, value] of Object.entries(context)) {
    if (!isParameterName(key)) {
      throw new ArgumentTypeError(
        `Expected \`context\` to be an object whose keys are identifiers, got the key ${describeValue(key)}`,
      );
    }
    try {
      structuredClone(value);
    } catch (error) {
      throw new ArgumentTypeError(
        `Expected \`context.${key}\` to be structured-cloneable (it is copied into each worker), got ${describeValue(value)}; pass a function's data instead, or load it with moduleFn()`,
        { cause: error },
      );
    }
  }
  return context as Record<string, unknown>;
}

/** The source text of a function as an expression, or undefined for native code. */
function functionExpression(fn: (...args: never[]) => unknown): string | undefined {
  const text = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) return undefined;
  if (/^(async\s+)?(function\b|\(|[A-Za-z_$][\w$]*\s*=>|class\b)/.test(text)) return text;
  if (/^async\s*\*/.test(text)) return `async function${text.replace(/^async\s*/, ' ')}`;
  if (/^async\s/.test(text)) return `async function ${text.replace(/^async\s+/, '')}`;
  if (text.startsWith('*')) return `function${text}`;
  // A method written in shorthand: `name(x) { … }`.
  return `function ${text.replace(/^(get|set|static)\s+/, '')}`;
}

function globalPath(fn: unknown): string[] | undefined {
  const g = globalThis as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(Object.getOwnPropertyDescriptors(globalThis))) {
    if (value.value === fn) return [key];
  }
  for (const ns of ['Math', 'JSON', 'Number', 'Object', 'Array', 'String', 'Reflect']) {
    const holder = g[ns] as Record<string, unknown> | undefined;
    if (!holder) continue;
    for (const key of Object.getOwnPropertyNames(holder)) {
      if (holder[key] === fn) return [ns, key];
    }
  }
  return undefined;
}

/**
 * Turns what the user passed as a shard function into a {@link ShippedFn}.
 *
 * @param name - the parameter's name, for error messages
 * @throws ArgumentTypeError when the value cannot run in a worker
 */
export function shipFunction(name: string, fn: unknown, context?: unknown): ShippedFn {
  const ctx = checkContext(context);
  if (typeof fn === 'function') {
    const marked = fn as Marked;
    const factory = marked[STATEFUL];
    if (factory)
      return { kind: 'source', source: sourceOf(name, factory), context: ctx, stateful: true };
    const moduleRef = marked[MODULE_FN];
    if (moduleRef) return { kind: 'module', specifier: moduleRef[0], exportName: moduleRef[1] };
    return {
      kind: 'source',
      source: sourceOf(name, fn as (...args: never[]) => unknown),
      context: ctx,
      stateful: false,
    };
  }
  if (
    typeof fn === 'object' &&
    fn !== null &&
    typeof (fn as { call?: unknown }).call === 'function'
  ) {
    const ctor = (fn as object).constructor as (...args: never[]) => unknown;
    const fields: Record<string, unknown> = { ...fn };
    try {
      structuredClone(fields);
    } catch (error) {
      throw new ArgumentTypeError(
        `Expected \`${name}\` to be a stateful callable whose fields are structured-cloneable, got ${describeValue(fn)}`,
        { cause: error },
      );
    }
    return { kind: 'instance', classSource: sourceOf(name, ctor), fields, context: ctx };
  }
  throw new ArgumentTypeError(
    `Expected \`${name}\` to be a function or an object with a \`call(item)\` method, got ${describeValue(fn)}`,
  );
}

function sourceOf(name: string, fn: (...args: never[]) => unknown): string {
  const source = functionExpression(fn);
  if (source !== undefined) {
    try {
      new Function(`return (${source});`);
      return source;
    } catch (error) {
      throw new ArgumentTypeError(
        `Expected \`${name}\` to be a function whose source text can be compiled in a worker, got ${describeValue(fn)}`,
        { cause: error },
      );
    }
  }
  const where = globalPath(fn);
  if (where) return `globalThis${where.map((key) => `[${JSON.stringify(key)}]`).join('')}`;
  throw new ArgumentTypeError(
    `Expected \`${name}\` to be a function with source text (a bound or native function cannot be shipped to a worker), got ${describeValue(fn)}; wrap it: (x) => f(x), passing f's data in \`context\``,
  );
}

/** Resolves a `moduleFn` specifier in the calling thread. */
export function resolveSpecifier(specifier: string): string {
  if (specifier.startsWith('file:')) return fileURLToPath(specifier);
  if (specifier.startsWith('.')) return path.resolve(specifier);
  return specifier;
}

/** `require` for shipped functions: resolves from the working directory. */
const userRequire = createRequire(path.join(process.cwd(), 'index.js'));

/** Loads a module in this thread: `require` first, `import()` for ES modules. */
export async function loadModuleExport(specifier: string, exportName: string): Promise<unknown> {
  if (/\.[cm]?tsx?$/.test(specifier)) userRequire('ts-node/register/transpile-only');
  let mod: Record<string, unknown>;
  try {
    mod = userRequire(specifier) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') throw error;
    const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
    mod = (await import(url)) as Record<string, unknown>;
  }
  const value = mod[exportName] ?? (exportName === 'default' ? mod : undefined);
  if (typeof value !== 'function') {
    throw new ArgumentTypeError(
      `Expected export \`${exportName}\` of ${specifier} to be a function, got ${describeValue(value)}`,
    );
  }
  return value;
}

function evaluate(source: string, context: Readonly<Record<string, unknown>>): unknown {
  const names = Object.keys(context).filter((key) => key !== 'require');
  const values = names.map((key) => context[key]);
  const requireFn = (context.require as unknown) ?? userRequire;
  return new Function(...names, 'require', `return (${source});`)(...values, requireFn);
}

/** Rebuilds a shipped function in this thread: one fresh instance per call. */
export async function loadFunction(shipped: ShippedFn): Promise<(item: unknown) => unknown> {
  switch (shipped.kind) {
    case 'source': {
      const value = evaluate(shipped.source, shipped.context);
      const fn = shipped.stateful ? (value as () => unknown)() : value;
      if (typeof fn !== 'function') {
        throw new ArgumentTypeError(
          `Expected the factory given to stateful() to return a function, got ${describeValue(fn)}`,
        );
      }
      return fn as (item: unknown) => unknown;
    }
    case 'instance': {
      const Ctor = evaluate(shipped.classSource, shipped.context) as { prototype: object };
      const instance = Object.assign(Object.create(Ctor.prototype) as object, shipped.fields) as {
        call(item: unknown): unknown;
      };
      return (item) => instance.call(item);
    }
    case 'module':
      return (await loadModuleExport(shipped.specifier, shipped.exportName)) as (
        item: unknown,
      ) => unknown;
  }
}

/** What to tell the user about an error thrown by a shipped function. */
export function hintFor(error: unknown): string {
  if (error instanceof ReferenceError) {
    const name = /^(\S+) is not defined$/.exec(error.message)?.[1];
    if (name) {
      return `\`${name}\` is not defined in the shard's worker: a function that runs in a shard cannot see the local variables of the code that wrote it. Pass it in \`context\` (e.g. { context: { ${name} } }), or require() it inside the function`;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
