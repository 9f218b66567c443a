// firmware/config: a complete file to the exact object, the defaults, board files, never a throw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfig, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions, ConfigResult, TandemConfig } from '../../firmware/config/index.ts';

const FIX = new URL('../fixtures/config/', import.meta.url).pathname;
// Deterministic outside world: every referenced file "exists", a fixed hostname, Linux.
const OPTS: ConfigOptions = { hostname: 'testhost', platform: 'linux', probe: () => 'ok' };

function ok(r: ConfigResult): TandemConfig {
  if (!r.ok) assert.unreachable(`expected a valid config, got:\n${r.errors.map(formatIssue).join('\n')}`);
  return (r as { config: TandemConfig }).config;
}

test('a file setting every key (with a board file) parses to exactly the expected object', () => {
  const file = join(FIX, 'full.yaml');
  const r = loadConfig(file, OPTS);
  const config = ok(r);
  assert.equal(r.warnings.map(formatIssue), [
    // RFC 5798 5.2.9 only concerns the first address; lan6's first is link-local: no warning.
  ]);
  const expected: TandemConfig = {
    file,
    node: 'r1',
    board: { file: join(FIX, 'board.yaml'), interfaces: { lan: 'eth0', wan: 'eth1', uplink: 'eth2' } },
    stateDir: '/run/tandem-test',
    control: { socket: '/run/tandem-test/ctl.sock' },
    log: { level: 'warn' },
    scheduling: { nice: -5, realtimePriority: 10 },
    instances: [
      {
        name: 'lan',
        interface: 'eth0',
        protocol: 'vrrp',
        vrid: 51,
        version: 3,
        family: 4,
        priority: 200,
        advertIntervalMs: 100,
        preempt: true,
        preemptDelayMs: 1500,
        acceptMode: true,
        addresses: [
          { address: '192.0.2.254', prefixLength: 24 },
          { address: '192.0.2.253', prefixLength: 32 },
        ],
        macMode: 'move',
        macCycleLink: true,
        sourceAddress: '192.0.2.1',
        unicastPeers: ['192.0.2.2', '192.0.2.3'],
        checksum: 'vrrp-only',
        auth: { type: 'none' },
        garp: { count: 10, intervalMs: 200, refreshMs: 60_000 },
        track: {
          interfaces: [{ name: 'eth2', weight: -50 }, { name: 'eth3' }],
          scripts: [
            { run: '/usr/local/bin/check-upstream', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, weight: -30 },
            { run: '/usr/local/bin/check-dns', intervalMs: 2000, timeoutMs: 1000, rise: 1, fall: 1 },
          ],
        },
        notify: '/etc/tandem/notify.sh',
        notifyTimeoutMs: 5000,
        line: 10,
      },
      {
        name: 'wan',
        interface: 'eth1',
        protocol: 'vrrp',
        vrid: 52,
        version: 2,
        family: 4,
        priority: 90,
        advertIntervalMs: 2000,
        preempt: false,
        preemptDelayMs: 0,
        acceptMode: true,
        addresses: [{ address: '198.51.100.254', prefixLength: 24 }],
        macMode: 'virtual',
        macCycleLink: false,
        unicastPeers: [],
        checksum: 'auto',
        auth: { type: 'simple', password: 's3cret' },
        garp: { count: 3, intervalMs: 50, refreshMs: 0 }, // from the board's instance_defaults
        track: { interfaces: [], scripts: [] },
        notifyTimeoutMs: 3000,
        line: 34, // site instance_defaults beat the board's
      },
      {
        name: 'lan6',
        interface: 'eth0',
        protocol: 'vrrp',
        vrid: 51,
        version: 3,
        family: 6,
        priority: 100,
        advertIntervalMs: 1000,
        preempt: true,
        preemptDelayMs: 0,
        acceptMode: true,
        addresses: [
          { address: 'fe80::1', prefixLength: 64 },
          { address: '2001:db8::fe', prefixLength: 64 },
        ],
        macMode: 'none',
        macCycleLink: false,
        sourceAddress: 'fe80::1',
        unicastPeers: [],
        checksum: 'auto',
        auth: { type: 'none' },
        garp: { count: 3, intervalMs: 50, refreshMs: 0 },
        track: { interfaces: [], scripts: [] },
        notifyTimeoutMs: 3000,
        line: 44,
      },
    ],
    syncGroups: [{ name: 'edge', instances: ['lan', 'wan'] }],
    telemetry: {
      mqtt: {
        url: 'mqtts://broker.example:8883',
        clientId: 'router-one',
        username: 'r1',
        passwordFile: '/etc/tandem/mqtt.pass',
        ca: '/etc/tandem/ca.pem',
        cert: '/etc/tandem/r1.pem',
        key: '/etc/tandem/r1.key',
        topicPrefix: 'site/tandem',
        healthIntervalMs: 30_000,
        protocolVersion: 4,
        offlineQueue: 50,
      },
    },
    ota: {
      root: '/data/tandem',
      trustedKeys: ['/etc/tandem/ota-key.pub', '/etc/tandem/ota-key2.pub'],
      healthDeadlineMs: 90_000,
      allowDowngrade: true,
    },
  };
  assert.equal(config, expected);
});

