'use strict';
// Pair 5: says hello as soon as it runs.
require('node:worker_threads').parentPort.postMessage('hello');
