/**
 * Streaming grep: how often do log lines mention "cron"? The seed document's
 * "Streaming word frequency count" example, with pariter.
 *
 * ```sh
 * npm start                                    # on a generated sample (8 gzip files)
 * npm start -- /var/log/syslog.*.gz            # on your own gzip logs
 * npm start -- --pattern sshd /var/log/*.gz    # another word (case-sensitive)
 * ```
 *
 * What it shows:
 *
 * - `fromItems(files, 4)` deals the file names round robin to 4 shards, each
 *   a worker thread. Every step up to the last `forEach` runs inside those
 *   workers: reading and gunzipping a file, splitting it into lines
 *   (`flatten()`), dropping empty lines, matching each line, and reducing each
 *   window of 1024 lines to `[matches, lines]`. Only these small pairs cross
 *   back to the main thread.
 * - Functions given to a `ParallelIterator` are shipped to the workers by
 *   their source text. They cannot use this file's imports or variables, so
 *   they `require()` what they need in their own body, and the pattern is
 *   passed by name with `{ context: { pattern } }`.
 * - `gatherAsync()` reads the windows as soon as any shard has one ready, in
 *   a plain `for await` loop; the order of windows varies between runs, the
 *   totals do not. Leaving the loop stops the workers, and the script exits
 *   without calling `close()`.
 *
 * Without file arguments it writes a reproducible sample (see
 * `sampleLogs.ts`) into a fresh temp folder, printed as `sample: <folder>`,
 * and removes that folder at the end, also after an error.
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fromItems, type ParallelIterator } from '../src/index';
import { SAMPLE_DEFAULTS, writeSampleLogs } from './sampleLogs';

/** At most this many shards (worker threads); fewer when there are fewer files. */
const MAX_SHARDS = 4;
/** Lines per sliding window, as in the seed's `.batch(1024)`. */
const WINDOW_LINES = 1024;
const DEFAULT_PATTERN = 'cron';
const USAGE = 'usage: node dist/examples/streamingLog.js [--pattern WORD] [file.gz ...]';

/** What the command line asks for. */
interface Options {
  /** The word to look for (case-sensitive substring). */
  readonly pattern: string;
  /** Gzip log files; empty to use a generated sample. */
  readonly files: readonly string[];
}

/** One window of a shard: `[lines containing the pattern, lines]`. */
export type WindowCount = [matches: number, lines: number];

/** Parses the command line; `undefined` when it asked for `--help`. */
function parseOptions(argv: readonly string[]): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        pattern: { type: 'string', default: DEFAULT_PATTERN },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  const pattern = values.pattern ?? DEFAULT_PATTERN;
  if (pattern === '') throw new Error(`--pattern must not be empty\n${USAGE}`);
  return { pattern, files: positionals };
}

/**
 * The parallel pipeline: for each window of `windowLines` non-empty lines of
 * a shard's files, how many contain `pattern`.
 *
 * @param files - gzip text files, dealt round robin to the shards
 * @param pattern - the substring to look for
 * @param numShards - how many shards (worker threads)
 * @param windowLines - lines per window; each shard's last window may be shorter
 * @returns a lazy iterator of `[matches, lines]`; nothing runs until it is gathered
 */
export function grepWindows(
  files: readonly string[],
  pattern: string,
  numShards: number,
  windowLines: number,
): ParallelIterator<WindowCount> {
  return (
    fromItems(files, numShards)
      // Runs in a worker: only its argument, globals and require() are in scope.
      .forEach((file): string[] => {
        /* eslint-disable @typescript-eslint/no-require-imports */
        const zlib = require('node:zlib') as typeof import('node:zlib');
        const fs = require('node:fs') as typeof import('node:fs');
        /* eslint-enable @typescript-eslint/no-require-imports */
        return zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n');
      })
      .flatten()
      .filter((line) => line !== '')
      // `pattern` is a local variable of this file, so it is passed in `context`.
      .forEach((line): number => (line.includes(pattern) ? 1 : 0), { context: { pattern } })
      .batch(windowLines)
      .forEach((window): WindowCount => [window.reduce((a, b) => a + b, 0), window.length])
  );
}

/** Totals over all windows. */
interface Totals {
  windows: number;
  matches: number;
  lines: number;
}

const percent = (part: number, whole: number): string =>
  whole === 0 ? '0.00' : ((100 * part) / whole).toFixed(2);

/**
 * Runs the grep over `files`, printing each window's frequency as it arrives
 * and a total line at the end.
 *
 * @returns the totals
 */
async function grepFiles(files: readonly string[], pattern: string): Promise<Totals> {
  const numShards = Math.min(MAX_SHARDS, files.length);
  const it = grepWindows(files, pattern, numShards, WINDOW_LINES);
  console.log(`pipeline: ${String(it)}`);
  const totals: Totals = { windows: 0, matches: 0, lines: 0 };
  for await (const [matches, lines] of it.gatherAsync()) {
    totals.windows += 1;
    totals.matches += matches;
    totals.lines += lines;
    const frequency = (matches / lines).toFixed(4);
    console.log(`window ${totals.windows}: ${pattern} frequency ${frequency} (${lines} lines)`);
  }
  console.log(
    `total: ${totals.matches} of ${totals.lines} lines match "${pattern}" ` +
      `(${percent(totals.matches, totals.lines)}%) across ${files.length} files, ${numShards} shards`,
  );
  return totals;
}

/**
 * Calls `use` with the paths of a freshly written sample, then removes the
 * sample's temp folder, whether `use` succeeded or not.
 */
async function withSampleLogs<R>(use: (files: string[]) => Promise<R>): Promise<R> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pariter-logs-'));
  try {
    const files = writeSampleLogs(dir);
    const { linesPerFile } = SAMPLE_DEFAULTS;
    console.log(`sample: ${dir} (${files.length} files, ${linesPerFile} lines each)`);
    return await use(files);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The whole job: parse the command line, then grep the given files or a sample. */
async function main(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  if (options === undefined) {
    console.log(USAGE);
    return;
  }
  const { pattern, files } = options;
  const grep = (paths: readonly string[]): Promise<Totals> => grepFiles(paths, pattern);
  await (files.length > 0 ? grep(files) : withSampleLogs(grep));
}

/** Prints an error and its causes (a `ShardError` names the iterator and shard). */
function reportError(error: unknown): void {
  let prefix = 'error: ';
  for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
    console.error(prefix + (e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
    prefix = '  caused by: ';
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    reportError(error);
    process.exitCode = 1;
  });
}
