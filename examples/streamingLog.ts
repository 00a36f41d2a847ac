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
 * - The files are streamed, never read whole: in each shard's worker, a
 *   function source (an async generator) gunzips one file at a time through
 *   `zlib` and `readline`, so memory stays flat however big the files are.
 *   The shards share the list of files and take the next unread one when
 *   they are done with one.
 * - The matching runs in the workers too (a parallel `forEach`): only one
 *   byte per line (`Uint8Array` flags) crosses back to the main thread.
 * - Functions given to a `ParallelIterator` are shipped to the workers by
 *   their source text. They cannot use this file's imports or variables, so
 *   they `require()` what they need in their own body, and the values they
 *   use are passed by name in `{ context }`.
 * - `gatherAsync({ numAsync: 2 })` reads chunks as soon as any shard has one
 *   ready, each shard reading one chunk ahead. The main thread cuts the flags
 *   into global windows of 1024 lines (every window but the last is full,
 *   whichever shard its lines came from) and prints each window's frequency,
 *   as the seed's sliding window. The order of lines across shards varies
 *   between runs, the totals do not. Leaving the loop stops the workers, and
 *   the script exits without calling `close()`.
 * - On a terminal, a progress line on stderr shows the files done and the
 *   lines per second; piped, stderr stays empty.
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
import { fromIterators, type ParallelIterator } from '../src';
import { SAMPLE_DEFAULTS, writeSampleLogs } from './sampleLogs';

/** At most this many shards (worker threads); fewer when there are fewer files. */
const MAX_SHARDS = 4;
/** Lines per window, as in the seed's `.batch(1024)`; windows span the whole stream. */
const WINDOW_LINES = 1024;
/** Lines a shard matches per step: one message each way per chunk. */
const CHUNK_LINES = 4096;
/** How often the progress line is redrawn, at most. */
const PROGRESS_MS = 100;
const DEFAULT_PATTERN = 'cron';
const USAGE = 'usage: node dist/examples/streamingLog.js [--pattern WORD] [file.gz ...]';

/** What the command line asks for. */
interface Options {
  /** The word to look for (case-sensitive substring). */
  readonly pattern: string;
  /** Gzip log files; empty to use a generated sample. */
  readonly files: readonly string[];
}

/** One window: `[lines containing the pattern, lines]`. */
export type WindowCount = [matches: number, lines: number];

/** What a shard sends back for one chunk of a file's non-empty lines. */
export interface ChunkFlags {
  /** One flag per line, in file order: 1 when the line contains the pattern. */
  readonly flags: Uint8Array;
  /** True for the last chunk of a file (it may be empty). */
  readonly endOfFile: boolean;
}

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
 * The parallel pipeline: each shard streams whole files (gunzip and
 * `readline`, never a whole file in memory) and sends back, for each chunk of
 * up to `chunkLines` non-empty lines, which lines contain `pattern`.
 *
 * The shards share a counter of files handed out (an `Int32Array` over a
 * `SharedArrayBuffer`, passed in `context`, is shared, not copied): each
 * shard takes the next unread file when it is done with one, so a big file
 * keeps one shard busy while the others go on with the rest.
 *
 * @param files - gzip text files
 * @param pattern - the substring to look for
 * @param numShards - how many shards (worker threads)
 * @param chunkLines - lines per chunk; a file's last chunk may be shorter
 * @returns a lazy iterator of chunks; nothing runs until it is gathered
 */
