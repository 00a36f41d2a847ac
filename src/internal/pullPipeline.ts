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
import { UsageError } from '../errors';
import { Gate } from './gate';
import { isPromiseLike } from './mapAsync';

/** A pull source: a sync or async iterator. */
export interface Puller<T> {
  next(): IteratorResult<T> | PromiseLike<IteratorResult<T>>;
  return?(): unknown;
}

/** Builds the pipeline on the gated source. */
export type PipelineBuilder<T> = (source$: Observable<unknown>, gate: Gate) => Observable<T>;

/** What one pull returns: at least one item, or `done`. */
export interface Pulled<T> {
  readonly items: T[];
  readonly done: boolean;
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

  constructor(
    private readonly source: Puller<unknown>,
    private readonly build: PipelineBuilder<T>,
  ) {}

  /**
   * Pulls up to `n` items. With `batchMs` > 0 it keeps computing until it has
   * `n` items or `batchMs` have passed with at least one item in hand.
   * Items produced before an error are returned before the error is thrown.
   */
  async pull(n: number, batchMs = 0): Promise<Pulled<T>> {
    const deadline = batchMs > 0 ? performance.now() + batchMs : undefined;
    await this.fill(n, deadline);
    if (this.out.length > 0) return { items: this.out.splice(0, n), done: false };
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
          new UsageError('Expected a `transform` function to subscribe to its source once, got a second subscription'),
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

  private async fill(want: number, deadline: number | undefined): Promise<void> {
    if (!this.subscription) this.start();
    for (;;) {
      if (this.out.length >= want || this.finished) return;
      if (deadline !== undefined && this.out.length > 0 && performance.now() >= deadline) return;
      if (this.sourceSubscriber?.closed) this.sourceDone = true;
      if (this.canEmit(want)) {
        await this.emitOne(this.sourceSubscriber as Subscriber<unknown>);
        if (this.gate.opaque) await immediate();
        continue;
      }
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        if (deadline !== undefined && this.out.length > 0) {
          setTimeout(() => this.wake(), Math.max(0, deadline - performance.now()));
        }
      });
    }
  }

  private async emitOne(subscriber: Subscriber<unknown>): Promise<void> {
    let result: IteratorResult<unknown>;
    try {
      const next = this.source.next();
      result = isPromiseLike(next) ? await next : next;
    } catch (error) {
      this.sourceDone = true;
      subscriber.error(error);
      return;
    }
    if (this.closed) return;
    if (result.done) {
      this.sourceDone = true;
      subscriber.complete();
    } else {
      subscriber.next(result.value);
    }
  }
}
