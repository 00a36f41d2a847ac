/**
 * @internal
 * The typed messages of the worker boundary: what a shard's plan looks like,
 * and what the calling thread and a shard's worker say to each other over the
 * shard's own `MessagePort`.
 *
 * The data path is request/deliver: the calling thread asks for up to `n`
 * items, the worker computes at most what was asked and delivers. Nothing in
 * here is a threads.js type: a pooled shard worker gets its first port with
 * its `workerData` and the others posted to it (an actor's worker, by a
 * threads.js control call).
 */
import type { DataPort } from '../common/nodeShapes';

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
  /**
   * Listens once for the channel's close by the other side (a local thread's
   * port; a remote stream reports its loss through the place's `onExit`).
   */
  once?(event: 'close', listener: () => void): unknown;
  /** Closes the channel: the shard's side sees its end. */
  close(): void;
}

/**
 * The `workerData` of a pooled shard worker: the worker's end of its first
 * shard's data channel (none for a thread started to replace one that died).
 */
export interface ShardWorkerData {
  readonly port?: DataPort;
}

/** Calling thread → pooled shard worker (its `parentPort`): one more shard to serve. */
export interface ToPoolThread {
  readonly type: 'attach';
  /** The worker's end of the shard's data channel. */
  readonly port: DataPort;
}

/**
 * Where a shipped function was written: its `require`, `import()`,
 * `__filename` and `__dirname` are those of `file`, and its stack frames name
 * `file` at `line` and `column`.
 */
export interface ShippedOrigin {
  /** The absolute path of the user's file that called pariter. */
  readonly file: string;
  /** 1-based line of the function's text in `file`. */
  readonly line: number;
  /** 1-based column of the function's text in `file` (1 when not known). */
  readonly column: number;
}

/** One function's source text and where it was written. */
export interface ShippedMethod {
  readonly source: string;
  readonly origin?: ShippedOrigin;
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
      /** Where it was written; none when not called from a file (a REPL). */
      readonly origin?: ShippedOrigin;
    }
  | {
      readonly kind: 'instance';
      /** Source text of the class; its `call(item)` method is used. */
      readonly classSource: string;
      /** The instance's own fields, cloned into one copy per shard. */
      readonly fields: Readonly<Record<string, unknown>>;
      readonly context: Readonly<Record<string, unknown>>;
      /**
       * Source text of the prototype's methods, by name, for a class written
       * as a function (`function C() {}` with `C.prototype.call = …`, as
       * TypeScript emits for ES5): its text does not hold them.
       */
      readonly methods?: Readonly<Record<string, ShippedMethod>>;
      readonly origin?: ShippedOrigin;
    }
  | {
      readonly kind: 'module';
      /** An absolute path or a bare specifier. */
      readonly specifier: string;
      readonly exportName: string;
      /** The file that called `moduleFn`: a bare specifier is resolved from it. */
      readonly from?: string;
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
  /**
   * Sent first in each run. `requests` are the run's first requests, in
   * order, when they are known at once (one message wakes the thread
   * instead of several).
   */
  | {
      readonly type: 'init';
      readonly plan: ShardPlan;
      readonly requests?: ReadonlyArray<{ readonly n: number; readonly batchMs: number }>;
      /**
       * The run may close itself once it has ended and answered every
       * request (see `closed`): a pooled thread's run, not an actor's or a
       * host's, whose other end manages the run's end on its own.
       */
      readonly mayCloseItself?: boolean;
      /** For a `feed` source: items ready at the start, as a `feed` answer would bring them. */
      readonly feed?: { readonly items: readonly unknown[]; readonly done: boolean };
    }
  /**
   * Deliver up to `n` items. With `batchMs` > 0 the worker keeps computing
   * until `n` items or `batchMs` have passed with at least one item.
   */
  | { readonly type: 'request'; readonly n: number; readonly batchMs: number }
  /** Answer to a `pull` for a `feed` source. */
  | { readonly type: 'feed'; readonly items: readonly unknown[]; readonly done: boolean }
  | { readonly type: 'feedError'; readonly error: SerializedError }
  /**
   * The run is over: close the shard's pipeline and answer `closed` with
   * the same `id`, which gives its pooled thread back. (A port serves run
   * after run: the `id` tells which close an answer is for.)
   */
  | { readonly type: 'close'; readonly id: number };

/** Worker → calling thread. */
export type FromShard =
  /**
   * Answers one `request`: between 1 and `n` items; `end` when they are the
   * shard's last (its other requests are then answered by `end`). `closed`
   * (here or on `end`): the shard has ended and answered every request it
   * got, so it closed its run itself, as after a `close`: the port is free
   * for the next run, with no `close` needed.
   */
  | {
      readonly type: 'items';
      readonly items: readonly unknown[];
      readonly end?: boolean;
      readonly closed?: boolean;
    }
  /** The shard is exhausted; answers the pending request. */
  | { readonly type: 'end'; readonly closed?: boolean }
  /** The shard failed; `hint` says what to do. */
  | { readonly type: 'error'; readonly error: SerializedError; readonly hint: string }
  /** A `feed` source wants up to `n` more items. */
  | { readonly type: 'pull'; readonly n: number }
  /** Answers the `close` with this `id`: the shard is closed, the thread free of it. */
  | { readonly type: 'closed'; readonly id: number };

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

/**
 * A reader → a custom actor, on a connector port (see `actorLink`): ask for
 * a run over the actor on `port`, or end the run of `reader`. One connector
 * carries both, in order, so an ended run is released before the next one
 * from the same thread asks.
 */
export type ToActor =
  | { readonly type: 'attach'; readonly reader: number; readonly port: DataPort }
  | { readonly type: 'release'; readonly reader: number };

/** A custom actor → a reader: the first message on a run's data port. */
export type AttachAnswer =
  | { readonly type: 'attached' }
  /** No run: another reader holds the actor, or it is not constructed. */
  | { readonly type: 'refused'; readonly error: SerializedError };
