/**
 * The `npm start` job (`examples/streamingLog.ts`), run as a child process
 * from its compiled form: `npm run build` first. Its output is piped here, so
 * it shows no progress line (stderr stays empty).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { SAMPLE_DEFAULTS, writeSampleLogs } from '../examples/sampleLogs';
import { runNode, type ChildOutcome } from './helpers/child';
import { ROOT } from './helpers/paths';

const SCRIPT = path.join('dist', 'examples', 'streamingLog.js');

/** Runs the compiled example with `args`; rejects only if node cannot start. */
function runExample(args: readonly string[]): Promise<ChildOutcome> {
  return runNode([SCRIPT, ...args], { capMs: 50_000 });
}

/** The `[matches, lines]` of each `window N: …` line, in printed order. */
function windowsOf(stdout: string, pattern: string): Array<[number, number]> {
  const re = new RegExp(`^window (\\d+): ${pattern} frequency (\\d\\.\\d{4}) \\((\\d+) lines\\)$`);
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('window '))
    .map((line, i) => {
      const m = re.exec(line);
      if (!m) throw new Error(`unexpected window line: ${line}`);
      if (Number(m[1]) !== i + 1) throw new Error(`window numbered out of order: ${line}`);
      const lines = Number(m[3]);
      return [Math.round(Number(m[2]) * lines), lines];
    });
}

const totalLine = (stdout: string): string | undefined =>
  stdout.split('\n').find((line) => line.startsWith('total: '));

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes `lines` (joined with newlines, plus a final one) gzipped to `dir/name`. */
function writeGz(dir: string, name: string, lines: readonly string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n'));
  return file;
}

/** Counts, without pariter, the non-empty lines of gzip files and those containing `pattern`. */
function grepCount(files: readonly string[], pattern: string): { matches: number; lines: number } {
  let matches = 0;
  let lines = 0;
  for (const file of files) {
    for (const line of zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n')) {
      if (line === '') continue;
      lines += 1;
      if (line.includes(pattern)) matches += 1;
    }
  }
  return { matches, lines };
}

/**
 * Three files with known counts, by construction:
 * - a: 3030 lines, every 101st empty (skipped), so 3000 lines; the 429 with
 *   `i % 7 === 0` mention cron, the other 2571 sshd;
 * - b: 1500 lines about sshd;
 * - c: 10 cron lines and one "CRON only" (no match: the grep is case-sensitive).
 */
const KNOWN = { lines: 3000 + 1500 + 11, cron: 429 + 10, sshd: 2571 + 1500 } as const;

function knownFiles(dir: string): string[] {
  const a = Array.from({ length: 3030 }, (_, i) => {
    if (i % 101 === 100) return '';
    return i % 7 === 0 ? `line ${i} CRON[1]: run-parts /etc/cron.daily` : `line ${i} sshd: ok`;
  });
  const b = Array.from({ length: 1500 }, (_, i) => `line ${i} sshd[2]: Accepted publickey`);
  const c = [...Array.from({ length: 10 }, (_, i) => `cron job ${i}`), 'CRON only', ''];
  return [writeGz(dir, 'a.log.gz', a), writeGz(dir, 'b.log.gz', b), writeGz(dir, 'c.log.gz', c)];
}

test.before('the example is compiled', (t) => {
  t.true(
    fs.existsSync(path.join(ROOT, SCRIPT)),
    `${SCRIPT} is missing: run \`npm run build\` before this spec`,
  );
});

