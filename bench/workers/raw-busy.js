'use strict';
// Pair 3's ceiling: the items from..to-1 in one loop, then their checksum.
const { parentPort, workerData } = require('node:worker_threads');
const { busy } = require('../lib/work');

const { from, to, iters } = workerData;
let sum = 0;
for (let x = from; x < to; x++) sum += busy(x, iters);
parentPort.postMessage(sum);
