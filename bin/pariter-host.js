#!/usr/bin/env node
'use strict';
// pariter-host: serves pariter shards and actors to other machines over gRPC.
// Run `npm run build` first when working from a clone.
require('../dist/src/internal/host/hostCli.js').main(process.argv.slice(2));