test('counts the matching lines of the given files, window by window', async (t) => {
  const dir = tempDir('pariter-spec-logs-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = knownFiles(dir);
  t.deepEqual(grepCount(files, 'cron'), { matches: KNOWN.cron, lines: KNOWN.lines });

  const run = await runExample(files);

  t.is(run.code, 0, run.stderr);
  t.is(run.stderr, '');
  t.notRegex(run.stdout, /^sample: /m, 'no sample is written when files are given');
  t.is(
    totalLine(run.stdout),
    'total: 439 of 4511 lines match "cron" (9.73%) across 3 files, 3 shards',
  );
  const windows = windowsOf(run.stdout, 'cron');
  // Global windows over all 4511 lines, whichever shard read them: 4 × 1024 + 415.
  t.deepEqual(
    windows.map(([, lines]) => lines),
    [1024, 1024, 1024, 1024, 415],
  );
  t.is(
    windows.reduce((sum, [matches]) => sum + matches, 0),
    KNOWN.cron,
  );
});

test('--pattern picks the word to count', async (t) => {
  const dir = tempDir('pariter-spec-logs-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = knownFiles(dir);
  t.deepEqual(grepCount(files, 'sshd'), { matches: KNOWN.sshd, lines: KNOWN.lines });

  const run = await runExample(['--pattern', 'sshd', ...files]);

  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^window 1: sshd frequency /m);
  t.is(
    totalLine(run.stdout),
    'total: 4071 of 4511 lines match "sshd" (90.25%) across 3 files, 3 shards',
  );
});

test('without arguments, greps a generated sample and removes its temp folder', async (t) => {
  // The sample is deterministic: the same one, written here, gives the expected counts.
  const dir = tempDir('pariter-spec-sample-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const expected = grepCount(writeSampleLogs(dir), 'cron');
  t.is(expected.lines, SAMPLE_DEFAULTS.files * SAMPLE_DEFAULTS.linesPerFile);
  t.true(expected.matches > 0);

  const run = await runExample([]);

  t.is(run.code, 0, run.stderr);
  t.is(run.stderr, '');
  const sampleDir = /^sample: (\S+) /m.exec(run.stdout)?.[1];
  t.truthy(sampleDir, 'prints the sample folder');
  t.true(path.basename(sampleDir ?? '').startsWith('pariter-logs-'));
  t.false(fs.existsSync(sampleDir ?? ''), 'the sample folder is removed at the end');
  const windows = windowsOf(run.stdout, 'cron');
  t.is(windows.length, Math.ceil(expected.lines / 1024), 'global windows of 1024 lines');
  t.is(
    windows.reduce((sum, [, lines]) => sum + lines, 0),
    expected.lines,
  );
  t.is(
    totalLine(run.stdout),
    `total: ${expected.matches} of ${expected.lines} lines match "cron" ` +
      `(${((100 * expected.matches) / expected.lines).toFixed(2)}%) across 8 files, 4 shards`,
  );
});

/** util-linux `script`, which runs a command on a pseudo-terminal; absent on some systems. */
const SCRIPT_BIN = '/usr/bin/script';

(fs.existsSync(SCRIPT_BIN) ? test : test.skip)(
  'on a terminal, a progress line (files done, lines per second) goes to stderr',
  async (t) => {
    const dir = tempDir('pariter-spec-logs-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const files = knownFiles(dir);
    const command = [process.execPath, SCRIPT, ...files].map((arg) => `'${arg}'`).join(' ');
    // `script -qec CMD /dev/null` runs CMD with stdin, stdout and stderr on one
    // pseudo-terminal and copies what it shows to its own stdout.
    const shown = await new Promise<string>((resolve, reject) => {
      execFile(
        SCRIPT_BIN,
        ['-qec', command, '/dev/null'],
        { cwd: ROOT, timeout: 50_000, killSignal: 'SIGKILL' },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
    });
    const screen = shown
      .split('\u001b[K') // erase-line codes around the progress line
      .join('')
      .split(/\r\n|\r|\n/);
    t.true(
      screen.some((line) => /^files 3\/3, 4,511 lines, [\d,]+ lines\/s$/.test(line)),
      `no final progress line in:\n${shown}`,
    );
    t.true(
      screen.some((line) => /^window 5: cron frequency \d\.\d{4} \(415 lines\)$/.test(line)),
      shown,
    );
    t.true(
      screen.includes('total: 439 of 4511 lines match "cron" (9.73%) across 3 files, 3 shards'),
    );
  },
);

test('a missing file fails with a ShardError and exit code 1', async (t) => {
  const missing = path.join(os.tmpdir(), 'pariter-spec-no-such-file.gz');

  const run = await runExample([missing]);

  t.is(run.code, 1);
  t.regex(run.stderr, /^error: ShardError: .*shard 0: .*ENOENT/m);
  t.true(run.stderr.includes(missing));
  t.is(totalLine(run.stdout), undefined);
});

test('an unknown option fails with the usage and exit code 1', async (t) => {
  const run = await runExample(['--bogus']);

  t.is(run.code, 1);
  t.regex(run.stderr, /Unknown option '--bogus'/);
  t.regex(run.stderr, /usage: .*--pattern WORD/);
});