test('a minimal instance gets every documented default', () => {
  const text = 'instances:\n  - { name: a, interface: eth0, vrid: 1, addresses: [192.0.2.10] }\n';
  const r = parseConfig(text, 'min.yaml', OPTS);
  const config = ok(r);
  assert.equal(r.warnings, []);
  assert.equal(config, {
    file: 'min.yaml',
    node: 'testhost',
    stateDir: '/run/tandem',
    control: { socket: '/run/tandem/tandem.sock' },
    log: { level: 'info' },
    scheduling: { nice: -10, realtimePriority: 10 },
    instances: [
      {
        name: 'a',
        interface: 'eth0',
        protocol: 'vrrp',
        vrid: 1,
        version: 3,
        family: 4,
        priority: 100,
        advertIntervalMs: 1000,
        preempt: true,
        preemptDelayMs: 0,
        acceptMode: true, // tandem accepts by default (keepalived without vrrp_strict); RFC 5798 says false
        addresses: [{ address: '192.0.2.10', prefixLength: 32 }],
        macMode: 'none',
        macCycleLink: false,
        unicastPeers: [],
        checksum: 'auto',
        auth: { type: 'none' },
        garp: { count: 5, intervalMs: 100, refreshMs: 0 },
        track: { interfaces: [], scripts: [] },
        notifyTimeoutMs: 5000,
        line: 2,
      },
    ],
    syncGroups: [],
    ota: { root: '/var/lib/tandem', trustedKeys: [], healthDeadlineMs: 120_000, allowDowngrade: false },
  });
});

test('telemetry.mqtt without client_id or topic_prefix derives them from the node name', () => {
  const text =
    'node: edge-7\ninstances: [{ name: a, interface: eth0, vrid: 1, addresses: [192.0.2.10] }]\ntelemetry:\n  mqtt: { url: "mqtt://192.0.2.50" }\n';
  const config = ok(parseConfig(text, 't.yaml', OPTS));
  assert.equal(config.telemetry, {
    mqtt: {
      url: 'mqtt://192.0.2.50',
      clientId: 'tandem-edge-7',
      topicPrefix: 'tandem',
      healthIntervalMs: 10_000,
      protocolVersion: 5,
      offlineQueue: 1000,
    },
  });
});

test('YAML anchors, aliases and << merge keys are honoured', () => {
  const text = [
    'x-common: &common { priority: 150, advert_interval: 50ms }', // not a tandem key: reported
    'instances:',
    '  - { <<: *common, name: a, interface: eth0, vrid: 1, addresses: [192.0.2.10] }',
    '  - { <<: *common, name: b, interface: eth0, vrid: 2, priority: 120, addresses: [192.0.2.11] }',
  ].join('\n');
  const r = parseConfig(text, 'a.yaml', OPTS);
  assert.equal(r.ok ? [] : r.errors.map(formatIssue), ['a.yaml:1: x-common: unknown key']);
  const fixed = parseConfig(
    text
      .replace('x-common: &common { priority: 150, advert_interval: 50ms }\n', '')
      .replace(/<<: \*common, /g, '<<: { priority: 150, advert_interval: 50ms }, '),
    'a.yaml',
    OPTS,
  );
  const config = ok(fixed);
  assert.equal(
    config.instances.map((i) => [i.priority, i.advertIntervalMs]),
    [
      [150, 50],
      [120, 50],
    ],
  );
});

test('IPv4 and IPv6 virtual routers may share a VRID on one interface (separate spaces, RFC 5798 5.2.3)', () => {
  const text =
    'instances:\n  - { name: a, interface: eth0, vrid: 7, addresses: [192.0.2.10] }\n  - { name: b, interface: eth0, vrid: 7, addresses: ["fe80::7"] }\n';
  const config = ok(parseConfig(text, 'v.yaml', OPTS));
  assert.equal(
    config.instances.map((i) => i.family),
    [4, 6],
  );
});

test('warnings do not fail the file: owner priority, global first IPv6 address', () => {
  const text = [
    'instances:',
    '  - { name: a, interface: eth0, vrid: 1, priority: 255, addresses: [192.0.2.10] }',
    '  - { name: b, interface: eth0, vrid: 2, addresses: ["2001:db8::1", "fe80::1"] }',
  ].join('\n');
  const r = parseConfig(text, 'w.yaml', { ...OPTS, platform: 'netbsd' });
  ok(r);
  assert.equal(r.warnings.map(formatIssue), [
    "w.yaml:2: instances[0].priority: priority 255 means address owner: every virtual address must be this router's own address (RFC 5798 5.2.4)",
    'w.yaml:3: instances[1].addresses[0]: the first IPv6 address should be link-local (fe80::/10): peers compare it (RFC 5798 5.2.9)',
  ]);
});

