// Address helpers: MAC and IP text <-> bytes, RFC 5952 canonical IPv6, virtual and multicast MACs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  formatIp,
  formatMac,
  fromHex,
  multicastMac,
  parseIp,
  parseMac,
  solicitedNodeAddress,
  toHex,
  virtualMac,
} from '../../firmware/core/packet/index.ts';
import {
  ethernetGroupOf,
  formatIpv4,
  formatIpv6,
  formatLinkAddr,
  parseIpPrefix,
  parseIpv4,
  parseIpv6,
  tryParseMac,
} from '../../firmware/core/packet/addr.ts';
import fc from 'fast-check';

test('parseMac reads colon or dash separated MACs in any case; formatMac writes lower-case colons', () => {
  assert.is(toHex(parseMac('00:00:5E:00:01:0a')), '00005e00010a');
  assert.is(toHex(parseMac('02-00-00-ab-cd-ef')), '020000abcdef');
  assert.is(formatMac(fromHex('00005e00010a')), '00:00:5e:00:01:0a');
});

test('parseMac refuses malformed MACs (a programming error: it throws)', () => {
  for (const bad of [
    '',
    '00:00:5e:00:01',
    '00:00:5e:00:01:0a:0b',
    '00:00:5e-00:01:0a',
    '0:0:5e:0:1:a',
    'zz:00:5e:00:01:0a',
  ]) {
    assert.throws(() => parseMac(bad), /not a MAC/, bad);
  }
});

test('parseIp reads dotted quads and refuses leading zeros, out-of-range parts and short forms', () => {
  assert.equal(parseIp('192.0.2.1'), { family: 4, bytes: Uint8Array.of(192, 0, 2, 1) });
  for (const bad of [
    '192.0.2',
    '192.0.2.256',
    '192.0.2.01',
    '192.0.2.1.',
    '1.2.3.4.5',
    '',
    ' 192.0.2.1',
    '0x1.0.0.1',
  ]) {
    assert.is(parseIp(bad), undefined, bad);
  }
});

test('RFC 5952 4: formatIp writes canonical IPv6 text', () => {
  const cases: Array<[string, string]> = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'], // 4.1 leading zeros, 4.2.1 longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.2.3 first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2 one zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3 the longest run wins
    ['2001:DB8::AbCd', '2001:db8::abcd'], // 4.3 lower case
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80::1', 'fe80::1'],
    ['ff02:0:0:0:0:0:0:12', 'ff02::12'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // 5: IPv4-mapped in mixed form
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
  ];
  for (const [input, want] of cases) {
    const p = parseIp(input);
    assert.ok(p && p.family === 6, input);
    assert.is(formatIp(p!.bytes), want, input);
  }
});

