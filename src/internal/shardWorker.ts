/**
 * @internal
 * The shard worker's entry. threads.js exposes one control call, `start`,
 * which receives the shard's data port; everything after that is pariter's
 * own protocol on that port (see `shardRuntime`).
 */
import type { MessagePort } from 'node:worker_threads';
import { expose } from 'threads/worker';
import { runShard } from './shardRuntime';

expose({
  start(port: MessagePort): void {
    runShard(port);
  },
});
