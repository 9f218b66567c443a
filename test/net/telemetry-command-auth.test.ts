// Who may command a node over MQTT (issue #12), against a real mosquitto: the fleet ACL shipped
// in packaging/mosquitto/tandem-fleet.acl, and the node's own checks behind it (allowlist,
// retained commands, response topics, request-id pre-emption, signed commands).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signCommand } from '../../firmware/telemetry/command-auth.ts';
import { Telemetry } from '../../firmware/telemetry/telemetry.ts';
import type { MqttConfig, StatusSnapshot, TelemetryHost } from '../../firmware/telemetry/types.ts';
import { exampleInstanceStatus } from '../kit/status.ts';
import { Broker, sleep, testMqttConfig, waitUntil } from '../kit/telemetry.ts';

const ACL = fileURLToPath(new URL('../../packaging/mosquitto/tandem-fleet.acl', import.meta.url));
const PASSWORD = 'pw-test-only';

class Host implements TelemetryHost {
  version = '0.1.0';
  bootId = randomBytes(8).toString('hex');
  executed: { name: string; args: Record<string, unknown> }[] = [];
  constructor(readonly node: string) {}
  slot() {
    return 'a';
  }
  status(): StatusSnapshot {
    return { node: this.node, version: this.version, instances: [exampleInstanceStatus({ interface: 'veth0' })] };
  }
  async command(name: string, args: Record<string, unknown>) {
    this.executed.push({ name, args });
    return name === 'status' ? { ok: true } : { [name]: args };
  }
}

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

interface Client {
  c: MqttClient;
  got: { topic: string; json: any; props: Record<string, any> }[];
}

async function client(url: string, opts: mqtt.IClientOptions, filter?: string): Promise<Client> {
  const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, ...opts });
  const got: Client['got'] = [];
  c.on('message', (topic, payload, packet) => {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString());
    } catch {
      json = undefined;
    }
    got.push({ topic, json, props: packet.properties ?? {} });
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  if (filter) await c.subscribeAsync(filter, { qos: 1 });
  return { c, got };
}

/** Publishes at QoS 1 and returns the PUBACK's outcome: null when accepted, else the error. */
function publish(c: MqttClient, topic: string, body: unknown, opts: mqtt.IClientPublishOptions = {}) {
  return new Promise<Error | null>((resolve) => {
    c.publish(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1, ...opts }, (err) =>
      resolve(err ?? null),
    );
  });
}

function cfg(url: string, node: string, over: Partial<MqttConfig> = {}): MqttConfig {
  return testMqttConfig(url, { clientId: `tandem-${node}-${randomBytes(2).toString('hex')}`, ...over });
}

