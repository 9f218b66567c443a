// Byte vectors worked out by hand from the RFCs; each is decoded, encoded back to the same hex,
// and mirrored (decode(encode(decode(x))) equals decode(x)). Checksums are summed in the comments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeFrame,
  encodeGratuitousArp,
  encodeNeighborAdvert,
  encodeVrrpFrame,
  fromHex,
  toHex,
  decodeAdvert,
  encodeAdvert,
} from '../../firmware/core/packet/index.ts';
import type { Decoded } from '../../firmware/core/packet/index.ts';

const hex = (s: string) => toHex(fromHex(s));

function ok<K extends 'vrrp' | 'arp' | 'nd'>(d: Decoded, kind: K): Extract<Decoded, { kind: K }> {
  if (!d.ok) throw new Error(`expected a decoded ${kind}, got ${d.reason}: ${d.detail}`);
  assert.is(d.kind, kind);
  return d as Extract<Decoded, { kind: K }>;
}

// RFC 3768 5.1 (VRRPv2), RFC 791 3.1. VRID 1, priority 100, one address, Adver Int 1 s, no auth.
const V2 = `
  01005e000012        # Ethernet dst: 224.0.0.18 mapped (RFC 1112 6.4)
  00005e000101        # Ethernet src: virtual MAC, VRID 1 (RFC 3768 7.3)
  0800                # EtherType IPv4
  45                  # IPv4 version 4, IHL 5
  c0                  # TOS: precedence 6 (Internetwork Control)
  0028                # total length 20 + 20
  0000                # identification
  4000                # DF, offset 0
  ff                  # TTL 255 (RFC 3768 5.2.3)
  70                  # protocol 112 (RFC 3768 5.2.4)
  d891                # header checksum: 45c0+0028+4000+ff70+c000+0201+e000+0012 = 3276b -> 276e, ~ = d891
  c0000201            # src 192.0.2.1
  e0000012            # dst 224.0.0.18 (RFC 3768 5.2.2)
  21                  # VRRP version 2, type 1 ADVERTISEMENT (5.3.1, 5.3.2)
  01                  # VRID 1
  64                  # priority 100
  01                  # Count IP Addrs 1
  00                  # Auth Type 0 (none)
  01                  # Adver Int 1 s
  b897                # checksum over the VRRP message only (5.3.8): 2101+6401+0001+c000+0264 = 14767 -> 4768, ~ = b897
  c0000264            # IP Address 192.0.2.100
  0000000000000000    # Authentication Data (RFC 2338 compatibility)
`;

// RFC 5798 5.1 over IPv4, same router, Max Adver Int 100 cs. VRRP part with the pseudo-header
// (RFC 5798 5.2.8): 3101+6401+0064+c000+0264 = 157ca; pseudo c000+0201+e000+0012+0070+000c = 1a28f;
// total 2fa59 -> fa5b, ~ = 05a4. Without it: 157ca -> 57cb, ~ = a834.
const V3_IPV4 = (checksum: string) => `
  01005e000012 00005e000101 0800     # Ethernet: group MAC, virtual MAC, IPv4
  45 c0 0020 0000 4000 ff 70         # IPv4: total length 32, TTL 255 (RFC 5798 5.1.1.3), protocol 112
  d899                               # header checksum: 3276b - 8 = 32763 -> 2766, ~ = d899
  c0000201 e0000012                  # 192.0.2.1 -> 224.0.0.18
  31                                 # VRRP version 3, type 1 (RFC 5798 5.2.1, 5.2.2)
  01                                 # VRID 1
  64                                 # priority 100
  01                                 # Count IPvX Addr 1
  0064                               # rsvd 0, Max Adver Int 100 cs (5.2.6, 5.2.7)
  ${checksum}                        # checksum (5.2.8)
  c0000264                           # IPv4 Address 192.0.2.100
`;

// RFC 5798 5.1 over IPv6 (RFC 8200 3): fe80::1 -> ff02::12, VIP 2001:db8::1.
// VRRP: 3101+6401+0064 + 2001+0db8+0001 = c320; pseudo (RFC 8200 8.1): fe80+0001+ff02+0012+0018+0070
// = 1fe1d; total 2c13d -> c13f, ~ = 3ec0.
const V3_IPV6 = `
  333300000012                       # Ethernet dst: ff02::12 mapped (RFC 2464 7)
  00005e000201                       # virtual MAC, IPv6, VRID 1 (RFC 5798 7.3)
  86dd                               # EtherType IPv6
  6c000000                           # version 6, traffic class 0xc0, flow label 0
  0018                               # payload length 24
  70                                 # next header 112
  ff                                 # hop limit 255 (RFC 5798 5.1.2.3)
  fe800000000000000000000000000001   # src fe80::1: the link-local (5.1.2.1)
  ff020000000000000000000000000012   # dst ff02::12 (5.1.2.2)
  31 01 64 01 0064                   # v3, type 1, VRID 1, priority 100, 1 address, 100 cs
  3ec0                               # checksum with the IPv6 pseudo-header
  20010db8000000000000000000000001   # IPv6 Address 2001:db8::1
`;

