/**
 * @internal
 * A pull-based driver for a push-based RxJS pipeline.
 *
 * The pipeline's source is a cold Observable that emits an item only when the
 * driver decides to: when output was asked for, no async operator is full
 * (see {@link Gate}), and the items already out plus those in flight do not
 * yet cover the demand. So with the default options a pipeline reads exactly
 * as much of its source as its consumer asked for. Shards run one of these in
 * their worker; a `LocalIterator` runs one in the calling thread.
 */
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { UsageError } from '../../errors';
import { Gate } from './gate';
import { isPromiseLike } from './promises';
import { EAGER_MS } from '../wire/protocol';

/** A pull source: a sync or async iterator. */
export interface Puller<T> {
  next(): IteratorResult<T> | PromiseLike<IteratorResult<T>>;
  /** The next result if one is ready now, without waiting; otherwise undefined. */
  nextNow?(): IteratorResult<T> | undefined;
  /**
   * For sources of plain data: appends up to `max` items to `out` at once,
   * with no result object per item. Returns true when the source has ended.
   */
  fill?(out: T[], max: number): boolean;
  /**
   * For a feed that several shards take from: how many of the items ready
   * now one shard should take in one go, leaving the rest to the others.
   */
  share?(): number;
  /**
   * For a feed: the items ready for its shard now (at most `max`, its
   * share), to send with the shard's plan, and whether the shard will get
   * no more; undefined when nothing is ready.
   */
  preload?(max: number): { items: unknown[]; done: boolean } | undefined;
  return?(): unknown;
}

/** Builds the pipeline on the gated source. */
export type PipelineBuilder<T> = (source$: Observable<unknown>, gate: Gate) => Observable<T>;

/** What one pull returns: at least one item, or `done`. */
export interface Pulled<T> {
  readonly items: T[];
  readonly done: boolean;
  /** With items: they are the last ones, the next pull is `done`. */
  readonly ended?: boolean;
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class PullPipeline<T> {
  private readonly out: T[] = [];
  private readonly gate = new Gate(() => this.wake());
  private sourceSubscriber: Subscriber<unknown> | undefined;
  private subscription: Subscription | undefined;
  private sourceDone = false;
  private finished = false;
  private failure: { error: unknown } | undefined;
  private waiter: (() => void) | undefined;
  private closed = false;
  /** A source item is on its way (the source's `next()` has not settled). */
  private sourcePending = false;

  constructor(
    private readonly source: Puller<unknown>,
    private readonly build: PipelineBuilder<T>,
  ) {}

  /**
   * Pulls up to `n` items. With `batchMs` > 0 it keeps computing until it has
   * `n` items or `batchMs` have passed with at least one item in hand. With
   * `batchMs` 0 and `n` > 1 it is eager: it returns what it has as soon as
   * it would have to wait for the source, or after {@link EAGER_MS} of
   * computing. Items produced before an error are returned before the error
   * is thrown.
   */
  async pull(n: number, batchMs = 0): Promise<Pulled<T>> {
    const eager = batchMs === 0 && n > 1;
    const budget = eager ? EAGER_MS : batchMs;
    await this.fill(n, budget > 0 ? performance.now() + budget : undefined, eager);
    if (this.out.length > 0) {
      const items = this.out.splice(0, n);
      const ended = this.out.length === 0 && this.finished && !this.failure;
      return ended ? { items, done: false, ended } : { items, done: false };
    }
    if (this.failure) throw this.failure.error;
    return { items: [], done: true };
  }

  /** Stops the pipeline and its source. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    this.finished = true;
    this.wake();
    try {
      const result = this.source.return?.();
      if (isPromiseLike(result)) result.then(undefined, () => undefined);
    } catch {
      // The source failing to stop is of no interest once the consumer has left.
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private start(): void {
    const source$ = new Observable<unknown>((subscriber) => {
      if (this.sourceSubscriber) {
        subscriber.error(
          new UsageError(
            'Expected a `transform` function to subscribe to its source once, got a second subscription',
          ),
        );
        return;
      }
      this.sourceSubscriber = subscriber;
      this.wake();
    });
    this.subscription = this.build(source$, this.gate).subscribe({
      next: (value) => {
        this.out.push(value);
        this.wake();
      },
      error: (error: unknown) => {
        this.failure = { error };
        this.finished = true;
        this.wake();
      },
      complete: () => {
        this.finished = true;
        this.wake();
      },
    });
  }

  private canEmit(want: number): boolean {
    const gate = this.gate;
    return (
      this.sourceSubscriber !== undefined &&
      !this.sourceDone &&
      !gate.blocked &&
      this.out.length + gate.inFlight < want + gate.readAhead
    );
  }

  /**
   * Computes until `want` items are out, or, with items out, until the
   * deadline has passed, or (when `eager`, or with no deadline) until it would
   * have to wait. A source item still on its way stays pending across calls:
   * output that arrives meanwhile is not held back by it.
   */
  private async fill(want: number, deadline: number | undefined, eager = false): Promise<void> {
    if (!this.subscription) this.start();
    const late = (): boolean => deadline !== undefined && performance.now() >= deadline;
    const expired = (): boolean =>
      this.out.length > 0 && (eager || deadline === undefined || late());
    for (;;) {
      if (this.out.length >= want || this.finished) return;
      if (this.out.length > 0 && late()) return;
      if (this.sourceSubscriber?.closed) this.sourceDone = true;
      if (!this.sourcePending && this.canEmit(want)) {
        const subscriber = this.sourceSubscriber as Subscriber<unknown>;
        let next: IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>> | undefined;
        try {
          // With items out and nothing to wait for, take only what the source has ready.
          const greedy =
            (eager || deadline === undefined) && this.out.length > 0 && this.source.nextNow;
          next = greedy ? this.source.nextNow?.() : this.source.next();
          if (next === undefined) return;
        } catch (error) {
          this.fail(subscriber, error);
          continue;
        }
        if (isPromiseLike(next)) this.emitLater(subscriber, next);
        else this.emit(subscriber, next);
        if (this.gate.opaque) await immediate();
        continue;
      }
      if (expired()) return;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        if (deadline !== undefined && this.out.length > 0) {
          setTimeout(() => this.wake(), Math.max(0, deadline - performance.now()));
        }
      });
    }
  }

  /** Emits a source item that is on its way, and wakes the driver. */
  private emitLater(
    subscriber: Subscriber<unknown>,
    next: PromiseLike<IteratorResult<unknown>>,
  ): void {
    this.sourcePending = true;
    Promise.resolve(next)
      .then(
        (result) => this.emit(subscriber, result),
        (error: unknown) => this.fail(subscriber, error),
      )
      .finally(() => {
        this.sourcePending = false;
        this.wake();
      });
  }

  private fail(subscriber: Subscriber<unknown>, error: unknown): void {
    this.sourceDone = true;
    subscriber.error(error);
  }

  private emit(subscriber: Subscriber<unknown>, result: IteratorResult<unknown>): void {
    if (this.closed) return;
    if (result.done) {
      this.sourceDone = true;
      subscriber.complete();
    } else {
      subscriber.next(result.value);
    }
  }
}
