/**
 * @internal
 * How this thread loads a TypeScript module: through a require hook already
 * registered (ts-node, tsx), with Node's own type stripping (Node 22.6+), or
 * by registering ts-node.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** A TypeScript file: `.ts`, `.mts`, `.cts`, `.tsx`. */
export const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;

/** How a TypeScript module is loaded. */
export type TypeScriptLoader = 'hook' | 'native' | 'ts-node';

/** What {@link typeScriptLoader} looks at; defaults to this thread's. */
export interface TypeScriptEnvironment {
  /** `process.features` (its `typescript` is `'strip'` or `'transform'` where Node runs TypeScript). */
  readonly features: { readonly typescript?: unknown };
  /** Whether a `.ts` require hook is registered in this thread. */
  readonly hooked: boolean;
}

function currentEnvironment(): TypeScriptEnvironment {
  return {
    features: process.features as { typescript?: unknown },
    // `require.extensions` is the only place a registered hook shows.
    hooked: Object.prototype.hasOwnProperty.call(require.extensions, '.ts'),
  };
}

/**
 * How to load a TypeScript module here: a hook the process registered
 * itself wins (it knows the project's settings), then Node's native type
 * stripping, then ts-node.
 */
export function typeScriptLoader(
  env: TypeScriptEnvironment = currentEnvironment(),
): TypeScriptLoader {
  if (env.hooked) return 'hook';
  const native = env.features.typescript;
  if (native === 'strip' || native === 'transform' || native === true) return 'native';
  return 'ts-node';
}

/**
 * Whether a new worker thread can load TypeScript by itself: Node's own type
 * stripping (a worker does not inherit this thread's require hooks).
 */
export function nativeTypeScript(env: TypeScriptEnvironment = currentEnvironment()): boolean {
  return typeScriptLoader({ ...env, hooked: false }) === 'native';
}

/**
 * Makes `require` of the TypeScript module `from` work in this thread when
 * it needs ts-node: registers ts-node (transpile-only, with the tsconfig
 * nearest to `from`), found from `from` first, then from pariter. Returns the
 * loader in use.
 *
 * @throws Error when ts-node is needed and cannot be found, saying to install it
 */
export function prepareTypeScript(from: string): TypeScriptLoader {
  const loader = typeScriptLoader();
  if (loader !== 'ts-node') return loader;
  for (const base of [from, __filename]) {
    let tsNode: { register(options: object): unknown };
    try {
      tsNode = createRequire(base)('ts-node') as typeof tsNode;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
      continue;
    }
    // The module's own tsconfig.json, wherever the process was started.
    tsNode.register({ transpileOnly: true, projectSearchDir: path.dirname(from) });
    return loader;
  }
  throw new Error(
    `Loading the TypeScript module ${from} needs Node's own TypeScript support (Node 22.6 or later) or ts-node: install ts-node (npm install --save-dev ts-node)`,
  );
}
