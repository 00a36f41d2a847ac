/**
 * @internal
 * Local sources made of other `LocalIterator`s: the union of several, and
 * the copies of one (`duplicate`).
 */
import { ArgumentRangeError, ArgumentTypeError } from '../errors';
import { MetricsContext, SharedMetrics } from '../metrics';
import type { LocalSource } from './iteratorTypes';
import type { Puller } from './pullPipeline';
import { describeValue } from './validate';

/** What a union reads: an async iterator that can be stopped. */
interface Input {
  next(): Promise<IteratorResult<unknown>>;
  return(): Promise<unknown>;
}

/** Options of `LocalIterator.union`. */
export interface UnionOptions {
  /** Alternate between the inputs in a fixed order (default false: as ready). */
  readonly deterministic?: boolean;
  /**
   * Items to take from each input per turn, one entry per input (this
   * iterator first); `'*'` takes as many as that input has ready.
   */
  readonly roundRobinWeights?: ReadonlyArray<number | '*'>;
}

const DONE = { done: true, value: undefined } as const;

function weightsOf(count: number, options: UnionOptions): number[] {
  const weights = options.roundRobinWeights;
  if (weights === undefined) return Array.from({ length: count }, () => 1);
  if (!Array.isArray(weights)) {
    throw new ArgumentTypeError(
      `Expected \`roundRobinWeights\` to be an array of weights, got ${describeValue(weights)}`,
    );
  }
  if (weights.length !== count) {
    throw new ArgumentRangeError(
      `Expected \`roundRobinWeights\` to be an array of one weight per input (${count}), got ${describeValue(weights)}`,
    );
  }
  return weights.map((weight, i) => {
    if (weight === '*') return Infinity;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 1) {
      throw new ArgumentRangeError(
        `Expected \`roundRobinWeights[${i}]\` to be a positive integer or '*', got ${describeValue(weight)}`,
      );
    }
    return weight;
  });
}

/** Alternates between the inputs, `weights[i]` items from input i per turn, none read ahead. */
function deterministicPuller(inputs: Input[], weights: number[]): Puller<unknown> {
  // '*' (Infinity) has no meaning without reading ahead: one item per turn.
  const active = inputs.map((input, i) => {
    const weight = weights[i] ?? 1;
    return { input, weight: weight === Infinity ? 1 : weight };
  });
  let turn = 0;
  let taken = 0;
  return {
    next: async () => {
      while (active.length > 0) {
        turn %= active.length;
        const current = active[turn] as (typeof active)[number];
        const weight = current.weight;
        const result = await current.input.next();
        if (result.done) {
          active.splice(turn, 1);
          taken = 0;
          continue;
        }
        if (++taken >= weight) {
          turn++;
          taken = 0;
        }
        return result;
      }
      return DONE;
    },
  };
}

/**
 * Takes items as they become ready: one pull in flight per input; ready
 * inputs are served in turn, up to their weight each, so none starves.
 */
