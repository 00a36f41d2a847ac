/**
 * @internal
 * What runs inside a shard's worker: it builds the shard's source and
 * pipeline from its plan and answers requests on the shard's port, computing
 * no more than was asked.
 */
import type { DataPort } from '../common/nodeShapes';
import { MetricsContext, withMetrics } from '../../metrics';
import { isPromiseLike } from '../common/promises';
import type { FromShard, OpSpec, ShardPlan, SourceSpec, ToShard } from '../wire/protocol';
import { deserializeError, serializeError } from '../wire/protocol';
import { openPipeline, type Pipeline } from '../common/pipeline';
import type { Puller } from '../common/pullPipeline';
import { Queue } from '../common/queue';
import { hintFor, loadFunction } from '../wire/shipping';
import { functionSource, itemsSource, rangeSource } from '../common/sources';
import type { Stage, TransformFn } from '../common/stages';
import { describeValue } from '../common/validate';

/** `text` as one sentence: ending with exactly one period (an engine's message may bring its own). */
function sentence(text: string): string {
  return `${text.replace(/[\s.]+$/, '')}.`;
}

/** A source fed by the calling thread: up to `batch` items per `pull`. */
class FeedSource implements Puller<unknown> {
  private readonly buffer = new Queue<unknown>();
  private done = false;
  private waiting: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(
    private readonly send: (message: FromShard) => void,
    private readonly batch: number,
  ) {}

  nextNow(): IteratorResult<unknown> | undefined {
    if (this.buffer.length > 0) return { done: false, value: this.buffer.shift() };
    if (this.done) return { done: true, value: undefined };
    return undefined;
  }

  next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>> {
    const now = this.nextNow();
    if (now) return now;
    return new Promise<void>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.send({ type: 'pull', n: this.batch });
    }).then(() => this.next());
  }

  feed(message: Extract<ToShard, { type: 'feed' | 'feedError' }>): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (message.type === 'feedError') {
      waiting?.reject(deserializeError(message.error));
      return;
    }
    this.buffer.pushAll(message.items);
    if (message.done) this.done = true;
    waiting?.resolve();
  }
}

/** Maps the value of a `[key, value]` pair, keeping the key. */
function keyed(fn: (item: unknown) => unknown): (pair: unknown) => unknown {
  return (pair) => {
    const [key, value] = pair as [unknown, unknown];
    const result = fn(value);
    return isPromiseLike(result) ? Promise.resolve(result).then((r) => [key, r]) : [key, result];
  };
}

async function loadStage(op: OpSpec): Promise<Stage> {
  switch (op.op) {
    case 'forEach':
      return {
        op: 'forEach',
        fn: op.keyed ? keyed(await loadFunction(op.fn)) : await loadFunction(op.fn),
        maxConcurrency: op.maxConcurrency,
      };
    case 'filter':
      return { op: 'filter', fn: await loadFunction(op.fn) };
    case 'transform':
      return { op: 'transform', fn: (await loadFunction(op.fn)) as unknown as TransformFn };
    case 'localShuffle':
      return { op: 'shuffle', size: op.size, seed: op.seed };
    case 'batch':
    case 'flatten':
      return op;
  }
}

async function openSource(
  spec: Exclude<SourceSpec, { kind: 'actor' }>,
  repeat: boolean,
  feed: () => Puller<unknown>,
): Promise<Puller<unknown>> {
  switch (spec.kind) {
    case 'items':
      return itemsSource(spec.items, repeat);
    case 'range':
      return rangeSource(spec.start, spec.end, repeat);
    case 'function': {
      const fn = (await loadFunction(spec.fn)) as () => unknown;
      return functionSource(() => fn(), repeat);
    }
    case 'feed':
      return feed();
  }
}

/** Finds the first item that cannot be cloned, for the error message. */
function uncloneable(items: readonly unknown[]): unknown {
  for (const item of items) {
    try {
      structuredClone(item);
    } catch {
      return item;
    }
  }
  return undefined;
}

/** The failure reporters of the shards this worker runs now. */
const running = new Set<(error: unknown) => void>();
let watching = false;

/** Errors nothing caught (a timer's callback, an unawaited promise) fail every running shard. */
function watchUncaught(): void {
  if (watching) return;
  watching = true;
  const failAll = (error: unknown): void => {
    for (const fail of running) fail(error);
  };
  process.on('uncaughtException', failAll);
  process.on('unhandledRejection', failAll);
}

/** One run of a shard on a port: its pipeline, its feed, and how it fails. */
interface Session {
  handle(message: Exclude<ToShard, { type: 'close' }>): void;
  /** Ends the run: what it holds goes with it, the thread stays for other shards. */
  close(): void;
}

