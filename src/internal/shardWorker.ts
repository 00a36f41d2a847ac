/**
 * @internal
 * The shard worker's entry. The shard's data port comes with the worker's
 * `workerData`, so the shard starts serving as soon as this module has
 * loaded, with no control call on the way; everything on that port is
 * pariter's own protocol (see `shardRuntime`).
 *
 * threads.js's side of the worker (its handshake and control calls) is
 * loaded and exposed in the turn after the shard's plan arrives: the plan
 * and the first request are queued together before the worker starts, so
 * the first answer is computed and sent before threads.js is loaded (about
 * 10 ms), and the handshake still comes right after.
 */
import { workerData } from 'node:worker_threads';
import type { ShardWorkerData } from './protocol';
import { runShard } from './shardRuntime';

function exposeControls(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./workerHost') as typeof import('./workerHost')).exposeWorker();
}

runShard((workerData as ShardWorkerData).port, undefined, () => setImmediate(exposeControls));
