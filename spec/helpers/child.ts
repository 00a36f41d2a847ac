/**
 * Running a child `node` process from a spec: its output, how it ended, and
 * a cap that kills it (and says so) if it does not end by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { HANG_CAP_MS } from './hang';
import { ROOT } from './paths';

/** How a child process ended. */
export interface ChildOutcome {
  readonly pid: number | undefined;
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when it was killed for not ending within the cap. */
  readonly hung: boolean;
}

export interface RunNodeOptions {
  /** Kills the child after this many ms (default {@link HANG_CAP_MS}). */
  readonly capMs?: number;
  /** Called with all of stdout so far whenever more arrives. */
  readonly onStdout?: (stdout: string, child: ChildProcess) => void;
  /** The child's working directory (default: the repository root). */
  readonly cwd?: string;
  /** Variables added to this process's environment for the child. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs `node ...args` from the repository root (or `options.cwd`). Resolves when the child has
 * ended (rejects only if it could not be started).
 */
export function runNode(
  args: readonly string[],
  options: RunNodeOptions = {},
): Promise<ChildOutcome> {
  const { capMs = HANG_CAP_MS, onStdout, cwd = ROOT, env } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, capMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ pid: child.pid, code, signal, stdout, stderr, hung });
    });
  });
}
