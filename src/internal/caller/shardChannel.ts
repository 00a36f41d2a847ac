/**
 * @internal
 * The calling thread's side of one shard: it borrows a pooled thread for the
 * shard on the first pull, asks for items with credit (`numAsync` requests of one item, or
 * of a batch when `batchMs` > 0), buffers what arrives, feeds `feed` sources,
 * and turns every failure into a {@link ShardError}.
 */
import { ClosedError, ShardError, UsageError, type ShardErrorOrigin } from '../../errors';
import { ActorGoneError } from './place';
import { debug, describeError } from '../common/debug';
import { isPromiseLike } from '../common/promises';
import {
  deserializeError,
  serializeError,
  type FromShard,
  type ShardPlan,
  type ShardPort,
  type ToShard,
} from '../wire/protocol';
import type { Puller } from '../common/pullPipeline';
import { Queue } from '../common/queue';
import type { RunScope, ShardSetup, ShardThread } from './place';

export type { RunScope, ShardSetup } from './place';
import { startShardThread } from './threadHost';

/** How a shard is read. */
export interface ReadOptions {
  /** Requests kept in flight (each one item, or one batch with `batchMs`). */
  readonly numAsync: number;
  /** When > 0, each request is a batch the worker fills for up to this long. */
  readonly batchMs: number;
  /**
   * Items one request asks for: 1 by default, {@link MAX_BATCH} when
   * `batchMs` > 0. Above 1 with `batchMs` 0, the worker answers with what it
   * computes before it would have to wait.
   */
  readonly maxBatch?: number;
  /**
   * Items the reader will take from this shard whatever they are (the
   * shard's share of a `ParallelIterator.take(n)`): asked for at once, in
   * requests of up to {@link MAX_BATCH}. Past its share the shard is asked
   * for one item only when the reader waits on it (another shard ended
   * before its share).
   */
  readonly quota?: number;
}

/** The largest batch one request asks for with `batchMs` > 0. */
export const MAX_BATCH = 4096;

/**
 * The most items a reader may have asked one shard for and not yet taken
 * (requested, in flight, or arrived): the read-ahead's bound in items. Each
 * request asks for at most `READ_AHEAD_ITEMS / numAsync` items (at least
 * one), so `numAsync` requests in flight never exceed it, whatever
 * `batchMs`; with `batchMs` 0 a request is one item, so at most
 * `numAsync` (up to 1024).
 */
export const READ_AHEAD_ITEMS = 2 * MAX_BATCH;

/** Items one request of a reader with `options` asks for. */
export function requestSize(options: ReadOptions): number {
  const wanted = options.maxBatch ?? (options.batchMs > 0 ? MAX_BATCH : 1);
  return Math.max(1, Math.min(wanted, Math.floor(READ_AHEAD_ITEMS / options.numAsync)));
}

/**
 * How long a shard whose data port closed has to report its worker's exit
 * (with the reason) before the port's closing fails it.
 */
const PORT_CLOSE_GRACE_MS = 2000;

/**
 * How long `close` waits for the last answers of a shard that has ended
 * (they are on their way) before it tells the shard to close, in ms.
 */
const ENDED_ANSWER_MS = 200;

/** What {@link ShardChannel.take} returns when no item is here yet. */
export const WAIT: unique symbol = Symbol('wait');
/** What {@link ShardChannel.take} returns once the shard has ended. */
export const END: unique symbol = Symbol('end');

export class ShardChannel {
  private thread: ShardThread | undefined;
  private port: ShardPort | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private ended = false;
  private failure: Error | undefined;
  /** Requests sent (or waiting to be sent) and not yet answered. */
  private outstanding = 0;
  private unsent = 0;
  /** The shard closed its run itself (see `FromShard`'s `closed`). */
  private shardClosed = false;
  /** Set while `close` waits for an ended shard's last answers. */
  private answered: (() => void) | undefined;
  private answerTimer: NodeJS.Timeout | undefined;
  /** Items of the quota not yet arrived (see {@link ReadOptions.quota}). */
  private quota: number;
  private readonly hasQuota: boolean;
  /** The size of the quota request to send, 0 when none. */
  private unsentQuota = 0;
  private held = false;
  /** What the thread was last told: undefined before the first time. */
  private holding: boolean | undefined;
  /** Answers not yet taken, each with the index of its next item. */
  private readonly chunks = new Queue<{ readonly items: readonly unknown[]; next: number }>();
  private feeder: Puller<unknown> | undefined;
  private feedError: { readonly error: unknown } | undefined;
  private readonly origin: ShardErrorOrigin;
  /** Items per request (see {@link requestSize}). */
  private readonly perRequest: number;
  /** Fails the shard unless its worker's exit is reported first (see {@link PORT_CLOSE_GRACE_MS}). */
  private portClosed: NodeJS.Timeout | undefined;

