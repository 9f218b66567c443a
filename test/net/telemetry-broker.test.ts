// Telemetry against a real mosquitto on loopback: retained status and state, events, health,
// payloads checked against docs/schemas, commands (MQTT 5 and 3.1.1), credentials and TLS,
// and the broker's CONNACK limits. Each test starts its own broker and kills it in finally.
import { testMqttConfig, waitUntil } from '../kit/telemetry.ts';
import { exampleCounters, exampleInstanceStatus } from '../kit/status.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { join } from 'node:path';
import { Telemetry } from '../../firmware/telemetry/telemetry.ts';
import {
  CommandError,
  type MqttConfig,
  type StatusSnapshot,
  type TelemetryHost,
} from '../../firmware/telemetry/types.ts';
import { Broker, makePasswordFile, makeTestPki, sleep } from '../kit/telemetry.ts';
import { validate, type JsonSchema } from '../../firmware/telemetry/schema.ts';

const SCHEMAS: Record<string, JsonSchema> = Object.fromEntries(
  ['status', 'state', 'events', 'health', 'reply'].map((n) => [
    n,
    JSON.parse(readFileSync(new URL(`../../docs/schemas/${n}.json`, import.meta.url), 'utf8')),
  ]),
);

// ---- helpers ----

interface Got {
  topic: string;
  text: string;
  json: any;
  retain: boolean;
  props: Record<string, any>;
}

const waitFor = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 5_000) => waitUntil(what, fn, timeoutMs);

