/**
 * @internal
 * The entry of a pooled shard worker. Its first shard's data port comes with
 * the worker's `workerData`, so that shard starts serving as soon as this
 * module has loaded, with no control call on the way; the ports of the
 * shards it serves later are posted to it (`attach`). Everything on a
 * shard's port is pariter's own protocol (see `shardRuntime`); the runtime,
 * and what the shards' functions load, stay loaded from one run to the next.
 *
 * threads.js's side of the worker (its handshake and control calls) is
 * loaded and exposed in the turn after the first shard's plan arrives: the
 * plan and the first request are queued together before the worker starts,
 * so the first answer is computed and sent before threads.js is loaded
 * (about 10 ms), and the handshake still comes right after. A worker with no
 * first shard, or whose first shard ends before its plan came, exposes them
 * at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ShardWorkerData, ToPoolThread } from '../wire/protocol';
import { runShard } from './shardRuntime';

let exposed = false;
function exposeControls(): void {
  if (exposed) return;
  exposed = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./workerHost') as typeof import('./workerHost')).exposeWorker();
}

parentPort?.on('message', (message: ToPoolThread | undefined) => {
  if (message?.type === 'attach') runShard(message.port);
});

const { port } = workerData as ShardWorkerData;
if (port) {
  runShard(port, undefined, () => setImmediate(exposeControls));
  port.once('close', () => setImmediate(exposeControls));
} else {
  exposeControls();
}
