'use strict';
/**
 * The raw `worker_threads` baselines: what the same data movement costs with
 * nothing but `postMessage`, written the way one would by hand.
 */
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const workerFile = (name) => path.join(__dirname, '..', 'workers', name);

/**
 * Pair 1: an async iterator of `n` numbers, each one requested with a
 * `postMessage` and answered by the worker, one round trip at a time.
 */
function rawPull(n) {
  const worker = new Worker(workerFile('raw-echo.js'));
  let resolve;
  let count = 0;
  worker.on('message', (value) => resolve({ done: false, value }));
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (count++ >= n) return worker.terminate().then(() => ({ done: true, value: undefined }));
      return new Promise((r) => {
        resolve = r;
        worker.postMessage(1);
      });
    },
    return() {
      return worker.terminate().then(() => ({ done: true, value: undefined }));
    },
  };
}

/**
 * Pair 2: `n` items from one worker in arrays of `batch`, `credit` arrays in
 * flight (a credit goes back as each array is taken), yielded one by one.
 */
async function* rawBatched(n, { objects = false, batch = 4096, credit = 4 } = {}) {
  const worker = new Worker(workerFile('raw-batch.js'), { workerData: { n, batch, objects } });
  const queue = [];
  let wake;
  worker.on('message', (items) => {
    queue.push(items);
    wake?.();
  });
  for (let i = 0; i < credit; i++) worker.postMessage(1);
  try {
    for (;;) {
      while (queue.length === 0) await new Promise((r) => (wake = r));
      wake = undefined;
      const items = queue.shift();
      if (items === null) return;
      worker.postMessage(1);
      for (const item of items) yield item;
    }
  } finally {
    await worker.terminate();
  }
}

/** Pair 5: spawns `count` workers that post at once; resolves at the first message. */
async function rawFirstMessage(count) {
  const workers = Array.from({ length: count }, () => new Worker(workerFile('raw-hello.js')));
  await new Promise((resolve) => workers.forEach((w) => w.once('message', resolve)));
  return () => Promise.all(workers.map((w) => w.terminate()));
}

module.exports = { rawPull, rawBatched, rawFirstMessage, workerFile };
