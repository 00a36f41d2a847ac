/**
 * @internal
 * Local sources made of other `LocalIterator`s: the union of several, and
 * the copies of one (`duplicate`).
 */
import { ArgumentRangeError, ArgumentTypeError } from '../../errors';
import { MetricsContext, SharedMetrics } from '../../metrics';
import type { LocalSource } from './iteratorTypes';
import type { Puller } from '../common/pullPipeline';
import { NOT_READY } from '../../notReady';
import { Backoff } from './backoff';
import { describeValue } from '../common/validate';

/** What a union or a copy reads: an async iterator that can be stopped, and the source of its last item. */
export interface Input {
  /** The next result; its value may be {@link NOT_READY}. */
  next(): Promise<IteratorResult<unknown>>;
  return(): Promise<unknown>;
  /** The source (`currentActor`) of the item the last `next()` gave. */
  actor(): unknown;
}

/** Options of `LocalIterator.union`. */
export interface UnionOptions {
  /** Alternate between the inputs in a fixed order (default false: as ready). */
  readonly deterministic?: boolean;
  /**
   * Items to take from each input per turn, one entry per input (this
   * iterator first), as in Ray: a positive number (a fractional `w` takes
   * `floor(w)` or `floor(w) + 1` items, `w` on average), or `'*'`: whatever
   * that input has ready now, possibly nothing, without waiting.
   */
  readonly roundRobinWeights?: ReadonlyArray<number | '*'>;
}

/** A weight: items per turn, or `'*'`. */
type Weight = number | '*';

/** The most items a `'*'` input gives per turn of a deterministic union (as Ray's `max_pull`). */
const STAR_MAX = 100;

const DONE = { done: true, value: undefined } as const;
const NOTHING_NOW = { done: false, value: NOT_READY } as const;

/** Ray's randomised rounding: `floor(w)`, plus one with probability `w - floor(w)`. */
function itemsThisTurn(weight: number): number {
  const base = Math.floor(weight);
  return weight - base > 0 && Math.random() < weight - base ? base + 1 : base;
}

function weightsOf(count: number, options: UnionOptions): Weight[] {
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
  return weights.map((weight: unknown, i) => {
    if (weight === '*') return '*';
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new ArgumentRangeError(
        `Expected \`roundRobinWeights[${i}]\` to be a positive number or '*', got ${describeValue(weight)}`,
      );
    }
    return weight;
  });
}

/** One input of a union: at most one pull in flight, and what it gave. */
class Slot {
  pending = false;
  ready: { readonly result: IteratorResult<unknown>; readonly actor: unknown } | undefined;
  error: { readonly error: unknown } | undefined;
  private settled: Promise<void> | undefined;

  constructor(
    readonly input: Input,
    readonly weight: Weight,
    private readonly onSettle: () => void,
  ) {}

  /** Starts a pull unless one is in flight or its outcome is waiting. */
  request(): Promise<void> {
    if (!this.pending && !this.ready && !this.error) {
      this.pending = true;
      this.settled = this.input.next().then(
        (result) => {
          this.pending = false;
          this.ready = { result, actor: this.input.actor() };
          this.onSettle();
        },
        (error: unknown) => {
          this.pending = false;
          this.error = { error };
          this.onSettle();
        },
      );
    }
    return this.settled ?? Promise.resolve();
  }

