'use strict';
// Pair 2: posts the items 0..n-1 in arrays of `batch` items, one array per credit.
const { parentPort, workerData } = require('node:worker_threads');

const { n, batch, objects } = workerData;
let next = 0;
parentPort.on('message', () => {
  if (next >= n) {
    parentPort.postMessage(null);
    return;
  }
  const end = Math.min(n, next + batch);
  const items = new Array(end - next);
  for (let i = 0; next < end; i++, next++) {
    items[i] = objects ? { id: next, name: 'item' + next, value: next * 0.5 } : next;
  }
  parentPort.postMessage(items);
});
