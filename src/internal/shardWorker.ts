/**
 * @internal
 * The shard worker's entry: it exposes one control call, `start`, which
 * receives the shard's data port; everything after that is pariter's own
 * protocol on that port (see `shardRuntime`).
 */
import { exposeWorker } from './workerHost';

exposeWorker();
