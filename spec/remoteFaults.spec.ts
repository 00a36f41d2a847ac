/**
 * Faults of shards on other machines, with `pariter-host` child processes
 * on 127.0.0.1: a host killed (SIGKILL) or frozen (SIGSTOP) mid-run, a host
 * restarted between runs, a consumer process killed mid-run, an item above
 * the message limit, and mutual TLS.
 *
 * Each fault ends in the documented outcome: a `ShardError` whose `host`
 * names the host, within twice the keepalive interval (plus a margin for a
 * loaded machine), with the items before it in order, none lost or
 * repeated; or, for a dead consumer, the host's threads back to their
 * baseline.
 *
 * Serial: hosts are killed and frozen.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ArgumentTypeError,
  ShardError,
  cluster,
  fromItems,
  fromRange,
  startHost,
  type Cluster,
  type LocalIterator,
} from 'pariter';
import { runNode } from './helpers/child';
import { delay, within } from './helpers/hang';
import {
  processThreads,
  processThreadsSettle,
  startHostProcess,
  stopAllHosts,
  stopHost,
  type HostProcess,
} from './helpers/hosts';
import { FIXTURES } from './helpers/paths';
import { hostCredentials } from '../src/internal/host/hostCredentials';

const KEEPALIVE_MS = 1000;
/** The documented bound, with a margin for a loaded machine. */
const NOTICE_CAP_MS = 2 * KEEPALIVE_MS + 3000;
/** A host's pool keeps an idle thread this long (the default `idleTimeoutMs`). */
const POOL_IDLE_MS = 2000;

const clusters: Cluster[] = [];
function connect(addresses: string[], options: Parameters<typeof cluster>[1] = {}): Cluster {
  const c = cluster(addresses, { keepaliveMs: KEEPALIVE_MS, ...options });
  clusters.push(c);
  return c;
}

test.afterEach.always(async () => {
  await Promise.all(clusters.splice(0).map((c) => c.close()));
  await stopAllHosts();
});

/** Reads `local` until it fails; the items before, and the error. */
async function readUntilFailure(
  local: LocalIterator<number>,
  onItem: (count: number) => void,
): Promise<{ items: number[]; error: unknown }> {
  const items: number[] = [];
  try {
    for await (const x of local) {
      items.push(x);
      onItem(items.length);
    }
  } catch (error) {
    return { items, error };
  }
  return { items, error: undefined };
}

/** Items of an endless `fromRange(n, 1, repeat)` read so far: 0, 1, 2, … with nothing lost or repeated. */
function assertContiguous(t: ExecutionContext, items: number[], n: number): void {
  items.forEach((x, i) => t.is(x, i % n, `item ${i}`));
}

test.serial('a host killed mid-run: ShardError naming it, nothing lost or repeated', async (t) => {
  const host = await startHostProcess();
  const c = connect([host.address]);
  const local = fromRange(100, { numShards: 1, repeat: true }).runOn(c).gatherSync();
  let killedAt = 0;
  const { items, error } = await within(
    readUntilFailure(local, (count) => {
      if (count === 200) {
        killedAt = Date.now();
        process.kill(host.pid, 'SIGKILL');
      }
    }),
    'a run on a killed host',
    NOTICE_CAP_MS + 5000,
  );
  t.true(error instanceof ShardError, String(error));
  t.is((error as ShardError).host, host.address);
  t.true(Date.now() - killedAt < NOTICE_CAP_MS, `noticed after ${Date.now() - killedAt} ms`);
  t.true(items.length >= 200);
  assertContiguous(t, items, 100);
});

test.serial('a host frozen mid-run (SIGSTOP): ShardError within 2 × keepaliveMs', async (t) => {
  const [frozen, other] = await Promise.all([startHostProcess(), startHostProcess()]);
  const c = connect([frozen!.address, other!.address]);
  const local = fromRange(200, { numShards: 2, repeat: true }).runOn(c).gatherSync();
  let frozenAt = 0;
  const { items, error } = await within(
    readUntilFailure(local, (count) => {
      if (count === 100) {
        frozenAt = Date.now();
        process.kill(frozen!.pid, 'SIGSTOP');
      }
    }),
    'a run on a frozen host',
    NOTICE_CAP_MS + 5000,
  );
  const noticedAfter = Date.now() - frozenAt;
  t.true(error instanceof ShardError, String(error));
  t.is((error as ShardError).host, frozen!.address);
  t.is((error as ShardError).shard, 0);
  t.true(noticedAfter < NOTICE_CAP_MS, `noticed after ${noticedAfter} ms`);
  // gatherSync alternates: shard 0 gives 0, 1, 2, …; shard 1 gives 100, 101, …
  const shard0 = items.filter((x) => x < 100);
  const shard1 = items.filter((x) => x >= 100);
  assertContiguous(t, shard0, 100);
  assertContiguous(
    t,
    shard1.map((x) => x - 100),
    100,
  );
});

