// firmware/config: a table of bad files, each with the exact `FILE:LINE: path: reason` lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { formatIssue, loadConfig, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';

const FIX = new URL('../fixtures/config/', import.meta.url).pathname;
const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };

/** A valid instance `name` at 5 lines, plus `extra` lines of YAML under it. */
const I = (extra = '', name = 'a', vrid = 1) =>
  `  - name: ${name}\n    interface: eth0\n    vrid: ${vrid}\n    addresses: [192.0.2.10]\n${extra}`;

// [what is wrong, file text, the exact error lines]
const BAD: [string, string, string[]][] = [
  [
    'an unknown key, with the closest known key suggested',
    `instances:\n${I('    advert_intervall: 1s\n')}`,
    ['bad.yaml:6: instances[0].advert_intervall: unknown key (did you mean "advert_interval"?)'],
  ],
  [
    'a transposed key',
    `instances:\n${I('    vird: 2\n')}`,
    ['bad.yaml:6: instances[0].vird: unknown key (did you mean "vrid"?)'],
  ],
  [
    'an unknown top-level key and a bad log level',
    `logs: { level: info }\nlog: { level: verbose }\ninstances:\n${I()}`,
    [
      'bad.yaml:1: logs: unknown key (did you mean "log"?)',
      'bad.yaml:2: log.level: must be one of trace, debug, info, warn, error, got verbose',
    ],
  ],
  [
    'VRID 256 (RFC 5798 5.2.3: one octet, 1..255)',
    'instances:\n  - name: a\n    interface: eth0\n    vrid: 256\n    addresses: [192.0.2.10]\n',
    ['bad.yaml:4: instances[0].vrid: must be 1..255, got 256'],
  ],
  [
    'a quoted VRID is a string, not a number',
    'instances:\n  - name: a\n    interface: eth0\n    vrid: "51"\n    addresses: [192.0.2.10]\n',
    ['bad.yaml:4: instances[0].vrid: expected an integer, got a string ("51")'],
  ],
  [
    'priority 0 (reserved for "master is leaving", RFC 5798 5.2.4)',
    `instances:\n${I('    priority: 0\n')}`,
    ['bad.yaml:6: instances[0].priority: must be 1..255, got 0'],
  ],
  [
    'a v3 interval that is not whole centiseconds (RFC 5798 5.2.7)',
    `instances:\n${I('    advert_interval: 15ms\n')}`,
    ['bad.yaml:6: instances[0].advert_interval: VRRPv3 intervals are whole centiseconds (multiple of 10ms), got 15ms'],
  ],
  [
    'a v3 interval beyond 12 bits of centiseconds',
    `instances:\n${I('    advert_interval: 41s\n')}`,
    ['bad.yaml:6: instances[0].advert_interval: VRRPv3 interval must be 10ms..40.95s, got 41s'],
  ],
  [
    'a v2 interval that is not whole seconds (RFC 3768 5.3.7)',
    `instances:\n${I('    version: 2\n    advert_interval: 1.5s\n')}`,
    ['bad.yaml:7: instances[0].advert_interval: VRRPv2 interval must be whole seconds 1s..255s, got 1.5s'],
  ],
  [
    'a duration that is not one',
    `instances:\n${I('    advert_interval: fast\n')}`,
    [
      'bad.yaml:6: instances[0].advert_interval: "fast" is not a duration (use e.g. 100ms, 1s, 1.5s, 2m or a number of seconds)',
    ],
  ],
  [
    'VRRPv2 with IPv6 (RFC 3768 is IPv4 only)',
    'instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    version: 2\n    addresses: ["fe80::1"]\n',
    ['bad.yaml:5: instances[0].version: VRRPv2 is IPv4 only (RFC 3768); use version: 3 for IPv6'],
  ],
  [
    'mixed address families in one instance',
    'instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    addresses: [192.0.2.10, "fe80::1"]\n',
    ['bad.yaml:5: instances[0].addresses[1]: mixed address families: fe80::1 is IPv6, the first address is IPv4'],
  ],
  [
    'invalid addresses, each reported',
    'instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    addresses: [192.0.2.300, 010.0.0.1, 224.0.0.18, 192.0.2.1/33, "fe80::1%eth0"]\n',
    [
      'bad.yaml:5: instances[0].addresses[0]: "192.0.2.300" is not an IPv4 or IPv6 address',
      'bad.yaml:5: instances[0].addresses[1]: "010.0.0.1": a leading zero is ambiguous (octal to some tools): write it without',
      'bad.yaml:5: instances[0].addresses[2]: 224.0.0.18 is a multicast address',
      'bad.yaml:5: instances[0].addresses[3]: prefix length must be 1..32, got /33',
      'bad.yaml:5: instances[0].addresses[4]: "fe80::1%eth0": no %zone here, the instance\'s interface is the zone',
    ],
  ],
  [
    'an address listed twice (also in another spelling)',
    'instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    addresses: ["fe80::1", "FE80:0::0001/64"]\n',
    ['bad.yaml:5: instances[0].addresses[1]: fe80::1 is listed twice'],
  ],
  [
    'a duplicate instance name',
    `instances:\n${I()}${I('', 'a', 2)}`,
    ['bad.yaml:6: instances[1].name: duplicate instance name a (first at line 2)'],
  ],
  [
    'a duplicate VRID on the same interface and family',
    `instances:\n${I()}${I('', 'b', 1)}`,
    ['bad.yaml:8: instances[1].vrid: VRID 1 on eth0 (IPv4) is already used by instance a at line 2'],
  ],
  [
    'preempt_delay without preempt',
    `instances:\n${I('    preempt: false\n    preempt_delay: 5s\n')}`,
    ['bad.yaml:7: instances[0].preempt_delay: preempt_delay needs preempt: true'],
  ],
  [
    'auth on VRRPv3 (RFC 5798 removed it)',
    `instances:\n${I('    auth: { type: simple, password: abc }\n')}`,
    ['bad.yaml:6: instances[0].auth.type: authentication is VRRPv2 only (RFC 5798 removed it)'],
  ],
  [
    'a password longer than 8 octets (RFC 3768 5.3.6)',
    `instances:\n${I('    version: 2\n    auth: { type: simple, password: "123456789" }\n')}`,
    ['bad.yaml:7: instances[0].auth.password: must be 1..8 bytes (RFC 3768 5.3.6 field is 8 octets), got 9'],
  ],
  [
    'a sync group naming an unknown instance, and an instance in two groups',
    `instances:\n${I()}sync_groups:\n  - { name: g1, instances: [a, b] }\n  - { name: g2, instances: [a] }\n`,
    [
      'bad.yaml:7: sync_groups[0].instances[1]: no instance named b (did you mean a?)',
      'bad.yaml:8: sync_groups[1].instances[0]: a is already in sync group g1: an instance belongs to at most one group',
    ],
  ],
  [
    'a unicast peer of the other family',
    `instances:\n${I('    unicast_peers: ["2001:db8::1"]\n')}`,
    ["bad.yaml:6: instances[0].unicast_peers[0]: unicast peer 2001:db8::1 is IPv6, the instance's addresses are IPv4"],
  ],
  [
    'a source address with a prefix',
    `instances:\n${I('    source_address: 198.51.100.1/24\n')}`,
    ['bad.yaml:6: instances[0].source_address: "198.51.100.1/24": no /prefix here, only an address'],
  ],
  [
    'a telemetry URL scheme and protocol_version 3',
    `instances:\n${I()}telemetry:\n  mqtt: { url: "http://broker.example", protocol_version: 3 }\n`,
    [
      'bad.yaml:7: telemetry.mqtt.url: scheme must be mqtt, mqtts, ws, wss or mqtt+unix, got http',
      'bad.yaml:7: telemetry.mqtt.protocol_version: must be 4 or 5, got 3',
    ],
  ],
  [
    'a YAML 1.1 boolean',
    `instances:\n${I('    preempt: yes\n')}`,
    ['bad.yaml:6: instances[0].preempt: expected true or false, got a string ("yes") (YAML 1.2: write true or false)'],
  ],
  [
    'an unknown mac_mode',
    `instances:\n${I('    mac_mode: virt\n')}`,
    ['bad.yaml:6: instances[0].mac_mode: must be one of none, virtual, move, got virt'],
  ],
  [
    'a quoted version number',
    `instances:\n${I('    version: "3"\n')}`,
    ['bad.yaml:6: instances[0].version: must be 2 or 3, got a string ("3")'],
  ],
  [
    'missing required keys and no addresses',
    'instances:\n  - interface: eth0\n    addresses: []\n',
    [
      'bad.yaml:2: instances[0].name: missing (required)',
      'bad.yaml:2: instances[0].vrid: missing (required)',
      'bad.yaml:3: instances[0].addresses: needs at least one address',
    ],
  ],
  [
    'no instances at all',
    'log: { level: info }\n',
    ['bad.yaml:1: instances: missing (required): at least one instance'],
  ],
  [
    'checksum on VRRPv2',
    `instances:\n${I('    checksum: vrrp-only\n    version: 2\n')}`,
    ['bad.yaml:6: instances[0].checksum: checksum applies only to VRRPv3 over IPv4'],
  ],
  [
    'tracking mistakes',
    `instances:\n${I('    track: { interfaces: [{ name: eth1, weight: 0 }, { name: eth1 }], scripts: [{ run: check.sh, interval: 1s, timeout: 2s }] }\n')}`,
    [
      'bad.yaml:6: instances[0].track.interfaces[0].weight: weight 0 has no effect: omit weight to go to fault while down',
      'bad.yaml:6: instances[0].track.interfaces[1].name: interface eth1 is tracked twice',
      'bad.yaml:6: instances[0].track.scripts[0].run: must be an absolute path, got "check.sh"',
      'bad.yaml:6: instances[0].track.scripts[0].timeout: timeout 2s is longer than interval 1s',
    ],
  ],
  [
    'garp count over 100 and mac_cycle_link without move',
    `instances:\n${I('    garp: { count: 101 }\n    mac_cycle_link: true\n')}`,
    [
      'bad.yaml:6: instances[0].garp.count: must be 0..100, got 101',
      'bad.yaml:7: instances[0].mac_cycle_link: mac_cycle_link needs mac_mode: move',
    ],
  ],
  [
    'a bad instance_defaults value is reported once, at its own line',
    `instance_defaults: { priority: 300, vrid: 3 }\ninstances:\n${I()}${I('', 'b', 2)}`,
    [
      'bad.yaml:1: instance_defaults.vrid: a VRID cannot have a default',
      'bad.yaml:1: instance_defaults.priority: must be 1..255, got 300',
    ],
  ],
  [
    'a cross-field problem from instance_defaults names the instance',
    `instance_defaults: { preempt_delay: 2s }\ninstances:\n${I('    preempt: false\n')}`,
    ['bad.yaml:1: instance_defaults.preempt_delay: preempt_delay needs preempt: true (instance a)'],
  ],
  ['a duplicate YAML key', `instances:\n${I('    vrid: 2\n')}`, ['bad.yaml:6: (yaml): Map keys must be unique']],
];

