/**
 * @internal
 * The feed behind `repartition`: one run of the old shards per run of the new
 * ones. Each old shard deals its items round robin to the new partitions
 * (its k-th item to partition k mod n), and each partition reads the old
 * shards in turn, so what a partition holds and its order depend only on the
 * input. An old shard is read only when a partition needs its next item.
 *
 * Memory stays bounded in the calling thread:
 * - an item dealt to a partition that is not part of the run (`getShard(0)`
 *   reads only partition 0) is dropped at once: the run never reads it;
 * - an item dealt to another partition of the run waits for it, up to
 *   {@link MAX_LAG} items per old shard; past that, while the lagging
 *   partition is asked for items (so its worker will take them), the
 *   partition that wants to read on waits for it, as `duplicate` does.
 */
import type { Puller } from '../common/pullPipeline';
import { END, WAIT, type ReadOptions, type RunScope, type ShardSetup } from './shardChannel';
import { ShardRun } from './shardRun';

const DONE = { done: true, value: undefined } as const;

/** Items that may wait for one partition from one old shard before the others wait for it. */
export const MAX_LAG = 1024;

export class Repartitioner {
  private readonly run: ShardRun;
  /** `buffers[old][partition]`: items dealt to a partition, not yet taken. */
  private readonly buffers: unknown[][][];
  private readonly dealt: number[];
  private readonly ended: boolean[];
  /**
   * The partitions that are part of the run (those whose feed was opened),
   * each with whether a reader waits for its items.
   */
  private readonly members = new Map<number, () => boolean>();
  private started = false;
  /** Partitions waiting for another one to take its items. */
  private readonly blocked = new Set<number>();
  private waiters: Array<() => void> = [];

  constructor(
    oldShards: readonly ShardSetup[],
    private readonly numPartitions: number,
    options: ReadOptions,
    private readonly scope: RunScope,
  ) {
    this.run = new ShardRun(oldShards, options);
    this.buffers = oldShards.map(() => Array.from({ length: numPartitions }, () => []));
    this.dealt = oldShards.map(() => 0);
    this.ended = oldShards.map(() => false);
  }

  /** The feed of partition `partition`. */
  puller(partition: number, demanded: () => boolean): Puller<unknown> {
    this.members.set(partition, demanded);
    const active = this.run.channels.map((_, index) => index);
    let turn = 0;
    return {
      next: async () => {
        while (active.length > 0) {
          turn %= active.length;
          const old = active[turn] as number;
          const item = await this.takeFrom(old, partition);
          if (item) {
            turn++;
            return { done: false, value: item.value };
          }
          active.splice(turn, 1);
        }
        return DONE;
      },
    };
  }

  close(): Promise<void> {
    this.wake();
    return this.run.close();
  }

  /** The next item old shard `old` dealt to `partition`, or undefined at its end. */
  private async takeFrom(old: number, partition: number): Promise<{ value: unknown } | undefined> {
    const buffer = this.buffers[old]?.[partition] as unknown[];
    const channel = this.run.channels[old];
    if (!this.started) {
      // Every old shard opens its feed now, before any item is dealt: an old
      // shard fed by another repartition then knows all of its partitions.
      this.started = true;
      for (const each of this.run.channels) each.warm();
    }
    for (;;) {
      if (buffer.length > 0) {
        const value = buffer.shift();
        this.wake();
        return { value };
      }
      if (this.ended[old] || !channel) return undefined;
      const lagging = this.lagging(old, partition);
      if (lagging !== undefined) {
        await this.waitFor(partition);
        continue;
      }
      channel.topUp();
      const taken = channel.take();
      if (taken === END) {
        this.ended[old] = true;
      } else if (taken === WAIT) {
        await this.run.event();
      } else {
        const to = (this.dealt[old] as number) % this.numPartitions;
        this.dealt[old] = (this.dealt[old] as number) + 1;
        if (this.members.has(to)) {
          this.buffers[old]?.[to]?.push(taken);
          this.wake();
        }
      }
    }
  }

  /**
   * The partition that old shard `old` deals its next item to, when
   * `partition` must wait for it first: it is part of the run, has
   * {@link MAX_LAG} items waiting, is asked for items (so it will take them)
   * and is not itself waiting (so that two partitions never wait for each
   * other).
   */
  private lagging(old: number, partition: number): number | undefined {
    const to = (this.dealt[old] as number) % this.numPartitions;
    if (to === partition || !this.members.has(to) || this.blocked.has(to)) return undefined;
    if ((this.buffers[old]?.[to]?.length ?? 0) < MAX_LAG) return undefined;
    return this.members.get(to)?.() ? to : undefined;
  }

  /** Waits, as `partition`, until a buffer shrinks or any shard's state changes. */
  private async waitFor(partition: number): Promise<void> {
    this.blocked.add(partition);
    this.wake();
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push(resolve)),
        this.scope.changed(),
      ]);
    } finally {
      this.blocked.delete(partition);
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