test('the fleet ACL: only an operator commands a node; another node or a monitor cannot, nor pose as a node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-acl-'));
  const pw = join(dir, 'passwd');
  execFileSync('mosquitto_passwd', ['-c', '-b', pw, 'r1', PASSWORD], { stdio: 'ignore' });
  for (const u of ['r2', 'ops', 'monitor'])
    execFileSync('mosquitto_passwd', ['-b', pw, u, PASSWORD], { stdio: 'ignore' });
  const broker = await Broker.start({ passwordFile: pw, extra: [`acl_file ${ACL}`] });
  const host = new Host('r1');
  const tm = new Telemetry(
    cfg(broker.url, 'r1', {
      username: 'r1',
      passwordFile: join(dir, 'r1.pw'),
      commands: { allow: ['status', 'maintenance'], trustedKeys: [], replayWindowMs: 60_000 },
    }),
    host,
    quiet,
  );
  writeFileSync(join(dir, 'r1.pw'), PASSWORD);
  const clients: Client[] = [];
  try {
    tm.start();
    await waitUntil('r1 connected', () => tm.stats().connected);
    const login = async (u: string, filter?: string) => {
      const k = await client(broker.url, { username: u, password: PASSWORD }, filter);
      clients.push(k);
      return k;
    };
    const ops = await login('ops', 'tandem/r1/reply/#');
    const monitor = await login('monitor', 'tandem/r1/status');
    const r2 = await login('r2');
    await sleep(100); // r1's SUBSCRIBE follows its CONNACK
    const maint = { id: 'm', args: { on: true } };
    // mosquitto 2 answers a refused QoS 1 publish from an MQTT 5 client with PUBACK 0x87.
    const byMonitor = await publish(monitor.c, 'tandem/r1/cmd/maintenance', maint);
    const byNode = await publish(r2.c, 'tandem/r1/cmd/maintenance', maint);
    const spoofStatus = await publish(r2.c, 'tandem/r1/status', { state: 'offline' }, { retain: true });
    assert.ok(byMonitor, 'the monitor account may not publish a command');
    assert.ok(byNode, "another node's account may not command r1");
    assert.ok(spoofStatus, "another node's account may not publish r1's status");
    const byOps = await publish(ops.c, 'tandem/r1/cmd/maintenance', maint, {
      properties: { responseTopic: 'tandem/r1/reply/ops', correlationData: Buffer.from('m') },
    });
    assert.is(byOps, null, 'the operator may');
    await waitUntil('the reply to ops', () => ops.got.find((g) => g.json?.status === 'done'));
    assert.equal(host.executed, [{ name: 'maintenance', args: { on: true } }], 'only the operator ran a command');
    await waitUntil('the monitor reads status', () => monitor.got.find((g) => g.json?.state === 'online'));
    assert.ok(
      monitor.got.every((g) => g.json?.node === 'r1'),
      'no spoofed status reached the monitor',
    );
  } finally {
    await tm.stop();
    for (const k of clients) k.c.end(true);
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const protocolVersion of [5, 4] as const) {
  test(`v${protocolVersion}: the node's own checks: allowlist, retained commands, response topics, id pre-emption`, async () => {
    const broker = await Broker.start();
    const host = new Host('r1');
    const clients: Client[] = [];
    const tm = new Telemetry(
      cfg(broker.url, 'r1', {
        protocolVersion,
        commands: { allow: ['status', 'maintenance'], trustedKeys: [], replayWindowMs: 60_000 },
      }),
      host,
      quiet,
    );
    try {
      const k = await client(broker.url, { protocolVersion }, 'tandem/#');
      clients.push(k);
      // Left on the broker before the node starts: a retained maintenance command.
      assert.is(
        await publish(k.c, 'tandem/r1/cmd/maintenance', { id: 'old', args: { on: true } }, { retain: true }),
        null,
      );
      tm.start();
      await waitUntil('connected', () => tm.stats().connected);
      await sleep(300); // the retained command, if delivered, would have run by now
      assert.equal(host.executed, [], 'a retained command does not run');
      if (protocolVersion === 4) assert.is(tm.stats().retainedIgnored, 1, '3.1.1 delivers it; dropped and counted');
      else assert.is(tm.stats().retainedIgnored, 0, 'MQTT 5 Retain Handling 2: the broker does not even send it');

      const replies = () => k.got.filter((g) => g.topic.startsWith('tandem/r1/reply'));
      const finalOf = (id: string) => replies().find((g) => g.json?.id === id && g.json.status !== 'accepted');
      // A mutating command that is not in the allowlist.
      await publish(k.c, 'tandem/r1/cmd/reload', { id: 'r' });
      await waitUntil('reload refused', () => finalOf('r'));
      assert.is(finalOf('r')!.json.error.code, 'not-allowed');
      // Unknown request members are refused, not ignored.
      await publish(k.c, 'tandem/r1/cmd/status', { id: 'u', args: {}, run_as: 'root' });
      await waitUntil('unknown field refused', () => finalOf('u'));
      assert.is(finalOf('u')!.json.error.code, 'bad-request');
      // Another user sends the operator's id first, with other arguments: the operator's own
      // request (other bytes) still runs, and its reply is its own.
      await publish(k.c, 'tandem/r1/cmd/maintenance', { id: 'op-1', args: { on: false } });
      await waitUntil('the first op-1', () => finalOf('op-1'));
      await publish(k.c, 'tandem/r1/cmd/maintenance', { id: 'op-1', args: { on: true } });
      await waitUntil('both op-1 ran', () => host.executed.filter((e) => e.name === 'maintenance').length === 2);
      assert.equal(host.executed.at(-1), { name: 'maintenance', args: { on: true } });
      if (protocolVersion === 5) {
        // A Response Topic outside the node's reply topic: the reply goes to the node's own.
        const before = k.got.length;
        await publish(k.c, 'tandem/r1/cmd/status', { id: 'rt' }, { properties: { responseTopic: 'tandem/r2/state' } });
        await waitUntil('the status reply', () => finalOf('rt'));
        assert.is(finalOf('rt')!.topic, 'tandem/r1/reply');
        assert.ok(
          k.got.slice(before).every((g) => g.topic !== 'tandem/r2/state'),
          'nothing was published where the requester asked',
        );
      }
      assert.ok(tm.stats().refused >= 1);
    } finally {
      await tm.stop();
      for (const c of clients) c.c.end(true);
      await broker.close();
    }
  });
}

