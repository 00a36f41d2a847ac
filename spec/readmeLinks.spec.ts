/**
 * The README that ships in the package: every link works where the package
 * is read (npm's page, an installed copy), so a relative link names a file
 * that ships, and a link into the repository names a file that exists there.
 * The package metadata points at the repository.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers/paths';

const REPOSITORY = 'https://github.com/pariter/pariter';
/** Generous: `npm pack --dry-run` on a loaded machine. */
const PACK_CAP_MS = 120_000;

/** The link targets in a Markdown text, outside code blocks and code spans. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const patterns = [
    /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g, // [text](target), ![alt](target)
    /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm, // [label]: target
    /\b(?:href|src)\s*=\s*["']([^"']+)["']/g, // <a href="target">
    /<((?:https?|mailto):[^>\s]+)>/g, // <https://target>
  ];
  return patterns.flatMap((pattern) => [...prose.matchAll(pattern)].map((match) => match[1]!));
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/**
 * What is wrong with the links of `markdown`, shipped as a package holding
 * the files `shipped` (paths relative to the package root); an empty list
 * when nothing is.
 */
function linkProblems(markdown: string, shipped: ReadonlySet<string>): string[] {
  const anchors = new Set(
    [...markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      slug(m[1]!.replace(/`/g, '')),
    ),
  );
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    if (target.startsWith('#')) {
      if (!anchors.has(target.slice(1))) problems.push(`${target}: no such heading`);
    } else if (target.startsWith(`${REPOSITORY}/`)) {
      const inRepository = /^\/(?:blob|tree)\/[^/]+\/([^#?]+)/.exec(
        target.slice(REPOSITORY.length),
      );
      if (inRepository !== null && !existsSync(path.join(ROOT, inRepository[1]!))) {
        problems.push(`${target}: no such file in the repository`);
      }
    } else if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      const file = path.posix.normalize(target.replace(/[#?].*$/, '')).replace(/\/$/, '');
      if (!shipped.has(file)) {
        problems.push(`${target}: does not ship; link to ${REPOSITORY}/blob/main/${file}`);
      }
    }
  }
  return problems;
}

/** The files `npm pack` would put in the package. */
async function shippedFiles(): Promise<Set<string>> {
  const { stdout } = await promisify(execFile)(
    'npm',
    ['pack', '--dry-run', '--json', '--ignore-scripts'],
    { cwd: ROOT, timeout: PACK_CAP_MS },
  );
  const [pack] = JSON.parse(stdout) as [{ files: { path: string }[] }];
  return new Set(pack.files.map((file) => file.path));
}

test('the shipped README links only to shipped files, its own headings and the repository', async (t) => {
  t.timeout(PACK_CAP_MS + 10_000);
  const shipped = await shippedFiles();
  t.true(shipped.has('README.md'));
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  t.true(linkTargets(readme).length > 0, 'the README links to the repository');
  t.deepEqual(linkProblems(readme, shipped), []);
});

test('the link check finds each kind of broken link', (t) => {
  const shipped = new Set(['README.md', 'LICENSE', 'dist/src/index.js']);
  const markdown = [
    '# Title',
    '## A `code` heading',
    'See [the licence](./LICENSE), [the entry](dist/src/index.js), [code](#a-code-heading),',
    `[bench](${REPOSITORY}/blob/main/bench/README.md) and <https://example.com/x>.`,
    '[broken](docs/reliability.md), ![img](bench/chart.png), [gone](#nowhere),',
    `[missing](${REPOSITORY}/blob/main/no/such/file.md), <a href="CHANGELOG.md">log</a>.`,
    '[ref]: spec/types.spec.ts',
    '```md',
    '[in a code block](not/checked.md)',
    '```',
    'and `[in a code span](not/checked.md)`.',
  ].join('\n');
  t.deepEqual(linkProblems(markdown, shipped), [
    `docs/reliability.md: does not ship; link to ${REPOSITORY}/blob/main/docs/reliability.md`,
    `bench/chart.png: does not ship; link to ${REPOSITORY}/blob/main/bench/chart.png`,
    `#nowhere: no such heading`,
    `${REPOSITORY}/blob/main/no/such/file.md: no such file in the repository`,
    `spec/types.spec.ts: does not ship; link to ${REPOSITORY}/blob/main/spec/types.spec.ts`,
    `CHANGELOG.md: does not ship; link to ${REPOSITORY}/blob/main/CHANGELOG.md`,
  ]);
});

test('package.json points at the repository, its home page and its issues', (t) => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    repository?: { type?: string; url?: string };
    homepage?: string;
    bugs?: { url?: string };
  };
  t.deepEqual(pkg.repository, { type: 'git', url: `git+${REPOSITORY}.git` });
  t.is(pkg.homepage, `${REPOSITORY}#readme`);
  t.is(pkg.bugs?.url, `${REPOSITORY}/issues`);
});
