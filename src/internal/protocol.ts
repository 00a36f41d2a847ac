/**
 * @internal
 * The typed messages of the worker boundary: what a shard's plan looks like,
 * and what the calling thread and a shard's worker say to each other over the
 * shard's own `MessagePort`.
 *
 * The data path is request/deliver: the calling thread asks for up to `n`
 * items, the worker computes at most what was asked and delivers. Nothing in
 * here is a threads.js type: a shard worker gets its port with its
 * `workerData` (an actor's worker, by a threads.js control call).
 */
import type { MessagePort } from 'node:worker_threads';

/**
 * The calling thread's end of one shard's data channel, as {@link ToShard}
 * and {@link FromShard} messages travel: a `MessagePort` to a local thread,
 * or a stream to a host on another machine.
 */
export interface ShardPort {
  /** Sends one message; throws when it cannot be sent (not cloneable, too large). */
  postMessage(message: ToShard): void;
  /** Listens for the shard's messages. */
  on(event: 'message', listener: (message: FromShard) => void): unknown;
  /** Closes the channel: the shard's side sees its end. */
  close(): void;
}

/** The `workerData` of a shard worker: the worker's end of the shard's data channel. */
export interface ShardWorkerData {
  readonly port: MessagePort;
}

/** A function shipped to a worker by its source text, or a reference to one. */
export type ShippedFn =
  | {
      readonly kind: 'source';
      /** Source text of a function expression. */
      readonly source: string;
      /** Names in scope for the function, structured-cloned. */
      readonly context: Readonly<Record<string, unknown>>;
      /** When true, `source` is a factory called once per shard. */
      readonly stateful: boolean;
    }
  | {
      readonly kind: 'instance';
      /** Source text of the class; its `call(item)` method is used. */
      readonly classSource: string;
      /** The instance's own fields, cloned into one copy per shard. */
      readonly fields: Readonly<Record<string, unknown>>;
      readonly context: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'module';
      /** An absolute path or a bare specifier. */
      readonly specifier: string;
      readonly exportName: string;
    };

/** Where a shard's items come from. */
export type SourceSpec =
  | { readonly kind: 'items'; readonly items: readonly unknown[] }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  /** A function run in the worker that returns an iterable or async iterable. */
  | { readonly kind: 'function'; readonly fn: ShippedFn }
  /**
   * Items fed from the calling thread on request (`pull`/`feed`), up to
   * `batch` per pull (default 1).
   */
  | { readonly kind: 'feed'; readonly batch?: number }
  /** The items of the custom actor whose worker runs the shard. */
  | { readonly kind: 'actor' };

/** One transformation in a shard's pipeline. */
export type OpSpec =
  | {
      readonly op: 'forEach';
      readonly fn: ShippedFn;
      readonly maxConcurrency: number;
      /** Items are `[key, value]` pairs: `fn` maps the value, the key is kept. */
      readonly keyed?: boolean;
    }
  | { readonly op: 'filter'; readonly fn: ShippedFn }
  | { readonly op: 'batch'; readonly n: number }
  | { readonly op: 'flatten' }
  | { readonly op: 'localShuffle'; readonly size: number; readonly seed: number | undefined }
  | { readonly op: 'transform'; readonly fn: ShippedFn };

/** Everything a worker needs to run one shard. */
export interface ShardPlan {
  /** Printed name of the iterator, for errors. */
  readonly name: string;
  readonly shard: number;
  readonly source: SourceSpec;
  /** Cycle the source forever (items, range and function sources). */
  readonly repeat: boolean;
  readonly ops: readonly OpSpec[];
}

/** An error as it crosses threads. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string | number;
  readonly cause?: SerializedError;
}

/**
 * How long a worker computes for an eager request (`n` > 1, `batchMs` 0)
 * before it answers with what it has, in milliseconds.
 */
export const EAGER_MS = 2;

/** Calling thread → worker. */
export type ToShard =
  /** Sent once, first. */
  | { readonly type: 'init'; readonly plan: ShardPlan }
  /**
   * Deliver up to `n` items. With `batchMs` > 0 the worker keeps computing
   * until `n` items or `batchMs` have passed with at least one item.
   */
  | { readonly type: 'request'; readonly n: number; readonly batchMs: number }
  /** Answer to a `pull` for a `feed` source. */
  | { readonly type: 'feed'; readonly items: readonly unknown[]; readonly done: boolean }
  | { readonly type: 'feedError'; readonly error: SerializedError };

/** Worker → calling thread. */
export type FromShard =
  /** Answers one `request`: between 1 and `n` items. */
  | { readonly type: 'items'; readonly items: readonly unknown[] }
  /** The shard is exhausted; answers the pending request. */
  | { readonly type: 'end' }
  /** The shard failed; `hint` says what to do. */
  | { readonly type: 'error'; readonly error: SerializedError; readonly hint: string }
  /** A `feed` source wants up to `n` more items. */
  | { readonly type: 'pull'; readonly n: number };

/** Serializes any thrown value so that it survives structured clone. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
      ...(error.cause !== undefined && depth < 8
        ? { cause: serializeError(error.cause, depth + 1) }
        : {}),
    };
  }
  return { name: 'Error', message: `A non-Error value was thrown: ${String(error)}` };
}

const builtinErrors: Record<string, ErrorConstructor> = {
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
};

/** Rebuilds a serialized error, keeping built-in error classes. */
export function deserializeError(data: SerializedError): Error {
  const Ctor = builtinErrors[data.name] ?? Error;
  const options = data.cause === undefined ? undefined : { cause: deserializeError(data.cause) };
  const error = new Ctor(data.message, options);
  if (error.name !== data.name) {
    Object.defineProperty(error, 'name', { value: data.name, configurable: true, writable: true });
  }
  if (data.stack !== undefined) error.stack = data.stack;
  if (data.code !== undefined) Object.assign(error, { code: data.code });
  return error;
}
