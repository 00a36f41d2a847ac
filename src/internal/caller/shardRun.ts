/**
 * @internal
 * One cold run over a set of shards, and the ways to read it: round robin
 * (`gatherSync`), as ready (`gatherAsync`), one item of each shard per step
 * (`batchAcrossShards`), or a single shard (`getShard`). Each reader is a
 * {@link Puller}; any failure or the end of reading stops every worker of the
 * run.
 */
import { attachTogether } from './actorLink';
import { debug, describeError } from '../common/debug';
import { recordCallers } from '../common/callerPath';
import { concurrentRead } from './concurrentRead';
import type { Puller } from '../common/pullPipeline';
import { Queue } from '../common/queue';
import {
  END,
  ShardChannel,
  WAIT,
  type ReadOptions,
  type RunScope,
  type ShardSetup,
} from './shardChannel';

/** Shard indices in arrival order, kept as runs (a shard's answer of n items is one run). */
class Arrivals {
  private readonly runs = new Queue<{ readonly index: number; left: number }>();
  /** Kept only for the readers that take items in arrival order. */
  tracked = false;

  push(index: number, count: number): void {
    if (this.tracked && count > 0) this.runs.push({ index, left: count });
  }

  shift(): number | undefined {
    const run = this.runs.peek();
    if (!run) return undefined;
    if (--run.left === 0) this.runs.shift();
    return run.index;
  }
}

/** Strict reading: one item requested at a time, none ahead. */
export const STRICT: ReadOptions = { numAsync: 1, batchMs: 0 };

/** Numbers runs in diagnostics. */
let runCount = 0;

/** What else a run needs to know. */
export interface RunOptions {
  /** Called once the run has stopped. */
  readonly onClose?: (run: ShardRun) => void;
  /** Aborting it stops the run; pulls then reject with its reason. */
  readonly signal?: AbortSignal;
  /** The run's name in diagnostics. */
  readonly label?: string;
  /**
   * The reader takes this many items in round robin (`ParallelIterator.take`):
   * each shard is asked for its share at once (see `ReadOptions.quota`).
   */
  readonly take?: number;
}

export class ShardRun implements RunScope {
  readonly channels: ShardChannel[];
  private readonly sharedValues = new Map<object, { close(): void | Promise<void> }>();
  /** Shard indices in the order their `take` outcomes arrived. */
  readonly arrivals = new Arrivals();
  private waiters: Array<() => void> = [];
  private watchers: Array<() => void> = [];
  private closing: Promise<void> | undefined;
  /** Set once the run's signal aborted: what its pulls reject with. */
  aborted: { readonly reason: unknown } | undefined;
  private readonly id = ++runCount;
  private started = false;
  private readonly onAbort = (): void => this.abort();
  /** The user's frames that started the run, for a `ShardError`'s stack. */
  readonly startedBy = recordCallers();

  /**
   * @throws the signal's reason when `signal` has already aborted (nothing
   *   is started then)
   */
  constructor(
    shards: readonly ShardSetup[],
    options: ReadOptions,
    private readonly runOptions: RunOptions = {},
  ) {
    runOptions.signal?.throwIfAborted();
    runOptions.signal?.addEventListener('abort', this.onAbort, { once: true });
    const take = runOptions.take ?? 0;
    const share = (index: number): number =>
      index < take ? Math.ceil((take - index) / shards.length) : 0;
    this.channels = attachTogether(shards).map(
      (setup, index) =>
        new ShardChannel(
          setup,
          take > 0 ? { ...options, quota: share(index) } : options,
          (outcomes) => {
            this.arrivals.push(index, outcomes);
            this.wake();
            this.notify();
          },
          this,
        ),
    );
  }

  shared<V extends { close(): void | Promise<void> }>(key: object, make: () => V): V {
    let value = this.sharedValues.get(key) as V | undefined;
    if (!value) {
      value = make();
      this.sharedValues.set(key, value);
    }
    return value;
  }