  /** Takes the outcome (throwing the input's error), if there is one. */
  take(): { readonly result: IteratorResult<unknown>; readonly actor: unknown } | undefined {
    if (this.error) throw this.error.error;
    const ready = this.ready;
    this.ready = undefined;
    return ready;
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Visits the inputs in a fixed order, a turn of `weight` items each: a
 * numeric weight waits for each item, `'*'` takes what is ready now; an
 * input that says {@link NOT_READY} ends its turn. A round that gave
 * nothing gives `NOT_READY`, so the reader waits before the next.
 */
function deterministicPuller(slots: Slot[], setActor: (actor: unknown) => void): Puller<unknown> {
  const active = [...slots];
  let turn = 0;
  let left: number | undefined;
  let gave = false;
  const endTurn = (): void => {
    turn++;
    left = undefined;
  };
  return {
    next: async () => {
      for (;;) {
        if (active.length === 0) return DONE;
        if (turn >= active.length) {
          turn = 0;
          left = undefined;
          if (!gave) return NOTHING_NOW;
          gave = false;
        }
        const slot = active[turn] as Slot;
        left ??= slot.weight === '*' ? STAR_MAX : itemsThisTurn(slot.weight);
        if (left === 0) {
          endTurn();
          continue;
        }
        const settled = slot.request();
        await (slot.weight === '*' ? tick() : settled);
        const taken = slot.take();
        if (!taken) {
          endTurn(); // '*': nothing ready now; the pull stays in flight
          continue;
        }
        if (taken.result.done) {
          active.splice(turn, 1);
          left = undefined;
          continue;
        }
        if (taken.result.value === NOT_READY) {
          endTurn();
          continue;
        }
        left--;
        gave = true;
        setActor(taken.actor);
        return taken.result;
      }
    },
  };
}

/**
 * Takes items as they become ready: one pull in flight per input; ready
 * inputs are served in turn, up to their weight each (`'*'`: while it has
 * items ready), so none starves. An input that says {@link NOT_READY} is
 * asked again after a pause; when every input says so, the union gives
 * `NOT_READY` too.
 */
function readyPuller(
  slots: Slot[],
  setActor: (actor: unknown) => void,
  wake: { fn?: () => void },
): Puller<unknown> {
  const active = [...slots];
  let turn = 0;
  let served = 0;
  let quota: number | undefined;
  const backoff = new Backoff();
  const firstReady = (): number => {
    for (let k = 0; k < active.length; k++) {
      const index = (turn + k) % active.length;
      const slot = active[index] as Slot;
      if (slot.ready || slot.error) return index;
    }
    return -1;
  };
  return {
    next: async () => {
      const idle = new Set<Slot>();
      for (;;) {
        if (active.length === 0) return DONE;
        for (const slot of active) if (!idle.has(slot)) void slot.request();
        const index = firstReady();
        if (index < 0) {
          if (idle.size === active.length) return NOTHING_NOW;
          const woken = new Promise<void>((resolve) => (wake.fn = resolve));
          if (idle.size > 0) {
            await Promise.race([woken, backoff.wait()]);
            idle.clear();
          } else {
            await woken;
          }
          continue;
        }
        const slot = active[index] as Slot;
        const taken = slot.take() as { result: IteratorResult<unknown>; actor: unknown };
        if (taken.result.done) {
          active.splice(index, 1);
          if (index < turn) turn--;
          turn = active.length === 0 ? 0 : turn % active.length;
          quota = undefined;
          continue;
        }
        if (taken.result.value === NOT_READY) {
          idle.add(slot);
          continue;
        }
        if (index !== turn || quota === undefined) {
          turn = index;
          served = 0;
          quota = slot.weight === '*' ? Infinity : itemsThisTurn(slot.weight);
        }
        if (quota === 0) {
          // This turn's share rounded down to nothing: keep the item for a later turn.
          slot.ready = taken;
          turn = (index + 1) % active.length;
          quota = undefined;
          continue;
        }
        if (++served >= quota) {
          turn = (index + 1) % active.length;
          quota = undefined;
        }
        backoff.reset();
        setActor(taken.actor);
        return taken.result;
      }
    },
  };
}

/** The source of `LocalIterator.union`. */
export function unionSource(
  inputs: Input[],
  options: UnionOptions,
  inputMetrics: readonly SharedMetrics[],
): LocalSource {
  if (options.deterministic !== undefined && typeof options.deterministic !== 'boolean') {
    throw new ArgumentTypeError(
      `Expected \`deterministic\` to be a boolean, got ${describeValue(options.deterministic)}`,
    );
  }
  const weights = weightsOf(inputs.length, options);
  const metrics = new SharedMetrics(new MetricsContext(), inputMetrics);
  let puller: Puller<unknown> | undefined;
  const wake: { fn?: () => void } = {};
  const source: LocalSource = {
    metrics,
    started: () => puller !== undefined,
    open: () => {
      if (puller) return puller;
      const slots = inputs.map(
        (input, i) =>
          new Slot(input, weights[i] ?? 1, () => {
            const fn = wake.fn;
            wake.fn = undefined;
            fn?.();
          }),
      );
      const setActor = (actor: unknown): void => {
        source.actor = actor;
        metrics.get().currentActor = actor;
      };
      puller = options.deterministic
        ? deterministicPuller(slots, setActor)
        : readyPuller(slots, setActor, wake);
      return puller;
    },
    close: async () => {
      await Promise.all(inputs.map((input) => input.return()));
    },
  };
  return source;
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
  const buffer: Array<{ readonly value: unknown; readonly actor: unknown }> = [];
  let base = 0;
  const cursors: number[] = Array.from({ length: n }, () => 0);
  const active = new Set(cursors.keys());
  let done = false;
  let failure: { readonly error: unknown } | undefined;
  let reading: Promise<void> | undefined;
  let waiters: Array<() => void> = [];
  let notReady = false;

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
  const puller = (k: number, source: LocalSource): Puller<unknown> => ({
    next: async () => {
      for (;;) {
        const position = cursors[k] as number;
        if (position < base + buffer.length) {
          cursors[k] = position + 1;
          const { value, actor } = buffer[position - base] as (typeof buffer)[number];
          trim();
          source.actor = actor;
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
              // "Nothing now" is not an item: every copy reads on and finds nothing yet.
              else if (result.value !== NOT_READY) {
                buffer.push({ value: result.value, actor: input.actor() });
              } else notReady = true;
            },
            (error: unknown) => void (failure = { error }),
          );
          await reading;
          reading = undefined;
          notify();
          if (notReady) {
            notReady = false;
            return { done: false, value: NOT_READY };
          }
        }
      }
    },
  });
  return cursors.map((_, k) => {
    let opened: Puller<unknown> | undefined;
    const source: LocalSource = {
      metrics,
      started: () => opened !== undefined,
      open: () => (opened ??= puller(k, source)),
      close: async () => {
        if (!active.delete(k)) return;
        trim();
        notify();
        if (active.size === 0) await input.return();
      },
    };
    return source;
  });
}
