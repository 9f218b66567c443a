// Address helpers: MAC and IP text <-> bytes, RFC 5952 canonical IPv6, virtual and multicast MACs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  formatIp, formatMac, fromHex, multicastMac, parseIp, parseMac, solicitedNodeAddress, toHex, virtualMac,
} from '../../firmware/packet/index.ts';

test('parseMac reads colon or dash separated MACs in any case; formatMac writes lower-case colons', () => {
  assert.is(toHex(parseMac('00:00:5E:00:01:0a')), '00005e00010a');
  assert.is(toHex(parseMac('02-00-00-ab-cd-ef')), '020000abcdef');
  assert.is(formatMac(fromHex('00005e00010a')), '00:00:5e:00:01:0a');
});

test('parseMac refuses malformed MACs (a programming error: it throws)', () => {
  for (const bad of ['', '00:00:5e:00:01', '00:00:5e:00:01:0a:0b', '00:00:5e-00:01:0a', '0:0:5e:0:1:a', 'zz:00:5e:00:01:0a']) {
    assert.throws(() => parseMac(bad), /not a MAC/, bad);
  }
});

test('parseIp reads dotted quads and refuses leading zeros, out-of-range parts and short forms', () => {
  assert.equal(parseIp('192.0.2.1'), { family: 4, bytes: Uint8Array.of(192, 0, 2, 1) });
  for (const bad of ['192.0.2', '192.0.2.256', '192.0.2.01', '192.0.2.1.', '1.2.3.4.5', '', ' 192.0.2.1', '0x1.0.0.1']) {
    assert.is(parseIp(bad), undefined, bad);
  }
});

test('RFC 5952 4: formatIp writes canonical IPv6 text', () => {
  const cases: Array<[string, string]> = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],      // 4.1 leading zeros, 4.2.1 longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],                  // 4.2.3 first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],               // 4.2.2 one zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],                        // 4.2.3 the longest run wins
    ['2001:DB8::AbCd', '2001:db8::abcd'],                           // 4.3 lower case
    ['::', '::'], ['::1', '::1'], ['1::', '1::'], ['fe80::1', 'fe80::1'],
    ['ff02:0:0:0:0:0:0:12', 'ff02::12'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],                      // 5: IPv4-mapped in mixed form
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
  ];
  for (const [input, want] of cases) {
    const p = parseIp(input);
    assert.ok(p && p.family === 6, input);
    assert.is(formatIp(p!.bytes), want, input);
  }
});

test('parseIp refuses malformed IPv6 text and zone ids', () => {
  for (const bad of ['1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '12345::1',
    'fe80::1%eth0', '::192.0.2.1:1', '1:2:3:4:5:6:7:8::', 'g::1', ':::']) {
    assert.is(parseIp(bad), undefined, bad);
  }
});

test('RFC 5798 7.3: virtual MACs are 00:00:5e:00:01:VRID (IPv4) and 00:00:5e:00:02:VRID (IPv6)', () => {
  assert.is(virtualMac(1, 4), '00:00:5e:00:01:01');
  assert.is(virtualMac(255, 6), '00:00:5e:00:02:ff');
  assert.throws(() => virtualMac(0, 4));
  assert.throws(() => virtualMac(256, 4));
});

test('RFC 1112 6.4 / RFC 2464 7: multicast MACs of the VRRP groups and others', () => {
  assert.is(multicastMac('224.0.0.18'), '01:00:5e:00:00:12');
  assert.is(multicastMac('239.255.128.1'), '01:00:5e:7f:80:01'); // only the low 23 bits
  assert.is(multicastMac('ff02::12'), '33:33:00:00:00:12');
  assert.is(multicastMac('ff02::1:ff00:1'), '33:33:ff:00:00:01');
});

test('RFC 4291 2.7.1: solicited-node address of an IPv6 address', () => {
  assert.is(solicitedNodeAddress('2001:db8::abcd:1234'), 'ff02::1:ffcd:1234');
});

test('toHex and fromHex are inverse; fromHex skips whitespace and comments', () => {
  assert.is(toHex(fromHex('de ad # comment\n be ef // more\n')), 'deadbeef');
  assert.throws(() => fromHex('abc'));
});

test.run();