export function grepChunks(
  files: readonly string[],
  pattern: string,
  numShards: number,
  chunkLines: number,
): ParallelIterator<ChunkFlags> {
  const nextFile = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  // Runs in a worker: only its argument, globals, require() and the names
  // in `context` (files, nextFile, chunkLines) are in scope.
  const readFiles = async function* (): AsyncGenerator<{ lines: string[]; endOfFile: boolean }> {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const fs = require('node:fs') as typeof import('node:fs');
    const zlib = require('node:zlib') as typeof import('node:zlib');
    const readline = require('node:readline') as typeof import('node:readline');
    const { pipeline } = require('node:stream') as typeof import('node:stream');
    /* eslint-enable @typescript-eslint/no-require-imports */
    for (let i = Atomics.add(nextFile, 0, 1); i < files.length; i = Atomics.add(nextFile, 0, 1)) {
      // pipeline() passes a read or gunzip error on to readline, which throws it here.
      const input = pipeline(
        fs.createReadStream(files[i] as string),
        zlib.createGunzip(),
        () => {},
      );
      let lines: string[] = [];
      for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
        if (line === '') continue;
        lines.push(line);
        if (lines.length === chunkLines) {
          yield { lines, endOfFile: false };
          lines = [];
        }
      }
      yield { lines, endOfFile: true };
    }
  };
  return fromIterators(
    Array.from({ length: numShards }, () => readFiles),
    { context: { files, nextFile, chunkLines } },
  ).forEach(
    // `pattern` is a local variable of this file, so it is passed in `context`.
    ({ lines, endOfFile }): ChunkFlags => ({
      flags: Uint8Array.from(lines, (line) => (line.includes(pattern) ? 1 : 0)),
      endOfFile,
    }),
    { context: { pattern } },
  );
}

/**
 * Cuts a stream of per-line flags into windows of `size` lines, across
 * chunks and shards: every window but the last has exactly `size` lines.
 */
export class Windows {
  private matches = 0;
  private lines = 0;

  constructor(
    private readonly size: number,
    private readonly onWindow: (window: WindowCount) => void,
  ) {}

  /** Adds a chunk's flags, calling `onWindow` for each window it completes. */
  add(flags: Uint8Array): void {
    for (const flag of flags) {
      this.matches += flag;
      if (++this.lines === this.size) this.flush();
    }
  }

  /** Emits the last, shorter window, if any. */
  flush(): void {
    if (this.lines === 0) return;
    this.onWindow([this.matches, this.lines]);
    this.matches = 0;
    this.lines = 0;
  }
}

/**
 * A one-line progress report on stderr (files done, lines read, lines per
 * second), redrawn in place; a no-op unless stderr is a terminal, so piped
 * output stays clean.
 */
class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly started = Date.now();
  private drawnAt = 0;
  private shown = false;
  filesDone = 0;
  lines = 0;

  constructor(private readonly files: number) {}

  /** Prints `line` on stdout without tearing the progress line. */
  print(line: string): void {
    if (this.shown) this.clear();
    console.log(line);
  }

  /** Redraws the progress line, at most every {@link PROGRESS_MS}. */
  update(force = false): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && this.shown && now - this.drawnAt < PROGRESS_MS) return;
    this.drawnAt = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = Math.round(this.lines / seconds).toLocaleString('en-US');
    process.stderr.write(
      `\r\x1b[Kfiles ${this.filesDone}/${this.files}, ${this.lines.toLocaleString('en-US')} lines, ${rate} lines/s`,
    );
    this.shown = true;
  }

  /** Leaves the last progress line on the terminal. */
  end(): void {
    if (!this.tty) return;
    this.update(true);
    process.stderr.write('\n');
    this.shown = false;
  }

  private clear(): void {
    process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
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
 * Runs the grep over `files`, printing each global window's frequency as it
 * completes and a total line at the end; progress goes to stderr on a
 * terminal.
 *
 * @returns the totals
 */
async function grepFiles(files: readonly string[], pattern: string): Promise<Totals> {
  const numShards = Math.min(MAX_SHARDS, files.length);
  const it = grepChunks(files, pattern, numShards, CHUNK_LINES);
  console.log(`pipeline: ${String(it)}`);
  const totals: Totals = { windows: 0, matches: 0, lines: 0 };
  const progress = new Progress(files.length);
  const windows = new Windows(WINDOW_LINES, ([matches, lines]) => {
    totals.windows += 1;
    totals.matches += matches;
    totals.lines += lines;
    const frequency = (matches / lines).toFixed(4);
    progress.print(`window ${totals.windows}: ${pattern} frequency ${frequency} (${lines} lines)`);
  });
  // numAsync: 2 lets each shard read its next chunk while this thread counts one.
  for await (const { flags, endOfFile } of it.gatherAsync({ numAsync: 2 })) {
    windows.add(flags);
    progress.lines += flags.length;
    if (endOfFile) progress.filesDone += 1;
    progress.update();
  }
  windows.flush();
  progress.end();
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
