/**
 * @internal
 * The feed behind `repartition`: one run of the old shards per run of the new
 * ones. Each old shard deals its items round robin to the new partitions
 * (its k-th item to partition k mod n), and each partition reads the old
 * shards in turn, so what a partition holds and its order depend only on the
 * input. An old shard is read only when a partition needs its next item;
 * items it dealt to other partitions wait for them.
 */
import type { Puller } from './pullPipeline';
import { END, WAIT, type ReadOptions, type ShardSetup } from './shardChannel';
import { ShardRun } from './shardRun';

const DONE = { done: true, value: undefined } as const;

export class Repartitioner {
  private readonly run: ShardRun;
  /** `buffers[old][partition]`: items dealt to a partition, not yet taken. */
  private readonly buffers: unknown[][][];
  private readonly dealt: number[];
  private readonly ended: boolean[];

  constructor(
    oldShards: readonly ShardSetup[],
    private readonly numPartitions: number,
    options: ReadOptions,
  ) {
    this.run = new ShardRun(oldShards, options);
    this.buffers = oldShards.map(() => Array.from({ length: numPartitions }, () => []));
    this.dealt = oldShards.map(() => 0);
    this.ended = oldShards.map(() => false);
  }

  /** The feed of partition `partition`. */
  puller(partition: number): Puller<unknown> {
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
    return this.run.close();
  }

  /** The next item old shard `old` dealt to `partition`, or undefined at its end. */
  private async takeFrom(old: number, partition: number): Promise<{ value: unknown } | undefined> {
    const buffer = this.buffers[old]?.[partition] as unknown[];
    const channel = this.run.channels[old];
    for (;;) {
      if (buffer.length > 0) return { value: buffer.shift() };
      if (this.ended[old] || !channel) return undefined;
      channel.topUp();
      const taken = channel.take();
      if (taken === END) {
        this.ended[old] = true;
      } else if (taken === WAIT) {
        await this.run.event();
      } else {
        const to = (this.dealt[old] as number) % this.numPartitions;
        this.dealt[old] = (this.dealt[old] as number) + 1;
        this.buffers[old]?.[to]?.push(taken);
      }
    }
  }
}
