/**
 * @internal
 * The wire between a calling process and a pariter host: a gRPC service
 * defined by hand (no code generation) whose messages are pariter's own
 * protocol messages, encoded with `v8.serialize` so that items keep their
 * structured-clone semantics (Maps, Dates, typed arrays, errors, BigInts).
 *
 * - `Shard`: one bidirectional stream per shard run. The client sends
 *   {@link ToShard} messages, the host answers with {@link FromShard}
 *   messages; the stream's end (or cancellation) ends the run.
 * - `Actor`: one bidirectional stream per remote actor, carrying its
 *   control calls ({@link ToActor}, {@link FromActor}); the stream's end
 *   terminates the actor.
 *
 * Messages are encoded by the sender before `write` (so that a message that
 * cannot be sent throws at the call that sent it) and decoded by gRPC.
 */
import type * as grpc from '@grpc/grpc-js';
import * as v8 from 'node:v8';
import type { SerializedError } from './protocol';

let grpcModule: typeof grpc | undefined;

/**
 * `@grpc/grpc-js`, loaded on first use: it takes a while to load, and only
 * a process that uses a cluster or is a host needs it.
 */
export function loadGrpc(): typeof grpc {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (grpcModule ??= require('@grpc/grpc-js') as typeof grpc);
}

/** The gRPC metadata key naming the actor a `Shard` stream reads. */
export const ACTOR_METADATA = 'pariter-actor';

/** The default largest message, in bytes (gRPC's own default receive limit). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** The largest value accepted for `maxMessageBytes` (gRPC's limit is a 32-bit signed int). */
export const MAX_MESSAGE_BYTES_LIMIT = 2 ** 31 - 1 - 64 * 1024;

/** Room above `maxMessageBytes` for gRPC's own framing. */
const FRAMING = 64 * 1024;

/** Client → host, on an `Actor` stream. */
export type ToActor =
  /** Sent once, first: start the actor's worker on `modulePath` and construct it. */
  | { readonly type: 'spawn'; readonly modulePath: string; readonly args: readonly unknown[] }
  /** Call one of the actor's methods; answered by a `result` with the same `id`. */
  | {
      readonly type: 'call';
      readonly id: number;
      readonly method: string;
      readonly args: readonly unknown[];
    };

/** Host → client, on an `Actor` stream. */
export type FromActor =
  /** The actor is constructed: its id (for `Shard` streams) and method names. */
  | { readonly type: 'spawned'; readonly actor: string; readonly methods: readonly string[] }
  | { readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly type: 'failed'; readonly id: number; readonly error: SerializedError };

/** Messages are written already encoded (see {@link encode}). */
const encoded = (bytes: unknown): Buffer => bytes as Buffer;
const decode = (bytes: Buffer): unknown => v8.deserialize(bytes);

function method(name: string): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/pariter.Host/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: encoded,
    requestDeserialize: decode,
    responseSerialize: encoded,
    responseDeserialize: decode,
  };
}

/** The pariter host's service: `Shard` and `Actor`, both bidirectional streams. */
export const hostService = {
  shard: method('Shard'),
  actor: method('Actor'),
} satisfies grpc.ServiceDefinition;

/** Thrown when a message is larger than the limit; its `code` is `ERR_PARITER_MESSAGE_TOO_LARGE`. */
export class MessageTooLargeError extends RangeError {
  override name = 'MessageTooLargeError';
  readonly code = 'ERR_PARITER_MESSAGE_TOO_LARGE';
}

/**
 * What to do about a message above the limit: which option raises it on
 * each side.
 */
export function tooLargeHint(limit: number): string {
  return `a message is larger than the transport's limit of ${limit} bytes: raise \`maxMessageBytes\` (cluster option) and \`--max-message-bytes\` (pariter-host), or send smaller items`;
}

/**
 * Encodes `message` for the wire.
 *
 * @throws the `DataCloneError` of `v8.serialize` for what cannot be cloned;
 *   {@link MessageTooLargeError} above `limit` bytes
 */
export function encode(message: unknown, limit: number): Buffer {
  const bytes = v8.serialize(message);
  if (bytes.length > limit) {
    throw new MessageTooLargeError(
      `A message of ${bytes.length} bytes is larger than the limit of ${limit} bytes (${tooLargeHint(limit)})`,
    );
  }
  return bytes;
}

/** Keepalive and message-size options common to both ends of a connection. */
export function channelOptions(keepaliveMs: number, maxMessageBytes: number): grpc.ChannelOptions {
  return {
    'grpc.keepalive_time_ms': keepaliveMs,
    'grpc.keepalive_timeout_ms': keepaliveMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_send_message_length': maxMessageBytes + FRAMING,
    'grpc.max_receive_message_length': maxMessageBytes + FRAMING,
  };
}