test('signed commands: unsigned, stale, replayed or other-node requests are refused; a valid one runs once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-sig-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = join(dir, 'ops.pub');
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  const broker = await Broker.start();
  const host = new Host('r1');
  const tm = new Telemetry(
    cfg(broker.url, 'r1', {
      commands: { allow: ['status', 'maintenance'], trustedKeys: [pub], replayWindowMs: 30_000 },
    }),
    host,
    quiet,
  );
  let k: Client | undefined;
  try {
    k = await client(broker.url, {}, 'tandem/r1/reply/#');
    tm.start();
    await waitUntil('connected', () => tm.stats().connected);
    await sleep(100);
    let n = 0;
    const ask = async (body: string) => {
      const t = `tandem/r1/reply/${++n}`;
      await publish(k!.c, 'tandem/r1/cmd/maintenance', body, { properties: { responseTopic: t } });
      return t;
    };
    const finalOn = (t: string) =>
      waitUntil(`reply on ${t}`, () => k!.got.find((g) => g.topic === t && g.json?.status !== 'accepted'));
    const signed = (over: Record<string, unknown> = {}) =>
      signCommand(privateKey, {
        node: 'r1',
        cmd: 'maintenance',
        ts: Date.now(),
        nonce: randomBytes(8).toString('hex'),
        id: 's',
        args: { on: true },
        ...over,
      });
    const code = async (body: string) => (await finalOn(await ask(body))).json.error?.code;

    assert.is(await code(JSON.stringify({ id: 'x', args: { on: true } })), 'signature-required');
    assert.is(await code(signed({ node: 'r2' })), 'wrong-node');
    assert.is(await code(signed({ cmd: 'status' })), 'wrong-command');
    assert.is(await code(signed({ ts: Date.now() - 120_000 })), 'stale');
    const forged = JSON.parse(signed());
    forged.signed = Buffer.from(
      Buffer.from(forged.signed, 'base64').toString().replace('"on":true', '"on":false'),
    ).toString('base64');
    assert.is(await code(JSON.stringify(forged)), 'bad-signature');
    assert.equal(host.executed, [], 'nothing ran');

    const good = signed();
    assert.is((await finalOn(await ask(good))).json.status, 'done');
    const again = await finalOn(await ask(good)); // the same bytes again: answered from the cache
    assert.is(again.json.status, 'done');
    assert.is(host.executed.length, 1, 'a replayed signed request runs once');
    // The same nonce under other bytes (a new id) is a replay of the nonce.
    const nonce = JSON.parse(Buffer.from(JSON.parse(good).signed, 'base64').toString()).nonce;
    assert.is(await code(signed({ nonce, id: 's2' })), 'replayed');
    assert.is(host.executed.length, 1);
  } finally {
    await tm.stop();
    k?.c.end(true);
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
