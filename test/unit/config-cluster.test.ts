// `clusters:` (issue #13): the documented defaults, a file with clusters and no instances, and a
// table of bad files with their exact `FILE:LINE: path: reason` lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';

const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };

test('a file with clusters and no instances; every key and every default', () => {
  const text = `clusters:
  - name: web
    interface: eth0
    id: 1
    addresses: [192.0.2.80/32, 2001:db8::80/128]
  - name: api
    interface: eth0
    id: 2
    addresses: [198.51.100.7]
    buckets: 256
    hash: source-dest
    weight: 0
    advert_interval: 10ms
    preempt_delay: 2s
    drain_timeout: 5m
    mac_mode: igmp
    track:
      interfaces: [{ name: eth1, weight: -50 }, { name: eth2 }]
`;
  const r = parseConfig(text, 'c.yaml', OPTS);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  assert.equal(r.config.instances, []);
  assert.equal(r.config.clusters, [
    {
      name: 'web',
      interface: 'eth0',
      id: 1,
      addresses: [
        { address: '192.0.2.80', prefixLength: 32 },
        { address: '2001:db8::80', prefixLength: 128 },
      ],
      buckets: 64,
      hash: 'source',
      weight: 100,
      advertIntervalMs: 100,
      preemptDelayMs: 0,
      drainTimeoutMs: 60_000,
      macMode: 'multicast',
      mode: 'local',
      track: { interfaces: [], scripts: [] },
      line: 2,
    },
    {
      name: 'api',
      interface: 'eth0',
      id: 2,
      addresses: [{ address: '198.51.100.7', prefixLength: 32 }],
      buckets: 256,
      hash: 'source-dest',
      weight: 0,
      advertIntervalMs: 10,
      preemptDelayMs: 2000,
      drainTimeoutMs: 300_000,
      macMode: 'igmp',
      mode: 'local',
      track: { interfaces: [{ name: 'eth1', weight: -50 }, { name: 'eth2' }], scripts: [] },
      line: 6,
    },
  ]);
});

test('a file without clusters has no clusters key (unchanged for instance-only files)', () => {
  const r = parseConfig(
    'instances: [{ name: a, interface: eth0, vrid: 1, addresses: [192.0.2.10] }]\n',
    'c.yaml',
    OPTS,
  );
  assert.ok(r.ok);
  if (r.ok) assert.is(r.config.clusters, undefined);
});

test('a forward cluster: return path and state sync, with their defaults', () => {
  const text = `clusters:
  - name: fw
    interface: eth0
    id: 3
    addresses: [192.0.2.1/24]
    mode: forward
    return_path: { interface: eth1, addresses: [198.51.100.1/24] }
    state_sync: { interface: sync0, local: 203.0.113.11 }
`;
  const r = parseConfig(text, 'c.yaml', OPTS);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  const c = r.config.clusters![0];
  assert.is(c.mode, 'forward');
  assert.equal(c.returnPath, { interface: 'eth1', addresses: [{ address: '198.51.100.1', prefixLength: 24 }] });
  assert.equal(c.stateSync, {
    interface: 'sync0',
    local: '203.0.113.11',
    group: '225.0.0.50',
    port: 3780,
    conntrackd: '/usr/sbin/conntrackd',
    controlTimeoutMs: 5000,
  });
});

const F = (extra = '') =>
  `clusters:\n  - name: fw\n    interface: eth0\n    id: 3\n    addresses: [192.0.2.1/24]\n    mode: forward\n${extra}`;
const RP = '    return_path: { interface: eth1, addresses: [198.51.100.1/24] }\n';

const C = (extra = '', name = 'web', id = 1, addr = '192.0.2.80') =>
  `  - name: ${name}\n    interface: eth0\n    id: ${id}\n    addresses: [${addr}]\n${extra}`;

