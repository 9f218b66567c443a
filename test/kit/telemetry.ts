// A throwaway mosquitto on loopback, and a throwaway PKI, for the telemetry tests and the lab.
// Not used by the daemon. Each broker gets its own config file in its own directory and binds
// 127.0.0.1 only.
import { randomBytes } from 'node:crypto';
import type { MqttConfig } from '../../firmware/telemetry/types.ts';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface BrokerOptions {
  port?: number;
  dir?: string; // reuse a directory (persistence across restarts)
  passwordFile?: string; // mosquitto_passwd file; anonymous clients are then refused
  tls?: { ca: string; cert: string; key: string; requireClientCert?: boolean };
  maxPacketSize?: number;
  maxTopicAlias?: number;
  persistence?: boolean;
  extra?: string[]; // more config lines
}

export class Broker {
  private proc: ChildProcess | null = null;
  log = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly opts: BrokerOptions,
    private ownDir: boolean,
  ) {}

  get url(): string {
    return `${this.opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  static async start(opts: BrokerOptions = {}): Promise<Broker> {
    const port = opts.port ?? (await freePort());
    const ownDir = !opts.dir;
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tandem-mqtt-'));
    const b = new Broker(port, dir, opts, ownDir);
    await b.launch();
    return b;
  }

  private async launch(): Promise<void> {
    const o = this.opts;
    const lines = [
      `listener ${this.port} 127.0.0.1`,
      'user root', // do not drop to "mosquitto": files here are root's
      `allow_anonymous ${o.passwordFile ? 'false' : 'true'}`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      `persistence ${o.persistence ? 'true' : 'false'}`,
      `persistence_location ${this.dir}/`,
      'max_queued_messages 10000',
    ];
    if (o.passwordFile) lines.push(`password_file ${o.passwordFile}`);
    if (o.tls) {
      lines.push(
        `cafile ${o.tls.ca}`,
        `certfile ${o.tls.cert}`,
        `keyfile ${o.tls.key}`,
        `require_certificate ${o.tls.requireClientCert ? 'true' : 'false'}`,
      );
    }
    if (o.maxPacketSize) lines.push(`max_packet_size ${o.maxPacketSize}`);
    if (o.maxTopicAlias !== undefined) lines.push(`max_topic_alias ${o.maxTopicAlias}`);
    lines.push(...(o.extra ?? []));
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => {
      this.log += d;
    });
    proc.stderr!.on('data', (d) => {
      this.log += d;
    });
    this.proc = proc;
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited ${proc.exitCode}: ${this.log}`);
      if (await canConnect(this.port)) return;
      await sleep(25);
    }
    this.kill('SIGKILL');
    throw new Error(`mosquitto did not listen on ${this.port} within 5 s: ${this.log}`);
  }

  pause(): void {
    this.proc?.kill('SIGSTOP');
  }
  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  private kill(sig: NodeJS.Signals): void {
    try {
      this.proc?.kill('SIGCONT');
      this.proc?.kill(sig);
    } catch {
      /* gone */
    }
  }

  /** Stops the broker (SIGTERM, so persistence is saved), bounded to 3 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) {
      this.proc = null;
      return;
    }
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(t);
    this.proc = null;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops and removes the directory the broker created. */
  async close(): Promise<void> {
    await this.stop();
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** mosquitto_passwd file with one user. */
export function makePasswordFile(path: string, user: string, password: string): void {
  execFileSync('mosquitto_passwd', ['-c', '-b', path, user, password], { stdio: 'ignore' });
}

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate (EC P-256). */
export function makeTestPki(dir: string): TestPki {
  const f = (n: string) => join(dir, n);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=tandem test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  const leaf = (name: string, cn: string, ext: string) => {
    ossl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    writeFileSync(f(`${name}.ext`), ext);
    ossl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`),
    );
  };
  leaf('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'tandem-node', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
  };
}

/** Polls `fn` every 20 ms until it returns something truthy; throws after `timeoutMs`. */
export async function waitUntil<T>(what: string, fn: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Telemetry settings for tests: short backoffs and timeouts, a random client id. */
export function testMqttConfig(url: string, over: Partial<MqttConfig> = {}): MqttConfig {
  return {
    url,
    clientId: `tandem-${randomBytes(3).toString('hex')}`,
    topicPrefix: 'tandem',
    healthIntervalMs: 200,
    protocolVersion: 5,
    offlineQueue: 100,
    backoffMinMs: 50,
    backoffMaxMs: 500,
    connectTimeoutMs: 2_000,
    keepaliveS: 5,
    ...over,
  };
}
