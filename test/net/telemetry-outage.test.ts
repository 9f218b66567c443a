// Telemetry when the broker misbehaves: the Last Will after a SIGKILL, events queued across a
// broker restart (in order, none lost within the bound, oldest dropped beyond it), and a stalled
// or silent broker that must not delay the event loop.
import { testMqttConfig, waitUntil } from '../kit/telemetry.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Telemetry } from '../../firmware/telemetry/telemetry.ts';
import type { MqttConfig, StatusSnapshot, TelemetryHost } from '../../firmware/telemetry/types.ts';
import { Broker, sleep } from '../kit/telemetry.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

const waitFor = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 8_000) => waitUntil(what, fn, timeoutMs);

function host(node = 'r1'): TelemetryHost {
  const bootId = randomBytes(8).toString('hex');
  return {
    node,
    version: '0.1.0',
    bootId,
    slot: () => 'a',
    status: (): StatusSnapshot => ({ node, version: '0.1.0', instances: [] }),
    command: async () => null,
  };
}

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

const cfgFor = (url: string, over: Partial<MqttConfig> = {}): MqttConfig =>
  testMqttConfig(url, {
    healthIntervalMs: 250,
    offlineQueue: 50,
    backoffMaxMs: 400,
    connectTimeoutMs: 1_000,
    keepaliveS: 1,
    ...over,
  });

interface Rec {
  topic: string;
  json: any;
}

function subscriber(
  url: string,
  filter: string,
  opts: mqtt.IClientOptions = {},
): Promise<{ c: MqttClient; got: Rec[] }> {
  const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, ...opts });
  const got: Rec[] = [];
  c.on('message', (topic, payload) => got.push({ topic, json: JSON.parse(payload.toString()) }));
  c.on('error', () => {
    /* reconnecting subscriber */
  });
  return new Promise((resolve, reject) => {
    c.once('connect', () => {
      c.subscribe(filter, { qos: 1 }, (err) => (err ? reject(err) : resolve({ c, got })));
    });
    c.once('error', reject);
  });
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
}

/** Records how late a 10 ms interval fires while `during` runs. */
async function lateness(during: () => Promise<void>): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const late: number[] = [];
  let last = performance.now();
  const iv = setInterval(() => {
    const now = performance.now();
    late.push(Math.max(0, now - last - 10));
    last = now;
  }, 10);
  try {
    await during();
  } finally {
    clearInterval(iv);
  }
  return { p50: percentile(late, 50), p99: percentile(late, 99), max: Math.max(...late), n: late.length };
}

