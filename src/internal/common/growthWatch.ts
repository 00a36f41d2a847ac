/**
 * @internal
 * Finds dropped readers of a push source while its buffer grows.
 *
 * An Observable cannot be paused, so what it pushes before a reader takes it
 * waits in a buffer. A reader that is dropped unread is noticed only when the
 * garbage collector collects it (its run is then closed from a
 * `FinalizationRegistry`, which unsubscribes). V8 runs a full collection on its
 * own schedule, which a slow source may not reach for hours, so each time a
 * buffer doubles past its mark a {@link GrowthWatch} asks for a full
 * collection: a dropped reader is found, and its source unsubscribed, before
 * the buffer doubles again. That costs one collection per doubling, log2(n)
 * collections for n items waiting.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | null | undefined;

/** The engine's `gc()`, obtained once without exposing it to other code. */
function fullCollection(): (() => void) | null {
  if (collector !== undefined) return collector;
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return (collector = own as () => void);
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    collector = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    collector = null;
  } finally {
    // Contexts and worker threads made later do not get a global `gc`.
    setFlagsFromString('--no-expose-gc');
  }
  return collector;
}

/** Asks for a full collection each time a buffer's size doubles past its mark. */
export class GrowthWatch {
  private mark: number;

  /** @param base - the size at which the first collection is asked for */
  constructor(private readonly base: number) {
    this.mark = base;
  }

  /** Call with the buffer's size after an item was added. */
  grew(size: number): void {
    if (size < this.mark) return;
    this.mark = size * 2;
    fullCollection()?.();
  }

  /** Call with the buffer's size after an item was taken. */
  shrank(size: number): void {
    if (this.mark > this.base && size * 4 < this.mark) {
      this.mark = Math.max(this.base, this.mark / 2);
    }
  }
}
