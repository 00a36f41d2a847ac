/**
 * @internal
 * The process-wide pool of shard threads. Every shard of every run borrows a
 * slot on a pooled thread ({@link ThreadPool.borrow}) and gives it back when
 * its run stops; a thread with no slot left is kept warm for `idleTimeoutMs`.
 *
 * - At most `maxThreads` threads: under the cap a borrow takes an idle thread
 *   or starts one; at the cap it shares the thread with the fewest shards
 *   (those of the same run first avoided). A shared thread serves its shards'
 *   requests in turn, each on its own port, so nothing waits for another run.
 * - Giving a slot back asks the thread to close the shard (`close`/`closed`
 *   on the shard's port). A port whose shard answered stays with its thread
 *   as a spare, for the next shard placed there: a warm run makes no new
 *   channel. A thread that does not answer within
 *   {@link RELEASE_GRACE_MS} ({@link START_GRACE_MS} while it starts: until
 *   its handshake or a first answer on one of its shards) (a
 *   busy loop, a long synchronous item) is
 *   stopped if that shard was its only one, as a run's end always stopped its
 *   shard; a shared one keeps the slot until it answers.
 * - A thread that dies (`process.exit`, out of memory) fails the shards it
 *   served through their `onExit`; a thread that had started properly is
 *   replaced at once by a fresh idle one.
 * - Idle threads, their timers and their ports never keep the process alive.
 *
 * Pool events are logged with `NODE_DEBUG=pariter`.
 */