function openSession(
  post: (message: FromShard) => void,
  actorSource: Puller<unknown> | undefined,
  onInit: (() => void) | undefined,
  onSelfClose: () => void,
): Session {
  let feedSource: FeedSource | undefined;
  let failed = false;
  let closed = false;
  // Once closed, nothing of this run may reach the port: it may serve the next run.
  const send = (message: FromShard): void => {
    if (!closed) post(message);
  };
  const fail = (error: unknown, hint = hintFor(error)): void => {
    if (failed) return;
    failed = true;
    send({ type: 'error', error: serializeError(error), hint });
  };
  watchUncaught();
  running.add(fail);

  let pipeline: Promise<Pipeline<unknown>> | undefined;
  let queue: Promise<void> = Promise.resolve();
  const selfClose = (): void => {
    closeSession();
    onSelfClose();
  };
  /** Requests received and answered: an ended run with none left closes itself. */
  let received = 0;
  let answered = 0;
  let mayCloseItself = false;
  const request = (n: number, batchMs: number): void => {
    received++;
    queue = queue.then(() => serve(n, batchMs));
  };

  const serve = async (n: number, batchMs: number): Promise<void> => {
    if (failed || !pipeline) return;
    let pulled;
    try {
      pulled = await (await pipeline).pull(n, batchMs);
    } catch (error) {
      fail(error);
      return;
    }
    if (failed) return; // closed while computing: the port may serve another run now
    answered++;
    // Ended, and no request of the consumer left unanswered: nothing more can come.
    const last = mayCloseItself && (pulled.done || pulled.ended === true) && answered === received;
    const closing = last ? { closed: true } : {};
    if (pulled.done) {
      send({ type: 'end', ...closing });
      if (last) selfClose();
      return;
    }
    try {
      send({
        type: 'items',
        items: pulled.items,
        ...(pulled.ended ? { end: true } : {}),
        ...closing,
      });
      if (last) selfClose();
    } catch (error) {
      const item = uncloneable(pulled.items);
      fail(
        error,
        `An item cannot be sent between threads (${describeValue(item)}): ${sentence(hintFor(error))} Turn it into plain data (numbers, strings, arrays, plain objects) before it leaves the shard`,
      );
    }
  };

  return {
    handle: (message) => {
      switch (message.type) {
        case 'init': {
          onInit?.();
          const { plan } = message;
          mayCloseItself = message.mayCloseItself === true;
          const batch = plan.source.kind === 'feed' ? (plan.source.batch ?? 1) : 1;
          const { feed: ready } = message;
          const feed = (): Puller<unknown> => {
            feedSource = new FeedSource(send, batch);
            if (ready) feedSource.feed({ type: 'feed', ...ready });
            return feedSource;
          };
          // An actor's source is shared by its runs: a run that ends leaves it open.
          const actor = (): Puller<unknown> => {
            if (!actorSource)
              throw new Error('This worker is not an actor: it has no source of its own');
            return { next: () => actorSource.next() };
          };
          pipeline = build(plan, feed, actor);
          pipeline.catch((error: unknown) => fail(error));
          for (const { n, batchMs } of message.requests ?? []) request(n, batchMs);
          return;
        }
        case 'request':
          request(message.n, message.batchMs);
          return;
        case 'feed':
        case 'feedError':
          feedSource?.feed(message);
          return;
      }
    },
    close: closeSession,
  };

  function closeSession(): void {
    closed = true;
    failed = true;
    running.delete(fail);
    feedSource = undefined;
    pipeline?.then(
      (p) => p.close(),
      () => undefined,
    );
    pipeline = undefined;
  }
}

/**
 * Serves shards on `port`, one run after the other, until the calling thread
 * closes the port or terminates the worker. Each run starts with `init` and
 * ends with `close`, answered by `closed`, or ends itself once it has ended
 * and answered every request (its last answer says `closed`): the calling thread may then use
 * the same port for the next run on this thread, so a warm run costs no new
 * channel. A worker serves any number of ports side by side.
 * `actorSource` is the source of a custom actor's worker: it outlives the
 * run, so closing the run does not end it. `onInit` is called when the first
 * run's plan has arrived, before any item is computed.
 */
export function runShard(port: DataPort, actorSource?: Puller<unknown>, onInit?: () => void): void {
  const send = (message: FromShard): void => port.postMessage(message);
  let session: Session | undefined;
  let first = true;
  port.on('close', () => {
    session?.close();
    session = undefined;
  });
  port.on('message', (message: ToShard) => {
    if (message.type === 'close') {
      session?.close();
      session = undefined;
      send({ type: 'closed', id: message.id });
      return;
    }
    if (message.type === 'init') {
      session?.close();
      const opened: Session = openSession(send, actorSource, first ? onInit : undefined, () => {
        if (session === opened) session = undefined;
      });
      session = opened;
      first = false;
    }
    if (!session && message.type === 'request') {
      // A request sent before its run's end was seen, after the run closed
      // itself: the run has ended.
      send({ type: 'end', closed: true });
      return;
    }
    session?.handle(message);
  });
}

async function build(
  plan: ShardPlan,
  feed: () => Puller<unknown>,
  actor: () => Puller<unknown>,
): Promise<Pipeline<unknown>> {
  // The shard's own metrics: what `getMetrics()` returns in its functions.
  const metrics = new MetricsContext();
  const stages = (await Promise.all(plan.ops.map(loadStage))).map((stage) =>
    stage.op === 'forEach' || stage.op === 'filter'
      ? { ...stage, fn: withMetrics(metrics, stage.fn) }
      : stage,
  );
  const source =
    plan.source.kind === 'actor' ? actor() : await openSource(plan.source, plan.repeat, feed);
  return openPipeline(source, stages);
}
