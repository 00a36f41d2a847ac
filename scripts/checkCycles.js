'use strict';
/**
 * Fails (exit 1) when the TypeScript modules under src/ and operators/ import
 * each other in a cycle. Every relative import counts, `import type` and
 * `require()` included, so that each module can be read (and loaded) after
 * the ones it uses.
 *
 *   node scripts/checkCycles.js
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');
const DIRS = ['src', 'operators'];

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The .ts file a relative specifier names, or undefined (a package, or not TypeScript). */
function resolve(from, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Each file's relative imports (static, dynamic `import()`, `require()`, and types). */
function graph(files) {
  const edges = new Map();
  for (const file of files) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((ref) => resolve(file, ref.fileName))
      .filter((target) => target !== undefined);
    edges.set(file, [...new Set(targets)]);
  }
  return edges;
}

/** The cycles of `edges` (one per strongly connected component of more than one file, or a self-import). */
function cycles(edges) {
  let index = 0;
  const indices = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (node) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), indices.get(next)));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) found.push(component);
    }
  };
  for (const node of edges.keys()) if (!indices.has(node)) visit(node);
  return found;
}

const files = DIRS.flatMap((dir) => filesUnder(path.join(ROOT, dir)));
const found = cycles(graph(files));
if (found.length > 0) {
  console.error(
    `Import cycles in ${DIRS.join('/, ')}/ (each line: modules that import each other):`,
  );
  for (const component of found) {
    console.error(
      `  ${component
        .map((file) => path.relative(ROOT, file))
        .sort()
        .join(' <-> ')}`,
    );
  }
  process.exit(1);
}
console.log(`No import cycles among ${files.length} modules in ${DIRS.join('/, ')}/.`);
