/**
 * @internal
 * Functions that run in shards: turning a function (or stateful callable, or
 * module reference) into a {@link ShippedFn} in the calling thread, and back
 * into a callable in the worker.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArgumentTypeError } from '../../errors';
import { callerSite, resolveModule, type CallSiteInfo } from '../common/callerPath';
import { compilerScope, isCompilerName } from './compilerScope';
import {
  functionExpression,
  locateSource,
  scanTokens,
  sourceText,
  type SourceTokens,
} from './functionSource';
import type { ShippedFn, ShippedMethod, ShippedOrigin } from './protocol';
import { TYPESCRIPT_FILE, prepareTypeScript } from '../common/typeScript';
import { describeValue } from '../common/validate';

/** Marks a function made by `stateful()`; its value is the factory. */
export const STATEFUL = Symbol.for('pariter.stateful');
/**
 * Marks a function made by `moduleFn()`; its value is `[specifier,
 * exportName, from]`, `from` being the file that called `moduleFn`.
 */
export const MODULE_FN = Symbol.for('pariter.moduleFn');

type Marked = {
  [STATEFUL]?: () => unknown;
  [MODULE_FN]?: readonly [string, string, string | undefined];
};

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

/** Where the function `text` was written, when pariter was called from a file. */
function originOf(text: string, site: CallSiteInfo | undefined): ShippedOrigin | undefined {
  if (!site) return undefined;
  return { file: site.file, ...locateSource(text, site) };
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
    const moduleRef = marked[MODULE_FN];
    if (moduleRef) {
      const [specifier, exportName, from] = moduleRef;
      return { kind: 'module', specifier, exportName, ...(from === undefined ? {} : { from }) };
    }
    const factory = marked[STATEFUL];
    const shipped = knownSource(name, factory ?? (fn as (...args: never[]) => unknown));
    return { kind: 'source', ...shipped, context: ctx, stateful: factory !== undefined };
  }
  if (
    typeof fn === 'object' &&
    fn !== null &&
    typeof (fn as { call?: unknown }).call === 'function'
  ) {
    return shipInstance(name, fn, ctx);
  }
  throw new ArgumentTypeError(
    `Expected \`${name}\` to be a function or an object with a \`call(item)\` method, got ${describeValue(fn)}`,
  );
}

/** A stateful class instance: its class (and, for an ES5-style class, its methods) and fields. */
function shipInstance(
  name: string,
  instance: object,
  context: Readonly<Record<string, unknown>>,
): ShippedFn {
  const ctor = instance.constructor as (...args: never[]) => unknown;
  const site = callerSite();
  const shippedClass = shippedSource(name, ctor, site);
  if (scanTokens(shippedClass.source).usesPrivate) {
    throw new ArgumentTypeError(
      `Expected \`${name}\` to be a stateful callable without #private members (they cannot be copied into a worker), got ${describeValue(instance)}; keep its state in plain fields, or write it as stateful(() => { let state = …; return (item) => …; })`,
    );
  }
  const fields: Record<string, unknown> = { ...instance };
  try {
    structuredClone(fields);
  } catch (error) {
    throw new ArgumentTypeError(
      `Expected \`${name}\` to be a stateful callable whose fields are structured-cloneable, got ${describeValue(instance)}`,
      { cause: error },
    );
  }
  const methods = /^class\b/.test(shippedClass.source)
    ? undefined
    : prototypeMethods(name, ctor, site);
  return {
    kind: 'instance',
    classSource: shippedClass.source,
    ...(shippedClass.origin ? { origin: shippedClass.origin } : {}),
    ...(methods ? { methods } : {}),
    fields,
    context,
  };
}

/** The methods of a class written as a function, nearest first, by name. */
function prototypeMethods(
  name: string,
  ctor: (...args: never[]) => unknown,
  site: CallSiteInfo | undefined,
): Record<string, ShippedMethod> {
  const methods: Record<string, ShippedMethod> = {};
  for (
    let proto = ctor.prototype as object | null;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const value = Object.getOwnPropertyDescriptor(proto, key)?.value as unknown;
      if (key === 'constructor' || key in methods || typeof value !== 'function') continue;
      methods[key] = shippedSource(name, value as (...args: never[]) => unknown, site);
    }
  }
  return methods;
}

/**
 * Functions shipped before, with their text and where it was written: a
 * function object is written in one place, so a service that ships the same
 * function per request finds it again without reading its stack and text.
 */
const shippedBefore = new WeakMap<object, ShippedMethod>();