// RFC 826 / RFC 5227 3: gratuitous ARP for 192.0.2.100 at the virtual MAC (RFC 5798 6.4.2).
const GARP = `
  ffffffffffff                       # Ethernet dst: broadcast
  00005e000101                       # Ethernet src: virtual MAC
  0806                               # EtherType ARP
  0001                               # hardware type Ethernet
  0800                               # protocol type IPv4
  06 04                              # hardware / protocol address lengths
  0001                               # operation request
  00005e000101                       # sender hardware address
  c0000264                           # sender protocol address 192.0.2.100
  000000000000                       # target hardware address: zero (RFC 5227 2.3)
  c0000264                           # target protocol address = sender (gratuitous)
`;

// RFC 4861 4.4 unsolicited NA for 2001:db8::1 (RFC 5798 6.4.2: R set; RFC 4861 7.2.6: O set).
// ICMPv6: 8800+a000+2001+0db8+0001+0201+0000+5e00+0201 = 1b7bc; pseudo fe80+0001+ff02+0001+0020+003a
// = 1fdde; total 3b59a -> b59d, ~ = 4a62.
const NA = `
  333300000001                       # Ethernet dst: ff02::1 mapped
  00005e000201                       # Ethernet src
  86dd                               # EtherType IPv6
  60000000 0020 3a ff                # IPv6: payload 32, next header 58 ICMPv6, hop limit 255 (RFC 4861 7.1.2)
  fe800000000000000000000000000001   # src fe80::1 (never derived from the virtual MAC, RFC 9568 7.4)
  ff020000000000000000000000000001   # dst ff02::1 all-nodes
  88                                 # type 136 Neighbor Advertisement
  00                                 # code 0
  4a62                               # checksum (RFC 4443 2.3)
  a0000000                           # R=1 S=0 O=1, reserved
  20010db8000000000000000000000001   # target 2001:db8::1
  02 01 00005e000201                 # option 2 Target Link-Layer Address, length 1 (8 bytes)
`;

const advertV4 = { version: 3 as const, vrid: 1, priority: 100, maxAdverIntervalCs: 100, addresses: ['192.0.2.100'] };

test('RFC 3768 5.1: a VRRPv2 advert decodes field by field', () => {
  const d = ok(decodeFrame(fromHex(V2)), 'vrrp');
  assert.equal(d.eth, { dst: '01:00:5e:00:00:12', src: '00:00:5e:00:01:01', etherType: 0x0800 });
  assert.is(d.family, 4);
  assert.is(d.src, '192.0.2.1');
  assert.is(d.dst, '224.0.0.18');
  assert.is(d.ttl, 255);
  assert.equal(d.advert, {
    version: 2,
    vrid: 1,
    priority: 100,
    maxAdverIntervalCs: 100,
    addresses: ['192.0.2.100'],
    authType: 0,
    authData: new Uint8Array(8),
  });
  assert.is(d.checksumForm, 'vrrp-only');
});

test('RFC 3768 5.1: the VRRPv2 advert encodes back to the same bytes, and mirrors', () => {
  const d = ok(decodeFrame(fromHex(V2)), 'vrrp');
  const again = encodeVrrpFrame({ srcMac: d.eth.src, family: 4, src: d.src, advert: d.advert });
  assert.is(toHex(again), hex(V2));
  assert.equal(decodeFrame(again), d);
});

test('RFC 5798 5.2.8: VRRPv3 over IPv4 with the pseudo-header decodes and reports the form', () => {
  const d = ok(decodeFrame(fromHex(V3_IPV4('05a4'))), 'vrrp');
  assert.equal(d.advert, advertV4);
  assert.is(d.checksumForm, 'pseudo-header');
  const again = encodeVrrpFrame({ srcMac: '00:00:5e:00:01:01', family: 4, src: '192.0.2.1', advert: d.advert });
  assert.is(toHex(again), hex(V3_IPV4('05a4')));
  assert.equal(decodeFrame(again), d);
});