test('the Last Will: a SIGKILLed telemetry process leaves status offline, retained', async () => {
  const broker = await Broker.start();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-will-'));
  const script = join(dir, 'child.mts');
  const telemetryPath = join(ROOT, 'firmware/telemetry/telemetry.ts');
  writeFileSync(
    script,
    `
    import { Telemetry } from ${JSON.stringify(telemetryPath)};
    const cfg = JSON.parse(process.env.TANDEM_TEST_CFG);
    const host = { node: 'will1', version: '0.1.0', bootId: 'child-boot', slot: () => 'b',
      status: () => ({ node: 'will1', version: '0.1.0', instances: [] }), command: async () => null };
    const log = { info() {}, warn() {}, error() {}, debug() {} };
    new Telemetry(cfg, host, log).start();
    setInterval(() => {}, 1000);
  `,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TANDEM_TEST_CFG: JSON.stringify(cfgFor(broker.url, { keepaliveS: 30 })) },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  let sub: Awaited<ReturnType<typeof subscriber>> | undefined;
  try {
    sub = await subscriber(broker.url, 'tandem/will1/status');
    await waitFor(`child online (stderr: ${stderr})`, () => sub!.got.some((g) => g.json.state === 'online'), 15_000);
    const online = sub.got.find((g) => g.json.state === 'online')!.json;
    child.kill('SIGKILL');
    await waitFor('will', () => sub!.got.some((g) => g.json.state === 'offline'), 5_000);
    const will = sub.got.find((g) => g.json.state === 'offline')!.json;
    assert.equal([will.node, will.version, will.slot, will.boot_id], ['will1', '0.1.0', 'b', 'child-boot']);
    assert.ok(will.seq < online.seq, 'the Will seq was reserved at connect, before the online status');
    // Retained: a newcomer sees offline.
    const late = await subscriber(broker.url, 'tandem/will1/status');
    await waitFor('retained offline', () => late.got.length > 0, 3_000);
    assert.is(late.got[0].json.state, 'offline');
    late.c.end(true);
  } finally {
    child.kill('SIGKILL');
    sub?.c.end(true);
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('events queued while the broker is down arrive in order after it restarts; overflow drops the oldest and counts', async () => {
  const broker = await Broker.start({ persistence: true });
  const h = host();
  const tm = new Telemetry(cfgFor(broker.url, { offlineQueue: 50 }), h, quiet);
  // A persistent-session subscriber: the broker keeps its QoS 1 messages while it reconnects.
  const sub = await subscriber(broker.url, 'tandem/r1/events', {
    clientId: `sub-${randomBytes(3).toString('hex')}`,
    clean: false,
    reconnectPeriod: 100,
    properties: { sessionExpiryInterval: 600 },
  });
  const events = () => sub.got.filter((g) => g.topic === 'tandem/r1/events').map((g) => g.json);
  const firstSeen = () => {
    // at-least-once: a reconnect may repeat a message; keep first sightings
    const seen = new Set<number>();
    return events().filter((e) => {
      if (seen.has(e.seq)) return false;
      seen.add(e.seq);
      return true;
    });
  };
  try {
    tm.start();
    await waitFor('connected', () => tm.stats().connected);
    for (let i = 0; i < 3; i++) tm.event({ reason: 'before', i });
    await waitFor('3 events', () => firstSeen().length >= 3);

    await broker.stop();
    await waitFor('disconnect noticed', () => !tm.stats().connected);
    for (let i = 0; i < 30; i++) tm.event({ reason: 'during', i });
    assert.is(tm.stats().queued, 30);
    await sleep(300); // a few failed reconnects
    assert.ok(tm.stats().reconnects >= 1);
    await broker.restart();
    await waitFor('queue drained', () => tm.stats().connected && tm.stats().queued === 0);
    await waitFor('33 events at the subscriber', () => firstSeen().length >= 33);
    let ev = firstSeen();
    assert.equal(
      ev.map((e) => `${e.reason}${e.i}`),
      [...[0, 1, 2].map((i) => `before${i}`), ...[...Array(30).keys()].map((i) => `during${i}`)],
    );
    assert.ok(
      ev.every((e, k) => k === 0 || e.seq > ev[k - 1].seq),
      'seq increases',
    );
    assert.is(tm.stats().dropped, 0, 'none lost within the bound');

    // Overflow: 80 events into a 50-slot queue while the broker is down.
    await broker.stop();
    await waitFor('disconnect noticed', () => !tm.stats().connected);
    const lastSeqBefore = ev.at(-1).seq;
    for (let i = 0; i < 80; i++) tm.event({ reason: 'overflow', i });
    assert.is(tm.stats().queued, 50);
    assert.is(tm.stats().dropped, 30);
    await broker.restart();
    await waitFor('overflow survivors', () => firstSeen().filter((e) => e.reason === 'overflow').length >= 50);
    await sleep(200);
    ev = firstSeen().filter((e) => e.reason === 'overflow');
    assert.equal(
      ev.map((e) => e.i),
      [...Array(50).keys()].map((i) => i + 30),
      'the 30 oldest were dropped, the rest in order',
    );
    assert.ok(ev[0].seq - lastSeqBefore > 30, `a seq gap shows the drop (${lastSeqBefore} -> ${ev[0].seq})`);
  } finally {
    await tm.stop();
    sub.c.end(true);
    await broker.close();
  }
});

test('a stalled broker (SIGSTOP) and a silent one (accepts, never answers) do not delay the event loop', async () => {
  const broker = await Broker.start();
  const h = host();
  const tm = new Telemetry(cfgFor(broker.url, { offlineQueue: 2_000, healthIntervalMs: 100 }), h, quiet);
  // A TCP server that accepts and never says a word.
  const held: Socket[] = [];
  const silent = createServer((s) => {
    held.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const silentPort = (silent.address() as { port: number }).port;
  const tmSilent = new Telemetry(cfgFor(`mqtt://127.0.0.1:${silentPort}`, { offlineQueue: 500 }), host('r9'), quiet);
  const sub = await subscriber(broker.url, 'tandem/r1/events');
  let emitted = 0;
  const emit = setInterval(() => {
    for (let k = 0; k < 3; k++) {
      tm.event({ reason: 'load', i: emitted++ });
      tmSilent.event({ reason: 'load' });
    }
  }, 10);
  try {
    tm.start();
    tmSilent.start();
    await waitFor('connected', () => tm.stats().connected);
    const stalled = await lateness(async () => {
      await sleep(300);
      broker.pause();
      await sleep(3_500); // keepalive 1 s: the client notices, then retries into a frozen listener
      const s = tm.stats();
      assert.not.ok(s.connected, 'the stall was noticed');
      assert.ok(s.queued > 100, `events queue up meanwhile (${s.queued})`);
      broker.resume();
      await waitFor('reconnected', () => tm.stats().connected, 8_000);
    });
    clearInterval(emit);
    const silentStats = tmSilent.stats();
    console.log(
      `  event-loop lateness, 10 ms interval, ${stalled.n} samples: p50 ${stalled.p50.toFixed(2)} ms, ` +
        `p99 ${stalled.p99.toFixed(2)} ms, max ${stalled.max.toFixed(2)} ms; silent broker: ${JSON.stringify(silentStats)}`,
    );
    assert.ok(stalled.p99 < 50, `p99 lateness ${stalled.p99} ms`);
    assert.not.ok(silentStats.connected);
    assert.ok(silentStats.reconnects >= 1, 'the silent broker was retried after the CONNACK deadline');
    assert.is(silentStats.queued, 500, 'bounded');
    assert.ok(silentStats.dropped > 0);

    // Everything emitted reached the subscriber (the queue never overflowed), in order.
    await waitFor('drained', () => tm.stats().queued === 0, 10_000);
    const seen = new Set<number>();
    const got = sub.got
      .map((g) => g.json.i as number)
      .filter((i) => {
        if (seen.has(i)) return false;
        seen.add(i);
        return true;
      });
    await waitFor(
      `all ${emitted} events`,
      () => {
        for (const g of sub.got) seen.add(g.json.i);
        return seen.size === emitted;
      },
      10_000,
    );
    assert.is(tm.stats().dropped, 0);
    assert.ok(
      got.every((x, k) => k === 0 || x > got[k - 1]),
      'in order',
    );
  } finally {
    clearInterval(emit);
    broker.resume();
    await tm.stop();
    await tmSilent.stop();
    sub.c.end(true);
    for (const s of held) s.destroy();
    silent.close();
    await broker.close();
  }
});

test('stop() returns within 2 s even when the broker is frozen', async () => {
  const broker = await Broker.start();
  const tm = new Telemetry(cfgFor(broker.url, { keepaliveS: 30 }), host(), quiet);
  try {
    tm.start();
    await waitFor('connected', () => tm.stats().connected);
    broker.pause();
    tm.event({ reason: 'into-the-void' });
    await sleep(50);
    const t0 = Date.now();
    await tm.stop();
    const ms = Date.now() - t0;
    console.log(`  stop() against a frozen broker: ${ms} ms`);
    assert.ok(ms <= 2_000, `${ms} ms`);
  } finally {
    broker.resume();
    await broker.close();
  }
});

test.run();
