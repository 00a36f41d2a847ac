/**
 * @internal
 * Where the user's code is: the file that called into pariter, and module
 * specifiers resolved against it (as Node resolves a `require` written in
 * that file), so that a relative path means the same whatever the working
 * directory.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * pariter's own code: `src/` and `operators/` under the folder that holds
 * them (`dist/` when built, the package root under ts-node).
 */
const OWN_ROOTS = ((): readonly string[] => {
  const codeRoot = path.resolve(__dirname, '..', '..');
  return [path.join(codeRoot, 'src') + path.sep, path.join(codeRoot, 'operators') + path.sep];
})();

/** A stack frame's file as an absolute path, or undefined (Node's internals, `eval`). */
function frameFile(site: NodeJS.CallSite): string | undefined {
  const name = site.getFileName();
  if (!name) return undefined;
  if (name.startsWith('file:')) {
    try {
      return fileURLToPath(name);
    } catch {
      return undefined;
    }
  }
  return path.isAbsolute(name) ? name : undefined;
}

/**
 * The file of the first stack frame outside pariter's own code: the user's
 * file that called pariter. Call it synchronously at the public boundary,
 * before any `await`.
 *
 * @returns an absolute path, or undefined when no frame has a file (code run
 *   by `eval` or from the REPL)
 */
export function callerFile(): string | undefined {
  const originalPrepare = Error.prepareStackTrace;
  const originalLimit = Error.stackTraceLimit;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.stackTraceLimit = 50;
    Error.prepareStackTrace = (_, callSites) => callSites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerFile);
    sites = Array.isArray(holder.stack) ? (holder.stack as NodeJS.CallSite[]) : [];
  } finally {
    Error.prepareStackTrace = originalPrepare;
    Error.stackTraceLimit = originalLimit;
  }
  for (const site of sites) {
    const file = frameFile(site);
    if (file && !OWN_ROOTS.some((root) => file.startsWith(root))) return file;
  }
  return undefined;
}

/**
 * Resolves a module specifier as written in the file `from`: an absolute
 * path as it is, a relative path against `from`'s folder (or the working
 * directory when `from` is undefined), a `file:` URL (string or `URL`) to
 * its path, and a bare specifier (`'some-package/actor'`) with Node's
 * `require.resolve` from `from`'s folder.
 *
 * @returns an absolute path
 * @throws the error of `fileURLToPath` for a URL that is not a `file:` URL,
 *   and `require.resolve`'s for a bare specifier it cannot find
 */
export function resolveModule(specifier: string | URL, from: string | undefined): string {
  if (specifier instanceof URL || specifier.startsWith('file:')) return fileURLToPath(specifier);
  const base = from === undefined ? process.cwd() : path.dirname(from);
  if (path.isAbsolute(specifier)) return specifier;
  if (specifier === '.' || specifier === '..' || /^\.\.?[\\/]/.test(specifier)) {
    return path.resolve(base, specifier);
  }
  return require.resolve(specifier, { paths: [base] });
}