  /**
   * @param onEvent - called when a message changes what `take` returns, with
   *   the number of `take` outcomes it added (items, or 1 for end or error)
   */
  constructor(
    private readonly setup: ShardSetup,
    private readonly options: ReadOptions,
    private readonly onEvent: (outcomes: number) => void,
    private readonly scope: RunScope,
  ) {
    this.origin = {
      iterator: setup.plan.name,
      shard: setup.plan.shard,
      ...(setup.host === undefined ? {} : { host: setup.host }),
    };
    this.perRequest = requestSize(options);
    this.quota = options.quota ?? 0;
    this.hasQuota = options.quota !== undefined;
  }

  /** Whether requests are outstanding: the shard works towards an answer. */
  get demanded(): boolean {
    return this.outstanding > 0 && !this.closed && !this.ended && !this.failure;
  }

  /**
   * Keeps `numAsync` requests in flight. On first use it starts the worker
   * and opens the feed, so that a feed over a live Observable subscribes at
   * the first pull and misses nothing while the worker starts.
   */
  topUp(): void {
    if (this.hasQuota) {
      if (
        this.quota > 0 &&
        this.outstanding === 0 &&
        !this.closed &&
        !this.ended &&
        !this.failure
      ) {
        this.warm();
        this.outstanding++;
        this.unsentQuota = Math.min(this.quota, MAX_BATCH);
        this.flush();
      }
      return;
    }
    if (this.outstanding + this.chunks.length >= this.options.numAsync && this.starting) return;
    if (this.closed || this.ended || this.failure) return;
    this.warm();
    while (this.outstanding + this.chunks.length < this.options.numAsync) {
      this.outstanding++;
      this.unsent++;
    }
    this.flush();
  }

  /**
   * Starts the worker and opens the feed without asking for anything, so
   * that the shards of a run start together on its first pull.
   */
  warm(): void {
    if (this.closed) return;
    this.feeder ??= this.setup.feed?.(this.scope, () => this.demanded);
    this.starting ??= this.start();
  }

  /**
   * The next item in order, or {@link WAIT} or {@link END} (no object per
   * item: this is the calling thread's hot path).
   */
  take(): unknown {
    // Once the run was stopped, items that had already arrived are not handed out.
    if (this.closed) {
      throw new ClosedError(
        `${this.origin.iterator} was closed while a pull waited for shard ${this.origin.shard}`,
      );
    }
    const chunk = this.chunks.peek();
    if (chunk) {
      const value = chunk.items[chunk.next++];
      if (chunk.next === chunk.items.length) this.chunks.shift();
      return value;
    }
    if (this.failure) throw this.failure;
    if (this.ended) return END;
    if (this.hasQuota && this.outstanding === 0) {
      // Past its share, and the reader waits on it: one more item.
      this.warm();
      this.outstanding++;
      this.unsent++;
      this.flush();
    }
    return WAIT;
  }

  /**
   * Ends the shard and gives its thread back; a pull still waiting rejects
   * with a {@link ClosedError}. What arrives after this is dropped.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.portClosed);
    // The place ends the shard in `terminate`: a pool slot after its thread
    // closed the pipeline, an actor's run by releasing the actor, a remote
    // run by ending its stream.
    this.closeFeeder();
    this.onEvent(1);
    await this.starting;
    // A shard that has ended answers its last requests at once, and closes
    // its run itself with the last: wait for those answers rather than send
    // a `close` and wait for its answer.
    if (this.ended && this.outstanding > 0 && this.unsent === 0 && !this.failure && this.port) {
      await new Promise<void>((resolve) => {
        this.answered = resolve;
        this.answerTimer = setTimeout(resolve, ENDED_ANSWER_MS);
      });
      clearTimeout(this.answerTimer);
      this.answered = undefined;
    }
    // With nothing pending (a shard read to its end, or read strictly), its
    // thread is free as soon as the shard is told to close, or at once when
    // it closed its run itself.
    const idle = this.outstanding === 0 && this.unsent === 0;
    await this.thread?.terminate(idle ? (this.shardClosed ? 'closed' : 'idle') : undefined);
  }

  /** Closes a calling-thread source (a generator's `finally` runs); its own failure to close is of no interest. */
  private closeFeeder(): void {
    try {
      const closing = this.feeder?.return?.();
      if (isPromiseLike(closing)) closing.then(undefined, () => undefined);
    } catch {
      // The consumer has left: nothing is waiting for this source any more.
    }
  }