import { availableParallelism } from 'node:os';
import { debuglog } from 'node:util';
import { MessageChannel, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import type { FromShard, ToShard } from '../wire/protocol';
import type { ExitListener, ShardThread } from './place';
import type { PoolStatistics } from './poolStatistics';

const log = debuglog('pariter');

/**
 * How long a released shard's thread has to answer before it counts as
 * stuck, in ms: longer than a loaded machine takes to schedule a thread,
 * so that only a shard still computing loses its thread.
 */
export const RELEASE_GRACE_MS = 1000;

/**
 * The same for a thread that has not finished starting (its runtime still
 * loading, which takes seconds on a loaded machine), in ms: like threads.js's
 * own handshake timeout.
 */
export const START_GRACE_MS = 10_000;

/** The most ports a thread keeps for its next shards. */
const MAX_SPARES = 2;

/** A pooled worker as the pool drives it (made by {@link SpawnWorker}). */
export interface PoolWorker {
  /** Hands the worker its end of one more shard's data channel. */
  attach(port: MessagePort): void;
  /** Called once if the worker exits other than by `terminate()`. */
  onExit(listener: ExitListener): void;
  /** Whether the worker keeps the process alive. */
  ref(held: boolean): void;
  /** Whether the worker's runtime has loaded (its handshake is done). */
  readonly ready: boolean;
  /** Stops the worker. */
  terminate(): Promise<void>;
}

/** Starts a worker, with the worker's end of its first shard's channel if there is one. */
export type SpawnWorker = (
  first: MessagePort | undefined,
  resourceLimits: ResourceLimits | undefined,
) => PoolWorker;

/** The pool's settings (see `configurePool`). */
export interface PoolConfig {
  readonly maxThreads: number;
  readonly idleTimeoutMs: number;
  readonly resourceLimits: ResourceLimits | undefined;
}

/** The default settings: `max(4, 2 × availableParallelism())` threads, 2 s idle. */
export function defaultPoolConfig(): PoolConfig {
  return {
    maxThreads: Math.max(4, 2 * availableParallelism()),
    idleTimeoutMs: 2000,
    resourceLimits: undefined,
  };
}

class PoolThread {
  /** The shards this thread serves (a released one stays until the thread answers). */
  readonly slots = new Set<Slot>();
  /** Ports to this thread whose shard has closed, ready for the next one (unref-ed). */
  readonly spares: MessagePort[] = [];
  /** Slots whose consumer waits on them. */
  held = 0;
  idleTimer: NodeJS.Timeout | undefined;
  /** When the thread last became idle (for picking the warmest). */
  idleSince = 0;
  dead = false;
  /**
   * Whether one of its shards has answered: its runtime has loaded, even if
   * the handshake has not come yet (a first shard that went straight into a
   * long computation delays it).
   */
  answered = false;

  /**
   * Keeps the port of a shard that closed for the next shard placed here;
   * beyond {@link MAX_SPARES} (after many shards shared the thread at once)
   * it is closed instead.
   */
  keepSpare(port: MessagePort): void {
    port.removeAllListeners();
    if (this.spares.length >= MAX_SPARES) {
      port.close();
      return;
    }
    port.unref();
    this.spares.push(port);
  }

  constructor(
    readonly id: number,
    readonly worker: PoolWorker,
    /** The settings generation it was started with. */
    readonly generation: number,
  ) {}
}

/** Numbers the `close` messages, so that each is told apart from an earlier one on its port. */
let closes = 0;

/** One shard's place on a pooled thread. */
class Slot {
  private held = false;
  private exitListeners: ExitListener[] = [];
  private death: { readonly code: number | undefined; readonly error: unknown } | undefined;
  private releasing: Promise<void> | undefined;
  /** Set once released: a late message of the run's channel must not reach a reused port. */
  private done = false;
  /** Told when the thread answers the shard's `close`, or dies. */
  private onClosed: (() => void) | undefined;
  readonly handle: ShardThread;

  constructor(
    private readonly pool: ThreadPool,
    readonly thread: PoolThread,
    readonly port: MessagePort,
    readonly run: object,
  ) {
    this.handle = {
      port: {
        postMessage: (message) => {
          if (!this.done) port.postMessage(message);
        },
        on: (event, listener) => port.on(event, listener),
        once: (event, listener) => port.once(event, listener),
        close: () => port.close(),
      },
      onExit: (listener) => {
        if (this.death) listener(this.death.code, this.death.error);
        else if (!this.releasing) this.exitListeners.push(listener);
      },
      hold: (held) => this.hold(held),
      terminate: (after) =>
        (this.releasing ??= after ? this.releaseIdle(after === 'closed') : this.release()),
    };
    if (!thread.answered) {
      port.once('message', () => (thread.answered = true));
      port.unref(); // the listener above must not hold the process: `hold` decides
    }
  }

  /** The thread died while serving this shard. */
  die(code: number | undefined, error: unknown): void {
    this.death = { code, error };
    const listeners = this.exitListeners;
    this.exitListeners = [];
    for (const listener of listeners) listener(code, error);
    this.onClosed?.();
  }

  hold(held: boolean): void {
    // The port is ref-ed by its `message` listeners: set it every time.
    if (held) this.port.ref();
    else this.port.unref();
    if (held === this.held) return;
    this.held = held;
    this.pool.holdThread(this.thread, held ? 1 : -1);
  }

  /**
   * Gives back the slot of a shard with no request pending: its `close` goes
   * first on the port, and the port, with its thread, serves the next shard
   * at once (the thread answers `closed` before anything of the next run,
   * and a channel ignores `closed`).
   */
  private async releaseIdle(closedByShard: boolean): Promise<void> {
    if (this.death || this.thread.dead) return this.release();
    try {
      if (!closedByShard) this.port.postMessage({ type: 'close', id: ++closes } satisfies ToShard);
    } catch {
      return this.release();
    }
    this.exitListeners = [];
    this.hold(false);
    this.done = true;
    this.thread.keepSpare(this.port);
    await this.pool.release(this, true);
  }

  private async release(): Promise<void> {
    this.exitListeners = [];
    this.hold(false);
    if (this.death || this.thread.dead) {
      this.done = true;
      this.port.close();
      return;
    }
    const answered = new Promise<void>((resolve) => (this.onClosed = resolve));
    const id = ++closes;
    this.port.on('message', (message: FromShard) => {
      if (message.type === 'closed' && message.id === id) this.onClosed?.();
    });
    let sent = true;
    try {
      this.port.postMessage({ type: 'close', id } satisfies ToShard);
    } catch {
      sent = false;
      this.onClosed?.();
    }
    this.done = true;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      answered.then(() => true),
      new Promise<boolean>((resolve) => {
        const loaded = this.thread.worker.ready || this.thread.answered;
        const grace = loaded ? RELEASE_GRACE_MS : START_GRACE_MS;
        timer = setTimeout(resolve, grace, false);
      }),
    ]);
    clearTimeout(timer);
    if (inTime && sent && !this.death && !this.thread.dead) {
      // The shard answered: nothing of its run is left on the port.
      this.thread.keepSpare(this.port);
      await this.pool.release(this, true);
      return;
    }
    if (inTime || this.thread.slots.size <= 1) {
      this.port.close();
      await this.pool.release(this, inTime);
      return;
    }
    // Stuck, and serving other shards too: the slot stays until the thread answers.
    log('thread %d is busy after its shard was released: kept until it answers', this.thread.id);
    this.port.unref();
    void answered.then(() => {
      this.port.close();
      return this.pool.release(this, true);
    });
  }
}

/** The pool: see the module's comment. */
export class ThreadPool {
  private config: PoolConfig = defaultPoolConfig();
  /** Bumped when `resourceLimits` change: older threads retire when idle. */
  private generation = 0;
  private readonly threads = new Set<PoolThread>();
  private spawned = 0;

  constructor(private readonly spawnWorker: SpawnWorker) {}

  get settings(): PoolConfig {
    return this.config;
  }

  /** Applies new settings; idle threads that no longer fit them retire. */
  configure(config: PoolConfig): void {
    if (config.resourceLimits !== this.config.resourceLimits) this.generation++;
    this.config = config;
    for (const thread of [...this.threads]) {
      if (thread.slots.size === 0) void this.idle(thread);
    }
  }

  stats(): PoolStatistics {
    let idle = 0;
    let shards = 0;
    const runs = new Set<object>();
    for (const thread of this.threads) {
      if (thread.slots.size === 0) idle++;
      shards += thread.slots.size;
      for (const slot of thread.slots) runs.add(slot.run);
    }
    const threads = this.threads.size;
    return { threads, idle, busy: threads - idle, shards, runs: runs.size, spawned: this.spawned };
  }

