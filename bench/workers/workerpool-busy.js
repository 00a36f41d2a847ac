'use strict';
// Pair 3: one item of busy work per call.
const workerpool = require('workerpool');
const { busy } = require('../lib/work');

workerpool.worker({ busy });
