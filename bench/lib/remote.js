'use strict';
/**
 * Pair 10's processes on loopback: pariter hosts (`bin/pariter-host.js`) and
 * the raw gRPC server, each a child process that prints where it listens;
 * and the raw gRPC client side.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const { service, encode } = require('../workers/raw-grpc-server');

const ROOT = path.join(__dirname, '..', '..');

/** Starts `node script ...args`; resolves with its address once it listens. */
function listening(script, args = [], env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      const match = /listening on (\S+:\d+)/.exec(out);
      if (match) resolve({ address: match[1], stop: () => stop(child) });
    });
    child.once('exit', (code) =>
      reject(new Error(`${script} exited with ${code} before listening`)),
    );
  });
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

/** A pariter host on a free loopback port. */
const startHost = (env) =>
  listening(path.join(ROOT, 'bin', 'pariter-host.js'), ['--listen', '127.0.0.1:0'], env);

/** The raw gRPC server. */
const startRawServer = () => listening(path.join(__dirname, '..', 'workers', 'raw-grpc-server.js'));

const RawClient = grpc.makeGenericClientConstructor(service, 'Bench');

/** A raw client of `address`; `close()` when done. */
function rawClient(address) {
  return new RawClient(address, grpc.credentials.createInsecure());
}

/** `n` numbers, each one requested with a message and answered by the server, one round trip at a time. */
async function* rawGrpcPull(client, n) {
  const call = client.pull();
  let resolve;
  call.on('data', (value) => resolve(value));
  call.on('error', () => undefined);
  const request = encode(1);
  try {
    for (let i = 0; i < n; i++) {
      const next = new Promise((r) => (resolve = r));
      call.write(request);
      yield await next;
    }
  } finally {
    call.end();
  }
}

/** `n` numbers streamed by the server in arrays of `batch`, yielded one by one. */
async function* rawGrpcStream(client, n, batch = 1024) {
  const call = client.stream(encode({ n, batch }));
  for await (const items of call) for (const item of items) yield item;
}

module.exports = { startHost, startRawServer, rawClient, rawGrpcPull, rawGrpcStream };