test.serial('a host restarted between runs: the next run connects to the new one', async (t) => {
  const first = await startHostProcess();
  const c = connect([first.address], { connectTimeoutMs: 5000 });
  t.deepEqual(await within(fromRange(4).runOn(c).take(4), 'first run'), [0, 2, 1, 3]);
  await stopHost(first);
  // A run while it is down fails with the host's name, promptly.
  const down = await t.throwsAsync(within(fromRange(4).runOn(c).take(4), 'run on a stopped host'), {
    instanceOf: ShardError,
  });
  t.is(down?.host, first.address);
  const second = await startHostProcess([], first.address);
  t.is(second.address, first.address);
  t.deepEqual(await within(fromRange(4).runOn(c).take(4), 'run after restart'), [0, 2, 1, 3]);
});

test.serial("a consumer killed mid-run: the host's threads return to their baseline", async (t) => {
  const host = await startHostProcess(['--keepalive-ms', String(KEEPALIVE_MS)]);
  const c = connect([host.address]);
  await within(fromRange(2).runOn(c).take(2), 'warm-up run');
  await c.close();
  // The host's pool keeps the warm-up's threads idle for its idleTimeoutMs
  // (2000 ms by default), then retires them: the baseline is after that.
  await delay(POOL_IDLE_MS + 500);
  const baseline = await processThreadsSettle(host.pid, 0, 500);
  let during = 0;
  const outcome = await runNode([path.join(FIXTURES, 'remote-consumer.js'), host.address], {
    onStdout: (stdout, child) => {
      if (stdout.includes('ready') && during === 0) {
        during = processThreads(host.pid);
        child.kill('SIGKILL');
      }
    },
  });
  t.false(outcome.hung, outcome.stderr);
  t.is(outcome.signal, 'SIGKILL', outcome.stderr);
  t.true(
    during >= baseline + 2,
    `the two shards ran in threads of the host (${during} vs ${baseline})`,
  );
  // The host notices the lost consumer, stops the run, and its pool retires
  // the two threads once idle: a shard still running would keep its thread.
  const after = await processThreadsSettle(host.pid, baseline, NOTICE_CAP_MS + POOL_IDLE_MS);
  t.true(after <= baseline, `host threads ${after}, baseline ${baseline}`);
});

test.serial(
  'an item above the message limit: ShardError naming the limit and the option',
  async (t) => {
    const limit = 100_000;
    const host = await startHostProcess(['--max-message-bytes', String(limit)]);
    const c = connect([host.address], { maxMessageBytes: limit });
    // Batches above the limit are cut into messages that fit: nothing lost.
    const small = await within(
      fromRange(2000, 1)
        .forEach((x) => `${x}`.padStart(200, '.'))
        .runOn(c)
        .gatherAsync({ batchMs: 50, numAsync: 2 })
        .take(2000),
      'batched items near the limit',
    );
    t.is(small.length, 2000);
    t.deepEqual(
      small.map((s) => Number(s.replace(/^\.+/, ''))),
      Array.from({ length: 2000 }, (_, i) => i),
    );
    const big = fromRange(3, 1)
      .forEach((x) => (x === 1 ? 'x'.repeat(2 * limit) : x), { context: { limit } })
      .runOn(c);
    const items: unknown[] = [];
    const error = await t.throwsAsync(
      within(
        (async () => {
          for await (const x of big.gatherSync()) items.push(x);
        })(),
        'an oversized item',
      ),
      { instanceOf: ShardError },
    );
    t.deepEqual(items, [0]);
    t.is(error?.host, host.address);
    t.regex(error!.message, new RegExp(`${limit} bytes`));
    t.regex(error!.message, /maxMessageBytes/);
    t.regex(error!.message, /--max-message-bytes/);
    // A plan above the limit (sent by this process) fails the same way.
    const plan = await t.throwsAsync(
      within(
        fromItems([new Uint8Array(2 * limit)], 1)
          .runOn(c)
          .take(1),
        'an oversized plan',
      ),
      { instanceOf: ShardError },
    );
    t.regex(String((plan?.cause as Error).message), /maxMessageBytes/);
  },
);

