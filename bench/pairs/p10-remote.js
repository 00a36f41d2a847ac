'use strict';
/**
 * Pair 10 — shards on other machines, on loopback: pariter hosts
 * (`pariter-host` child processes) against raw `@grpc/grpc-js` (a child
 * process with the same service style and `v8.serialize` messages) in the
 * same run.
 * - strict pull: `fromRange(n, 1).runOn(c).gatherSync()` against one raw
 *   bidirectional round trip per item; µs per item after the first;
 * - batched throughput: `gatherAsync({ batchMs: 10, numAsync: 4 })` over 2
 *   shards on one host against raw server streaming of arrays of 1,024;
 *   items/s after the first;
 * - CPU-bound: `forEach` of ~1 ms per item on two hosts (one shard, so one
 *   thread, each) against the same on two local shards; whole job time.
 */
const { cluster, fromRange, stateful } = require('pariter');
const { Pair, afterFirst, now, repeat, inTurn } = require('../lib/common');
const work = require('../lib/work');
const {
  startHost,
  startRawServer,
  rawClient,
  rawGrpcPull,
  rawGrpcStream,
} = require('../lib/remote');

const OPTIONS = { batchMs: 10, numAsync: 4 };

module.exports = async function remote({ quick, reps }) {
  const n = {
    pull: quick ? 2000 : 10000,
    stream: quick ? 100000 : 500000,
    cpu: quick ? 300 : 1000,
  };
  const { iters, msPerItem } = work.calibrate(1);
  const env = { ...process.env };
  const pair = new Pair(10, 'remote shards (gRPC, loopback)', 'pariter hosts vs raw @grpc/grpc-js');
  pair.params = {
    n,
    options: OPTIONS,
    rawBatch: 1024,
    iters,
    calibratedMsPerItem: +msPerItem.toFixed(3),
  };
  const processes = await Promise.all([startHost(env), startHost(env), startRawServer()]);
  const [h0, h1, raw] = processes;
  const one = cluster([h0.address]);
  const two = cluster([h0.address, h1.address]);
  const client = rawClient(raw.address);
  // `iters` goes in `context`: a pooled thread started by an earlier pair
  // would not see an environment variable set now.
  const workPath = require.resolve('../lib/work');
  const busyFn = stateful(() => {
    const { busy } = require(workPath); // once per shard
    return (x) => busy(x, iters);
  });
  const busyOptions = { context: { workPath, iters } };
  try {
    const PULL = 'pariter runOn strict pull';
    const RAW_PULL = 'raw gRPC round trip';
    const BATCH = 'pariter runOn gatherAsync batched';
    const RAW_STREAM = 'raw gRPC stream of arrays of 1024';
    const REMOTE_CPU = 'forEach 1 ms/item, 2 hosts x 1 thread';
    const LOCAL_CPU = 'forEach 1 ms/item, 2 local shards';
    const perItem = async (metric, iterable, count) => {
      const { wallMs, count: c } = await afterFirst(iterable, count);
      pair.record(metric, 'µs/item', (wallMs * 1000) / c);
    };
    const rate = async (metric, iterable, count) => {
      const { wallMs, count: c } = await afterFirst(iterable, count);
      pair.record(metric, 'items/s', c / (wallMs / 1000));
    };
    const job = async (metric, it) => {
      const start = now();
      let sum = 0;
      for await (const h of it.gatherAsync({ numAsync: 4 })) sum += h;
      pair.record(metric, 'ms', now() - start);
      return sum;
    };
    // Warm up: connections, the hosts' first threads, the JIT.
    await fromRange(200, 1).runOn(two).take(200);
    await perItem(RAW_PULL, rawGrpcPull(client, 200), 200);
    await repeat(reps, (rep) =>
      inTurn(rep, [
        [PULL, () => perItem(PULL, fromRange(n.pull, 1).runOn(one).gatherSync(), n.pull)],
        [RAW_PULL, () => perItem(RAW_PULL, rawGrpcPull(client, n.pull), n.pull)],
        [
          BATCH,
          () => rate(BATCH, fromRange(n.stream, 2).runOn(one).gatherAsync(OPTIONS), n.stream),
        ],
        [RAW_STREAM, () => rate(RAW_STREAM, rawGrpcStream(client, n.stream), n.stream)],
        [
          REMOTE_CPU,
          () => job(REMOTE_CPU, fromRange(n.cpu, 2).forEach(busyFn, busyOptions).runOn(two)),
        ],
        [LOCAL_CPU, () => job(LOCAL_CPU, fromRange(n.cpu, 2).forEach(busyFn, busyOptions))],
      ]),
    );
    for (const metric of [PULL, RAW_PULL, BATCH, RAW_STREAM, REMOTE_CPU, LOCAL_CPU]) {
      pair.metrics[metric].runs.splice(0, pair.metrics[metric].runs.length - reps);
    }
    pair.ratio(
      'strict pull: pariter / raw round trip',
      PULL,
      RAW_PULL,
      { op: '<=', value: 1.3 },
      { primary: true },
    );
    pair.ratio(
      'batched: pariter / raw stream',
      BATCH,
      RAW_STREAM,
      { op: '>=', value: 0.7 },
      { primary: true },
    );
    pair.ratio(
      'CPU-bound: local time / remote time',
      LOCAL_CPU,
      REMOTE_CPU,
      { op: '>=', value: 0.9 },
      { primary: true },
    );
    return pair.finish();
  } finally {
    client.close();
    await Promise.all([one.close(), two.close()]);
    await Promise.all(processes.map((p) => p.stop()));
  }
};