  private fail(message: string, cause: unknown): void {
    this.failWith(new ShardError(this.origin, message, cause), message);
  }

  /** `what` is the failure as the debug line says it, after the shard's name. */
  private failWith(failure: Error, what = failure.message): void {
    if (this.failure || this.closed) return;
    clearTimeout(this.portClosed);
    this.failure = failure;
    // The error is raised from a message; the user's code that started the
    // read is what its stack should show.
    const startedBy = this.scope.startedBy?.();
    if (startedBy) failure.stack = `${failure.stack ?? ''}\n${startedBy}`;
    debug(
      () =>
        `shard ${this.origin.shard} of ${this.origin.iterator} failed: ${what} (${describeError(failure.cause)})`,
    );
    this.outstanding = 0;
    this.updateRef();
    this.onEvent(1);
  }

  private async start(): Promise<void> {
    let thread: ShardThread;
    try {
      if (this.setup.attach) {
        thread = await this.setup.attach();
        debug(
          () =>
            `shard ${this.origin.shard} of ${this.origin.iterator} ${this.setup.host === undefined ? 'attached to its actor' : `opened a run on host ${this.setup.host}`}`,
        );
      } else {
        thread = startShardThread(this.scope);
        debug(() => `shard ${this.origin.shard} of ${this.origin.iterator} took a pool thread`);
      }
    } catch (error) {
      // A second reader of an actor is the caller's misuse, not the shard's failure.
      if (error instanceof UsageError) this.failWith(error);
      else if (error instanceof ActorGoneError) this.fail(error.message, error.cause ?? error);
      else this.fail('its worker could not start', error);
      return;
    }
    this.thread = thread;
    if (this.closed) {
      await thread.terminate();
      return;
    }
    const port = thread.port;
    thread.onExit((code, error) =>
      this.fail(
        code === undefined
          ? this.setup.host === undefined
            ? "its actor's worker has exited or was terminated"
            : `it was lost: ${error instanceof Error ? error.message : String(error)}`
          : `its worker exited unexpectedly with code ${code}${error instanceof Error ? ` (${error.message})` : ''}`,
        error ?? new Error(`Worker exited with code ${code}`),
      ),
    );
    port.on('message', (message: FromShard) => this.receive(message));
    // A port closed by the other side (the shard's code, or an actor that
    // ended its side) would leave every request unanswered. A dying worker
    // closes its port too: its exit, reported just after, names the reason.
    port.once?.('close', () => {
      if (this.ended || this.closed || this.failure) return;
      this.portClosed = setTimeout(
        () =>
          this.fail(
            'its data port was closed before the shard ended (did its code close the port?)',
            new Error('The shard closed its data port without an answer'),
          ),
        PORT_CLOSE_GRACE_MS,
      );
    });
    // A reader starts a run and asks for its first items in the same turn:
    // wait for that request, so that it travels with the plan. Until the
    // plan is sent, requests wait (`flush` needs `this.port`).
    await Promise.resolve();
    if (this.closed) return;
    this.port = port;
    try {
      const requests = this.firstRequests();
      const feed = requests.length > 0 ? this.readyFeed(this.setup.plan) : undefined;
      this.send({
        type: 'init',
        plan: this.setup.plan,
        ...(requests.length > 0 ? { requests } : {}),
        // A pooled thread's run (not an actor's or a host's) may end itself.
        ...(this.setup.attach ? {} : { mayCloseItself: true }),
        ...(feed ? { feed } : {}),
      });
    } catch (error) {
      this.fail(
        "its source or its functions' context cannot be sent to a worker (use plain data, or a function source that builds the data in the worker)",
        error,
      );
      return;
    }
    this.flush();
  }

