// firmware/supervisor/snmp.ts: what the VRRPv3-MIB rows hold (RFC 6527 columns and encodings),
// and the snmp.agentx configuration. The AgentX exchange with a real snmpd is
// test/net/snmp-agentx.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';
import { inetAddress, operationsStatus, routerErrors, rows } from '../../firmware/supervisor/snmp.ts';
import { exampleCounters, exampleInstanceStatus } from '../kit/status.ts';

test('InetAddress (RFC 4001): 4 octets for IPv4, 16 for IPv6, empty for none', () => {
  assert.is(inetAddress('192.0.2.11').toString('hex'), 'c000020b');
  assert.is(inetAddress('2001:db8::1').toString('hex'), '20010db8000000000000000000000001');
  assert.is(inetAddress('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
  assert.is(inetAddress(null).length, 0);
});

test('vrrpv3OperationsStatus: initialize(1) for init and fault, backup(2), master(3)', () => {
  assert.equal((['init', 'fault', 'backup', 'master'] as const).map(operationsStatus), [1, 1, 2, 3]);
});

test('a row: index ifIndex.VrId.InetAddrType, then the columns in MIB order', () => {
  const r = rows(
    exampleInstanceStatus({
      ifIndex: 4,
      vrid: 51,
      family: 6,
      state: 'master',
      masterIp: 'fe80::1',
      primaryIp: 'fe80::1',
      virtualMac: '00:00:5e:00:02:33',
      effectivePriority: 150,
      addresses: ['fe80::254/64', '2001:db8::254/64'],
      advertIntervalMs: 100,
      preempt: false,
      acceptMode: true,
      masterReason: 'preempt',
      counters: exampleCounters({ becameMaster: 2, advertsReceived: 9, drops: { 'bad-ttl': 3, 'bad-length': 1 } }),
    }),
  );
  assert.equal(r.index, [4, 51, 2]);
  assert.equal(r.operations.slice(6).map(String), ['3', '150', '2', '10', '2', '1', '1']);
  assert.is((r.operations[3] as Buffer).toString('hex'), 'fe800000000000000000000000000001');
  assert.is((r.operations[5] as Buffer).toString('hex'), '00005e000233');
  assert.equal(
    r.statistics.slice(3),
    [2, 2, 9, 0, 3, 0, 0, 1],
    'transitions, preempted(2), rcvd, interval, ttl, type, addr, length',
  );
});

test('router-wide error counters add interface and instance drops', () => {
  const s = {
    node: 'r',
    version: 'v',
    pid: 1,
    bootId: 'b',
    uptimeMs: 1,
    loopDelay: { p50: 0, p99: 0, max: 0 },
    instances: [exampleInstanceStatus({ counters: exampleCounters({ drops: { 'bad-version': 2 } }) })],
    interfaces: [
      { name: 'eth0', drops: { 'bad-checksum': 5, 'unknown-vrid': 7, 'bad-version': 1 }, captureDropped: 0 },
    ],
  };
  assert.equal(routerErrors(s), { checksum: 5, version: 3, vrid: 7 });
});

const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };
const conf = (snmp: string) =>
  `${snmp}\ninstances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    addresses: [192.0.2.1]\n`;

test('snmp.agentx: a unix path (default /var/agentx/master) or tcp:HOST:PORT; mistakes are file:line errors', () => {
  const ok = (text: string) => {
    const r = parseConfig(conf(text), 't.yaml', OPTS);
    if (!r.ok) assert.unreachable(r.errors.map(formatIssue).join('\n'));
    return r.ok ? r.config.snmp : undefined;
  };
  assert.equal(ok('snmp: {}'), { agentx: { path: '/var/agentx/master' } });
  assert.equal(ok('snmp:\n  agentx: /run/agentx.sock'), { agentx: { path: '/run/agentx.sock' } });
  assert.equal(ok('snmp:\n  agentx: tcp:127.0.0.1:705'), { agentx: { host: '127.0.0.1', port: 705 } });
  assert.equal(ok('snmp:\n  agentx: "tcp:[::1]:705"'), { agentx: { host: '::1', port: 705 } });
  assert.is(ok(''), undefined);
  for (const [text, reason] of [
    ['snmp:\n  agentx: agentx.sock', /absolute path/],
    ['snmp:\n  agentx: tcp:localhost:705', /not an IPv4 or IPv6 address/],
    ['snmp:\n  agentx: tcp:127.0.0.1:0', /port must be 1\.\.65535/],
    ['snmp:\n  agnetx: /x', /unknown key/],
  ] as const) {
    const r = parseConfig(conf(text), 't.yaml', OPTS);
    assert.not.ok(r.ok, text);
    if (!r.ok) {
      assert.is(r.errors[0].line, 2, text);
      assert.match(r.errors[0].reason, reason);
    }
  }
});

test.run();
