/**
 * @internal
 * Diagnostics: `NODE_DEBUG=pariter` turns on lines like
 * `PARITER 1234: run 3 start ParallelIterator[…].gatherSync() shards=2` on
 * stderr, through Node's own `util.debuglog`. Off, each call costs one test.
 */
import { debuglog } from 'node:util';

const log = debuglog('pariter');

/** Whether `NODE_DEBUG` names `pariter`. */
export const debugEnabled: boolean = log.enabled;

/**
 * Logs one event when diagnostics are on; `details` is only called then, so
 * callers pay nothing for building the message otherwise.
 */
export function debug(details: () => string): void {
  if (debugEnabled) log('%s', details());
}

/** A short text for an error in a log line: its name and message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