/** {@link shippedSource} of `fn` from the caller's site, once per function found in a file. */
function knownSource(name: string, fn: (...args: never[]) => unknown): ShippedMethod {
  const known = shippedBefore.get(fn);
  if (known) return known;
  const shipped = shippedSource(name, fn, callerSite());
  if (shipped.origin) shippedBefore.set(fn, shipped);
  return shipped;
}

/** The expression text of `fn` and where it was written. */
function shippedSource(
  name: string,
  fn: (...args: never[]) => unknown,
  site: CallSiteInfo | undefined,
): ShippedMethod {
  const text = sourceText(fn);
  let source: string | undefined;
  try {
    source = functionExpression(text);
    if (source !== undefined) new Function(`return (${source});`);
  } catch (error) {
    throw new ArgumentTypeError(
      `Expected \`${name}\` to be a function whose source text can be compiled in a worker, got ${describeValue(fn)}`,
      { cause: error },
    );
  }
  if (source !== undefined) {
    const origin = originOf(text, site);
    return origin ? { source, origin } : { source };
  }
  const where = globalPath(fn);
  if (where)
    return { source: `globalThis${where.map((key) => `[${JSON.stringify(key)}]`).join('')}` };
  throw new ArgumentTypeError(
    `Expected \`${name}\` to be a function with source text (a bound or native function cannot be shipped to a worker), got ${describeValue(fn)}; wrap it: (x) => f(x), passing f's data in \`context\``,
  );
}

/**
 * A small cache of what a thread derives from shipped functions' text, which
 * a pooled thread sees again run after run: the oldest entry goes first.
 */
function remembered<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    if (cache.size >= 256) cache.delete(cache.keys().next().value as string);
    cache.set(key, value);
  }
  return value;
}

const requires = new Map<string, NodeJS.Require>();
const scans = new Map<string, SourceTokens>();
const compiled = new Map<string, (...args: unknown[]) => unknown>();

/** A bare specifier (a package), not a path. */
const isBare = (specifier: string): boolean =>
  !/^\.\.?([\\/]|$)/.test(specifier) &&
  !path.isAbsolute(specifier) &&
  !specifier.startsWith('file:');

/**
 * `require` as the file `from` has it (the working directory's when
 * undefined). A package that is not found from there is looked for from the
 * working directory, then next to pariter: a host on another machine runs
 * the consumer's functions with the consumer's file names, where the
 * packages are installed with the host instead.
 */
function requireFrom(from: string | undefined): NodeJS.Require {
  const file = from ?? path.join(process.cwd(), 'index.js');
  return remembered(requires, file, () => {
    const primary = createRequire(file);
    const fallbacks = [createRequire(path.join(process.cwd(), 'index.js')), require];
    const requireFn = ((specifier: string): unknown => {
      try {
        return primary(specifier);
      } catch (error) {
        const notFound = (error as { code?: unknown }).code === 'MODULE_NOT_FOUND';
        if (!notFound || !isBare(specifier)) throw error;
        for (const fallback of fallbacks) {
          try {
            return fallback(specifier);
          } catch {
            // Not there either: the first error says where it was looked for.
          }
        }
        throw error;
      }
    }) as NodeJS.Require;
    return Object.assign(requireFn, {
      resolve: primary.resolve,
      cache: primary.cache,
      main: primary.main,
      extensions: primary.extensions,
    });
  });
}

