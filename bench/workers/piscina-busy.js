'use strict';
// Pair 3: one item of busy work per task.
const { busy } = require('../lib/work');

module.exports = ({ x, iters }) => busy(x, iters);
