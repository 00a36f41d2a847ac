/**
 * @internal
 * The shard worker's entry. The shard's data port comes with the worker's
 * `workerData`, so the shard starts serving as soon as this module has
 * loaded, with no control call on the way; everything on that port is
 * pariter's own protocol (see `shardRuntime`). threads.js's side of the
 * worker (its handshake and control calls) is exposed right after.
 */
import { workerData } from 'node:worker_threads';
import type { ShardWorkerData } from './protocol';
import { runShard } from './shardRuntime';

runShard((workerData as ShardWorkerData).port);
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require('./workerHost') as typeof import('./workerHost')).exposeWorker();
