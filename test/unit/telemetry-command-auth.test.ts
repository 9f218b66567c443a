// Remote command authorization (issue #12): the allowlist, signed commands, response-topic
// confinement, the reply-cache key, strict argument types, and the `commands` config block.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseConfig } from '../../firmware/config/index.ts';
import { CommandError } from '../../firmware/core/errors.ts';
import { parseOperatorCommand } from '../../firmware/supervisor/operator-command.ts';
import {
  CommandAuth,
  commandKeyId,
  confineResponseTopic,
  MAX_NONCES,
  requestKey,
  signCommand,
} from '../../firmware/telemetry/command-auth.ts';
import { parseRequest } from '../../firmware/telemetry/commands.ts';

const ops = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const pem = (k: typeof ops) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const T0 = 1_800_000_000_000;

function auth(keys: Record<string, string> = { '/k/ops.pub': pem(ops) }, allow = ['status', 'maintenance']) {
  return new CommandAuth({ allow, trustedKeys: Object.keys(keys), replayWindowMs: 30_000 }, 'r1', (p) => keys[p]);
}
const sign = (over: Record<string, unknown> = {}, key = ops.privateKey) =>
  Buffer.from(
    signCommand(key, {
      node: 'r1',
      cmd: 'maintenance',
      ts: T0,
      nonce: randomBytes(8).toString('hex'),
      id: 'a',
      args: { on: true },
      ...over,
    }),
  );

test('without a commands block only status is allowed; mutating commands only when listed', () => {
  const a = new CommandAuth({ allow: ['status'], trustedKeys: [], replayWindowMs: 30_000 }, 'r1');
  assert.equal(
    ['status', 'set-priority', 'maintenance', 'reload', 'ota'].map((c) => a.allowed(c)),
    [true, false, false, false, false],
  );
  assert.not.ok(a.signed);
  assert.ok(auth().allowed('maintenance'));
});

test('a valid signed request unwraps to its id and args; node, cmd, ts and nonce are the wrapper', () => {
  const u = auth().unwrap('maintenance', sign(), T0 + 1000);
  assert.ok(u.ok);
  if (!u.ok) return;
  assert.is(u.keyId, commandKeyId(ops.publicKey));
  assert.equal(parseRequest('maintenance', u.body), { ok: true, name: 'maintenance', id: 'a', args: { on: true } });
});

test('signed requests: each way to get one wrong has its own refusal', () => {
  const forged = JSON.parse(sign().toString());
  forged.signed = Buffer.from(Buffer.from(forged.signed, 'base64').toString().replace('true', 'false')).toString(
    'base64',
  );
  const rows: [string, Uint8Array, string][] = [
    ['unsigned', Buffer.from('{"id":"a","args":{"on":true}}'), 'signature-required'],
    ['empty', Buffer.alloc(0), 'signature-required'],
    ['an untrusted key', sign({}, other.privateKey), 'unknown-key'],
    ['a changed payload', Buffer.from(JSON.stringify(forged)), 'bad-signature'],
    ['for another node', sign({ node: 'r2' }), 'wrong-node'],
    ['for another command', sign({ cmd: 'reload' }), 'wrong-command'],
    ['31 s old', sign({ ts: T0 - 31_000 }), 'stale'],
    ['31 s ahead', sign({ ts: T0 + 31_000 }), 'stale'],
    ['ts as a string', sign({ ts: String(T0) }), 'stale'],
    ['a short nonce', sign({ nonce: 'abc' }), 'bad-request'],
    ['an extra wrapper member', Buffer.from(JSON.stringify({ ...JSON.parse(sign().toString()), x: 1 })), 'bad-request'],
  ];
  for (const [why, payload, code] of rows) {
    const u = auth().unwrap('maintenance', payload, T0);
    assert.ok(!u.ok && u.code === code, `${why}: ${JSON.stringify(u)}`);
  }
});

test('a nonce is accepted once per key inside the replay window, and forgotten after it', () => {
  const a = auth();
  const nonce = 'n0nce-0001';
  assert.ok(a.unwrap('maintenance', sign({ nonce }), T0).ok);
  const again = a.unwrap('maintenance', sign({ nonce, id: 'b' }), T0 + 10);
  assert.ok(!again.ok && again.code === 'replayed');
  // After the window the old nonce is forgotten, but a request carrying the old ts is stale anyway.
  assert.ok(a.unwrap('maintenance', sign({ nonce, ts: T0 + 40_000 }), T0 + 40_000).ok);
});

test('the nonce memory is bounded: a flood inside one window is refused, not remembered', () => {
  const a = auth();
  for (let i = 0; i < MAX_NONCES; i++) a.unwrap('maintenance', sign({ nonce: `nonce-${i}-flood` }), T0);
  const u = a.unwrap('maintenance', sign({ nonce: 'one-too-many' }), T0);
  assert.ok(!u.ok && u.code === 'replayed');
});

test('a key that does not load is reported, and signing stays required (fail closed)', () => {
  const a = auth({ '/k/bad.pub': 'not a key' });
  assert.is(a.keyErrors.length, 1);
  assert.ok(a.signed);
  const u = a.unwrap('maintenance', sign(), T0);
  assert.ok(!u.ok && u.code === 'unknown-key');
});

