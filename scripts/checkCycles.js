'use strict';
/**
 * Fails (exit 1) when the TypeScript modules under src/ and operators/ import
 * each other in a cycle, or when a layer of src/internal/ imports one it must
 * not. Every relative import counts, `import type` and `require()` included,
 * so that each module can be read (and loaded) after the ones it uses.
 *
 * The layers of src/internal/: `caller/` (the calling thread's side of a run,
 * and the places it runs shards in: pool threads, actors, remote hosts),
 * `shard/` (what runs in a shard's thread), `host/` (a host on another
 * machine: a gRPC server that runs its shards in its own pool), `wire/` (what
 * crosses between them: messages, shipped functions, the gRPC service) and
 * `common/` (pipelines and helpers every side uses). The calling side and the
 * shard side meet only through the wire.
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

/** What each layer of src/internal/ may import from src/internal/. */
const LAYERS = {
  common: ['common', 'wire'],
  wire: ['wire', 'common'],
  caller: ['caller', 'wire', 'common'],
  shard: ['shard', 'wire', 'common'],
  host: ['host', 'caller', 'wire', 'common'],
};

/** The layer of `file` under src/internal/, or undefined. */
function layerOf(file) {
  const rel = path.relative(path.join(ROOT, 'src', 'internal'), file).split(path.sep);
  return rel.length > 1 && !rel[0].startsWith('..') ? rel[0] : undefined;
}

/** Imports that cross layers the wrong way, as "from -> to" lines. */
function layerViolations(edges) {
  const wrong = [];
  for (const [from, targets] of edges) {
    const layer = layerOf(from);
    for (const target of targets) {
      const other = layerOf(target);
      if (layer !== undefined && other !== undefined && !LAYERS[layer]?.includes(other)) {
        wrong.push(`${path.relative(ROOT, from)} -> ${path.relative(ROOT, target)}`);
      }
    }
  }
  return wrong;
}

const files = DIRS.flatMap((dir) => filesUnder(path.join(ROOT, dir)));
const edges = graph(files);
const unplaced = files.filter((file) => path.dirname(file) === path.join(ROOT, 'src', 'internal'));
const wrong = layerViolations(edges);
if (unplaced.length > 0 || wrong.length > 0) {
  for (const file of unplaced) {
    console.error(
      `${path.relative(ROOT, file)}: put it in a layer (${Object.keys(LAYERS).join(', ')})`,
    );
  }
  for (const line of wrong) console.error(`Import across layers: ${line}`);
  process.exit(1);
}
const found = cycles(edges);
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
console.log(
  `No import cycles among ${files.length} modules in ${DIRS.join('/, ')}/; src/internal/ layers respected.`,
);