const BAD: [string, string, string[]][] = [
  [
    'a misspelt key',
    `clusters:\n${C('    drain_timout: 1s\n')}`,
    ['bad.yaml:6: clusters[0].drain_timout: unknown key (did you mean "drain_timeout"?)'],
  ],
  ['id 0', `clusters:\n${C('', 'web', 0)}`, ['bad.yaml:4: clusters[0].id: must be 1..255, got 0']],
  [
    'two clusters with one id on one interface',
    `clusters:\n${C()}${C('', 'api', 1, '192.0.2.81')}`,
    ['bad.yaml:8: clusters[1].id: cluster id 1 on eth0 is already used by cluster web'],
  ],
  [
    'a duplicate name',
    `clusters:\n${C()}${C('', 'web', 2, '192.0.2.81')}`,
    ['bad.yaml:6: clusters[1].name: duplicate cluster name web (first at line 2)'],
  ],
  [
    'an address shared with an instance',
    `instances: [{ name: gw, interface: eth0, vrid: 1, addresses: [192.0.2.80] }]\nclusters:\n${C()}`,
    ['bad.yaml:6: clusters[0].addresses[0]: 192.0.2.80 is also an address of instance gw'],
  ],
  [
    'buckets 2000',
    `clusters:\n${C('    buckets: 2000\n')}`,
    ['bad.yaml:6: clusters[0].buckets: must be 1..1024, got 2000'],
  ],
  [
    'a hash on ports',
    `clusters:\n${C('    hash: source-port\n')}`,
    ['bad.yaml:6: clusters[0].hash: must be source or source-dest, got source-port'],
  ],
  [
    'an unknown mac_mode',
    `clusters:\n${C('    mac_mode: move\n')}`,
    ['bad.yaml:6: clusters[0].mac_mode: must be one of multicast, igmp, unicast, got move'],
  ],
  [
    'weight above 16 bits',
    `clusters:\n${C('    weight: 70000\n')}`,
    ['bad.yaml:6: clusters[0].weight: must be 0..65535, got 70000'],
  ],
  [
    'an advert interval the wire cannot carry',
    `clusters:\n${C('    advert_interval: 70s\n')}`,
    ['bad.yaml:6: clusters[0].advert_interval: must be 10ms..65.535s, got 70s'],
  ],
  [
    'no addresses',
    'clusters:\n  - { name: web, interface: eth0, id: 1 }\n',
    ['bad.yaml:2: clusters[0].addresses: missing (required)'],
  ],
  ['forward without a return path', F(), ['bad.yaml:2: clusters[0].return_path: missing (required)']],
  [
    'a return path on the same interface',
    F('    return_path: { interface: eth0, addresses: [198.51.100.1/24] }\n'),
    ['bad.yaml:7: clusters[0].return_path.interface: the return path must be another interface than eth0'],
  ],
  [
    'forward with an IPv6 address',
    F(RP).replace('192.0.2.1/24', '2001:db8::1/64'),
    ['bad.yaml:5: clusters[0].addresses: 2001:db8::1: forward mode is IPv4 only (IPv6 forwarding is not built yet)'],
  ],
  [
    'forward with a source-dest hash',
    F(`${RP}    hash: source-dest\n`),
    [
      'bad.yaml:8: clusters[0].hash: forward mode hashes the client: the source here, the destination on the return path',
    ],
  ],
  [
    'state sync on a local cluster',
    `clusters:\n${C('    state_sync: { interface: sync0, local: 203.0.113.11 }\n')}`,
    [
      'bad.yaml:6: clusters[0].state_sync: state_sync needs mode: forward: in local mode the connections end in sockets on the dead node, which no table can move',
    ],
  ],
  [
    'a sync group that is not multicast',
    F(`${RP}    state_sync: { interface: sync0, local: 203.0.113.11, group: 203.0.113.255 }\n`),
    ['bad.yaml:8: clusters[0].state_sync.group: 203.0.113.255 is not an IPv4 multicast group (224.0.0.0/4)'],
  ],
  [
    'a cluster state sync next to a VRRP state sync',
    `instances: [{ name: gw, interface: eth2, vrid: 1, addresses: [192.0.2.10] }]\nstate_sync: { follows: gw, interface: sync0, local: 203.0.113.11, peer: 203.0.113.12 }\n${F(`${RP}    state_sync: { interface: sync0, local: 203.0.113.11 }\n`)}`,
    ['bad.yaml:2: state_sync: cluster fw (line 4) already replicates connection tracking: one state_sync per node'],
  ],
  ['no instances and no clusters', 'node: x\n', ['bad.yaml:1: instances: missing (required): at least one instance']],
];

for (const [what, text, want] of BAD) {
  test(`rejects ${what}`, () => {
    const r = parseConfig(text, 'bad.yaml', OPTS);
    assert.is(r.ok, false);
    if (!r.ok) assert.equal(r.errors.map(formatIssue), want);
  });
}

test.run();
