/**
 * The errors pariter throws. Every one is an `Error` subclass with a `name`
 * equal to its class name and, where another error caused it, a `cause`.
 *
 * Tell them apart with `instanceof` (or `name`), never by message text.
 *
 * @packageDocumentation
 */

/**
 * An argument was of the right type but outside its allowed range.
 *
 * It is a `RangeError`, thrown synchronously by the call that received the
 * argument, before any thread starts.
 *
 * @example
 * ```ts
 * try { fromRange(10, 0); } catch (e) { e instanceof RangeError; } // true
 * ```
 */
export class ArgumentRangeError extends RangeError {
  /** Always `'ArgumentRangeError'`. */
  override name = 'ArgumentRangeError';
}

/**
 * An argument was of the wrong type or shape.
 *
 * It is a `TypeError`, thrown synchronously by the call that received the
 * argument, before any thread starts.
 *
 * @example
 * ```ts
 * try { fromRange(4).union([1, 2] as never); } catch (e) { e instanceof TypeError; } // true
 * ```
 */
export class ArgumentTypeError extends TypeError {
  /** Always `'ArgumentTypeError'`. */
  override name = 'ArgumentTypeError';
}

/**
 * An API was used in a way its current state does not allow: iterating a
 * `ParallelIterator` directly, reading one iterator from two consumers at
 * once, or calling `getMetrics()` outside a local function.
 *
 * Like a locked `ReadableStream`, it is a `TypeError`.
 *
 * @example
 * ```ts
 * try { fromRange(4)[Symbol.asyncIterator](); } catch (e) { e instanceof UsageError; } // true
 * ```
 */
export class UsageError extends TypeError {
  /** Always `'UsageError'`. */
  override name = 'UsageError';
}

/**
 * A pull was rejected because its iterator was closed while the pull waited.
 *
 * @example
 * ```ts
 * const it = fromRange(4, { repeat: true }).forEach(() => new Promise(() => {}));
 * const pending = it.gatherSync().next();
 * await it.close(); // `pending` rejects with a ClosedError
 * ```
 */
export class ClosedError extends Error {
  /** Always `'ClosedError'`. */
  override name = 'ClosedError';
}

/** Where a {@link ShardError} happened. */
export interface ShardErrorOrigin {
  /** The printed name of the iterator whose shard failed. */
  readonly iterator: string;
  /** The index of the failing shard, from 0. */
  readonly shard: number;
  /** The host (`address:port`) that ran the shard, for a shard on another machine. */
  readonly host?: string;
}

/**
 * A shard failed: its function threw or rejected, its worker died, or an item
 * could not be sent between threads.
 *
 * The original error is `cause` (rebuilt in the calling thread with its
 * `name`, `message` and `stack`; for a shard function defined in a file, that
 * stack names the file and the line that threw). The `ShardError`'s own
 * stack ends with the frames of the user's code that started the read. When
 * a run ends with a `ShardError`, all of its workers have been stopped.
 *
 * @example
 * ```ts
 * try {
 *   await fromRange(4).forEach(() => { throw new Error('boom'); }).take(1);
 * } catch (e) {
 *   (e as ShardError).shard; // 0
 *   ((e as ShardError).cause as Error).message; // 'boom'
 * }
 * ```
 */
export class ShardError extends Error {
  /** Always `'ShardError'`. */
  override name = 'ShardError';
  /** The printed name of the iterator whose shard failed. */
  readonly iterator: string;
  /** The index of the failing shard, from 0. */
  readonly shard: number;
  /**
   * The host (`address:port`) that ran the shard, for a shard on another
   * machine (see `cluster`); `undefined` for a shard in this process.
   */
  readonly host: string | undefined;

  /**
   * @param origin - the iterator and shard that failed
   * @param message - what happened and what to do about it
   * @param cause - the original error
   */
  constructor(origin: ShardErrorOrigin, message: string, cause?: unknown) {
    const where = origin.host === undefined ? '' : ` on host ${origin.host}`;
    super(`${origin.iterator} shard ${origin.shard}${where}: ${message}`, { cause });
    this.iterator = origin.iterator;
    this.shard = origin.shard;
    this.host = origin.host;
  }
}

/**
 * An Observable fed pariter faster than its workers took items, past the
 * buffer it was given, under `onOverflow: 'error'`.
 *
 * @example
 * ```ts
 * interval(0).pipe(parallelMap(slow, { bufferSize: 10, onOverflow: 'error' }));
 * // errors with an OverflowError once 10 items wait
 * ```
 */
export class OverflowError extends Error {
  /** Always `'OverflowError'`. */
  override name = 'OverflowError';
}