  changed(): Promise<void> {
    return new Promise((resolve) => this.watchers.push(resolve));
  }

  private notify(): void {
    const watchers = this.watchers;
    if (watchers.length === 0) return;
    this.watchers = [];
    for (const watcher of watchers) watcher();
  }

  /**
   * Resolves at the next event of any shard. While someone waits, the run's
   * busy shards keep the process alive; otherwise they do not, so a script
   * that stops reading can exit.
   */
  event(): Promise<void> {
    if (this.waiters.length === 0) for (const channel of this.channels) channel.hold(true);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Starts the run's workers together (on the first pull). */
  start(): void {
    if (this.started) return;
    this.started = true;
    debug(
      () => `run ${this.id} start ${this.runOptions.label ?? ''} shards=${this.channels.length}`,
    );
    for (const channel of this.channels) channel.warm();
  }

  /** Stops every worker of the run; resolves when their threads are gone. */
  close(): Promise<void> {
    if (!this.closing) {
      this.runOptions.signal?.removeEventListener('abort', this.onAbort);
      debug(() => `run ${this.id} stopping${this.aborted ? ' (aborted)' : ''}`);
    }
    this.closing ??= Promise.all(this.channels.map((channel) => channel.close())).then(async () => {
      await Promise.all([...this.sharedValues.values()].map((value) => value.close()));
      debug(() => `run ${this.id} stopped: its shards are released`);
      this.runOptions.onClose?.(this);
    });
    return this.closing;
  }

  /** What a failed pull rejects with: the abort reason once aborted. */
  failure(error: unknown): unknown {
    if (this.aborted) return this.aborted.reason;
    debug(() => `run ${this.id} error ${describeError(error)}`);
    return error;
  }

  private abort(): void {
    if (this.closing) return;
    const reason: unknown = this.runOptions.signal?.reason;
    this.aborted = { reason };
    debug(() => `run ${this.id} abort ${describeError(reason)}`);
    this.close().catch(() => undefined);
  }

  private wake(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const channel of this.channels) channel.hold(false);
    for (const waiter of waiters) waiter();
  }
}

/** What a step returns when it has to wait for a shard. */
const WAITING: unique symbol = Symbol('waiting');
/** What a step returns when reading is over. */
const FINISHED: unique symbol = Symbol('finished');

const DONE = { done: true, value: undefined } as const;

/** Called with the shard index of each item a reader returns. */
export type OnItem = (index: number) => void;

/**
 * One step of a reader: the item it can read now without waiting (after
 * reporting its shard to `onItem`), {@link WAITING} when it has to wait for
 * a shard, or {@link FINISHED}.
 */
type Step = () => unknown;

/**
 * A reader over `step`: an item that is already here is returned at once
 * (not as a promise), else it waits for the shards' events. It stops the run
 * when reading fails or ends.
 */
function reader(run: ShardRun, step: Step): Puller<unknown> {
  let reading = false;
  const finish = async (error?: { e: unknown }): Promise<IteratorResult<unknown>> => {
    const thrown = error ? { e: run.failure(error.e) } : undefined;
    await run.close();
    if (thrown) throw thrown.e;
    if (run.aborted) throw run.aborted.reason;
    return DONE;
  };
  const wait = async (): Promise<IteratorResult<unknown>> => {
    reading = true;
    try {
      for (;;) {
        await run.event();
        if (run.aborted) return await finish();
        const read = step();
        if (read === WAITING) continue;
        if (read === FINISHED) return await finish();
        return { done: false, value: read };
      }
    } catch (e) {
      return await finish({ e });
    } finally {
      reading = false;
    }
  };
  return {
    next: () => {
      if (reading) {
        return Promise.reject(
          concurrentRead(
            'A gather is read by one consumer at a time: wait for the pending pull (of this iterator or one derived from it) before pulling again',
          ),
        );
      }
      if (run.aborted) return finish();
      run.start();
      let read: unknown;
      try {
        read = step();
      } catch (e) {
        return finish({ e });
      }
      if (read === WAITING) return wait();
      if (read === FINISHED) return finish();
      return { done: false, value: read };
    },
    return: () => run.close(),
  };
}

