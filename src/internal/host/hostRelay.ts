/**
 * @internal
 * The host's side of one shard run: relays the pull protocol between a
 * `Shard` stream and a shard thread of this process, unchanged, so that the
 * thread computes only what the remote consumer asked for.
 *
 * An answer larger than the message limit is cut into pieces that each
 * answer one request of the consumer: the pieces wait here, and the requests
 * they answer are not passed on to the thread. An item that alone is above
 * the limit fails the shard with an error that names the option.
 *
 * The run ends when the stream does (the consumer stopped, died, or was cut
 * off): the shard's thread is terminated.
 */
import type * as grpc from '@grpc/grpc-js';
import { serializeError, type FromShard, type ToShard } from '../wire/protocol';
import { Queue } from '../common/queue';
import type { ShardThread } from '../caller/place';
import { encode, MessageTooLargeError, tooLargeHint } from '../wire/service';

type ShardCall = grpc.ServerDuplexStream<unknown, unknown>;

/** An answer (or an error) waiting to be written, encoded. */
interface Outgoing {
  readonly bytes: Buffer;
  /** Answers one request (`items`, `end`); an error does not. */
  readonly answer: boolean;
}

/** Encodes `items` in as few messages as fit in `limit` bytes each; `undefined` when one item alone does not fit. */
function pieces(items: readonly unknown[], limit: number): Buffer[] | undefined {
  try {
    return [encode({ type: 'items', items } satisfies FromShard, limit)];
  } catch (error) {
    if (!(error instanceof MessageTooLargeError) || items.length === 1) {
      if (error instanceof MessageTooLargeError) return undefined;
      throw error;
    }
  }
  const half = Math.ceil(items.length / 2);
  const first = pieces(items.slice(0, half), limit);
  const second = first && pieces(items.slice(half), limit);
  return first && second ? [...first, ...second] : undefined;
}

/**
 * Serves `call` with `thread` until either ends. `onEnd` is called once,
 * after the thread is terminated.
 */
export function relayShard(
  call: ShardCall,
  thread: ShardThread,
  limit: number,
  onEnd: () => void,
): void {
  const out = new Queue<Outgoing>();
  /** Requests of the consumer not yet answered. */
  let credit = 0;
  /** Requests passed on to the thread and not yet answered by it. */
  let relayed = 0;
  let request: ToShard & { type: 'request' } = { type: 'request', n: 1, batchMs: 0 };
  let ended = false;

  const end = (): void => {
    if (ended) return;
    ended = true;
    void thread.terminate().finally(onEnd);
  };

  const drain = (): void => {
    for (let next = out.peek(); next && (credit > 0 || !next.answer); next = out.peek()) {
      out.shift();
      if (next.answer) credit--;
      call.write(next.bytes);
    }
    while (relayed < credit && out.length === 0) {
      relayed++;
      thread.port.postMessage(request);
    }
  };

  const failWith = (error: unknown, hint: string): void => {
    const message: FromShard = { type: 'error', error: serializeError(error), hint };
    out.push({ bytes: encode(message, Number.MAX_SAFE_INTEGER), answer: false });
  };

  thread.port.on('message', (message: FromShard) => {
    if (ended) return;
    switch (message.type) {
      case 'items': {
        relayed--;
        let encoded: Buffer[] | undefined;
        try {
          encoded = pieces(message.items, limit);
        } catch (error) {
          failWith(error, `an item cannot be sent to the consumer: ${String(error)}`);
          break;
        }
        if (!encoded) {
          failWith(
            new MessageTooLargeError(`An item is larger than the limit of ${limit} bytes`),
            tooLargeHint(limit),
          );
          break;
        }
        for (const bytes of encoded) out.push({ bytes, answer: true });
        break;
      }
      case 'end':
        relayed--;
        out.push({ bytes: encode(message, limit), answer: true });
        break;
      case 'error':
        out.push({ bytes: encode(message, Number.MAX_SAFE_INTEGER), answer: false });
        break;
      case 'pull':
        call.write(encode(message, limit));
        return;
    }
    drain();
  });

  thread.onExit((code, error) => {
    if (ended) return;
    failWith(
      error ?? new Error(`The worker exited with code ${String(code)}`),
      `its worker on the host exited unexpectedly with code ${String(code)}${error instanceof Error ? ` (${error.message})` : ''}`,
    );
    drain();
    call.end();
    end();
  });

  call.on('data', (message: ToShard) => {
    if (ended) return;
    if (message.type === 'request') {
      request = message;
      credit++;
      drain();
    } else if (message.type === 'init' && message.requests) {
      // Relayed as a plan, then requests on the consumer's credit.
      const { requests, ...init } = message;
      thread.port.postMessage(init);
      for (const first of requests) {
        request = { type: 'request', ...first };
        credit++;
      }
      drain();
    } else {
      thread.port.postMessage(message);
    }
  });
  call.on('end', end);
  call.on('cancelled', end);
  call.on('error', end);
  call.on('close', end);
}