test('response topics stay under the node reply topic', () => {
  const r = 'tandem/r1/reply';
  const rows: [string | undefined, string][] = [
    [undefined, r],
    ['', r],
    [r, r],
    [`${r}/ops/42`, `${r}/ops/42`],
    ['tandem/r1/replyx', r],
    ['tandem/r2/state', r],
    ['tandem/r1/status', r],
    [`${r}/+`, r],
    [`${r}/${'x'.repeat(600)}`, r],
  ];
  for (const [asked, got] of rows) assert.is(confineResponseTopic(asked, r), got, String(asked));
});

test('the reply-cache key: the same bytes dedupe; the same id with other arguments is another request', () => {
  const p = (s: string) => Buffer.from(s);
  const a = requestKey('maintenance', 'op-1', undefined, p('{"id":"op-1","args":{"on":true}}'));
  assert.is(requestKey('maintenance', 'op-1', undefined, p('{"id":"op-1","args":{"on":true}}')), a);
  assert.is.not(requestKey('maintenance', 'op-1', undefined, p('{"id":"op-1","args":{"on":false}}')), a);
  assert.is.not(requestKey('reload', 'op-1', undefined, p('{"id":"op-1","args":{"on":true}}')), a);
  assert.is(requestKey('status', null, undefined, p('{}')), null, 'no id, no correlation data: no dedupe');
  assert.ok(requestKey('status', null, p('c1'), p('{}')));
});

test('requests: unknown members are refused', () => {
  const r = parseRequest('status', Buffer.from('{"id":"a","args":{},"as_user":"root"}'));
  assert.ok(!r.ok && r.code === 'bad-request' && r.id === 'a', JSON.stringify(r));
});

test('operator commands: strict types (set-priority refuses true, "100", 1.5) and no unknown arguments', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['set-priority', { instance: 'lan', value: true }],
    ['set-priority', { instance: 'lan', value: '100' }],
    ['set-priority', { instance: 'lan', value: 1.5 }],
    ['set-priority', { instance: 'lan', value: 100, force: true }],
    ['maintenance', { on: 1 }],
    ['maintenance', { on: true, all: true }],
    ['status', { verbose: true }],
    ['reload', { file: '/etc/shadow' }],
  ];
  for (const [name, args] of bad)
    assert.throws(
      () => parseOperatorCommand(name, args),
      (e: unknown) => e instanceof CommandError && e.code === 'bad-argument',
      `${name} ${JSON.stringify(args)}`,
    );
  assert.equal(parseOperatorCommand('set-priority', { cmd: 'set-priority', instance: 'lan', value: 100 }), {
    cmd: 'set-priority',
    instance: 'lan',
    value: 100,
  });
  assert.throws(
    () => parseOperatorCommand('__proto__', {}),
    (e: unknown) => e instanceof CommandError,
  );
});

const OPTS = { hostname: 'h', platform: 'linux', probe: () => 'ok' as const };
const yaml = (mqtt: string) =>
  `instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    addresses: [192.0.2.10]\ntelemetry:\n  mqtt:\n${mqtt}`;

test('config: commands.allow, trusted_keys and replay_window are read; a plain mqtt:// link with mutating commands warns', () => {
  const r = parseConfig(
    yaml(
      '    url: mqtt://broker.example\n    commands:\n      allow: [status, maintenance]\n      replay_window: 10s\n',
    ),
    't.yaml',
    OPTS,
  );
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.config.telemetry?.mqtt?.commands, {
    allow: ['status', 'maintenance'],
    trustedKeys: [],
    replayWindowMs: 10_000,
  });
  assert.equal(
    r.warnings.map((w) => `${w.line} ${w.path}`),
    ['8 telemetry.mqtt.url'],
  );
  assert.match(r.warnings[0].reason, /plain mqtt:\/\/.*unsigned/);
  const tls = parseConfig(yaml('    url: mqtts://broker.example\n    commands: { allow: [reload] }\n'), 't.yaml', OPTS);
  assert.ok(tls.ok && tls.warnings.length === 0);
  const ro = parseConfig(yaml('    url: mqtt://broker.example\n    commands: {}\n'), 't.yaml', OPTS);
  assert.ok(ro.ok && ro.warnings.length === 0 && ro.config.telemetry?.mqtt?.commands?.allow.join() === 'status');
  const bad = parseConfig(
    yaml('    url: mqtt://b\n    commands: { allow: [rebot], trusted_key: [/k] }\n'),
    't.yaml',
    OPTS,
  );
  assert.ok(!bad.ok);
  if (bad.ok) return;
  assert.equal(
    bad.errors.map((e) => `${e.path}: ${e.reason}`),
    [
      'telemetry.mqtt.commands.trusted_key: unknown key (did you mean "trusted_keys"?)',
      'telemetry.mqtt.commands.allow[0]: must be one of status, set-priority, maintenance, reload, ota, got rebot',
    ],
  );
});

test.run();
