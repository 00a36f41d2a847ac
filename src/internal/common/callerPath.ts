/**
 * @internal
 * The user's file that called pariter, and module specifiers resolved
 * against it: a relative path in a shard function or a worker module means
 * what it means in the file that wrote it, wherever the process was started.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * pariter's own code: `src` and `operators`, run from source or built into
 * `dist` (the package's examples and specs are its users).
 */
const OWN_DIRS = ((): readonly string[] => {
  const top = path.resolve(__dirname, '..', '..', '..');
  const root = path.basename(top) === 'dist' ? path.dirname(top) : top;
  return [root, path.join(root, 'dist')].flatMap((base) =>
    ['src', 'operators'].map((dir) => path.join(base, dir) + path.sep),
  );
})();

/** Where a stack frame is. */
export interface CallSiteInfo {
  /** Absolute path of the file. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

function frameFile(name: string | null | undefined): string | undefined {
  if (!name || name.startsWith('node:') || name.startsWith('internal/')) return undefined;
  if (name.startsWith('file:')) {
    try {
      return fileURLToPath(name);
    } catch {
      return undefined;
    }
  }
  return path.isAbsolute(name) ? name : undefined;
}

const isOwn = (file: string): boolean => OWN_DIRS.some((dir) => file.startsWith(dir));

/** The frames of the current stack below `below`, at most `depth`, as V8's call sites. */
function callSites(below: (...args: never[]) => unknown, depth = 64): NodeJS.CallSite[] {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  try {
    Error.stackTraceLimit = depth;
    Error.prepareStackTrace = (_error, sites) => sites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, below);
    return (holder.stack as NodeJS.CallSite[] | undefined) ?? [];
  } finally {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = prepare;
  }
}

/** The user's frames among `sites`: outside pariter's own code and Node's. */
function userSites(sites: readonly NodeJS.CallSite[]): NodeJS.CallSite[] {
  return sites.filter((site) => {
    const file = frameFile(site.getFileName());
    return file !== undefined && !isOwn(file);
  });
}

/**
 * The first frame of the current stack whose file is outside pariter's own
 * code, or undefined (a REPL, `node -e`).
 */
export function callerSite(): CallSiteInfo | undefined {
  const site = userSites(callSites(callerSite))[0];
  if (!site) return undefined;
  const found = {
    file: frameFile(site.getFileName()) ?? '',
    line: site.getLineNumber() ?? 1,
    column: site.getColumnNumber() ?? 1,
  };
  return { ...found, ...mappedPosition(site) };
}

/**
 * The position of `site` as the process's own stack formatter prints it: a
 * source-map formatter (ts-node's) maps a transpiled file's line back to the
 * line in the file. Undefined when no formatter is installed.
 */
function mappedPosition(site: NodeJS.CallSite): { line: number; column: number } | undefined {
  const format = Error.prepareStackTrace;
  if (!format) return undefined;
  try {
    const printed = String(format(new Error(), [site]));
    const at = /:(\d+):(\d+)\)?\s*$/.exec(printed);
    return at ? { line: Number(at[1]), column: Number(at[2]) } : undefined;
  } catch {
    return undefined;
  }
}

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** The answers of a V8 call site that a stack formatter asks for. */
const SITE_FIELDS = [
  'getTypeName',
  'getFunctionName',
  'getMethodName',
  'getFileName',
  'getLineNumber',
  'getColumnNumber',
  'getEvalOrigin',
  'getScriptNameOrSourceURL',
  'getScriptHash',
  'getEnclosingLineNumber',
  'getEnclosingColumnNumber',
  'getPosition',
  'getPromiseIndex',
  'isToplevel',
  'isEval',
  'isNative',
  'isConstructor',
  'isAsync',
  'isPromiseAll',
] as const;

/**
 * A call site's answers, kept without its receiver and function (which would
 * keep them alive). Its methods are on its prototype, like a V8 call site's,
 * so that a stack formatter that copies a site's methods (source-map-support)
 * reads it as one.
 */
class SiteSnapshot {
  readonly answers = new Map<string, unknown>();
  private readonly text: string;

  constructor(site: NodeJS.CallSite) {
    this.text = String(site);
    const source = site as unknown as Record<string, unknown>;
    for (const field of SITE_FIELDS) {
      try {
        const method = source[field];
        if (typeof method === 'function') this.answers.set(field, method.call(site));
      } catch {
        // Not known for this frame: the formatter gets undefined.
      }
    }
  }

  toString(): string {
    return this.text;
  }
}
for (const field of [...SITE_FIELDS, 'getThis', 'getFunction']) {
  Object.defineProperty(SiteSnapshot.prototype, field, {
    value(this: SiteSnapshot): unknown {
      return this.answers.get(field); // never set for getThis and getFunction
    },
  });
}

/**
 * Records the current stack and returns a function that prints its user
 * frames (at most 2, outside installed packages when there are such) as stack lines, source mapped as the process maps its
 * own stacks, for an error raised later, asynchronously, on behalf of this
 * call.
 *
 * The frames are kept as snapshots of their answers and formatted only when
 * asked: a V8 call site kept for later keeps the receiver of its frame alive
 * (a `LocalIterator` whose first pull started a run), and a run kept alive
 * that way could never be stopped by garbage collection. Recording is cheap
 * enough for every run; formatting is paid only for an error.
 */
export function recordCallers(): () => string {
  const users = userSites(callSites(recordCallers, 16));
  // The user's own code first: frames of installed packages (RxJS between an
  // operator and its subscriber) only when there is nothing else.
  const own = users.filter((site) => !site.getFileName()?.includes(NODE_MODULES));
  const sites = (own.length > 0 ? own : users)
    .slice(0, 2)
    .map((site) => new SiteSnapshot(site) as unknown as NodeJS.CallSite);
  let printed: string | undefined;
  return () => {
    if (printed !== undefined) return printed;
    const plain = (): string[] => sites.map((site) => `    at ${String(site)}`);
    let lines: string[];
    const format = Error.prepareStackTrace;
    try {
      lines = format ? String(format(new Error(), sites)).split('\n').slice(1) : plain();
    } catch {
      lines = plain();
    }
    return (printed = lines.join('\n'));
  };
}

/**
 * The absolute path of the file that called pariter: the first stack frame
 * whose file is outside pariter's own package folder, or undefined when there
 * is none (a REPL, `node -e`).
 */
export function callerFile(): string | undefined {
  return callerSite()?.file;
}

/**
 * Resolves a module specifier as the file `from` would: a relative path
 * against `from`'s folder (the working directory when `from` is undefined),
 * a `file:` URL to its path, an absolute path as is, and a bare specifier (a
 * package name) with `require.resolve` from `from`.
 *
 * @returns an absolute path
 * @throws the `require.resolve` error (`MODULE_NOT_FOUND`) for a bare
 *   specifier that cannot be found
 */
export function resolveModule(specifier: string | URL, from: string | undefined): string {
  if (specifier instanceof URL || specifier.startsWith('file:')) return fileURLToPath(specifier);
  if (path.isAbsolute(specifier)) return specifier;
  const base = from === undefined ? process.cwd() : path.dirname(from);
  if (/^\.\.?([\\/]|$)/.test(specifier)) return path.resolve(base, specifier);
  return createRequire(from ?? path.join(process.cwd(), 'index.js')).resolve(specifier);
}
