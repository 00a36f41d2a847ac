/**
 * pariter hosts as child processes on 127.0.0.1 (`bin/pariter-host.js`,
 * built `dist/`): each listens on a free port and reports it on stdout; the
 * spec stops them by pid in its teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { HANG_CAP_MS } from './hang';
import { ROOT } from './paths';

/** The `pariter-host` command's script. */
export const HOST_BIN = path.join(ROOT, 'bin', 'pariter-host.js');

/** A host child process. */
export interface HostProcess {
  readonly pid: number;
  /** `127.0.0.1:port` */
  readonly address: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with its exit code or signal once it has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

const running = new Set<HostProcess>();

/**
 * Starts `pariter-host --listen 127.0.0.1:0 ...flags` (or at `listen`) and
 * waits until it listens. Rejects with its stderr if it exits first.
 */
export function startHostProcess(
  flags: readonly string[] = [],
  listen = '127.0.0.1:0',
): Promise<HostProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOST_BIN, '--listen', listen, ...flags], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | NodeJS.Signals | null>((done) =>
      child.once('exit', (code, signal) => done(signal ?? code)),
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pariter-host did not start within ${HANG_CAP_MS} ms: ${stderr}`));
    }, HANG_CAP_MS);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (\S+):(\d+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      const port = Number(match[2]);
      const host: HostProcess = {
        pid: child.pid as number,
        address: `127.0.0.1:${port}`,
        port,
        child,
        stderr: () => stderr,
        exited,
      };
      running.add(host);
      void exited.then(() => running.delete(host));
      resolve(host);
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`pariter-host exited (${String(how)}) before listening: ${stderr}`));
    });
  });
}

/** Stops a host by its pid (continuing it first if it was frozen) and waits for its exit. */
export async function stopHost(host: HostProcess): Promise<void> {
  if (host.child.exitCode !== null || host.child.signalCode !== null) return;
  try {
    process.kill(host.pid, 'SIGCONT');
    process.kill(host.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await host.exited;
}

/** Stops every host started by this spec file that still runs. */
export async function stopAllHosts(): Promise<void> {
  await Promise.all([...running].map(stopHost));
}

/** The number of OS threads of process `pid`. */
export function processThreads(pid: number): number {
  const match = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1]);
}

/** Waits (up to `timeoutMs`) until process `pid` has at most `baseline` threads; returns the last count. */
export async function processThreadsSettle(
  pid: number,
  baseline: number,
  timeoutMs = 5000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = processThreads(pid);
  while (count > baseline && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    count = processThreads(pid);
  }
  return count;
}