  /**
   * A slot for one shard of `run` (the shards of one run share a `run`
   * object; without one the shard counts as a run of its own).
   */
  borrow(run: object = {}): ShardThread {
    let thread = this.warmest();
    let port: MessagePort;
    if (thread) {
      clearTimeout(thread.idleTimer);
      port = this.portTo(thread);
      log('thread %d reused', thread.id);
    } else if (this.threads.size < this.config.maxThreads) {
      const { port1, port2 } = new MessageChannel();
      thread = this.spawn(port2);
      port = port1;
    } else {
      thread = this.leastLoaded(run);
      port = this.portTo(thread);
      log('thread %d shared: %d shards', thread.id, thread.slots.size + 1);
    }
    const slot = new Slot(this, thread, port, run);
    thread.slots.add(slot);
    return slot.handle;
  }

  /** Adds `delta` to the slots of `thread` that a consumer waits on. */
  holdThread(thread: PoolThread, delta: number): void {
    const wasHeld = thread.held > 0;
    thread.held += delta;
    const isHeld = thread.held > 0;
    if (!thread.dead && wasHeld !== isHeld) thread.worker.ref(isHeld);
  }

  /** Takes back a released slot; `answered` is false when its thread was stuck on it. */
  async release(slot: Slot, answered: boolean): Promise<void> {
    const thread = slot.thread;
    thread.slots.delete(slot);
    if (thread.dead) return;
    if (!answered) {
      await this.retire(thread, 'stuck on a released shard');
      return;
    }
    if (thread.slots.size === 0) await this.idle(thread);
  }

  /** A spare port to `thread`, or a new channel whose other end is handed to it. */
  private portTo(thread: PoolThread): MessagePort {
    const spare = thread.spares.pop();
    if (spare) return spare;
    const { port1, port2 } = new MessageChannel();
    thread.worker.attach(port2);
    return port1;
  }

  /** The idle thread that became idle last (the others may then time out). */
  private warmest(): PoolThread | undefined {
    let best: PoolThread | undefined;
    for (const thread of this.threads) {
      if (thread.slots.size === 0 && (!best || thread.idleSince > best.idleSince)) best = thread;
    }
    return best;
  }

  /** The thread with the fewest shards of `run`, then the fewest shards. */
  private leastLoaded(run: object): PoolThread {
    let best: PoolThread | undefined;
    let bestKey = [Infinity, Infinity];
    for (const thread of this.threads) {
      let same = 0;
      for (const slot of thread.slots) if (slot.run === run) same++;
      const key = [same, thread.slots.size] as const;
      if (key[0] < bestKey[0]! || (key[0] === bestKey[0] && key[1] < bestKey[1]!)) {
        best = thread;
        bestKey = [...key];
      }
    }
    if (!best) throw new Error('The pool has no thread to share');
    return best;
  }

  private spawn(first: MessagePort | undefined): PoolThread {
    const worker = this.spawnWorker(first, this.config.resourceLimits);
    const thread = new PoolThread(++this.spawned, worker, this.generation);
    this.threads.add(thread);
    worker.ref(false);
    worker.onExit((code, error) => this.died(thread, code, error));
    log('thread %d spawned (%d in the pool)', thread.id, this.threads.size);
    return thread;
  }

  /** A thread with no shard left: kept warm, or retired when it no longer fits. */
  private async idle(thread: PoolThread): Promise<void> {
    const { idleTimeoutMs, maxThreads } = this.config;
    clearTimeout(thread.idleTimer);
    thread.idleSince = performance.now();
    if (idleTimeoutMs === 0) return this.retire(thread, 'idle, no idle time');
    if (thread.generation !== this.generation) return this.retire(thread, 'new resource limits');
    if (this.threads.size > maxThreads) return this.retire(thread, `above ${maxThreads} threads`);
    if (idleTimeoutMs !== Infinity) {
      thread.idleTimer = setTimeout(() => void this.retire(thread, 'idle'), idleTimeoutMs);
      thread.idleTimer.unref();
    }
  }

  private async retire(thread: PoolThread, why: string): Promise<void> {
    if (!this.threads.delete(thread)) return;
    clearTimeout(thread.idleTimer);
    for (const spare of thread.spares.splice(0)) spare.close();
    log('thread %d retired (%s)', thread.id, why);
    await thread.worker.terminate();
  }

  private died(thread: PoolThread, code: number | undefined, error: unknown): void {
    thread.dead = true;
    clearTimeout(thread.idleTimer);
    for (const spare of thread.spares.splice(0)) spare.close();
    const wasPooled = this.threads.delete(thread);
    const slots = [...thread.slots];
    thread.slots.clear();
    log('thread %d died with code %d, failing %d shards', thread.id, code, slots.length);
    for (const slot of slots) slot.die(code, error);
    // One that never started properly is not replaced: it would die the same way.
    if (wasPooled && thread.worker.ready && this.config.idleTimeoutMs > 0) {
      const replacement = this.spawn(undefined);
      log('thread %d replaced by thread %d', thread.id, replacement.id);
      void this.idle(replacement);
    }
  }
}
