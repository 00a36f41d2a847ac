/**
 * @internal
 * The gate through which a pull pipeline decides whether it may take one more
 * item from its source.
 *
 * Operators that finish items later (an async `forEach`) take a {@link Slot}
 * and report how many items they hold. The pipeline takes a new source item
 * only while every slot has room, so with the default `maxConcurrency` of 1 no
 * item is read before the previous one has left the pipeline.
 */
export class Gate {
  private readonly slots = new Set<Slot>();
  /**
   * True when the pipeline holds operators the gate cannot see into (a user
   * `transform`): the driver then yields to the event loop between items.
   */
  opaque = false;

  /** @param wake - called whenever a slot's load changes */
  constructor(readonly wake: () => void) {}

  /** A slot for one async operator that runs at most `limit` items at once. */
  slot(limit: number): Slot {
    const slot = new Slot(limit, this);
    this.slots.add(slot);
    return slot;
  }

  /** @internal */
  release(slot: Slot): void {
    this.slots.delete(slot);
    this.wake();
  }

  /** True while some slot is full. */
  get blocked(): boolean {
    for (const slot of this.slots) if (slot.load >= slot.limit) return true;
    return false;
  }

  /** Items held by async operators, not yet out of the pipeline. */
  get inFlight(): number {
    let sum = 0;
    for (const slot of this.slots) sum += slot.load;
    return sum;
  }

  /** How many items past the demand the async operators may hold (`limit - 1` each). */
  get readAhead(): number {
    let sum = 0;
    for (const slot of this.slots) sum += slot.limit - 1;
    return sum;
  }
}

/** One async operator's share of the gate. */
export class Slot {
  /** Items the operator holds: running plus queued. */
  load = 0;

  constructor(
    readonly limit: number,
    private readonly gate: Gate,
  ) {}

  /** Records a new load and wakes the pipeline. */
  set(load: number): void {
    this.load = load;
    this.gate.wake();
  }

  /** Gives the slot back when the operator is unsubscribed. */
  release(): void {
    this.gate.release(this);
  }
}