// --- TLS --------------------------------------------------------------------

const openssl = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((p) => existsSync(p));
const tlsTest = openssl ? test.serial : test.serial.skip;

/** A CA, a host certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCertificates(dir: string, name: string): Record<string, string> {
  const run = (...args: string[]): void =>
    void execFileSync(openssl!, args, { cwd: dir, stdio: 'ignore' });
  const file = (f: string): string => path.join(dir, `${name}-${f}`);
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name} CA`,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  for (const [who, ext] of [
    ['host', 'subjectAltName=IP:127.0.0.1'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    run(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name} ${who}`,
      '-keyout',
      file(`${who}.key`),
      '-out',
      file(`${who}.csr`),
    );
    const extFile = file(`${who}.ext`);
    writeFileSync(extFile, `${ext}\n`);
    run(
      'x509',
      '-req',
      '-in',
      file(`${who}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      extFile,
      '-out',
      file(`${who}.crt`),
    );
  }
  const read = (f: string): string => readFileSync(file(f), 'utf8');
  return {
    caPath: file('ca.crt'),
    hostCert: file('host.crt'),
    hostKey: file('host.key'),
    ca: read('ca.crt'),
    cert: read('client.crt'),
    key: read('client.key'),
  };
}

tlsTest(
  'mutual TLS: a client with a valid certificate runs; without one, or with a stranger, is refused',
  async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pariter-tls-'));
    try {
      const good = makeCertificates(dir, 'good');
      const stranger = makeCertificates(dir, 'stranger');
      const host: HostProcess = await startHostProcess([
        '--tls-cert',
        good.hostCert!,
        '--tls-key',
        good.hostKey!,
        '--client-ca',
        good.caPath!,
      ]);
      const run = (c: Cluster): Promise<number[]> =>
        within(fromRange(4).runOn(c).take(4), 'a TLS run');
      const trusted = connect([host.address], {
        tls: { ca: good.ca!, cert: good.cert!, key: good.key! },
      });
      t.deepEqual(await run(trusted), [0, 2, 1, 3]);
      for (const [what, tls] of [
        ['no client certificate', { ca: good.ca! }],
        ['a certificate of another CA', { ca: good.ca!, cert: stranger.cert!, key: stranger.key! }],
      ] as const) {
        const refused = connect([host.address], { tls, connectTimeoutMs: 3000 });
        const error = await t.throwsAsync(run(refused), { instanceOf: ShardError }, what);
        t.is(error?.host, host.address, what);
      }
      const plain = connect([host.address], { connectTimeoutMs: 3000 });
      await t.throwsAsync(run(plain), { instanceOf: ShardError }, 'a plaintext client');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test.serial('a non-loopback address needs mutual TLS, or insecure (which warns)', async (t) => {
  await t.throwsAsync(startHost({ listen: '0.0.0.0:0' }), {
    instanceOf: ArgumentTypeError,
    message: /--insecure/,
  });
  const warnings: Error[] = [];
  const onWarning = (w: Error): number => warnings.push(w);
  process.on('warning', onWarning);
  try {
    // The credentials of a non-loopback host, made without listening on it.
    t.truthy(hostCredentials({ listen: '192.0.2.1:7100', insecure: true }, '192.0.2.1'));
    await delay(10);
  } finally {
    process.off('warning', onWarning);
  }
  t.is(warnings.length, 1);
  t.is((warnings[0] as Error & { code?: string }).code, 'PARITER_INSECURE_HOST');
  const cli = await runNode([
    path.join(__dirname, '..', 'bin', 'pariter-host.js'),
    '--listen',
    '0.0.0.0:0',
  ]);
  t.is(cli.code, 1);
  t.regex(cli.stderr, /mutual TLS/);
});