for (const [what, text, expected] of BAD) {
  test(`refuses ${what}`, () => {
    const r = parseConfig(text, 'bad.yaml', OPTS);
    assert.is(r.ok, false);
    assert.equal(r.ok ? [] : r.errors.map(formatIssue), expected);
  });
}

test("errors in a board file carry the board file's name and line; the site file's come first", () => {
  const site = join(FIX, 'uses-bad-board.yaml');
  const board = join(FIX, 'bad-board.yaml');
  const r = loadConfig(site, OPTS);
  assert.equal(r.ok ? [] : r.errors.map(formatIssue), [
    `${board}:4: interfaces.wan: expected an interface name (1..15 characters, no space, / or :)`,
    `${board}:6: defaults.log.level: must be one of trace, debug, info, warn, error, got loud`,
    `${board}:7: defaults.instances: instances belong in the site file, not in a board's defaults (use instance_defaults)`,
    `${board}:9: defaults.instance_defaults.priority: must be 1..255, got 0`,
    `${board}:10: defaults.instance_defaults.grap: unknown key (did you mean "garp"?)`,
  ]);
});

test('a board file that cannot be read is reported at the board: line of the site file', () => {
  const site = join(FIX, 'uses-missing-board.yaml');
  const r = loadConfig(site, OPTS);
  assert.equal(r.ok ? [] : r.errors.map(formatIssue), [
    `${site}:1: board: cannot read board file ${join(FIX, 'no-such-board.yaml')} (ENOENT)`,
  ]);
});

test('every problem in one file is reported, not only the first', () => {
  const text = `instances:\n  - name: "bad name"\n    interface: eth0\n    vrid: 0\n    priority: 256\n    addresses: [nope]\n`;
  const r = parseConfig(text, 'bad.yaml', OPTS);
  assert.equal(r.ok ? [] : r.errors.map(formatIssue), [
    'bad.yaml:2: instances[0].name: "bad name" must be 1..32 characters of A-Z a-z 0-9 _ . -',
    'bad.yaml:4: instances[0].vrid: must be 1..255, got 0',
    'bad.yaml:5: instances[0].priority: must be 1..255, got 256',
    'bad.yaml:6: instances[0].addresses[0]: "nope" is not an IPv4 or IPv6 address',
  ]);
});

test.run();
