/**
 * What a local source (or a local `forEach` function) produces to say
 * "nothing now", like Ray's `_NextValueNotReady`.
 *
 * Local transformations pass it on without calling their function; a
 * `union` moves on to its other inputs; a consumer reading with `next()` or
 * `for await` never sees it: the read waits (polling with a growing pause of
 * up to 10 ms, not a hot spin) until the source has an item or ends.
 *
 * @example
 * ```ts
 * const buffer: number[] = [];
 * const replay = LocalIterator.from(function* () {
 *   for (;;) yield buffer.length > 0 ? buffer.shift()! : NOT_READY;
 * }, { name: 'replay' });
 * setTimeout(() => buffer.push(1), 20);
 * await replay.take(1); // [1], once the buffer has it
 * ```
 */
export const NOT_READY: unique symbol = Symbol.for('pariter.NOT_READY');

/** The type of {@link NOT_READY}. */
export type NotReady = typeof NOT_READY;
