/**
 * Deterministic syslog-style sample logs for the streaming grep example
 * (`streamingLog.ts`), written as gzip files like `/var/log/syslog.N.gz`.
 *
 * Every line comes from a small seeded PRNG, so the same options always give
 * byte-identical files and the same number of lines containing "cron".
 *
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parseArgs } from 'node:util';

/** How much sample log to write. */
export interface SampleOptions {
  /** How many gzip files (default 8). */
  readonly files?: number;
  /** Log lines in each file (default 5000). */
  readonly linesPerFile?: number;
  /** The PRNG seed (default 42). */
  readonly seed?: number;
}

/** The defaults of {@link SampleOptions}. */
export const SAMPLE_DEFAULTS = { files: 8, linesPerFile: 5000, seed: 42 } as const;

/** A PRNG returning floats in [0, 1): mulberry32, small and reproducible. */
export type Random = () => number;

/**
 * The mulberry32 generator.
 *
 * @param seed - any 32-bit integer
 * @returns a function giving the next float in [0, 1)
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (random: Random, below: number): number => Math.floor(random() * below);

const ip = (random: Random): string => `10.0.${int(random, 256)}.${int(random, 256)}`;

/** A message template (after `host `) and how often it occurs, relative to the others. */
interface Template {
  readonly weight: number;
  readonly message: (random: Random, pid: number) => string;
}

// The three CRON templates are the only ones containing "cron" (about 9% of lines).
const TEMPLATES: readonly Template[] = [
  {
    weight: 4,
    message: (_, pid) =>
      `CRON[${pid}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)`,
  },
  {
    weight: 3,
    message: (_, pid) =>
      `CRON[${pid}]: pam_unix(cron:session): session opened for user root by (uid=0)`,
  },
  {
    weight: 2,
    message: (_, pid) => `CRON[${pid}]: pam_unix(cron:session): session closed for user root`,
  },
  {
    weight: 20,
    message: (random, pid) =>
      `sshd[${pid}]: Accepted publickey for ubuntu from ${ip(random)} port ${1024 + int(random, 60000)} ssh2`,
  },
  {
    weight: 15,
    message: (random, pid) =>
      `sshd[${pid}]: Disconnected from user ubuntu ${ip(random)} port ${1024 + int(random, 60000)}`,
  },
  {
    weight: 20,
    message: (random) => `systemd[1]: Started Session ${int(random, 9000) + 1} of user ubuntu.`,
  },
  {
    weight: 12,
    message: (random, pid) => `dhclient[${pid}]: DHCPACK of ${ip(random)} from 10.0.0.1`,
  },
  {
    weight: 10,
    message: (random) =>
      `kernel: [${(random() * 90000).toFixed(6).padStart(12)}] EXT4-fs (sda1): re-mounted. Opts: (null)`,
  },
  {
    weight: 8,
    message: (_, pid) =>
      `systemd-resolved[${pid}]: Using degraded feature set UDP instead of UDP+EDNS0 for DNS server 10.0.0.2.`,
  },
  {
    weight: 6,
    message: () => 'rsyslogd: [origin software="rsyslogd"] rsyslogd was HUPed',
  },
];

const TOTAL_WEIGHT = TEMPLATES.reduce((sum, t) => sum + t.weight, 0);

function pickTemplate(random: Random): Template {
  let ticket = random() * TOTAL_WEIGHT;
  for (const template of TEMPLATES) {
    ticket -= template.weight;
    if (ticket < 0) return template;
  }
  return TEMPLATES[TEMPLATES.length - 1] as Template;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A syslog timestamp, e.g. `Mar  4 06:25:01`, for seconds since the start of a (non-leap) year. */
function timestamp(seconds: number): string {
  const date = new Date(Date.UTC(2023, 0, 1) + seconds * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2)} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`
  );
}

/**
 * The lines of one sample log file, oldest first.
 *
 * @param fileIndex - which file (files further back in time have higher indices, as with logrotate)
 * @param lines - how many lines
 * @param seed - the PRNG seed
 * @returns the lines, without newlines
 */
export function sampleLogLines(fileIndex: number, lines: number, seed: number): string[] {
  const random = mulberry32(seed * 1000 + fileIndex);
  let seconds = (60 - fileIndex) * 86400; // one day per file, counting back from early March
  return Array.from({ length: lines }, () => {
    seconds += int(random, 4);
    const host = `host${String(1 + int(random, 3)).padStart(2, '0')}`;
    const pid = 300 + int(random, 60000);
    return `${timestamp(seconds)} ${host} ${pickTemplate(random).message(random, pid)}`;
  });
}

/**
 * Writes the sample as `syslog.1.gz`, `syslog.2.gz`, … into `dir`, each file
 * ending with a newline.
 *
 * @param dir - an existing folder
 * @param options - how many files and lines, and the seed
 * @returns the paths of the files written, in order
 */
export function writeSampleLogs(dir: string, options: SampleOptions = {}): string[] {
  const files = options.files ?? SAMPLE_DEFAULTS.files;
  const linesPerFile = options.linesPerFile ?? SAMPLE_DEFAULTS.linesPerFile;
  const seed = options.seed ?? SAMPLE_DEFAULTS.seed;
  return Array.from({ length: files }, (_, i) => {
    const file = path.join(dir, `syslog.${i + 1}.gz`);
    const text = sampleLogLines(i + 1, linesPerFile, seed).join('\n') + '\n';
    fs.writeFileSync(file, zlib.gzipSync(text));
    return file;
  });
}

/**
 * From the command line, writes a sample into a folder:
 * `node dist/examples/sampleLogs.js DIR [--files N] [--lines N] [--seed N]`.
 */
function main(argv: readonly string[]): void {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      files: { type: 'string', default: String(SAMPLE_DEFAULTS.files) },
      lines: { type: 'string', default: String(SAMPLE_DEFAULTS.linesPerFile) },
      seed: { type: 'string', default: String(SAMPLE_DEFAULTS.seed) },
    },
    allowPositionals: true,
  });
  const dir = positionals[0];
  if (dir === undefined || positionals.length > 1) {
    throw new Error(
      'usage: node dist/examples/sampleLogs.js DIR [--files N] [--lines N] [--seed N]',
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const files = writeSampleLogs(dir, {
    files: Number(values.files),
    linesPerFile: Number(values.lines),
    seed: Number(values.seed),
  });
  for (const file of files) console.log(file);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