test('RFC 9568 5.2.8: VRRPv3 over IPv4 without the pseudo-header decodes, encodes on request, mirrors', () => {
  const d = ok(decodeFrame(fromHex(V3_IPV4('a834'))), 'vrrp');
  assert.equal(d.advert, advertV4);
  assert.is(d.checksumForm, 'vrrp-only');
  const again = encodeVrrpFrame({
    srcMac: '00:00:5e:00:01:01',
    family: 4,
    src: '192.0.2.1',
    advert: d.advert,
    checksumForm: d.checksumForm,
  });
  assert.is(toHex(again), hex(V3_IPV4('a834')));
  assert.equal(decodeFrame(again), d);
});

test('RFC 5798 5.1.2: VRRPv3 over IPv6 decodes, encodes back, mirrors', () => {
  const d = ok(decodeFrame(fromHex(V3_IPV6)), 'vrrp');
  assert.equal(d.eth, { dst: '33:33:00:00:00:12', src: '00:00:5e:00:02:01', etherType: 0x86dd });
  assert.is(d.family, 6);
  assert.is(d.src, 'fe80::1');
  assert.is(d.dst, 'ff02::12');
  assert.is(d.ttl, 255);
  assert.equal(d.advert, { ...advertV4, addresses: ['2001:db8::1'] });
  assert.is(d.checksumForm, 'pseudo-header');
  const again = encodeVrrpFrame({ srcMac: d.eth.src, family: 6, src: d.src, advert: d.advert });
  assert.is(toHex(again), hex(V3_IPV6));
  assert.equal(decodeFrame(again), d);
});

test('RFC 5798 5.2.8: encodeAdvert alone gives the VRRP message of the vectors, and decodeAdvert reads it', () => {
  const ctx = { family: 4 as const, src: '192.0.2.1', dst: '224.0.0.18' };
  assert.is(toHex(encodeAdvert(advertV4, ctx)), '310164010064' + '05a4' + 'c0000264');
  assert.is(toHex(encodeAdvert(advertV4, { ...ctx, checksumForm: 'vrrp-only' })), '310164010064' + 'a834' + 'c0000264');
  const r = decodeAdvert(fromHex('310164010064a834c0000264'), ctx);
  assert.equal(r, { ok: true, advert: advertV4, checksumForm: 'vrrp-only' });
});

test('RFC 5227 3: a gratuitous ARP decodes, encodes back, mirrors', () => {
  const d = ok(decodeFrame(fromHex(GARP)), 'arp');
  assert.equal(d.eth, { dst: 'ff:ff:ff:ff:ff:ff', src: '00:00:5e:00:01:01', etherType: 0x0806 });
  assert.equal(d.arp, {
    op: 1,
    senderMac: '00:00:5e:00:01:01',
    senderIp: '192.0.2.100',
    targetMac: '00:00:00:00:00:00',
    targetIp: '192.0.2.100',
  });
  const again = encodeGratuitousArp({ mac: d.arp.senderMac, ip: d.arp.senderIp });
  assert.is(toHex(again), hex(GARP));
  assert.equal(decodeFrame(again), d);
});

test('RFC 4861 4.4: an unsolicited Neighbor Advertisement decodes, encodes back, mirrors', () => {
  const d = ok(decodeFrame(fromHex(NA)), 'nd');
  assert.equal(d.nd, {
    type: 136,
    src: 'fe80::1',
    dst: 'ff02::1',
    target: '2001:db8::1',
    router: true,
    solicited: false,
    override: true,
    linkAddr: '00:00:5e:00:02:01',
  });
  const again = encodeNeighborAdvert({ srcMac: d.eth.src, src: d.nd.src, target: d.nd.target });
  assert.is(toHex(again), hex(NA));
  assert.equal(decodeFrame(again), d);
});

test('IEEE 802.1Q: a tagged VRRPv2 frame carries the VLAN id and the same IP packet', () => {
  const plain = fromHex(V2);
  const tagged = encodeVrrpFrame({
    srcMac: '00:00:5e:00:01:01',
    vlan: 42,
    family: 4,
    src: '192.0.2.1',
    advert: ok(decodeFrame(plain), 'vrrp').advert,
  });
  assert.is(toHex(tagged), `${toHex(plain.subarray(0, 12))}8100002a${toHex(plain.subarray(12))}`);
  const d = ok(decodeFrame(tagged), 'vrrp');
  assert.is(d.eth.vlan, 42);
  assert.is(d.eth.etherType, 0x0800);
});

test('Ethernet padding after the IP packet is ignored (IP total length rules)', () => {
  const padded = new Uint8Array(60);
  padded.set(fromHex(V3_IPV4('05a4')));
  assert.equal(decodeFrame(padded), decodeFrame(fromHex(V3_IPV4('05a4'))));
});

test.run();
