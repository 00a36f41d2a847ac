import { readFileSync } from 'node:fs';

/**
 * The number of OS threads of this process, from `/proc/self/status`.
 *
 * Each worker thread adds at least one; a terminated worker's thread goes
 * away shortly after its `terminate()` resolves.
 */
export function threadCount(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /^Threads:\s+(\d+)$/m.exec(status);
  if (!match?.[1]) throw new Error('No Threads: line in /proc/self/status');
  return Number(match[1]);
}

/**
 * Waits (up to `timeoutMs`) until the thread count is back at or below
 * `baseline`, polling; returns the last count seen.
 */
export async function threadsSettle(baseline: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = threadCount();
  while (count > baseline && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    count = threadCount();
  }
  return count;
}

/** The thread count once it is steady: the same for 5 polls 20 ms apart, or after 5 s. */
export async function steadyThreadCount(): Promise<number> {
  let last = threadCount();
  let steady = 0;
  const deadline = Date.now() + 5000;
  while (steady < 5 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = threadCount();
    steady = now === last ? steady + 1 : 0;
    last = now;
  }
  return last;
}