/**
 * Deterministic round robin over the active shards; an exhausted shard drops
 * out. The first pull asks every shard at once, and a shard is asked for its
 * next item as soon as the consumer pulls after taking its previous one
 * (fetch ordering per shard), so the shards compute in parallel, without a
 * barrier at the end of each round (`batchAcrossShards` keeps that one).
 */
export function gatherSync(run: ShardRun, onItem: OnItem): Puller<unknown> {
  const active = run.channels.map((channel, index) => ({ channel, index }));
  /** The position in the current round; 0 starts a new round. */
  let turn = 0;
  /** The shard of the item the last step returned: the one to ask again. */
  let last: ShardChannel | undefined;
  const step: Step = () => {
    if (last) last.topUp();
    else for (const { channel } of active) channel.topUp();
    while (active.length > 0) {
      if (turn >= active.length) turn = 0;
      const { channel, index } = active[turn] as { channel: ShardChannel; index: number };
      const taken = channel.take();
      if (taken === WAIT) return WAITING;
      if (taken !== END) {
        turn++;
        last = channel;
        onItem(index);
        return taken;
      }
      active.splice(turn, 1);
    }
    return FINISHED;
  };
  return reader(run, step);
}

/** Items as they become ready, in arrival order; per-shard order is kept. */
export function gatherAsync(run: ShardRun, onItem: OnItem): Puller<unknown> {
  run.arrivals.tracked = true;
  let active = run.channels.length;
  const step: Step = () => {
    for (const channel of run.channels) channel.topUp();
    for (let index = run.arrivals.shift(); index !== undefined; index = run.arrivals.shift()) {
      const taken = (run.channels[index] as ShardChannel).take();
      if (taken === END) active--;
      else if (taken !== WAIT) {
        onItem(index);
        return taken;
      }
    }
    return active === 0 ? FINISHED : WAITING;
  };
  return reader(run, step);
}

/**
 * Like {@link gatherAsync}, but each step returns every item that has
 * arrived, as one array (at least one item): for readers that handle items
 * in bulk.
 */
export function gatherChunks(run: ShardRun): Puller<unknown> {
  run.arrivals.tracked = true;
  let active = run.channels.length;
  const step: Step = () => {
    for (const channel of run.channels) channel.topUp();
    const chunk: unknown[] = [];
    for (let index = run.arrivals.shift(); index !== undefined; index = run.arrivals.shift()) {
      const taken = (run.channels[index] as ShardChannel).take();
      if (taken === END) active--;
      else if (taken !== WAIT) chunk.push(taken);
    }
    if (chunk.length > 0) return chunk;
    return active === 0 ? FINISHED : WAITING;
  };
  return reader(run, step);
}

/** One item from each active shard per step, in shard order. */
export function batchAcrossShards(run: ShardRun): Puller<unknown> {
  let active = [...run.channels];
  let round: { items: unknown[]; kept: ShardChannel[]; next: number } | undefined;
  const step: Step = () => {
    while (active.length > 0) {
      if (!round) {
        for (const channel of active) channel.topUp();
        round = { items: [], kept: [], next: 0 };
      }
      for (; round.next < active.length; round.next++) {
        const channel = active[round.next] as ShardChannel;
        const taken = channel.take();
        if (taken === WAIT) return WAITING;
        if (taken !== END) {
          round.items.push(taken);
          round.kept.push(channel);
        }
      }
      const { items, kept } = round;
      round = undefined;
      active = kept;
      if (items.length > 0) return items;
    }
    return FINISHED;
  };
  return reader(run, step);
}