function readyPuller(inputs: Input[], weights: number[]): Puller<unknown> {
  interface Slot {
    readonly input: Input;
    readonly weight: number;
    pending: boolean;
    ready?: IteratorResult<unknown>;
    error?: { readonly error: unknown };
  }
  const slots: Slot[] = inputs.map((input, i) => ({
    input,
    weight: weights[i] ?? 1,
    pending: false,
  }));
  let wake: (() => void) | undefined;
  let turn = 0;
  let served = 0;
  const settle = (): void => {
    const waiter = wake;
    wake = undefined;
    waiter?.();
  };
  const request = (slot: Slot): void => {
    slot.pending = true;
    slot.input.next().then(
      (result) => {
        slot.pending = false;
        slot.ready = result;
        settle();
      },
      (error: unknown) => {
        slot.pending = false;
        slot.error = { error };
        settle();
      },
    );
  };
  const firstReady = (): number => {
    for (let k = 0; k < slots.length; k++) {
      const index = (turn + k) % slots.length;
      const slot = slots[index] as Slot;
      if (slot.ready || slot.error) return index;
    }
    return -1;
  };
  return {
    next: async () => {
      while (slots.length > 0) {
        for (const slot of slots) if (!slot.pending && !slot.ready && !slot.error) request(slot);
        const index = firstReady();
        if (index < 0) {
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        const slot = slots[index] as Slot;
        if (slot.error) throw slot.error.error;
        const result = slot.ready as IteratorResult<unknown>;
        slot.ready = undefined;
        if (result.done) {
          slots.splice(index, 1);
          if (index < turn) turn--;
          turn = slots.length === 0 ? 0 : turn % slots.length;
          served = 0;
          continue;
        }
        if (index !== turn) {
          turn = index;
          served = 0;
        }
        if (++served >= slot.weight) {
          turn = (index + 1) % slots.length;
          served = 0;
        }
        return result;
      }
      return DONE;
    },
  };
}

/** The source of `LocalIterator.union`. */
export function unionSource<I extends Input>(
  inputs: I[],
  options: UnionOptions,
  metricsOf: (input: I) => SharedMetrics,
): LocalSource {
  if (options.deterministic !== undefined && typeof options.deterministic !== 'boolean') {
    throw new ArgumentTypeError(
      `Expected \`deterministic\` to be a boolean, got ${describeValue(options.deterministic)}`,
    );
  }
  const weights = weightsOf(inputs.length, options);
  const metrics = new SharedMetrics(new MetricsContext(), inputs.map(metricsOf));
  let puller: Puller<unknown> | undefined;
  return {
    metrics,
    open: () =>
      (puller ??= options.deterministic
        ? deterministicPuller(inputs, weights)
        : readyPuller(inputs, weights)),
    close: async () => {
      await Promise.all(inputs.map((input) => input.return()));
    },
  };
}

/** The most copies `duplicate` makes. */
const MAX_COPIES = 1024;

/** How far a copy made by `duplicate` may get ahead of the slowest copy still being read. */
export const DUPLICATE_MAX_LAG = 1024;

/**
 * The sources of `duplicate(n)`: each item of `input` is read once, kept
 * until every copy still being read has taken it, and a copy waits while it
 * is {@link DUPLICATE_MAX_LAG} items ahead of the slowest.
 */
export function duplicateSources(input: Input, n: number, metrics: SharedMetrics): LocalSource[] {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > MAX_COPIES) {
    throw new ArgumentRangeError(
      `Expected \`n\` to be an integer from 2 to ${MAX_COPIES}, got ${describeValue(n)}`,
    );
  }
  const buffer: unknown[] = [];
  let base = 0;
  const cursors: number[] = Array.from({ length: n }, () => 0);
  const active = new Set(cursors.keys());
  let done = false;
  let failure: { readonly error: unknown } | undefined;
  let reading: Promise<void> | undefined;
  let waiters: Array<() => void> = [];

  const notify = (): void => {
    const all = waiters;
    waiters = [];
    for (const waiter of all) waiter();
  };
  const slowest = (): number => Math.min(...[...active].map((k) => cursors[k] as number));
  const trim = (): void => {
    const keep = active.size === 0 ? base + buffer.length : slowest();
    if (keep > base) {
      buffer.splice(0, keep - base);
      base = keep;
      notify();
    }
  };
  const puller = (k: number): Puller<unknown> => ({
    next: async () => {
      for (;;) {
        const position = cursors[k] as number;
        if (position < base + buffer.length) {
          cursors[k] = position + 1;
          const value = buffer[position - base];
          trim();
          return { done: false, value };
        }
        if (failure) throw failure.error;
        if (done) return DONE;
        if (reading) {
          await reading;
        } else if (position - slowest() >= DUPLICATE_MAX_LAG) {
          await new Promise<void>((resolve) => waiters.push(resolve));
        } else {
          reading = input.next().then(
            (result) => {
              if (result.done) done = true;
              else buffer.push(result.value);
            },
            (error: unknown) => void (failure = { error }),
          );
          await reading;
          reading = undefined;
          notify();
        }
      }
    },
  });
  return cursors.map((_, k) => ({
    metrics,
    open: () => puller(k),
    close: async () => {
      if (!active.delete(k)) return;
      trim();
      notify();
      if (active.size === 0) await input.return();
    },
  }));
}
