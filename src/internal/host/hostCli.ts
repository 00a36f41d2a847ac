/**
 * @internal
 * The `pariter-host` command: parses its flags, starts a host with
 * `startHost`, prints where it listens, and stops it on SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startHost, type HostOptions } from '../../host';

const USAGE = `Usage: pariter-host --listen HOST:PORT [options]

Serves pariter shards and actors to other machines over gRPC.

  --listen HOST:PORT         address to listen on (port 0: any free port)
  --tls-cert FILE            this host's certificate (PEM)
  --tls-key FILE             this host's private key (PEM)
  --client-ca FILE           CA that signs the clients' certificates (mutual TLS)
  --insecure                 allow a non-loopback address without TLS
  --max-message-bytes N      largest message in bytes (default 4194304)
  --keepalive-ms N           keepalive ping interval in ms (default 10000)
  --max-old-space-mb N       heap limit of each shard thread, in MB
  --help                     this text

A host runs whatever code its clients send: on an address other than
loopback it requires mutual TLS (--tls-cert, --tls-key, --client-ca)
unless --insecure is given.`;

function fail(message: string): never {
  process.stderr.write(`pariter-host: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    fail(`--${flag} expects a positive integer, got '${value}'`);
  return n;
}

/** Parses the flags into `startHost` options. */
export function parseHostArgs(argv: readonly string[]): HostOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        listen: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'client-ca': { type: 'string' },
        insecure: { type: 'boolean' },
        'max-message-bytes': { type: 'string' },
        'keepalive-ms': { type: 'string' },
        'max-old-space-mb': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) return undefined;
  if (values.listen === undefined) fail('--listen HOST:PORT is required');
  const files = [values['tls-cert'], values['tls-key'], values['client-ca']];
  const given = files.filter((file) => file !== undefined).length;
  if (given !== 0 && given !== 3) fail('--tls-cert, --tls-key and --client-ca go together');
  const read = (file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      fail(`cannot read ${file}: ${(error as Error).message}`);
    }
  };
  const [cert, key, clientCa] = files;
  const maxMessageBytes = integer('max-message-bytes', values['max-message-bytes']);
  const keepaliveMs = integer('keepalive-ms', values['keepalive-ms']);
  const maxOldGenerationSizeMb = integer('max-old-space-mb', values['max-old-space-mb']);
  return {
    listen: values.listen,
    ...(cert && key && clientCa
      ? { tls: { cert: read(cert), key: read(key), clientCa: read(clientCa) } }
      : {}),
    ...(values.insecure ? { insecure: true } : {}),
    ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
    ...(keepaliveMs === undefined ? {} : { keepaliveMs }),
    ...(maxOldGenerationSizeMb === undefined
      ? {}
      : { pool: { resourceLimits: { maxOldGenerationSizeMb } } }),
  };
}

/** Runs `pariter-host` with `argv` (the flags). */
export async function main(argv: readonly string[]): Promise<void> {
  const options = parseHostArgs(argv);
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let host;
  try {
    host = await startHost(options);
  } catch (error) {
    process.stderr.write(`pariter-host: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const running = host;
  process.stdout.write(`pariter-host listening on ${running.address}\n`);
  const stop = (signal: NodeJS.Signals): void => {
    process.stdout.write(`pariter-host: ${signal}, stopping\n`);
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