/** Loads a module in this thread: `require` first, `import()` for ES modules. */
export async function loadModuleExport(
  specifier: string,
  exportName: string,
  from?: string,
): Promise<unknown> {
  const file = path.isAbsolute(specifier) ? specifier : undefined;
  const requireFn = requireFrom(from ?? file);
  const viaImport = async (): Promise<Record<string, unknown>> =>
    (await import(file ? pathToFileURL(file).href : specifier)) as Record<string, unknown>;
  let mod: Record<string, unknown>;
  if (file && TYPESCRIPT_FILE.test(file) && prepareTypeScript(file) === 'native') {
    mod = await viaImport();
  } else {
    try {
      mod = requireFn(specifier) as Record<string, unknown>;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error;
      mod = await viaImport();
    }
  }
  const value = mod[exportName] ?? (exportName === 'default' ? mod : undefined);
  if (typeof value !== 'function') {
    throw new ArgumentTypeError(
      `Expected export \`${exportName}\` of ${specifier} to be a function, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** Stands for `import` in a shipped function's text: `import(` and `$mport(` have the same length. */
const IMPORT = '$mport';

/** `import()` for a shipped function: relative to the file that wrote it. */
function importFrom(
  from: string | undefined,
): (specifier: unknown, options?: unknown) => Promise<unknown> {
  return async (specifier, options) => {
    const spec = String(specifier);
    const opts = options as ImportCallOptions | undefined;
    if (/^\.\.?([\\/]|$)/.test(spec) || path.isAbsolute(spec))
      return import(pathToFileURL(resolveModule(spec, from)).href, opts);
    try {
      return await import(spec, opts);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (from === undefined || code !== 'ERR_MODULE_NOT_FOUND') throw error;
      return import(pathToFileURL(resolveModule(spec, from)).href, opts);
    }
  };
}

/**
 * Evaluates a function's text in this thread: its `context` in scope, the
 * compiler helpers it names, `require`/`import()` of the file that wrote it,
 * and its lines where they are in that file (for stack traces).
 */
function evaluate(
  source: string,
  context: Readonly<Record<string, unknown>>,
  origin: ShippedOrigin | undefined,
): unknown {
  const tokens = remembered(scans, source, () => scanTokens(source));
  const free = [...tokens.names].filter((name) => !(name in context));
  const scope: Record<string, unknown> = compilerScope(free);
  if (origin && free.includes('__filename')) scope.__filename = origin.file;
  if (origin && free.includes('__dirname')) scope.__dirname = path.dirname(origin.file);
  Object.assign(scope, context);
  delete scope.require;
  let text = source;
  for (const at of tokens.dynamicImports)
    text = `${text.slice(0, at)}${IMPORT}${text.slice(at + 6)}`;
  const names = Object.keys(scope);
  // A `Function` body starts on line 3 of its script: pad so that the text
  // starts on its line in its file.
  const line = origin?.line ?? 1;
  const indent = ' '.repeat(Math.max(0, (origin?.column ?? 1) - 1));
  const body =
    line >= 4 ? `${'\n'.repeat(line - 4)}return (\n${indent}${text}\n);` : `return (${text}\n);`;
  const sourceUrl = origin ? `\n//# sourceURL=${origin.file}` : '';
  const requireFn = (context.require as unknown) ?? requireFrom(origin?.file);
  const script = body + sourceUrl;
  const factory = remembered(
    compiled,
    `${names.join(',')}\n${script}`,
    () => new Function(...names, 'require', IMPORT, script) as (...args: unknown[]) => unknown,
  );
  return factory(...names.map((name) => scope[name]), requireFn, importFrom(origin?.file));
}

/** Rebuilds a shipped function in this thread: one fresh instance per call. */
export async function loadFunction(shipped: ShippedFn): Promise<(item: unknown) => unknown> {
  switch (shipped.kind) {
    case 'source': {
      const value = evaluate(shipped.source, shipped.context, shipped.origin);
      const fn = shipped.stateful ? (value as () => unknown)() : value;
      if (typeof fn !== 'function') {
        throw new ArgumentTypeError(
          `Expected the factory given to stateful() to return a function, got ${describeValue(fn)}`,
        );
      }
      return fn as (item: unknown) => unknown;
    }
    case 'instance': {
      const Ctor = evaluate(shipped.classSource, shipped.context, shipped.origin) as {
        prototype: Record<string, unknown>;
      };
      for (const [key, method] of Object.entries(shipped.methods ?? {}))
        Ctor.prototype[key] = evaluate(method.source, shipped.context, method.origin);
      const instance = Object.assign(Object.create(Ctor.prototype) as object, shipped.fields) as {
        call(item: unknown): unknown;
      };
      return (item) => instance.call(item);
    }
    case 'module':
      return (await loadModuleExport(shipped.specifier, shipped.exportName, shipped.from)) as (
        item: unknown,
      ) => unknown;
  }
}

/** What to tell the user about an error thrown by a shipped function. */
export function hintFor(error: unknown): string {
  if (error instanceof ReferenceError) {
    const name = /^(\S+) is not defined$/.exec(error.message)?.[1];
    if (name && isCompilerName(name)) {
      return `\`${name}\` is not defined in the shard's worker: it is a name your compiler or coverage tool made in the file that wrote the function (an import or a helper), and a function that runs in a shard is shipped without its file. Load the code it needs with moduleFn('./module.js', 'name'), or require() it inside the function (const { f } = require('./module'))`;
    }
    if (name) {
      return `\`${name}\` is not defined in the shard's worker: a function that runs in a shard cannot see the local variables of the code that wrote it. Pass it in \`context\` (e.g. { context: { ${name} } }), or require() it inside the function`;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
