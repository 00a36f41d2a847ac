'use strict';
/**
 * The raw gRPC baseline of pair 7, run as a child process: the same
 * `@grpc/grpc-js` service style as pariter's hosts (hand-written service,
 * `v8.serialize` messages), with nothing but the data movement:
 * - `Pull` (bidirectional): each request message is answered by one number;
 * - `Stream` (server streaming): `n` numbers in arrays of `batch`, as fast as
 *   HTTP/2 flow control lets them go.
 * Prints `listening on 127.0.0.1:PORT`.
 */
const grpc = require('@grpc/grpc-js');
const v8 = require('node:v8');

const encoded = (bytes) => bytes;
const decode = (bytes) => v8.deserialize(bytes);
const method = (name, requestStream) => ({
  path: `/raw.Bench/${name}`,
  requestStream,
  responseStream: true,
  requestSerialize: encoded,
  requestDeserialize: decode,
  responseSerialize: encoded,
  responseDeserialize: decode,
});
const service = { pull: method('Pull', true), stream: method('Stream', false) };

if (require.main === module) {
  const server = new grpc.Server();
  server.addService(service, {
    pull(call) {
      let next = 0;
      call.on('data', () => call.write(v8.serialize(next++)));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    stream(call) {
      const { n, batch } = call.request;
      let sent = 0;
      const more = () => {
        while (sent < n) {
          const size = Math.min(batch, n - sent);
          const items = Array.from({ length: size }, (_, i) => sent + i);
          sent += size;
          if (!call.write(v8.serialize(items))) return void call.once('drain', more);
        }
        call.end();
      };
      call.on('error', () => undefined);
      more();
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    console.log(`listening on 127.0.0.1:${port}`);
  });
  process.on('SIGTERM', () => server.forceShutdown());
}

module.exports = { service, encode: (value) => v8.serialize(value) };
