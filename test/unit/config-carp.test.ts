// firmware/config for protocol: carp: the keys CARP maps (vhid, advbase, advskew, passphrase),
// the VRRP keys it refuses, and the exact `FILE:LINE: path: reason` of each error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';

const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };

/** A CARP instance in 6 lines (line 2..7), plus `extra` lines under it. */
const C = (extra = '', vhid = '7') =>
  `  - name: c\n    protocol: carp\n    interface: eth0\n    vhid: ${vhid}\n    passphrase: secret\n    addresses: [192.0.2.100]\n${extra}`;

test('a CARP instance: defaults advbase 1, advskew 0, preempt true; the VHID is the instance number', () => {
  const r = parseConfig(`instances:\n${C('    advskew: 100\n')}`, 'ok.yaml', OPTS);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  if (!r.ok) return;
  const i = r.config.instances[0];
  assert.is(i.protocol, 'carp');
  assert.is(i.vrid, 7);
  assert.equal(i.carp, { advbase: 1, advskew: 100, passphrase: 'secret' });
  assert.is(i.preempt, true);
  assert.is(i.advertIntervalMs, 1000 + 391); // advbase + advskew/256 s
  assert.equal(r.warnings, []);
});

test('a VRRP instance defaults to protocol vrrp', () => {
  const r = parseConfig(
    'instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    addresses: [192.0.2.10]\n',
    'ok.yaml',
    OPTS,
  );
  assert.ok(r.ok && r.config.instances[0].protocol === 'vrrp' && r.config.instances[0].carp === undefined);
});

const BAD: [string, string, string[]][] = [
  [
    'an unknown protocol',
    `instances:\n${C().replace('carp', 'glbp')}`,
    ['bad.yaml:3: instances[0].protocol: must be one of vrrp, carp, hsrp, got glbp'],
  ],
  ['VHID 0', `instances:\n${C('', '0')}`, ['bad.yaml:5: instances[0].vhid: must be 1..255, got 0']],
  [
    'advbase 255 (ip_carp.c refuses it; 255/255 means "leaving")',
    `instances:\n${C('    advbase: 255\n')}`,
    ['bad.yaml:8: instances[0].advbase: must be 1..254, got 255'],
  ],
  [
    'advskew 255',
    `instances:\n${C('    advskew: 255\n')}`,
    ['bad.yaml:8: instances[0].advskew: must be 1..254, got 255'.replace('1..254', '0..254')],
  ],
  [
    'a 21-byte passphrase (sc_key is 20)',
    `instances:\n${C().replace('secret', 'x'.repeat(21))}`,
    ['bad.yaml:6: instances[0].passphrase: a CARP passphrase is at most 20 bytes (ip_carp.h sc_key), got 21'],
  ],
  [
    'a VRRP key on a CARP instance',
    `instances:\n${C('    priority: 100\n    vrid: 7\n')}`,
    [
      'bad.yaml:8: instances[0].priority: CARP has no priority: advskew orders the routers (lower wins)',
      'bad.yaml:9: instances[0].vrid: CARP names its virtual host vhid, not vrid',
    ],
  ],
  [
    'a CARP key on a VRRP instance',
    'instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    advskew: 10\n    addresses: [192.0.2.10]\n',
    ['bad.yaml:5: instances[0].advskew: advskew is a CARP key: it needs protocol: carp'],
  ],
  [
    'a missing VHID',
    `instances:\n${C().replace('    vhid: 7\n', '')}`,
    ['bad.yaml:2: instances[0].vhid: missing (required)'],
  ],
  [
    'a CARP VHID equal to an IPv4 VRRP VRID on one interface (one MAC)',
    `instances:\n${C()}  - name: v\n    interface: eth0\n    vrid: 7\n    addresses: [192.0.2.10]\n`,
    [
      'bad.yaml:10: instances[1].vrid: VRID 7 on eth0 (IPv4) is already used by instance c at line 2 (VHID 7): both would use MAC 00:00:5e:00:01:07',
    ],
  ],
];
for (const [what, text, expected] of BAD) {
  test(`refuses ${what}`, () => {
    const r = parseConfig(text, 'bad.yaml', OPTS);
    assert.is(r.ok, false);
    assert.equal(r.ok ? [] : r.errors.map(formatIssue), expected);
  });
}

test('warns that ucarp cannot pair with a multi-address vhid or a 20-byte passphrase', () => {
  const r = parseConfig(
    `instances:\n${C().replace('[192.0.2.100]', '[192.0.2.100, 192.0.2.101]').replace('secret', 'x'.repeat(20))}`,
    'w.yaml',
    OPTS,
  );
  assert.ok(r.ok);
  assert.equal(r.warnings.map(formatIssue), [
    'w.yaml:6: instances[0].passphrase: ucarp takes at most 19 bytes (it keeps a NUL in its 20-byte key): it cannot pair',
    "w.yaml:7: instances[0].addresses: ucarp's HMAC covers one address: a multi-address vhid pairs with carp(4), not ucarp",
  ]);
});

test('mac_mode: virtual off Linux is an error (check fails, not the daemon at start), as for VRRP', () => {
  const r = parseConfig(`instances:\n${C('    mac_mode: virtual\n')}`, 'w.yaml', { ...OPTS, platform: 'netbsd' });
  assert.not.ok(r.ok);
  if (r.ok) return;
  assert.equal(r.errors.map(formatIssue), [
    'w.yaml:8: instances[0].mac_mode: mac_mode: virtual needs a Linux macvlan; on netbsd use move or none',
  ]);
});

test.run();
