/**
 * @internal
 * Transformations as a chain of pull sources, for pipelines that need no
 * RxJS: `forEach` one call at a time, `filter`, `batch`, `flatten` and
 * `localShuffle`. Each stage pulls its upstream only when it is pulled, so a
 * shard or `LocalIterator` built of them reads exactly what its consumer
 * asks for, and a shard's worker never loads RxJS (which takes tens of
 * milliseconds per worker). They produce the same items, in the same order,
 * as the RxJS operators of `stages.ts`; a pipeline with any other stage uses
 * those (see `pipeline.ts`).
 */
import { NOT_READY } from '../../notReady';
import { isPromiseLike } from './promises';
import type { Puller } from './pullPipeline';
import { createRandom, takeRandom } from './random';
import { iteratorResult } from './sources';
import type { Stage } from './stages';
import { flattenable } from './validate';

type Result = IteratorResult<unknown>;
type Next = Result | PromiseLike<Result>;
/** What a stage makes of one input: an output, none yet (`undefined`), or a promise of either. */
type Taken = Result | undefined | PromiseLike<Result | undefined>;

const DONE: Result = { done: true, value: undefined };
const item = (value: unknown): Result => ({ done: false, value });

/** One transformation over an upstream pull source. */
abstract class PullStage implements Puller<unknown> {
  private upstreamDone = false;
  /** An output on its way that `nextNow` started and `next` has yet to hand out. */
  private pending: PromiseLike<Result> | undefined;

  constructor(private readonly upstream: Puller<unknown>) {}

  /** Handles one upstream item. */
  protected abstract take(value: unknown): Taken;

  /** An output due without a new input (`done` says whether the upstream ended). */
  protected ready(done: boolean): Result | undefined {
    void done;
    return undefined;
  }

  next(): Next {
    const pending = this.pending;
    if (pending) {
      this.pending = undefined;
      return pending;
    }
    return this.step(false) as Next;
  }

  nextNow(): Result | undefined {
    if (this.pending) return undefined;
    const next = this.step(true);
    if (!isPromiseLike(next)) return next;
    this.pending = next;
    next.then(undefined, () => undefined); // handled when `next` hands it out
    return undefined;
  }

  return(): unknown {
    this.upstreamDone = true;
    return this.upstream.return?.();
  }

  /** The next output; with `now`, `undefined` when the upstream has nothing ready. */
  private step(now: boolean): Next | undefined {
    for (;;) {
      const ready = this.ready(this.upstreamDone);
      if (ready) return ready;
      if (this.upstreamDone) return DONE;
      const upstream = this.upstream;
      const result = now && upstream.nextNow ? upstream.nextNow() : upstream.next();
      if (result === undefined) return undefined;
      if (isPromiseLike(result)) {
        return Promise.resolve(result).then((r) => this.resume(this.accept(r)));
      }
      const taken = this.accept(result);
      if (taken === undefined) continue;
      return isPromiseLike(taken) ? Promise.resolve(taken).then((t) => this.resume(t)) : taken;
    }
  }

  private accept(result: Result): Taken {
    // "Nothing now" passes on, without calling the stage's function.
    if (!result.done) return result.value === NOT_READY ? result : this.take(result.value);
    this.upstreamDone = true;
    return undefined;
  }

  /** Goes on after an input that settled later. */
  private resume(taken: Taken): Next {
    if (taken === undefined) return this.step(false) as Next;
    if (isPromiseLike(taken)) return Promise.resolve(taken).then((t) => this.resume(t));
    return taken;
  }
}

/** A stage that hands each item to one function: a map or a filter. */
class CallStage extends PullStage {
  constructor(
    upstream: Puller<unknown>,
    private readonly handle: (value: unknown) => Taken,
  ) {
    super(upstream);
  }

  protected take(value: unknown): Taken {
    return this.handle(value);
  }
}

/** `forEach`: each item becomes `fn(item)`, awaited if it is a promise. */
const mapping =
  (fn: (value: unknown) => unknown) =>
  (value: unknown): Taken => {
    const result = fn(value);
    return isPromiseLike(result) ? Promise.resolve(result).then(item) : item(result);
  };

/** `filter`: an item is kept when `fn(item)` (awaited) is truthy. */
const filtering =
  (fn: (value: unknown) => unknown) =>
  (value: unknown): Taken => {
    const keep = (pass: unknown): Result | undefined => (pass ? item(value) : undefined);
    const pass = fn(value);
    return isPromiseLike(pass) ? Promise.resolve(pass).then(keep) : keep(pass);
  };

class BatchStage extends PullStage {
  private buffer: unknown[] = [];

  constructor(
    upstream: Puller<unknown>,
    private readonly size: number,
  ) {
    super(upstream);
  }

  protected take(value: unknown): Taken {
    this.buffer.push(value);
    return this.buffer.length >= this.size ? this.flush() : undefined;
  }

  protected override ready(done: boolean): Result | undefined {
    return done && this.buffer.length > 0 ? this.flush() : undefined;
  }

  private flush(): Result {
    const batch = this.buffer;
    this.buffer = [];
    return item(batch);
  }
}

class FlattenStage extends PullStage {
  private inner: Iterator<unknown> | undefined;

  protected take(value: unknown): Taken {
    this.inner = flattenable(value)[Symbol.iterator]();
    return undefined;
  }

  protected override ready(): Result | undefined {
    const inner = this.inner;
    if (!inner) return undefined;
    const result = iteratorResult(inner.next());
    if (!result.done) return item(result.value);
    this.inner = undefined;
    return undefined;
  }

  override return(): unknown {
    const inner = this.inner;
    this.inner = undefined;
    inner?.return?.();
    return super.return();
  }
}

class ShuffleStage extends PullStage {
  private readonly buffer: unknown[] = [];
  private readonly random: () => number;

  constructor(
    upstream: Puller<unknown>,
    private readonly size: number,
    seed: number | undefined,
  ) {
    super(upstream);
    this.random = createRandom(seed);
  }

  protected take(value: unknown): Taken {
    this.buffer.push(value);
    return this.buffer.length >= this.size ? item(takeRandom(this.buffer, this.random)) : undefined;
  }

  protected override ready(done: boolean): Result | undefined {
    return done && this.buffer.length > 0 ? item(takeRandom(this.buffer, this.random)) : undefined;
  }
}

/** True when every stage can run as a pull stage: no `transform`, no concurrent `forEach`. */
export function pullable(stages: readonly Stage[]): boolean {
  return stages.every(
    (stage) => stage.op !== 'transform' && (stage.op !== 'forEach' || stage.maxConcurrency === 1),
  );
}

/** Chains `stages` (all {@link pullable}) onto `source`. */
export function pullStages(source: Puller<unknown>, stages: readonly Stage[]): Puller<unknown> {
  return stages.reduce<Puller<unknown>>((upstream, stage) => {
    switch (stage.op) {
      case 'forEach':
        return new CallStage(upstream, mapping(stage.fn));
      case 'filter':
        return new CallStage(upstream, filtering(stage.fn));
      case 'batch':
        return new BatchStage(upstream, stage.n);
      case 'flatten':
        return new FlattenStage(upstream);
      case 'shuffle':
        return new ShuffleStage(upstream, stage.size, stage.seed);
      case 'transform':
        throw new Error('A `transform` stage needs the RxJS pipeline');
    }
  }, source);
}