  /** The requests due already, sent with the plan. */
  private firstRequests(): Array<{ n: number; batchMs: number }> {
    const requests: Array<{ n: number; batchMs: number }> = [];
    if (this.unsentQuota > 0) {
      requests.push({ n: this.unsentQuota, batchMs: 0 });
      this.unsentQuota = 0;
    }
    for (; this.unsent > 0; this.unsent--) {
      requests.push({ n: this.perRequest, batchMs: this.options.batchMs });
    }
    return requests;
  }

  /**
   * The items a shared feed has ready for this shard now (its share of a
   * pull), sent with the plan so that the shard does not have to ask first.
   */
  private readyFeed(plan: ShardPlan): { items: unknown[]; done: boolean } | undefined {
    const feeder = this.feeder;
    if (!feeder?.preload || plan.source.kind !== 'feed') return undefined;
    try {
      return feeder.preload(plan.source.batch ?? 1);
    } catch {
      return undefined; // the feed failed: the shard's first pull gets the error
    }
  }

  private send(message: ToShard): void {
    this.port?.postMessage(message);
  }

  private flush(): void {
    if (!this.port || this.closed) return;
    if (this.unsentQuota > 0) {
      // Answered with what the shard computes before it would have to wait.
      this.send({ type: 'request', n: this.unsentQuota, batchMs: 0 });
      this.unsentQuota = 0;
    }
    for (; this.unsent > 0; this.unsent--) {
      this.send({ type: 'request', n: this.perRequest, batchMs: this.options.batchMs });
    }
    this.updateRef();
  }

  /**
   * Whether a consumer waits on this shard now: only then do its port and
   * worker keep the process alive.
   */
  hold(held: boolean): void {
    this.held = held;
    this.updateRef();
  }

  private updateRef(): void {
    const hold = this.held && this.outstanding > 0 && !this.closed;
    if (!this.thread || hold === this.holding) return;
    this.holding = hold;
    this.thread.hold(hold);
  }

  private receive(message: FromShard): void {
    if (this.closed && this.answered && (message.type === 'end' || message.type === 'items')) {
      // The last answers of an ended shard, awaited by `close`.
      this.outstanding--;
      if (message.closed) this.shardClosed = true;
      if (this.outstanding === 0) this.answered();
      return;
    }
    if (this.closed || this.failure) return;
    switch (message.type) {
      case 'items': {
        this.outstanding--;
        this.quota = Math.max(0, this.quota - message.items.length);
        if (message.closed) this.shardClosed = true;
        this.chunks.push({ items: message.items, next: 0 });
        // Its last items: nothing more is asked for (its other requests get `end`).
        if (message.end) this.ended = true;
        this.updateRef();
        this.onEvent(message.items.length + (message.end ? 1 : 0));
        return;
      }
      case 'end':
        this.outstanding--;
        if (message.closed) this.shardClosed = true;
        this.updateRef();
        if (!this.ended) {
          this.ended = true;
          this.onEvent(1);
        }
        return;
      case 'error':
        // A feed's own error comes back through the worker: keep the original.
        this.fail(message.hint, this.feedError?.error ?? deserializeError(message.error));
        return;
      case 'pull':
        void this.feed(message.n);
        return;
      case 'closed':
        return; // the thread's answer to `terminate`, for the pool
    }
  }

  /** Answers a `pull`: at least one item (or the end), plus those ready now, up to `n`. */
  private async feed(n: number): Promise<void> {
    const feeder = this.feeder;
    const items: unknown[] = [];
    let done = !feeder;
    try {
      if (feeder) {
        const limit = Math.min(n, feeder.share?.() ?? n);
        const next = feeder.next();
        const first = isPromiseLike(next) ? await next : next;
        if (first.done) done = true;
        else items.push(first.value);
        while (!done && items.length < limit && feeder.nextNow) {
          const now = feeder.nextNow();
          if (now === undefined) break;
          if (now.done) done = true;
          else items.push(now.value);
        }
      }
      if (this.closed) return;
      this.send({ type: 'feed', items, done });
    } catch (error) {
      if (this.closed) return;
      this.feedError = { error };
      try {
        this.send({ type: 'feedError', error: serializeError(error) });
      } catch {
        this.fail('its source failed', error);
      }
    }
  }
}