test('parseIp refuses malformed IPv6 text and zone ids', () => {
  for (const bad of [
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    '12345::1',
    'fe80::1%eth0',
    '::192.0.2.1:1',
    '1:2:3:4:5:6:7:8::',
    'g::1',
    ':::',
  ]) {
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

// ---- the helpers the config, VRRP and driver adapters are built on

test('tryParseMac takes exactly what parseMac takes, and answers undefined where parseMac throws', () => {
  for (const good of ['00:00:5E:00:01:0a', '02-00-00-ab-cd-ef'])
    assert.is(toHex(tryParseMac(good)!), toHex(parseMac(good)), good);
  for (const bad of [
    '',
    '0:0:5e:0:1:a',
    '00:00:5e-00:01:0a',
    ' 00:00:5e:00:01:0a',
    '00:00:5e:00:01:0a:0b',
    'zz:00:5e:00:01:0a',
  ]) {
    assert.is(tryParseMac(bad), undefined, bad);
  }
});

test('formatLinkAddr writes any length (formatMac is it for exactly 6 bytes)', () => {
  assert.is(formatLinkAddr(fromHex('00005e00010a')), '00:00:5e:00:01:0a');
  assert.is(formatLinkAddr(fromHex('c0000201')), 'c0:00:02:01'); // e.g. an ipip tunnel's link address
  assert.is(formatLinkAddr(new Uint8Array(0)), '');
  assert.throws(() => formatMac(fromHex('c0000201')), /6 bytes/);
});

test('parseIpv4 / parseIpv6 are parseIp split by family: neither takes the other family', () => {
  assert.is(toHex(parseIpv4('198.51.100.7')!), 'c6336407');
  assert.is(toHex(parseIpv6('2001:db8::192.0.2.1')!), '20010db80000000000000000c0000201');
  assert.is(parseIpv4('::1'), undefined);
  assert.is(parseIpv6('192.0.2.1'), undefined);
  // RFC 4291 2.2 (3): a dotted quad is only ever the low-order 32 bits.
  for (const bad of ['192.0.2.01', '1.2.3.4::', '1.2.3.4::5.6.7.8', 'fe80::1%eth0']) {
    assert.is(bad.includes(':') ? parseIpv6(bad) : parseIpv4(bad), undefined, bad);
  }
});

test('formatIpv6: mappedAsDotted false keeps IPv4-mapped in hex (RFC 5952 4 without 5); lengths are checked', () => {
  const mapped = parseIpv6('::ffff:192.0.2.1')!;
  assert.is(formatIpv6(mapped), '::ffff:192.0.2.1');
  assert.is(formatIpv6(mapped, { mappedAsDotted: false }), '::ffff:c000:201');
  assert.is(formatIpv6(parseIpv6('2001:db8:0:0:1:0:0:1')!, { mappedAsDotted: false }), '2001:db8::1:0:0:1');
  assert.is(formatIpv4(fromHex('c0000201')), '192.0.2.1');
  assert.throws(() => formatIpv4(new Uint8Array(16)), RangeError);
  assert.throws(() => formatIpv6(new Uint8Array(4)), RangeError);
});

test('parseIpPrefix: address and prefix length; a bare address is a host prefix', () => {
  assert.equal(parseIpPrefix('192.0.2.10/24'), { family: 4, bytes: fromHex('c000020a'), prefixLength: 24 });
  assert.equal(parseIpPrefix('2001:db8::/64'), { family: 6, bytes: parseIpv6('2001:db8::'), prefixLength: 64 });
  assert.is(parseIpPrefix('192.0.2.10')!.prefixLength, 32);
  assert.is(parseIpPrefix('2001:db8::1')!.prefixLength, 128);
  assert.is(parseIpPrefix('192.0.2.0/0')!.prefixLength, 0);
  assert.is(parseIpPrefix('2001:db8::/064')!.prefixLength, 64);
  for (const bad of [
    '192.0.2.1/33',
    '2001:db8::1/129',
    '192.0.2.1/',
    '192.0.2.1/-1',
    '192.0.2.1/0024',
    '192.0.2.1/24/1',
    '192.0.2.1/ 24',
    ' 192.0.2.1/24',
    '192.0.2/24',
    'fe80::1%eth0/64',
    '/24',
    '',
  ]) {
    assert.is(parseIpPrefix(bad), undefined, bad);
  }
});

test('ethernetGroupOf: RFC 1112 6.4 / RFC 2464 7 group MACs for multicast IPs, multicast MACs as is, else undefined', () => {
  assert.is(toHex(ethernetGroupOf('224.0.0.18')!), '01005e000012');
  assert.is(toHex(ethernetGroupOf('239.255.128.1')!), '01005e7f8001');
  assert.is(toHex(ethernetGroupOf('ff02::12')!), '333300000012');
  assert.is(toHex(ethernetGroupOf('01:00:5e:00:00:12')!), '01005e000012');
  assert.is(toHex(ethernetGroupOf('33-33-00-00-00-01')!), '333300000001');
  for (const no of [
    '192.0.2.1',
    '223.255.255.255',
    '240.0.0.1',
    '2001:db8::1',
    '00:00:5e:00:01:01',
    '::ffff:224.0.0.18',
    'x',
    '',
  ]) {
    assert.is(ethernetGroupOf(no), undefined, no);
  }
});

test('cross-check: ethernetGroupOf agrees with multicastMac on every multicast group', () => {
  fc.assert(
    fc.property(fc.integer({ min: 224, max: 239 }), fc.uint8Array({ minLength: 3, maxLength: 3 }), (a, r) => {
      const g = `${a}.${r[0]}.${r[1]}.${r[2]}`;
      return formatMac(ethernetGroupOf(g)!) === multicastMac(g);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 15, maxLength: 15 }), (r) => {
      const g = formatIp(Uint8Array.of(0xff, ...r));
      return formatMac(ethernetGroupOf(g)!) === multicastMac(g);
    }),
    { numRuns: 500 },
  );
});

test.run();
