import { test } from 'uvu';
import { exampleCounters, exampleInstanceStatus } from '../kit/status.ts';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import mqttPacket from 'mqtt-packet';
import {
  envelope,
  eventPayload,
  healthPayload,
  publishPacketSize,
  replyPayload,
  statePayload,
  statusPayload,
  topicsFor,
} from '../../firmware/telemetry/payloads.ts';
import { validate, type JsonSchema } from '../../firmware/telemetry/schema.ts';

const schema = (name: string): JsonSchema =>
  JSON.parse(readFileSync(new URL(`../../docs/schemas/${name}.json`, import.meta.url), 'utf8'));
const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
const env = (seq: number) => envelope('boot-1', seq, T0);
const counters = exampleCounters({ advertsSent: 3, advertsReceived: 40, transitions: 2, drops: { 'bad-ttl': 1 } });
const snapshot = {
  node: 'r1',
  version: '0.1.0',
  instances: [exampleInstanceStatus({ priority: 150, effectivePriority: 150, timeInStateMs: 1234, counters })],
};

test('envelope carries schema version 1, an ISO time, the boot id and the sequence number', () => {
  assert.equal(env(9), { v: 1, ts: '2025-01-02T03:04:05.678Z', boot_id: 'boot-1', seq: 9 });
});

test('topicsFor puts every topic under <prefix>/<node>/ and ignores a trailing slash', () => {
  const t = topicsFor('tandem/', 'r1');
  assert.is(t.status, 'tandem/r1/status');
  assert.is(t.state, 'tandem/r1/state');
  assert.is(t.events, 'tandem/r1/events');
  assert.is(t.health, 'tandem/r1/health');
  assert.is(t.reply, 'tandem/r1/reply');
  assert.is(t.cmdFilter, 'tandem/r1/cmd/+');
});

test('every builder output validates against its docs/schemas file', () => {
  const cases: [string, unknown][] = [
    ['status', statusPayload(env(1), 'r1', 'online', '0.1.0', 'a')],
    ['status', statusPayload(env(2), 'r1', 'offline', '0.1.0', undefined)],
    ['state', statePayload(env(3), snapshot)],
    [
      'events',
      eventPayload(env(4), 'r1', { instance: 'lan', from: 'backup', to: 'master', reason: 'master-down-timer' }),
    ],
    ['events', eventPayload(env(5), 'r1', { reason: 'config-reloaded', extra: 1 })],
    [
      'health',
      healthPayload(
        env(6),
        'r1',
        '0.1.0',
        'b',
        {
          uptimeS: 5,
          rssBytes: 1 << 24,
          cpuUserPct: 1.5,
          cpuSystemPct: 0.2,
          loopDelayMs: { p50: 0.1, p99: 2, max: 3 },
        },
        [{ name: 'lan', state: 'master', counters }],
        { queued: 0, dropped: 0, reconnects: 1, oversized: 0 },
      ),
    ],
    ['reply', replyPayload(env(7), 'r1', { id: 'x', cmd: 'status', status: 'done', result: { ok: true } })],
    [
      'reply',
      replyPayload(env(8), 'r1', {
        id: null,
        cmd: 'nope',
        status: 'failed',
        error: { code: 'unknown-command', message: 'm' },
      }),
    ],
  ];
  for (const [name, payload] of cases) {
    const roundTripped = JSON.parse(JSON.stringify(payload));
    assert.equal(validate(schema(name), roundTripped), [], `${name}: ${JSON.stringify(roundTripped)}`);
  }
});

test('the schema checker reports missing keys, wrong types, bad enums and stray properties', () => {
  const good = JSON.parse(JSON.stringify(statusPayload(env(1), 'r1', 'online', '0.1.0', 'a')));
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['missing seq', { ...good, seq: undefined }, /missing seq/],
    ['seq not integer', { ...good, seq: 1.5 }, /seq: expected integer/],
    ['state not in enum', { ...good, state: 'sleeping' }, /not in/],
    ['v is not 1', { ...good, v: 2 }, /\$\.v: expected 1/],
    ['ts not a date-time', { ...good, ts: 'yesterday' }, /date-time/],
    ['stray property', { ...good, password: 'x' }, /unexpected property password/],
  ];
  for (const [why, value, re] of bad) {
    const errs = validate(schema('status'), JSON.parse(JSON.stringify(value)));
    assert.ok(
      errs.some((e) => re.test(e)),
      `${why}: ${errs.join('; ')}`,
    );
  }
});

test('envelope keys win over same-named keys in a state snapshot or an event', () => {
  const s = statePayload(env(3), { ...snapshot, seq: 999, v: 7 } as never);
  assert.is(s.seq, 3);
  assert.is(s.v, 1);
  const e = eventPayload(env(4), 'r1', { reason: 'r', seq: 1000, boot_id: 'forged' });
  assert.is(e.seq, 4);
  assert.is(e.boot_id, 'boot-1');
});

// Cross-check: the size formula against mqtt-packet's encoder (what MQTT.js puts on the wire).
test('publishPacketSize equals the encoded PUBLISH length from mqtt-packet (3.1.1 and 5)', () => {
  const cases = [
    { topic: 'tandem/r1/events', payload: 10, qos: 1 as const, v: 4 as const, props: {} },
    {
      topic: 'tandem/r1/health',
      payload: 300,
      qos: 0 as const,
      v: 5 as const,
      props: { messageExpiryInterval: 30, payloadFormatIndicator: true },
    },
    {
      topic: 'tandem/r1/state',
      payload: 20_000,
      qos: 1 as const,
      v: 5 as const,
      props: { topicAlias: 2, payloadFormatIndicator: true },
    },
    {
      topic: 'reply/to/me',
      payload: 127,
      qos: 1 as const,
      v: 5 as const,
      props: { correlationData: Buffer.from('abcdef') },
    },
    { topic: 't', payload: 2_100_000, qos: 1 as const, v: 4 as const, props: {} },
    { topic: 'tandem/ñode/state', payload: 0, qos: 1 as const, v: 5 as const, props: {} },
  ];
  for (const c of cases) {
    const wire = mqttPacket.generate(
      {
        cmd: 'publish',
        topic: c.topic,
        payload: Buffer.alloc(c.payload),
        qos: c.qos,
        retain: false,
        dup: false,
        messageId: c.qos ? 1 : undefined,
        properties: c.v === 5 ? c.props : undefined,
      } as never,
      { protocolVersion: c.v },
    );
    assert.is(
      publishPacketSize(c.topic, c.payload, c.qos, c.v, c.props),
      wire.length,
      JSON.stringify({ ...c, props: Object.keys(c.props) }),
    );
  }
});

test.run();
