/**
 * @internal
 * The shapes of the Node.js objects that pariter's declarations name,
 * written out here so that the published `.d.ts` files compile in a project
 * without `@types/node`. Node's own objects fit them.
 */

/** One end of a shard's data channel: Node's `MessagePort`, as pariter uses it. */
export interface DataPort {
  postMessage(value: unknown): void;
  /** `'message'` listeners get each message; `'close'` listeners get nothing. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a message is whatever was posted, as in Node's own type
  on(event: 'message' | 'close', listener: (message: any) => void): unknown;
  /** As `on`, for one event. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as for `on`
  once(event: 'message' | 'close', listener: (message: any) => void): unknown;
  close(): void;
}

/** Heap and stack limits of a worker thread: Node's `worker_threads` `ResourceLimits`. */
export interface ResourceLimits {
  /** The maximum size of the main heap, in MB. */
  readonly maxOldGenerationSizeMb?: number;
  /** The maximum size of the heap space for recently created objects, in MB. */
  readonly maxYoungGenerationSizeMb?: number;
  /** The size of the memory range reserved for generated code, in MB. */
  readonly codeRangeSizeMb?: number;
  /** The default maximum stack size of the thread, in MB. */
  readonly stackSizeMb?: number;
}

/**
 * Node's `util.inspect.custom`: the key of the method that `util.inspect`
 * (and so `console.log`) prints an object with.
 */
export const inspectCustom: unique symbol = Symbol.for('nodejs.util.inspect.custom');
