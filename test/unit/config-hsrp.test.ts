// firmware/config for protocol: hsrp: the keys HSRP maps (group, version, priority, preempt,
// hello/hold time, authentication or md5_key, one address or learn), the keys it refuses, and
// the exact `FILE:LINE: path: reason` of each error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, parseConfig } from '../../firmware/config/index.ts';
import type { ConfigOptions } from '../../firmware/config/index.ts';

const OPTS: ConfigOptions = { hostname: 'h', platform: 'linux', probe: () => 'ok' };

/** An HSRP instance (lines 2..6), plus `extra` lines under it. */
const H = (extra = '', group = '1') =>
  `  - name: h\n    protocol: hsrp\n    interface: eth0\n    group: ${group}\n${extra}`;
const ADDR = '    addresses: [192.0.2.254/24]\n';
const parse = (y: string) => parseConfig(`instances:\n${y}`, 'h.yaml', OPTS);
const errors = (y: string) => {
  const r = parse(y);
  return r.ok ? [] : r.errors.map(formatIssue);
};

test('defaults: version 1, priority 100, no preempt, hello 3 s, hold 10 s, text "cisco" (RFC 2281 5.1)', () => {
  const r = parse(H(ADDR));
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  if (!r.ok) return;
  const i = r.config.instances[0];
  assert.is(i.protocol, 'hsrp');
  assert.is(i.vrid, 1);
  assert.is(i.priority, 100);
  assert.is(i.preempt, false);
  assert.equal(i.hsrp, {
    version: 1,
    group: 1,
    hellotimeMs: 3000,
    holdtimeMs: 10000,
    timersConfigured: false,
    auth: { type: 'text', text: 'cisco' },
    learn: false,
  });
  assert.equal(i.addresses, [{ address: '192.0.2.254', prefixLength: 24 }]);
});

test('version 2: group 4095, millisecond timers, MD5 key, IPv6', () => {
  const r = parse(
    H(
      '    version: 2\n    priority: 200\n    preempt: true\n    hello_time: 200ms\n    hold_time: 700ms\n    md5_key: s3cret\n    md5_key_id: 5\n    addresses: [2001:db8::1/64]\n',
      '4095',
    ),
  );
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  if (!r.ok) return;
  const i = r.config.instances[0];
  assert.is(i.family, 6);
  assert.equal(i.hsrp?.auth, { type: 'md5', key: 's3cret', keyId: 5 });
  assert.is(i.hsrp?.hellotimeMs, 200);
  assert.is(i.hsrp?.timersConfigured, true);
  assert.is(i.advertIntervalMs, 200);
});

test('learn: true with no address', () => {
  const r = parse(H('    learn: true\n'));
  assert.ok(r.ok);
  if (r.ok) assert.is(r.config.instances[0].hsrp?.learn, true);
});

test('errors carry file, line, path and reason', () => {
  assert.equal(errors(H(ADDR, '300')), [
    'h.yaml:5: instances[0].group: HSRPv1 groups are 0..255 (RFC 2281 5.1), got 300: use version: 2 for groups up to 4095',
  ]);
  assert.equal(errors(H(`${ADDR}    hello_time: 1500ms\n`)), [
    'h.yaml:7: instances[0].hello_time: HSRPv1 carries whole seconds (RFC 2281 5.1): use version: 2 for 1500 ms',
  ]);
  assert.equal(errors(H(`${ADDR}    hello_time: 3s\n    hold_time: 3s\n`)), [
    'h.yaml:8: instances[0].hold_time: hold_time (3000 ms) must be longer than hello_time (3000 ms)',
  ]);
  assert.equal(errors(H(`${ADDR}    authentication: toolongtext\n`)), [
    'h.yaml:7: instances[0].authentication: HSRP text authentication is at most 8 bytes (RFC 2281 5.1), got 11',
  ]);
  assert.equal(errors(H(`${ADDR}    authentication: a\n    md5_key: b\n`)), [
    'h.yaml:8: instances[0].md5_key: md5_key and authentication (text) exclude each other: choose one',
  ]);
  assert.equal(errors(H('    addresses: [2001:db8::1/64]\n')), [
    'h.yaml:6: instances[0].addresses[0]: HSRPv1 is IPv4 only: IPv6 needs version: 2',
  ]);
  assert.equal(errors(H('    addresses: [192.0.2.1/24, 192.0.2.2/24]\n')), [
    'h.yaml:6: instances[0].addresses: HSRP carries one virtual IP per group (RFC 2281 5.1), got 2',
  ]);
  assert.equal(errors(H('')), [
    'h.yaml:2: instances[0].addresses: missing (required, or learn: true to learn the virtual IP from the active router, RFC 2281 Learn)',
  ]);
  assert.equal(errors(H(`${ADDR}    vrid: 3\n`)), [
    'h.yaml:7: instances[0].vrid: HSRP names its virtual router group, not vrid',
  ]);
});

test('a VRRP or CARP instance refuses the HSRP keys', () => {
  const r = parse('  - name: a\n    interface: eth0\n    vrid: 1\n    group: 4\n    addresses: [192.0.2.10]\n');
  assert.equal(r.ok ? [] : r.errors.map(formatIssue), [
    'h.yaml:5: instances[0].group: group is an HSRP key: it needs protocol: hsrp',
  ]);
});

test('the same group twice on one interface is refused; v1 and v2 groups are apart', () => {
  const two = `${H(ADDR)}  - name: h2\n    protocol: hsrp\n    interface: eth0\n    group: 1\n    addresses: [192.0.2.253/24]\n`;
  assert.equal(errors(two), [
    'h.yaml:10: instances[1].group: HSRPv1 group 1 on eth0 (IPv4) is already used by instance h at line 2',
  ]);
  assert.equal(
    errors(
      `${H(ADDR)}  - name: h2\n    protocol: hsrp\n    version: 2\n    interface: eth0\n    group: 1\n    addresses: [192.0.2.253/24]\n`,
    ),
    [],
  );
});

test.run();
