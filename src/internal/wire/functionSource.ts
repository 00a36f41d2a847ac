/**
 * @internal
 * A function's source text, read with a real JavaScript tokenizer (acorn):
 * the text as an expression a worker can evaluate, the names it uses, and
 * where it was written in the user's file (for stack traces).
 */
import type * as Acorn from 'acorn';
import * as fs from 'node:fs';
import type { CallSiteInfo } from '../common/callerPath';

const ACORN: Acorn.Options = { ecmaVersion: 'latest', sourceType: 'script' };

let loaded: typeof Acorn | undefined;
/**
 * acorn, loaded on first use: a shard thread that is sent no function (a
 * range, plain items) starts without it (about 13 ms).
 */
function acorn(): typeof Acorn {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('acorn') as typeof Acorn);
}

// Taken when pariter loads, so that a replaced `Function.prototype.toString`
// cannot change what is shipped.
const functionToString = Function.prototype.toString;
const reflectApply = Reflect.apply;

/** The text V8 keeps for `fn`, read with the original `Function.prototype.toString`. */
export function sourceText(fn: (...args: never[]) => unknown): string {
  return reflectApply(functionToString, fn, []) as string;
}

const FUNCTION_NODES = new Set([
  'FunctionExpression',
  'ArrowFunctionExpression',
  'ClassExpression',
]);

/** True when `text` is, whole, a function, arrow or class expression. */
function isFunctionExpression(text: string): boolean {
  try {
    const node = acorn().parseExpressionAt(text, 0, ACORN);
    return FUNCTION_NODES.has(node.type) && text.slice(node.end).trim() === '';
  } catch {
    return false;
  }
}

interface MethodNode {
  readonly type: string;
  readonly value?: { start: number; end: number; async: boolean; generator: boolean };
}

/** A method written in shorthand (`name(x) { … }`, `async *[k]() { … }`) as a function expression. */
function methodAsFunction(text: string): string | undefined {
  for (const [open, close, list] of [
    ['({', '\n})', 'properties'],
    ['(class {', '\n})', 'body'],
  ] as const) {
    let members: readonly MethodNode[];
    try {
      const program = acorn().parse(`${open}${text}${close}`, ACORN) as unknown as {
        body: [{ expression: { properties?: MethodNode[]; body?: { body: MethodNode[] } } }];
      };
      const expression = program.body[0].expression;
      members = (list === 'properties' ? expression.properties : expression.body?.body) ?? [];
    } catch {
      continue;
    }
    const value = members.length === 1 ? members[0]?.value : undefined;
    if (!value) continue;
    // The method's value starts at its parameter list.
    const rest = text.slice(value.start - open.length, value.end - open.length);
    return `${value.async ? 'async ' : ''}function${value.generator ? '*' : ''} ${rest}`;
  }
  return undefined;
}

/**
 * The source text of a function as an expression that evaluates to an
 * equivalent function, or undefined for native code.
 *
 * @throws SyntaxError when the text is neither a function expression nor a method
 */
export function functionExpression(text: string): string | undefined {
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) return undefined;
  if (isFunctionExpression(text)) return text;
  const method = methodAsFunction(text);
  if (method === undefined) throw new SyntaxError('the source text is not a function expression');
  return method;
}

/** What the tokens of a source text say about it. */
export interface SourceTokens {
  /** Every identifier it names (free or not). */
  readonly names: ReadonlySet<string>;
  /** Whether it uses a `#private` name. */
  readonly usesPrivate: boolean;
  /** Offsets of each `import` keyword that starts a dynamic `import(…)`. */
  readonly dynamicImports: readonly number[];
}

/** Tokenizes `source`; an untokenizable text gives no names. */
export function scanTokens(source: string): SourceTokens {
  const names = new Set<string>();
  const dynamicImports: number[] = [];
  let usesPrivate = false;
  let importAt: number | undefined;
  try {
    const { tokenizer, tokTypes } = acorn();
    for (const token of tokenizer(source, ACORN)) {
      if (importAt !== undefined && token.type === tokTypes.parenL) dynamicImports.push(importAt);
      importAt = token.type === tokTypes._import ? token.start : undefined;
      if (token.type === tokTypes.name) names.add(source.slice(token.start, token.end));
      else if (token.type === tokTypes.privateId) usesPrivate = true;
    }
  } catch {
    // A text that does not tokenize fails later, when compiled, with its own error.
  }
  return { names, usesPrivate, dynamicImports };
}

/** Where a function's text starts in its file. */
export interface SourcePosition {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

const fileTexts = new Map<string, string | null>();
const positions = new Map<string, SourcePosition | undefined>();
const CACHE_LIMIT = 256;

function readText(file: string): string | null {
  let text = fileTexts.get(file);
  if (text === undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      text = null;
    }
    if (fileTexts.size >= CACHE_LIMIT) fileTexts.clear();
    fileTexts.set(file, text);
  }
  return text;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line of `offset`. */
function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Picks the candidate line nearest to the call site. */
function nearest(candidates: readonly number[], line: number): number | undefined {
  let best: number | undefined;
  for (const c of candidates) {
    if (best === undefined || Math.abs(c - line) < Math.abs(best - line)) best = c;
  }
  return best;
}

/**
 * Where the text of a shipped function is in the file that called pariter:
 * the exact text nearest to the call site; else (a transpiled file, whose
 * text V8 holds differs from the file's) the start line most of the
 * function's lines agree on; else the call site's line.
 */
function locate(text: string, site: CallSiteInfo): SourcePosition {
  const content = readText(site.file);
  if (content === null) return { line: site.line, column: 1 };
  const starts = lineStarts(content);
  const exact: number[] = [];
  for (
    let i = content.indexOf(text);
    i !== -1 && exact.length < 64;
    i = content.indexOf(text, i + 1)
  )
    exact.push(i);
  const exactLines = exact.map((offset) => lineOf(starts, offset));
  const line = nearest(exactLines, site.line);
  if (line !== undefined) {
    const offset = exact[exactLines.indexOf(line)] ?? 0;
    return { line, column: offset - (starts[line - 1] ?? 0) + 1 };
  }
  const fileLines = content.split('\n').map((l) => l.trim());
  const byText = new Map<string, number[]>();
  fileLines.forEach((l, i) => {
    if (/[\w$]/.test(l)) (byText.get(l) ?? byText.set(l, []).get(l))?.push(i + 1);
  });
  const votes = new Map<number, number>();
  text.split('\n').forEach((l, i) => {
    for (const at of byText.get(l.trim()) ?? []) {
      if (at - i >= 1) votes.set(at - i, (votes.get(at - i) ?? 0) + 1);
    }
  });
  const most = Math.max(0, ...votes.values());
  const voted = nearest(
    [...votes].filter(([, n]) => n === most).map(([start]) => start),
    site.line,
  );
  return { line: voted ?? site.line, column: 1 };
}

/** {@link locate}, remembered for the same text called from the same place. */
export function locateSource(text: string, site: CallSiteInfo): SourcePosition {
  const key = `${site.file}\n${site.line}\n${text}`;
  if (positions.has(key)) return positions.get(key) ?? { line: site.line, column: 1 };
  const found = locate(text, site);
  if (positions.size >= CACHE_LIMIT) positions.clear();
  positions.set(key, found);
  return found;
}
