// The Internet checksum (RFC 1071) and the pseudo-header sums (RFC 768, RFC 8200 8.1).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  fromHex,
  internetChecksum,
  onesComplementSum,
  parseIp,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
} from '../../firmware/core/packet/index.ts';

test('RFC 1071 3: the worked example 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d', () => {
  const b = fromHex('0001f203f4f5f6f7');
  let s = onesComplementSum(b);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  assert.is(s, 0xddf2);
  assert.is(internetChecksum(b), 0x220d);
});

test('RFC 1071 4.1: an odd last byte is padded with zero', () => {
  assert.is(internetChecksum(Uint8Array.of(0x01)), 0xfeff);
  assert.is(internetChecksum(fromHex('0001f203f4f5f6f7' + '01')), ~(0xddf2 + 0x0100) & 0xffff);
});

test('RFC 1071 2: data that carries its own checksum sums to zero', () => {
  const b = fromHex('0001f203f4f5f6f7220d');
  assert.is(internetChecksum(b), 0);
});

test('initialSum chains: checksum(a ++ b) equals checksum(b, sum(a)) for an even-length a', () => {
  const a = fromHex('45c0002000004000'),
    b = fromHex('ff70c0000201e0000012');
  const joined = fromHex('45c0002000004000ff70c0000201e0000012');
  assert.is(internetChecksum(b, onesComplementSum(a)), internetChecksum(joined));
  assert.is(internetChecksum(joined), 0xd899); // the IPv4 header of packet-vectors V3_IPV4
});

test('the sum folds correctly for long inputs (64 KiB of 0xff)', () => {
  assert.is(internetChecksum(new Uint8Array(65536).fill(0xff)), 0);
  assert.is(internetChecksum(new Uint8Array(65536)), 0xffff);
});

test('RFC 5798 5.2.8: IPv4 pseudo-header sum is src + dst + protocol + length', () => {
  const s = parseIp('192.0.2.1')!.bytes,
    d = parseIp('224.0.0.18')!.bytes;
  assert.is(pseudoHeaderSumV4(s, d, 112, 12), 0xc000 + 0x0201 + 0xe000 + 0x0012 + 0x70 + 0x0c);
});

test('RFC 8200 8.1: IPv6 pseudo-header sum is src + dst + 32-bit length + next header', () => {
  const s = parseIp('fe80::1')!.bytes,
    d = parseIp('ff02::12')!.bytes;
  assert.is(pseudoHeaderSumV6(s, d, 112, 24), 0xfe80 + 0x0001 + 0xff02 + 0x0012 + 24 + 112);
  assert.is(pseudoHeaderSumV6(s, d, 58, 0x12345), 0xfe80 + 0x0001 + 0xff02 + 0x0012 + 0x1 + 0x2345 + 58);
  assert.throws(() => pseudoHeaderSumV6(parseIp('192.0.2.1')!.bytes, d, 58, 8));
});

test.run();
