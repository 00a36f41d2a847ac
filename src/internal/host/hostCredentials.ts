/**
 * @internal
 * The credentials a host listens with: mutual TLS when given; on a
 * non-loopback address without it, a refusal, or with `insecure` a warning
 * on each start (a host runs whatever code it is sent).
 */
import type * as grpc from '@grpc/grpc-js';
import { ArgumentTypeError } from '../../errors';
import { isLoopback, knownKeys, pem } from '../common/remoteOptions';
import { loadGrpc } from '../wire/service';

/** What the credentials depend on (a host's options). */
export interface CredentialOptions {
  readonly listen: string;
  readonly tls?: { readonly cert: unknown; readonly key: unknown; readonly clientCa: unknown };
  readonly insecure?: boolean;
}

/**
 * @param host - the host part of `options.listen`
 * @throws ArgumentTypeError on a non-loopback address without `tls` or `insecure`
 */
export function hostCredentials(options: CredentialOptions, host: string): grpc.ServerCredentials {
  const { tls, insecure = false } = options;
  const grpc = loadGrpc();
  if (tls) {
    knownKeys(tls, ['cert', 'key', 'clientCa'], 'tls');
    return grpc.ServerCredentials.createSsl(
      Buffer.from(pem('tls.clientCa', tls.clientCa)),
      [
        {
          cert_chain: Buffer.from(pem('tls.cert', tls.cert)),
          private_key: Buffer.from(pem('tls.key', tls.key)),
        },
      ],
      true,
    );
  }
  if (!isLoopback(host)) {
    if (!insecure) {
      throw new ArgumentTypeError(
        `Expected \`tls\` (mutual TLS: cert, key, clientCa) to listen on ${options.listen}, a non-loopback address, got none: a host runs whatever code it is sent. Give --tls-cert, --tls-key and --client-ca, listen on 127.0.0.1, or pass --insecure (\`insecure: true\`) on a network you trust`,
      );
    }
    process.emitWarning(
      `pariter-host listens on ${options.listen} without TLS (--insecure): anyone who can reach it can run code on this machine`,
      { code: 'PARITER_INSECURE_HOST' },
    );
  }
  return grpc.ServerCredentials.createInsecure();
}
