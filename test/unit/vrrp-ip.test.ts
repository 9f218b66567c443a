// The state machine's own IP helpers: tie-break order (RFC 5798 6.4.3) and the address-list
// comparison (RFC 5798 7.1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareIp, parseIp, sameAddressSet } from '../../firmware/core/vrrp/ip.ts';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : 'undefined');

test('parseIp reads IPv4 and every IPv6 text form to bytes', () => {
  assert.is(hex(parseIp('192.0.2.1')), 'c0000201');
  assert.is(hex(parseIp('2001:db8::1')), '20010db8000000000000000000000001');
  assert.is(hex(parseIp('2001:DB8:0:0:0:0:0:1')), '20010db8000000000000000000000001');
  assert.is(hex(parseIp('::')), '00000000000000000000000000000000');
  assert.is(hex(parseIp('::ffff:192.0.2.5')), '00000000000000000000ffffc0000205');
  assert.is(hex(parseIp('fe80::1%eth0')), 'fe800000000000000000000000000001');
});

test('parseIp refuses malformed text instead of throwing', () => {
  for (const bad of [
    '',
    '192.0.2',
    '192.0.2.256',
    '192.0.2.1.1',
    '1.2.3.x',
    '2001:db8::1::2',
    '2001:db8:1:2:3:4:5:6:7',
    '12345::',
    'gggg::1',
    '1:2:3:4:5:6:7',
    ':::',
  ]) {
    assert.is(parseIp(bad), undefined, bad);
  }
});

test('compareIp compares numerically, not as text (RFC 5798 6.4.3 "greater" address)', () => {
  assert.is(compareIp('192.0.2.10', '192.0.2.9'), 1); // text order would say the opposite
  assert.is(compareIp('192.0.2.9', '192.0.2.10'), -1);
  assert.is(compareIp('198.51.100.1', '192.0.2.254'), 1);
  assert.is(compareIp('192.0.2.7', '192.0.2.7'), 0);
  assert.is(compareIp('2001:db8::a', '2001:db8::9'), 1);
  assert.is(compareIp('2001:db8::1', '2001:db8:0::1'), 0);
  assert.is(compareIp('2001:db8::1:0', '2001:db8::ffff'), 1);
});

test('compareIp puts malformed addresses lowest so they never win a tie-break', () => {
  assert.is(compareIp('nonsense', '192.0.2.1'), -1);
  assert.is(compareIp('192.0.2.1', 'nonsense'), 1);
  assert.is(compareIp('x', 'y'), 0);
  assert.is(compareIp('192.0.2.1', '2001:db8::1'), -1);
});

test('sameAddressSet ignores order and text form but not content or count (RFC 5798 7.1)', () => {
  assert.ok(sameAddressSet(['192.0.2.1', '192.0.2.2'], ['192.0.2.2', '192.0.2.1']));
  assert.ok(sameAddressSet(['2001:db8::1'], ['2001:0db8:0:0::1']));
  assert.not.ok(sameAddressSet(['192.0.2.1'], ['192.0.2.2']));
  assert.not.ok(sameAddressSet(['192.0.2.1'], ['192.0.2.1', '192.0.2.2']));
  assert.not.ok(sameAddressSet(['192.0.2.1', '192.0.2.1'], ['192.0.2.1', '192.0.2.2']));
  assert.not.ok(sameAddressSet(['192.0.2.1', '192.0.2.1', '192.0.2.2'], ['192.0.2.1', '192.0.2.2', '192.0.2.2']));
  assert.ok(sameAddressSet([], []));
});

test('parseIp is the packet parser: no leading-zero IPv4, dotted quads only at the end; a zone only on IPv6', () => {
  // "010" is 8 to inet_aton and 10 to others; the configuration refuses it, so the tie-break does too.
  for (const bad of ['192.0.2.010', '::ffff:192.0.2.01', '1.2.3.4::', '1.2.3.4::5.6.7.8', '192.0.2.1%eth0']) {
    assert.is(parseIp(bad), undefined, bad);
  }
  assert.is(hex(parseIp('fe80::1%eth0:1')), 'fe800000000000000000000000000001');
  assert.is(compareIp('192.0.2.010', '192.0.2.9'), -1); // malformed loses
});

test.run();
