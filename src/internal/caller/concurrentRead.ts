/**
 * @internal
 * The error of a second consumer pulling while another consumer's pull is
 * pending. It is the second consumer's misuse: it fails that pull and must
 * not end the run the first consumer is reading.
 */
import { UsageError } from '../../errors';

const marked = new WeakSet<object>();

/** A `UsageError` for a pull made while another is pending. */
export function concurrentRead(message: string): UsageError {
  const error = new UsageError(message);
  marked.add(error);
  return error;
}

/** True for an error made by {@link concurrentRead}. */
export function isConcurrentRead(error: unknown): boolean {
  return typeof error === 'object' && error !== null && marked.has(error);
}
