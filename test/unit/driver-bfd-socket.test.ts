// The pure parts of the Linux BFD socket (drivers/linux/bfd-socket.ts): sockaddr encoding with a
// port, decoding what recvmsg filled in, and finding the received TTL / Hop Limit among the
// control messages (struct cmsghdr, <bits/socket.h>) on LP64 and ILP32.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IPV6_HOPLIMIT, decodeSockaddr, encodeSockaddr, ttlFromControl } from '../../drivers/linux/bfd-socket.ts';
import { toHex } from '../../firmware/core/packet/index.ts';

test('sockaddr_in carries the port in network order', () => {
  assert.is(toHex(encodeSockaddr(4, '192.0.2.2', 3784)!), '02000ec8c000020200000000' + '00000000');
  assert.is(encodeSockaddr(4, '2001:db8::1', 1), null);
});

test('sockaddr_in6: family, port, address, scope id', () => {
  const b = encodeSockaddr(6, '2001:db8::2', 49152, 3)!;
  assert.is(b.length, 28);
  assert.is(toHex(b.subarray(0, 4)), '0a00c000');
  assert.is(toHex(b.subarray(8, 24)), '20010db8000000000000000000000002');
  assert.is(b[24], 3);
});

test('decodes both families back to text and port', () => {
  assert.equal(decodeSockaddr(encodeSockaddr(4, '192.0.2.2', 50000)!), { address: '192.0.2.2', port: 50000 });
  assert.equal(decodeSockaddr(encodeSockaddr(6, '2001:db8::2', 3784)!), { address: '2001:db8::2', port: 3784 });
  assert.is(decodeSockaddr(new Uint8Array(8)), null);
});

function cmsg(ptr: 4 | 8, level: number, type: number, value: number): Uint8Array {
  const hdr = ptr === 8 ? 16 : 12;
  const len = hdr + 4;
  const b = new Uint8Array((len + ptr - 1) & ~(ptr - 1));
  const dv = new DataView(b.buffer);
  if (ptr === 8) dv.setBigUint64(0, BigInt(len), true);
  else dv.setUint32(0, len, true);
  dv.setInt32(ptr, level, true);
  dv.setInt32(ptr + 4, type, true);
  dv.setInt32(hdr, value, true);
  return b;
}
const cat = (...a: Uint8Array[]) => {
  const out = new Uint8Array(a.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of a) {
    out.set(x, o);
    o += x.length;
  }
  return out;
};

test('finds IP_TTL (level IPPROTO_IP, type 2) after another message, LP64 and ILP32', () => {
  for (const p of [8, 4] as const) {
    const ctrl = cat(cmsg(p, 0, 8 /* IP_PKTINFO-ish */, 7), cmsg(p, 0, 2, 255));
    assert.is(ttlFromControl(ctrl, 4, p), 255);
  }
});

test('finds IPV6_HOPLIMIT (level IPPROTO_IPV6) and not the IPv4 one for IPv6', () => {
  assert.is(ttlFromControl(cmsg(8, 41, IPV6_HOPLIMIT, 64), 6, 8), 64);
  assert.is(ttlFromControl(cmsg(8, 0, 2, 255), 6, 8), -1);
});

test('a truncated or empty control area gives -1, never a read past the end', () => {
  assert.is(ttlFromControl(new Uint8Array(0), 4, 8), -1);
  assert.is(ttlFromControl(cmsg(8, 0, 2, 255).subarray(0, 18), 4, 8), -1);
  const bogus = cmsg(8, 0, 2, 255);
  new DataView(bogus.buffer).setBigUint64(0, 1000n, true); // cmsg_len past the area
  assert.is(ttlFromControl(bogus, 4, 8), -1);
});

test.run();
