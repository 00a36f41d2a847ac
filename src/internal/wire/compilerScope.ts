/**
 * @internal
 * Names that compilers and coverage tools put into a function's text but
 * define elsewhere in its file: TypeScript's and Babel's helpers
 * (`__awaiter`, `_asyncToGenerator`, `regeneratorRuntime`) and istanbul's
 * counters (`cov_…`). A worker gives a shipped function the real helpers and
 * counters that count nothing, so it runs as written in a project compiled to
 * an older target or run under coverage.
 */
import { createRequire } from 'node:module';

/** `require` from pariter: the helpers are its dependencies. */
const load = createRequire(__filename);

/** istanbul's per-file counter function: `cov_1x2y3z()`. */
const COVERAGE = /^cov_[\w$]+$/;
/** A name a compiler gives an import binding: `helpers_1`, `tslib_1`, `_interopRequireDefault`. */
const IMPORT_ALIAS = /^[\w$]+_\d+$/;
const BABEL_HELPER = /^_[a-z][A-Za-z\d]*$/;

let tslib: Readonly<Record<string, unknown>> | undefined;
const babelHelpers = new Map<string, unknown>();

function tslibExports(): Readonly<Record<string, unknown>> {
  return (tslib ??= load('tslib') as Record<string, unknown>);
}

function babelHelper(name: string): unknown {
  if (!babelHelpers.has(name)) {
    let helper: unknown;
    try {
      // `_asyncToGenerator` is `@babel/runtime/helpers/asyncToGenerator`.
      helper = load(`@babel/runtime/helpers/${name.slice(1)}`) as unknown;
    } catch {
      helper = undefined;
    }
    babelHelpers.set(name, helper);
  }
  return babelHelpers.get(name);
}

/** An object on which any path of property reads and `++` works: `c.b[3][1]++`. */
function sink(): unknown {
  return new Proxy({} as Record<PropertyKey, unknown>, {
    // Symbols (`Symbol.toPrimitive`) stay plain, so that `sink.s[0]++` is NaN, not an error.
    get: (target, key) => (typeof key === 'symbol' ? undefined : (target[key] ??= sink())),
  });
}

/** One of istanbul's counter functions, counting into a sink. */
function coverageCounter(): () => unknown {
  const counters = sink();
  return () => counters;
}

/**
 * The helpers and counters `names` asks for, by name. Only names not given
 * by the user (`context`) are looked up.
 */
export function compilerScope(names: Iterable<string>): Record<string, unknown> {
  const scope: Record<string, unknown> = {};
  for (const name of names) {
    if (COVERAGE.test(name)) scope[name] = coverageCounter();
    else if (name.startsWith('__') && typeof tslibExports()[name] === 'function')
      scope[name] = tslibExports()[name];
    else if (/^tslib(_\d+)?$/.test(name)) scope[name] = tslibExports();
    else if (name === 'regeneratorRuntime' || name === '_regeneratorRuntime') {
      const runtime = load('@babel/runtime/regenerator') as unknown;
      scope[name] = name === 'regeneratorRuntime' ? runtime : () => runtime;
    } else if (BABEL_HELPER.test(name)) {
      const helper = babelHelper(name);
      if (typeof helper === 'function') scope[name] = helper;
    }
  }
  return scope;
}

/**
 * True when `name` is one a compiler or coverage tool made for the file
 * that wrote a function (an import binding, a helper, a counter), not a
 * variable of the user's.
 */
export function isCompilerName(name: string): boolean {
  return (
    COVERAGE.test(name) ||
    IMPORT_ALIAS.test(name) ||
    (name.startsWith('__') && name !== '__dirname' && name !== '__filename') ||
    /^_interopRequire/.test(name) ||
    BABEL_HELPER.test(name)
  );
}
