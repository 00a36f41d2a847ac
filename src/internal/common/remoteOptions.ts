/**
 * @internal
 * Checks of the options of `cluster()` and `startHost()`, and the address
 * rules they share.
 */
import { isIP } from 'node:net';
import { ArgumentRangeError, ArgumentTypeError } from '../../errors';
import { checkOptions, describeValue, positiveInteger } from './validate';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_LIMIT } from '../wire/service';

/** Checks `options` is an object with only `known` keys: a typo is never ignored. */
export function knownKeys(options: unknown, known: readonly string[], name = 'options'): void {
  checkOptions(options, known, name);
}

/** A PEM value: a string or bytes (a Buffer). */
export function pem(name: string, value: unknown): string | Uint8Array {
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  throw new ArgumentTypeError(
    `Expected \`${name}\` to be a PEM string or Buffer (e.g. fs.readFileSync('ca.crt')), got ${describeValue(value)}`,
  );
}

/** A message size limit in bytes, {@link DEFAULT_MAX_MESSAGE_BYTES} by default. */
export function maxMessageBytes(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_MESSAGE_BYTES;
  const n = positiveInteger('maxMessageBytes', value);
  if (n > MAX_MESSAGE_BYTES_LIMIT) {
    throw new ArgumentRangeError(
      `Expected \`maxMessageBytes\` to be a positive integer up to ${MAX_MESSAGE_BYTES_LIMIT}, got ${n}`,
    );
  }
  return n;
}

/** A `host:port` address (IPv6 in brackets): its host and port. */
export function parseAddress(name: string, value: unknown): { host: string; port: number } {
  const match = typeof value === 'string' ? /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(value) : null;
  const port = Number(match?.[2]);
  if (!match?.[1] || port > 65535) {
    throw new ArgumentTypeError(
      `Expected \`${name}\` to be an address 'host:port' (e.g. '127.0.0.1:7100', '[::1]:7100'), got ${describeValue(value)}`,
    );
  }
  return { host: match[1], port };
}

/** Whether `host` (as in {@link parseAddress}) is this machine's loopback interface. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
}