/** A subscriber that records everything under a filter. */
async function listen(
  url: string,
  filter: string,
  opts: mqtt.IClientOptions = {},
): Promise<{ c: MqttClient; got: Got[] }> {
  const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, ...opts });
  const got: Got[] = [];
  c.on('message', (topic, payload, packet) => {
    const text = payload.toString();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    got.push({ topic, text, json, retain: packet.retain, props: packet.properties ?? {} });
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  await c.subscribeAsync(filter, { qos: 1 });
  return { c, got };
}

class FakeHost implements TelemetryHost {
  node = 'r1';
  version = '0.1.0';
  bootId = randomBytes(8).toString('hex');
  priority = 100;
  maintenance = false;
  executed: { name: string; args: Record<string, unknown> }[] = [];
  slot() {
    return 'a';
  }
  status(): StatusSnapshot {
    return {
      node: this.node,
      version: this.version,
      instances: [
        exampleInstanceStatus({
          interface: 'veth0',
          state: this.maintenance ? 'backup' : 'master',
          effectivePriority: this.priority,
          counters: exampleCounters({ advertsSent: 10, transitions: 1, drops: { 'bad-ttl': 0 } }),
        }),
      ],
    };
  }
  async command(name: string, args: Record<string, unknown>, progress: (p: object) => void): Promise<unknown> {
    this.executed.push({ name, args });
    switch (name) {
      case 'status':
        return this.status();
      case 'set-priority': {
        if (args.instance !== 'lan')
          throw new CommandError('unknown-instance', `no instance '${String(args.instance)}'`);
        if (typeof args.value !== 'number' || args.value < 1 || args.value > 254)
          throw new CommandError('bad-argument', 'value must be 1..254');
        this.priority = args.value;
        return { instance: 'lan', priority: this.priority };
      }
      case 'maintenance':
        if (typeof args.on !== 'boolean') throw new CommandError('bad-argument', 'on must be a boolean');
        this.maintenance = args.on;
        return { maintenance: this.maintenance };
      case 'reload':
        await sleep(150);
        return { reloaded: true };
      case 'ota':
        progress({ phase: 'download', pct: 10 });
        await sleep(150);
        if (args.source === 'bad') throw new CommandError('bad-bundle', 'signature check failed');
        return { slot: 'b' };
      default:
        throw new CommandError('unknown-command', name);
    }
  }
}

function captureLog() {
  const lines: string[] = [];
  const rec = (level: string) => (obj: unknown, msg?: string) => {
    lines.push(`${level} ${JSON.stringify(obj)} ${msg ?? ''}`);
  };
  return { lines, log: { info: rec('info'), warn: rec('warn'), error: rec('error'), debug: rec('debug') } };
}

/** Every command allowed: these tests exercise the commands themselves (the allowlist, signing
 *  and the ACL are test/net/telemetry-command-auth.test.ts). */
const ALL_COMMANDS = {
  allow: ['status', 'set-priority', 'maintenance', 'reload', 'ota'],
  trustedKeys: [],
  replayWindowMs: 60_000,
};
const cfgFor = (url: string, over: Partial<MqttConfig> = {}): MqttConfig =>
  testMqttConfig(url, { stateCoalesceMs: 30, commands: ALL_COMMANDS, ...over });

const jsonOf = (got: Got[], topic: string) => got.filter((g) => g.topic === topic).map((g) => g.json);

function assertSchemas(got: Got[], topicSchema: (t: string) => string | undefined) {
  let checked = 0;
  for (const g of got) {
    const name = topicSchema(g.topic);
    if (!name) continue;
    assert.equal(validate(SCHEMAS[name], g.json), [], `${g.topic}: ${g.text}`);
    checked++;
  }
  return checked;
}

const schemaByTopic = (t: string) => {
  const m = /^tandem\/r1\/(status|state|events|health|reply)$/.exec(t);
  return m ? m[1] : t.startsWith('tandem/r1/reply/') ? 'reply' : undefined;
};

// ---- tests ----

for (const protocolVersion of [5, 4] as const) {
  test(`v${protocolVersion}: status and state are retained, events and health flow, payloads match the schemas, seq increases`, async () => {
    const broker = await Broker.start();
    const host = new FakeHost();
    const { log } = captureLog();
    const tm = new Telemetry(cfgFor(broker.url, { protocolVersion }), host, log);
    let live: Awaited<ReturnType<typeof listen>> | undefined, late: Awaited<ReturnType<typeof listen>> | undefined;
    try {
      live = await listen(broker.url, 'tandem/#');
      tm.start();
      await waitFor('connected', () => tm.stats().connected);
      tm.event({ instance: 'lan', from: 'backup', to: 'master', reason: 'master-down-timer' });
      tm.event({ instance: 'lan', from: 'master', to: 'backup', reason: 'higher-priority-advert' });
      host.priority = 90;
      tm.stateChanged();
      tm.stateChanged();
      tm.stateChanged(); // coalesced into one publish
      await waitFor(
        'two events and two health reports',
        () => jsonOf(live!.got, 'tandem/r1/events').length >= 2 && jsonOf(live!.got, 'tandem/r1/health').length >= 2,
      );
      await waitFor('state republished', () => jsonOf(live!.got, 'tandem/r1/state').length >= 2);
      await sleep(150);
      const states = jsonOf(live.got, 'tandem/r1/state');
      assert.is(states.length, 2, 'one state at connect, one for the three stateChanged() calls');
      assert.is(states[1].instances[0].effectivePriority, 90);
      const ev = jsonOf(live.got, 'tandem/r1/events');
      assert.equal(
        ev.map((e) => [e.from, e.to, e.reason]),
        [
          ['backup', 'master', 'master-down-timer'],
          ['master', 'backup', 'higher-priority-advert'],
        ],
      );
      const status = jsonOf(live.got, 'tandem/r1/status');
      assert.equal([status[0].state, status[0].version, status[0].slot], ['online', '0.1.0', 'a']);
      const health = jsonOf(live.got, 'tandem/r1/health')[0];
      assert.ok(health.rss_bytes > 1e6 && health.uptime_s >= 0);
      assert.equal(health.instances[0].counters.advertsSent, 10);
      if (protocolVersion === 5) {
        const h = live.got.find((g) => g.topic === 'tandem/r1/health')!;
        assert.ok(
          h.props.messageExpiryInterval >= 1 && h.props.messageExpiryInterval <= 2,
          `expiry ${h.props.messageExpiryInterval}`,
        );
      }
      // One sequence across topics, strictly increasing in publication order per topic, one boot id.
      const all = live.got.map((g) => g.json);
      assert.ok(all.every((j) => j.boot_id === host.bootId && j.v === 1));
      for (const topic of ['tandem/r1/events', 'tandem/r1/health', 'tandem/r1/state']) {
        const seqs = jsonOf(live.got, topic).map((j) => j.seq);
        assert.ok(
          seqs.every((s, i) => i === 0 || s > seqs[i - 1]),
          `${topic} seqs ${seqs}`,
        );
      }
      assert.is(new Set(all.map((j) => j.seq)).size, all.length, 'no seq used twice');
      assert.ok(assertSchemas(live.got, schemaByTopic) >= 6);

      // A subscriber arriving later gets the retained status and state.
      late = await listen(broker.url, 'tandem/r1/+');
      await waitFor('retained', () => late!.got.filter((g) => g.retain).length >= 2);
      const retained = late.got
        .filter((g) => g.retain)
        .map((g) => g.topic)
        .sort();
      assert.equal(retained, ['tandem/r1/state', 'tandem/r1/status']);
      assert.is(late.got.find((g) => g.topic === 'tandem/r1/state')!.json.instances[0].effectivePriority, 90);

      // setStatus('updating') is retained too; stop() leaves 'offline' retained, within 2 s.
      tm.setStatus('updating');
      await waitFor('updating', () => jsonOf(late!.got, 'tandem/r1/status').some((j) => j.state === 'updating'));
      const t0 = Date.now();
      await tm.stop();
      const stopMs = Date.now() - t0;
      assert.ok(stopMs <= 2_000, `stop took ${stopMs} ms`);
      await waitFor('offline', () => jsonOf(late!.got, 'tandem/r1/status').some((j) => j.state === 'offline'));
      assert.equal(validate(SCHEMAS.status, jsonOf(late.got, 'tandem/r1/status').at(-1)), []);
    } finally {
      await tm.stop();
      live?.c.end(true);
      late?.c.end(true);
      await broker.close();
    }
  });
}

test('v5 commands: replies go to the Response Topic with the Correlation Data; two-phase, duplicates and errors', async () => {
  const broker = await Broker.start();
  const host = new FakeHost();
  const { log } = captureLog();
  const tm = new Telemetry(cfgFor(broker.url), host, log);
  let sub: Awaited<ReturnType<typeof listen>> | undefined;
  try {
    sub = await listen(broker.url, 'tandem/r1/reply/#');
    tm.start();
    await waitFor('connected', () => tm.stats().connected);
    await sleep(100); // the SUBSCRIBE to cmd/+ follows the CONNACK
    let n = 0;
    const ask = (name: string, body: unknown) => {
      const corr = Buffer.from(`c${++n}`);
      sub!.c.publish(`tandem/r1/cmd/${name}`, typeof body === 'string' ? body : JSON.stringify(body), {
        qos: 1,
        properties: { responseTopic: `tandem/r1/reply/${n}`, correlationData: corr },
      });
      return `tandem/r1/reply/${n}`;
    };
    const repliesOn = (t: string) => sub!.got.filter((g) => g.topic === t);

    const rStatus = ask('status', { id: 's1' });
    const rPrio = ask('set-priority', { id: 'p1', args: { instance: 'lan', value: 120 } });
    const rMaint = ask('maintenance', { id: 'm1', args: { on: true } });
    const rReload = ask('reload', { id: 'l1' });
    const rOta = ask('ota', { id: 'o1', args: { source: 'file:///b.tar' } });
    const rOtaBad = ask('ota', { id: 'o2', args: { source: 'bad' } });
    const rUnknownInst = ask('set-priority', { id: 'p2', args: { instance: 'wan', value: 120 } });
    const rUnknownCmd = ask('self-destruct', { id: 'x1' });
    const rBadJson = ask('status', '{"id": ');
    await waitFor('all final replies', () =>
      [rStatus, rPrio, rMaint, rReload, rOta, rOtaBad, rUnknownInst, rUnknownCmd, rBadJson].every((t) =>
        repliesOn(t).some((g) => g.json.status === 'done' || g.json.status === 'failed'),
      ),
    );

    const final = (t: string) => repliesOn(t).find((g) => g.json.status === 'done' || g.json.status === 'failed')!;
    assert.equal(final(rStatus).json.result.instances[0].name, 'lan');
    assert.is(repliesOn(rStatus).length, 1, 'quick command: done directly, no accepted');
    assert.equal(final(rPrio).json.result, { instance: 'lan', priority: 120 });
    assert.is(host.priority, 120);
    assert.equal(final(rMaint).json.result, { maintenance: true });
    assert.equal(
      repliesOn(rReload).map((g) => g.json.status),
      ['accepted', 'done'],
    );
    assert.equal(
      repliesOn(rOta).map((g) => g.json.status),
      ['accepted', 'progress', 'done'],
    );
    assert.equal(repliesOn(rOta)[1].json.progress, { phase: 'download', pct: 10 });
    assert.equal(final(rOtaBad).json.error, { code: 'bad-bundle', message: 'signature check failed' });
    assert.is(final(rUnknownInst).json.error.code, 'unknown-instance');
    assert.is(final(rUnknownCmd).json.error.code, 'unknown-command');
    assert.is(final(rUnknownCmd).json.id, 'x1');
    assert.is(final(rBadJson).json.error.code, 'bad-json');
    // Correlation Data comes back byte for byte.
    for (const [i, t] of [rStatus, rPrio, rReload].entries()) {
      const idx = Number(t.split('/').at(-1));
      for (const g of repliesOn(t)) assert.is(Buffer.from(g.props.correlationData).toString(), `c${idx}`, `reply ${i}`);
    }
    assert.ok(assertSchemas(sub.got, schemaByTopic) >= 12);

    // A repeated request (same id, same bytes) is answered from the cache, not executed again.
    const before = host.executed.length;
    const rDup = ask('set-priority', { id: 'p1', args: { instance: 'lan', value: 120 } });
    const rDupReload = ask('reload', { id: 'l1' });
    await waitFor('duplicate replies', () => repliesOn(rDup).length >= 1 && repliesOn(rDupReload).length >= 1);
    await sleep(300);
    assert.is(host.executed.length, before, 'nothing re-executed');
    assert.is(host.priority, 120);
    // The same id for another command is a new request: run, not answered with p1's reply.
    const rOther = ask('status', { id: 'p1' });
    await waitFor('reply to a reused id', () => repliesOn(rOther).some((g) => g.json.status === 'done'));
    assert.is(host.executed.length, before + 1, 'status with a reused id ran');
    assert.is(host.executed.at(-1)?.name, 'status');
    assert.equal(
      repliesOn(rDup).map((g) => [g.json.status, g.json.result]),
      [['done', { instance: 'lan', priority: 120 }]],
    );
    assert.equal(
      repliesOn(rDupReload).map((g) => g.json.status),
      ['done'],
    );
    // A duplicate that arrives while the first is still running gets `accepted`, and still one run.
    const r1 = ask('reload', { id: 'l2' });
    const r2 = ask('reload', { id: 'l2' });
    await waitFor('l2 done', () => repliesOn(r1).some((g) => g.json.status === 'done'));
    await sleep(100);
    assert.equal(
      repliesOn(r2).map((g) => g.json.status),
      ['accepted'],
    );
    assert.is(host.executed.filter((e) => e.name === 'reload').length, 2, 'l1 and l2 once each');
    assert.ok(tm.stats().connected, 'still connected after all the bad requests');
  } finally {
    await tm.stop();
    sub?.c.end(true);
    await broker.close();
  }
});

test('v3.1.1 commands: replies on <prefix>/<node>/reply echo the request id', async () => {
  const broker = await Broker.start();
  const host = new FakeHost();
  const { log } = captureLog();
  const tm = new Telemetry(cfgFor(broker.url, { protocolVersion: 4 }), host, log);
  let sub: Awaited<ReturnType<typeof listen>> | undefined;
  try {
    sub = await listen(broker.url, 'tandem/r1/reply', { protocolVersion: 4 });
    tm.start();
    await waitFor('connected', () => tm.stats().connected);
    await sleep(100);
    const ask = (name: string, body: unknown) =>
      sub!.c.publish(`tandem/r1/cmd/${name}`, JSON.stringify(body), { qos: 1 });
    ask('set-priority', { id: 'a', args: { instance: 'lan', value: 77 } });
    ask('ota', { id: 'b', args: { source: 'x' } });
    ask('nope', { id: 'c' });
    ask('maintenance', { id: 'd', args: { on: 'yes' } });
    ask('set-priority', { id: 'a', args: { instance: 'lan', value: 77 } }); // a duplicate delivery
    const byId = (id: string) => sub!.got.filter((g) => g.json.id === id).map((g) => g.json);
    await waitFor(
      'replies',
      () => byId('b').some((j) => j.status === 'done') && byId('a').length >= 2 && byId('c').length && byId('d').length,
    );
    // The duplicate is answered from the reply cache: 'done' if the first run had finished, or
    // 'accepted' if it was still running when the duplicate arrived (a race the broker decides).
    const a = byId('a').map((j) => [j.status, j.result?.priority]);
    assert.equal(
      a.filter(([st]) => st === 'done'),
      a.filter(([st]) => st === 'done').map(() => ['done', 77]),
    );
    assert.ok(
      a.some(([st]) => st === 'done') && a.every(([st]) => st === 'done' || st === 'accepted'),
      JSON.stringify(a),
    );
    assert.is(host.executed.filter((e) => e.name === 'set-priority').length, 1);
    assert.equal(
      byId('b').map((j) => j.status),
      ['accepted', 'progress', 'done'],
    );
    assert.is(byId('c')[0].error.code, 'unknown-command');
    assert.is(byId('d')[0].error.code, 'bad-argument');
    assert.ok(assertSchemas(sub.got, schemaByTopic) >= 7);
  } finally {
    await tm.stop();
    sub?.c.end(true);
    await broker.close();
  }
});

test('username and password file: connects, and the password appears in no payload, log line or stats', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-auth-'));
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const pwFile = join(dir, 'node.pw');
  writeFileSync(pwFile, `${password}\n`); // trailing newline, as editors leave it
  makePasswordFile(join(dir, 'passwd'), 'r1', password);
  const broker = await Broker.start({ passwordFile: join(dir, 'passwd') });
  const host = new FakeHost();
  const good = captureLog(),
    bad = captureLog();
  const tm = new Telemetry(cfgFor(broker.url, { username: 'r1', passwordFile: pwFile }), host, good.log);
  const wrongFile = join(dir, 'wrong.pw');
  writeFileSync(wrongFile, `${password}x\n`);
  const tmBad = new Telemetry(
    cfgFor(`mqtt://r1:${password}@127.0.0.1:${broker.port}`, { username: 'r1', passwordFile: wrongFile }),
    Object.assign(new FakeHost(), { node: 'r2' }),
    bad.log,
  );
  let sub: Awaited<ReturnType<typeof listen>> | undefined;
  try {
    sub = await listen(broker.url, '#', { username: 'r1', password });
    tm.start();
    tmBad.start();
    await waitFor('connected', () => tm.stats().connected);
    tm.event({ instance: 'lan', from: 'backup', to: 'master', reason: 'startup' });
    await waitFor(
      'event and health',
      () => jsonOf(sub!.got, 'tandem/r1/events').length && jsonOf(sub!.got, 'tandem/r1/health').length,
    );
    sub.c.publish('tandem/r1/cmd/status', JSON.stringify({ id: 'q' }), {
      qos: 1,
      properties: { responseTopic: 'tandem/r1/reply' },
    });
    await waitFor('reply', () => jsonOf(sub!.got, 'tandem/r1/reply').length);
    await waitFor('refused client retried', () => tmBad.stats().reconnects >= 2);
    assert.not.ok(tmBad.stats().connected, 'a wrong password is refused');
    assert.ok(
      bad.lines.some((l) => /Not authorized|Bad User Name or Password/i.test(l)),
      bad.lines.join('\n'),
    );
    await tm.stop();
    await tmBad.stop();
    const haystack = [
      ...sub.got.map((g) => `${g.topic} ${g.text}`),
      ...good.lines,
      ...bad.lines,
      JSON.stringify(tm.stats()),
      JSON.stringify(tmBad.stats()),
    ].join('\n');
    assert.ok(sub.got.length >= 5, `captured ${sub.got.length} messages`);
    assert.not.ok(haystack.includes(password), 'the password leaked');
    assert.not.ok(haystack.includes(password.slice(3)), 'part of the password leaked');
  } finally {
    await tm.stop();
    await tmBad.stop();
    sub?.c.end(true);
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS: verifies the broker against the CA file and presents a client certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-tls-'));
  const pki = makeTestPki(dir);
  const broker = await Broker.start({
    tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, requireClientCert: true },
  });
  const host = new FakeHost();
  const { log } = captureLog();
  const tm = new Telemetry(cfgFor(broker.url, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }), host, log);
  // Without the client certificate the broker refuses; without the CA we refuse the broker.
  const noCert = new Telemetry(
    cfgFor(broker.url, { ca: pki.ca }),
    Object.assign(new FakeHost(), { node: 'r3' }),
    captureLog().log,
  );
  let sub: Awaited<ReturnType<typeof listen>> | undefined;
  try {
    sub = await listen(broker.url, 'tandem/#', {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    });
    tm.start();
    noCert.start();
    await waitFor('connected over TLS', () => tm.stats().connected);
    tm.event({ reason: 'tls-ok' });
    await waitFor('event', () => jsonOf(sub!.got, 'tandem/r1/events').some((j) => j.reason === 'tls-ok'));
    await sleep(300);
    assert.not.ok(noCert.stats().connected);
    assert.is(jsonOf(sub.got, 'tandem/r3/status').length, 0);
  } finally {
    await tm.stop();
    await noCert.stop();
    sub?.c.end(true);
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A loopback TCP relay to the broker that decodes what the client sends (mqtt-packet's parser). */
async function wiretap(brokerPort: number) {
  const sent: { cmd: string; topic?: string; alias?: number }[] = [];
  const socks: Socket[] = [];
  const server = createServer((client) => {
    const upstream = tcpConnect({ port: brokerPort, host: '127.0.0.1' });
    socks.push(client, upstream);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (p: any) => sent.push({ cmd: p.cmd, topic: p.topic, alias: p.properties?.topicAlias }));
    parser.on('error', () => {});
    client.on('data', (d) => {
      parser.parse(d);
      upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    sent,
    close: () => {
      for (const s of socks) s.destroy();
      server.close();
    },
  };
}

test('v5 CONNACK limits: oversized messages are dropped and counted, not sent; aliases and receive maximum are honoured', async () => {
  const broker = await Broker.start({ maxPacketSize: 2_048, maxTopicAlias: 10, extra: ['max_inflight_messages 3'] });
  const tap = await wiretap(broker.port);
  const host = new FakeHost();
  const { log, lines } = captureLog();
  const tm = new Telemetry(cfgFor(`mqtt://127.0.0.1:${tap.port}`, { healthIntervalMs: 100 }), host, log);
  let sub: Awaited<ReturnType<typeof listen>> | undefined;
  try {
    sub = await listen(broker.url, 'tandem/#');
    tm.start();
    await waitFor('connected', () => tm.stats().connected);
    const connack = lines.find((l) => l.includes('connected to MQTT broker'))!;
    assert.match(connack, /"maximumPacketSize":2048/);
    assert.match(connack, /"receiveMaximum":3/);
    await waitFor('status and state acknowledged', () => tm.stats().inFlight === 0);
    for (let i = 0; i < 40; i++) {
      tm.event({ instance: 'lan', reason: i === 20 ? 'big' : 'small', i, blob: i === 20 ? 'x'.repeat(4_000) : '' });
    }
    await new Promise((r) => setImmediate(r)); // runs right after the pump, before any PUBACK is read
    assert.is(tm.stats().inFlight, 3, 'in-flight QoS 1 limited to the Receive Maximum');
    await waitFor('39 events', () => jsonOf(sub!.got, 'tandem/r1/events').length >= 39);
    await sleep(300);
    const ev = jsonOf(sub.got, 'tandem/r1/events');
    assert.equal(
      ev.map((e) => e.i),
      [...Array(40).keys()].filter((i) => i !== 20),
      'all but the big one, in order',
    );
    assert.is(tm.stats().oversized, 1);
    assert.ok(tm.stats().connected, 'not disconnected by the broker');
    assert.ok(tm.stats().inFlight <= 3);
    assert.ok(jsonOf(sub.got, 'tandem/r1/health').length >= 2, 'health uses a topic alias and still arrives intact');
    assert.ok(jsonOf(sub.got, 'tandem/r1/health').every((h) => h.node === 'r1'));
    // On the wire: the first publish per fixed topic registers its alias, later ones carry only the alias.
    const pubs = tap.sent.filter((p) => p.cmd === 'publish');
    for (const [topic, alias] of [
      ['tandem/r1/events', 3],
      ['tandem/r1/health', 4],
    ] as const) {
      const uses = pubs.filter((p) => p.alias === alias);
      assert.ok(uses.length >= 2, `${topic}: ${uses.length} aliased publishes`);
      assert.is(uses[0].topic, topic);
      assert.ok(
        uses.slice(1).every((p) => p.topic === ''),
        `${topic} sent in full more than once`,
      );
    }
  } finally {
    await tm.stop();
    sub?.c.end(true);
    tap.close();
    await broker.close();
  }
});

test('a broker that allows no topic aliases still gets every message', async () => {
  const broker = await Broker.start({ maxTopicAlias: 0 });
  const host = new FakeHost();
  const { log, lines } = captureLog();
  const tm = new Telemetry(cfgFor(broker.url, { healthIntervalMs: 100 }), host, log);
  let sub: Awaited<ReturnType<typeof listen>> | undefined;
  try {
    sub = await listen(broker.url, 'tandem/#');
    tm.start();
    await waitFor('connected', () => tm.stats().connected);
    for (let i = 0; i < 5; i++) tm.event({ reason: 'r', i });
    await waitFor(
      'events and health',
      () => jsonOf(sub!.got, 'tandem/r1/events').length >= 5 && jsonOf(sub!.got, 'tandem/r1/health').length >= 2,
    );
    assert.not.ok(
      lines.some((l) => /alias/i.test(l) && l.startsWith('warn')),
      lines.join('\n'),
    );
  } finally {
    await tm.stop();
    sub?.c.end(true);
    await broker.close();
  }
});

test.run();
