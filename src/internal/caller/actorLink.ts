/**
 * @internal
 * A reader's side of a custom actor, over a connector `MessagePort` to the
 * actor's worker (no threads.js). Each run over the actor asks on the
 * connector for a run on a fresh data port and waits for the actor's answer;
 * the actor takes one reader at a time and refuses another with a
 * `UsageError`. The calling thread reads its actors this way, and so does any
 * thread that received an iterator over actors (its connectors came with it).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { UsageError } from '../../errors';
import { deserializeError, type AttachAnswer, type ToActor } from '../wire/protocol';
import { ActorGoneError, type ExitListener, type ShardSetup, type ShardThread } from './place';

export { ActorGoneError } from './place';

const GONE = "the actor's worker has exited or was terminated; spawn a new actor to read on";

/** The first answer on a run's data port, or a rejection when the port closes first. */
function answerOn(port: MessagePort): Promise<AttachAnswer> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => reject(new ActorGoneError(GONE));
    port.once('close', onClose);
    port.once('message', (answer: AttachAnswer) => {
      port.off('close', onClose);
      resolve(answer);
    });
  });
}

/** An error a refusing actor sent, as one of pariter's classes where it was one. */
function refusal(error: ReturnType<typeof deserializeError>): Error {
  if (error.name !== 'UsageError') return error;
  const usage = new UsageError(error.message);
  if (error.stack !== undefined) usage.stack = error.stack;
  return usage;
}

/** A link no longer reachable closes its connector, so the actor lets go of it too. */
const collected = new FinalizationRegistry<MessagePort>((connector) => connector.close());

export class ActorLink {
  private nextReader = 0;
  private gone = false;
  private readonly ended: Promise<never>;

  /**
   * @param connector - this thread's connector to the actor
   * @param exited - rejects when the actor's worker is known to have exited
   *   (in the thread that owns it)
   * @param watchExit - tells a listener when the actor's worker exits
   *   (where it is known, with its exit code); by default a run's data port
   *   that closes unasked tells it
   */
  constructor(
    private readonly connector: MessagePort,
    exited?: Promise<never>,
    private readonly watchExit?: (listener: ExitListener) => () => void,
  ) {
    const closed = new Promise<never>((_, reject) =>
      connector.once('close', () => {
        this.gone = true;
        reject(new ActorGoneError(GONE));
      }),
    );
    this.ended = exited ? Promise.race([closed, exited]) : closed;
    this.ended.catch(() => undefined);
    connector.unref();
    collected.register(this, connector);
  }

  /**
   * Starts a run over the actor.
   *
   * @throws UsageError when another reader holds the actor;
   *   ActorGoneError when the actor's worker is gone
   */
  async attach(): Promise<ShardThread> {
    if (this.gone) throw new ActorGoneError(GONE);
    const { port1, port2 } = new MessageChannel();
    const reader = this.nextReader++;
    const request: ToActor = { type: 'attach', reader, port: port2 };
    this.connector.postMessage(request, [port2]);
    let answer: AttachAnswer;
    try {
      answer = await Promise.race([answerOn(port1), this.ended]);
    } catch (error) {
      port1.close();
      if (error instanceof ActorGoneError) throw error;
      const why = error instanceof Error ? ` (${error.message})` : '';
      throw new ActorGoneError(`${GONE}${why}`, { cause: error });
    }
    if (answer.type === 'refused') {
      port1.close();
      throw refusal(deserializeError(answer.error));
    }
    return this.shard(port1, reader);
  }

  private shard(port: MessagePort, reader: number): ShardThread {
    let ended = false;
    const removers: Array<() => void> = [];
    return {
      port,
      onExit: (listener) => {
        if (this.watchExit) {
          removers.push(this.watchExit(listener));
          return;
        }
        port.once('close', () => {
          if (!ended) listener(undefined, new ActorGoneError(GONE));
        });
      },
      hold: (held) => (held ? port.ref() : port.unref()),
      terminate: async () => {
        if (ended) return;
        ended = true;
        for (const remove of removers) remove();
        port.close();
        // On the connector, ahead of this thread's next request.
        const release: ToActor = { type: 'release', reader };
        if (!this.gone) this.connector.postMessage(release);
      },
    };
  }
}

/**
 * The shards of one run, with their actors attached together: no actor of
 * the run is asked for an item before every one of them has taken the run,
 * so a run that one actor refuses (another reader holds it) takes no item
 * from the others, and lets them go.
 */
export function attachTogether(setups: readonly ShardSetup[]): ShardSetup[] {
  const actors = setups.filter((setup) => setup.attach);
  if (actors.length < 2) return [...setups];
  let all: Promise<Array<PromiseSettledResult<ShardThread>>> | undefined;
  const attachAll = (): Promise<Array<PromiseSettledResult<ShardThread>>> =>
    (all ??= Promise.allSettled(actors.map((setup) => setup.attach!())));
  return setups.map((setup) => {
    const index = actors.indexOf(setup);
    if (index < 0) return setup;
    return {
      ...setup,
      attach: async () => {
        const results = await attachAll();
        const mine = results[index]!;
        const refused = results.find((result) => result.status === 'rejected');
        if (!refused) return (mine as PromiseFulfilledResult<ShardThread>).value;
        if (mine.status === 'fulfilled') await mine.value.terminate();
        throw (refused as PromiseRejectedResult).reason;
      },
    };
  });
}
