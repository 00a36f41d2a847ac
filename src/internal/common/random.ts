/**
 * Seedable random numbers for the shuffling operators.
 *
 * @internal
 * @packageDocumentation
 */

/**
 * Makes a source of random floats in [0, 1).
 *
 * With a `seed`, the source is a mulberry32 generator whose 32-bit state is
 * mixed from all 64 bits of the seed, so every call with the same seed gives
 * the same sequence (and e.g. `1` and `1.5` give different ones). Without a
 * seed it is `Math.random`.
 *
 * @param seed - a finite number, or `undefined` for `Math.random`
 * @returns a function returning the next float in [0, 1) on each call
 *
 * @example
 * ```ts
 * const a = createRandom(42);
 * const b = createRandom(42);
 * a() === b(); // true
 * ```
 */
export function createRandom(seed?: number): () => number {
  if (seed === undefined) {
    return Math.random;
  }
  let state = seedToState(seed);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Folds the 64 bits of a double into a 32-bit generator state. */
function seedToState(seed: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, seed);
  return (view.getUint32(0) ^ Math.imul(view.getUint32(4), 0x9e3779b1)) | 0;
}

/** Removes and returns an element of a non-empty `buffer` chosen with `random`. */
export function takeRandom<T>(buffer: T[], random: () => number): T {
  const index = Math.floor(random() * buffer.length);
  return buffer.splice(index, 1)[0] as T;
}
