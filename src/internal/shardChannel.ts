/**
 * @internal
 * The calling thread's side of one shard: it starts the shard's worker on the
 * first pull, asks for items with credit (`numAsync` requests of one item, or
 * of a batch when `batchMs` > 0), buffers what arrives, feeds `feed` sources,
 * and turns every failure into a {@link ShardError}.
 */
import type { MessagePort } from 'node:worker_threads';
import { ClosedError, ShardError, type ShardErrorOrigin } from '../errors';
import { isPromiseLike } from './promises';
import {
  deserializeError,
  serializeError,
  type FromShard,
  type ShardPlan,
  type ToShard,
} from './protocol';
import type { Puller } from './pullPipeline';
import { Queue } from './queue';
import { startShardThread, type ShardThread } from './threadHost';

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
}

/**
 * What the shards of one run share: a feed that serves several shards (one
 * Observable subscription, say) is made once per run and closed with it.
 */
export interface RunScope {
  /** The value under `key` for this run, made by `make` on first use. */
  shared<V extends { close(): void | Promise<void> }>(key: object, make: () => V): V;
}

/** What one shard runs: its plan, and for a `feed` source, what feeds it. */
export interface ShardSetup {
  readonly plan: ShardPlan;
  readonly feed?: (scope: RunScope) => Puller<unknown>;
  /** For an actor's shard: opens a data port to the actor instead of starting a worker. */
  readonly attach?: () => Promise<ShardThread>;
}

/** The largest batch one request asks for with `batchMs` > 0. */
export const MAX_BATCH = 4096;

/** What {@link ShardChannel.take} returns when no item is here yet. */
export const WAIT: unique symbol = Symbol('wait');
/** What {@link ShardChannel.take} returns once the shard has ended. */
export const END: unique symbol = Symbol('end');

export class ShardChannel {
  private thread: ShardThread | undefined;
  private port: MessagePort | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private ended = false;
  private failure: Error | undefined;
  /** Requests sent (or waiting to be sent) and not yet answered. */
  private outstanding = 0;
  private unsent = 0;
  private held = false;
  /** What the thread was last told: undefined before the first time. */
  private holding: boolean | undefined;
  /** Answers not yet taken, each with the index of its next item. */
  private readonly chunks = new Queue<{ readonly items: readonly unknown[]; next: number }>();
  private feeder: Puller<unknown> | undefined;
  private feedError: { readonly error: unknown } | undefined;
  private readonly origin: ShardErrorOrigin;

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
    this.origin = { iterator: setup.plan.name, shard: setup.plan.shard };
  }

  /**
   * Keeps `numAsync` requests in flight. On first use it starts the worker
   * and opens the feed, so that a feed over a live Observable subscribes at
   * the first pull and misses nothing while the worker starts.
   */
  topUp(): void {
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
    this.feeder ??= this.setup.feed?.(this.scope);
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
    return this.ended ? END : WAIT;
  }

  /** Stops the worker; a pull still waiting rejects with a {@link ClosedError}. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.port?.close();
    this.closeFeeder();
    this.onEvent(1);
    await this.starting;
    await this.thread?.terminate();
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
    if (this.failure || this.closed) return;
    this.failure = new ShardError(this.origin, message, cause);
    this.outstanding = 0;
    this.updateRef();
    this.onEvent(1);
  }

  private async start(): Promise<void> {
    let thread: ShardThread;
    try {
      thread = this.setup.attach ? await this.setup.attach() : startShardThread();
    } catch (error) {
      this.fail('its worker could not start', error);
      return;
    }
    this.thread = thread;
    if (this.closed) {
      await thread.terminate();
      return;
    }
    this.port = thread.port;
    thread.onExit((code, error) =>
      this.fail(
        `its worker exited unexpectedly with code ${code}${error instanceof Error ? ` (${error.message})` : ''}`,
        error ?? new Error(`Worker exited with code ${code}`),
      ),
    );
    this.port.on('message', (message: FromShard) => this.receive(message));
    try {
      this.send({ type: 'init', plan: this.setup.plan });
    } catch (error) {
      this.fail(
        "its source or its functions' context cannot be sent to a worker (use plain data, or a function source that builds the data in the worker)",
        error,
      );
      return;
    }
    this.flush();
  }

  private send(message: ToShard): void {
    this.port?.postMessage(message);
  }

  private flush(): void {
    if (!this.port || this.closed) return;
    const n = this.options.maxBatch ?? (this.options.batchMs > 0 ? MAX_BATCH : 1);
    for (; this.unsent > 0; this.unsent--) {
      this.send({ type: 'request', n, batchMs: this.options.batchMs });
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
    if (this.closed || this.failure) return;
    switch (message.type) {
      case 'items': {
        this.outstanding--;
        this.chunks.push({ items: message.items, next: 0 });
        this.updateRef();
        this.onEvent(message.items.length);
        return;
      }
      case 'end':
        this.outstanding--;
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
    }
  }

  /** Answers a `pull`: at least one item (or the end), plus those ready now, up to `n`. */
  private async feed(n: number): Promise<void> {
    const feeder = this.feeder;
    const items: unknown[] = [];
    let done = !feeder;
    try {
      if (feeder) {
        const next = feeder.next();
        const first = isPromiseLike(next) ? await next : next;
        if (first.done) done = true;
        else items.push(first.value);
        while (!done && items.length < n && feeder.nextNow) {
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
