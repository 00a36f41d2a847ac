'use strict';
// Pair 1: answers each request with the next number, one at a time.
const { parentPort } = require('node:worker_threads');

let next = 0;
parentPort.on('message', () => parentPort.postMessage(next++));