test('mac_mode: virtual off Linux is an error: tandem check fails instead of the daemon at start', () => {
  const text = 'instances:\n  - { name: c, interface: eth0, vrid: 3, mac_mode: virtual, addresses: [192.0.2.11] }\n';
  const r = parseConfig(text, 'w.yaml', { ...OPTS, platform: 'netbsd' });
  assert.not.ok(r.ok);
  if (!r.ok)
    assert.equal(r.errors.map(formatIssue), [
      'w.yaml:2: instances[0].mac_mode: mac_mode: virtual needs a Linux macvlan; on netbsd use move or none',
    ]);
});

test('notify and track scripts that are missing or not executable are warnings, checked on the real filesystem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
  try {
    const good = join(dir, 'good.sh'),
      plain = join(dir, 'plain.sh');
    writeFileSync(good, '#!/bin/sh\n');
    chmodSync(good, 0o755);
    writeFileSync(plain, '#!/bin/sh\n');
    chmodSync(plain, 0o644);
    const text = [
      'instances:',
      `  - name: a`,
      `    interface: eth0`,
      `    vrid: 1`,
      `    addresses: [192.0.2.10]`,
      `    notify: ${good}`,
      `    track: { scripts: [{ run: ${plain} }, { run: ${dir}/nope.sh }, { run: ${dir} }] }`,
    ].join('\n');
    const r = parseConfig(text, 'f.yaml', { hostname: 'h', platform: 'linux' });
    ok(r);
    // root may execute a 0644 file's check too: access(X_OK) for root needs one x bit, so still a warning.
    assert.equal(r.warnings.map(formatIssue), [
      `f.yaml:7: instances[0].track.scripts[0].run: ${plain} is not executable`,
      `f.yaml:7: instances[0].track.scripts[1].run: ${dir}/nope.sh does not exist`,
      `f.yaml:7: instances[0].track.scripts[2].run: ${dir} is not a regular file`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing file, a directory and a YAML syntax error are issues with a line, never a throw', () => {
  const missing = loadConfig('/nonexistent/tandem.yaml', OPTS);
  assert.equal(missing.ok ? [] : missing.errors.map(formatIssue), [
    '/nonexistent/tandem.yaml:1: (file): cannot read: no such file',
  ]);
  const dir = loadConfig(FIX, OPTS);
  assert.equal(dir.ok ? [] : dir.errors.map(formatIssue), [`${FIX}:1: (file): cannot read: is a directory`]);
  const syntax = parseConfig('log:\n  level: info\n instances: [\n', 's.yaml', OPTS);
  assert.not.ok(syntax.ok);
  assert.ok(
    !syntax.ok &&
      syntax.errors.length >= 1 &&
      syntax.errors.every((e) => e.file === 's.yaml' && e.path === '(yaml)' && e.line >= 2),
  );
});

test('garbage of every kind gives issues, not exceptions', () => {
  const inputs = [
    '',
    '~',
    '42',
    '- a\n- b',
    '{',
    '"',
    'a: *nope',
    'instances: &x [*x]',
    '\u0000',
    'a: !!binary zz',
    '? [a]\n: b',
  ];
  for (const text of inputs) {
    let r: ConfigResult | undefined;
    try {
      r = parseConfig(text, 'g.yaml', OPTS);
    } catch (e) {
      assert.unreachable(`threw on ${JSON.stringify(text)}: ${e}`);
    }
    assert.is(r!.ok, false, JSON.stringify(text));
    assert.ok(!r!.ok && r!.errors.length > 0 && r!.errors.every((e) => e.line >= 1));
  }
});

test.run();

test('per-OS defaults: Linux /run and /var/lib with SCHED_RR 10; the BSDs /var/run and /var/db (hier(7)) and no realtime', () => {
  const text = 'instances:\n  - { name: a, interface: eth0, vrid: 1, addresses: [192.0.2.10] }\nota: {}\n';
  const linux = ok(parseConfig(text, 'w.yaml', OPTS));
  assert.is(linux.stateDir, '/run/tandem');
  assert.is(linux.control.socket, '/run/tandem/tandem.sock');
  assert.is(linux.scheduling.realtimePriority, 10);
  assert.is(linux.ota?.root, '/var/lib/tandem');
  for (const platform of ['netbsd', 'freebsd', 'openbsd']) {
    const bsd = ok(parseConfig(text, 'w.yaml', { ...OPTS, platform }));
    assert.is(bsd.stateDir, '/var/run/tandem', platform);
    assert.is(bsd.control.socket, '/var/run/tandem/tandem.sock', platform);
    assert.is(bsd.scheduling.realtimePriority, 0, `${platform}: no SCHED_RR, so no warning about it`);
    assert.is(bsd.ota?.root, '/var/db/tandem', platform);
  }
  // Given values win everywhere.
  const given = ok(
    parseConfig(`state_dir: /srv/t\ncontrol: { socket: /srv/t/s }\n${text}`, 'w.yaml', { ...OPTS, platform: 'netbsd' }),
  );
  assert.is(given.stateDir, '/srv/t');
  assert.is(given.control.socket, '/srv/t/s');
});
