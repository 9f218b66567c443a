// A table of bad frames: each row names the DropReason decodeFrame must return, and nothing may
// throw. Rows are built from the good vectors of packet-vectors.test.ts with one field broken; the
// helpers fix up lengths and the other checksums so only the named defect remains.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeAdvert,
  decodeFrame,
  fromHex,
  internetChecksum,
  parseIp,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  toHex,
} from '../../firmware/core/packet/index.ts';
import type { DropReason } from '../../firmware/core/packet/index.ts';

const h = (s: string) => s.replace(/\s+/g, '');
const hex4 = (n: number) => n.toString(16).padStart(4, '0');
const ETH4 = '01005e000012 00005e000101 0800';
const ETH6 = '333300000012 00005e000201 86dd';
const ETH6_ALL = '333300000001 00005e000201 86dd';
const ETHARP = 'ffffffffffff 00005e000101 0806';
const S4 = parseIp('192.0.2.1')!.bytes,
  D4 = parseIp('224.0.0.18')!.bytes;
const S6 = parseIp('fe80::1')!.bytes,
  D6 = parseIp('ff02::12')!.bytes,
  ALL6 = parseIp('ff02::1')!.bytes;

/** Puts the right checksum into bytes 6-7 of a VRRP message: v3 'pseudo' or 'plain'. */
function vrrpSum(msg: string, form: 'pseudo4' | 'pseudo6' | 'plain'): string {
  const b = fromHex(msg);
  b[6] = 0;
  b[7] = 0;
  const init =
    form === 'pseudo4'
      ? pseudoHeaderSumV4(S4, D4, 112, b.length)
      : form === 'pseudo6'
        ? pseudoHeaderSumV6(S6, D6, 112, b.length)
        : 0;
  const c = internetChecksum(b, init);
  b[6] = c >> 8;
  b[7] = c & 255;
  return toHex(b);
}

/** Ethernet + IPv4 (header checksum and total length correct unless overridden) + payload. */
function ip4(
  payload: string,
  o: { vihl?: string; ttl?: string; proto?: string; flags?: string; totalLen?: number; check?: string } = {},
): string {
  const p = h(payload);
  const hdr = fromHex(
    `${o.vihl ?? '45'} c0 ${hex4(o.totalLen ?? 20 + p.length / 2)} 0000 ${o.flags ?? '4000'} ${o.ttl ?? 'ff'} ${o.proto ?? '70'} 0000 c0000201 e0000012`,
  );
  const c = internetChecksum(hdr);
  hdr[10] = c >> 8;
  hdr[11] = c & 255;
  return h(ETH4) + (o.check ? toHex(hdr).slice(0, 20) + o.check + toHex(hdr).slice(24) : toHex(hdr)) + p;
}

/** Ethernet + IPv6 fe80::1 -> ff02::12 (or ff02::1 for ICMPv6) + payload. */
function ip6(
  payload: string,
  o: { ver?: string; nh?: string; hop?: string; payloadLen?: number; src?: Uint8Array; dst?: Uint8Array } = {},
): string {
  const p = h(payload);
  const icmp = o.nh === '3a';
  return (
    h(icmp ? ETH6_ALL : ETH6) +
    h(`${o.ver ?? '6'}c000000 ${hex4(o.payloadLen ?? p.length / 2)} ${o.nh ?? '70'} ${o.hop ?? 'ff'}`) +
    toHex(o.src ?? S6) +
    toHex(o.dst ?? (icmp ? ALL6 : D6)) +
    p
  );
}

/** An ICMPv6 message to ff02::1 with its checksum computed (RFC 4443 2.3). */
function icmp6(msg: string, o: { hop?: string; src?: Uint8Array; dst?: Uint8Array } = {}): string {
  const b = fromHex(msg);
  b[2] = 0;
  b[3] = 0;
  const c = internetChecksum(b, pseudoHeaderSumV6(o.src ?? S6, o.dst ?? ALL6, 58, b.length));
  b[2] = c >> 8;
  b[3] = c & 255;
  return ip6(toHex(b), { nh: '3a', hop: o.hop, src: o.src, dst: o.dst });
}
const UNSPEC = new Uint8Array(16),
  SOLICITED = parseIp('ff02::1:ff00:1')!.bytes;
const NS_MSG = '8700 0000 00000000 20010db8000000000000000000000001';

const V3 = '310164010064 05a4 c0000264'; // valid with the IPv4 pseudo-header
const V2 = '210164010001 b897 c0000264 0000000000000000'; // valid VRRPv2
const V6 = '310164010064 3ec0 20010db8000000000000000000000001';
const NA_MSG = '8800 0000 a0000000 20010db8000000000000000000000001 0201 00005e000201';
const ARP = '0001 0800 06 04 0001 00005e000101 c0000264 000000000000 c0000264';

const rows: Array<[DropReason, string, string]> = [
  // Ethernet
  ['too-short', '01005e00001200005e00010108', '13 bytes: no EtherType'],
  ['too-short', h('01005e000012 00005e000101 8100 00'), '802.1Q tag cut short'],
  ['bad-ethertype', h('01005e000012 00005e000101 88cc 0000'), 'LLDP'],
  ['bad-ethertype', h('01005e000012 00005e000101 8100 002a 88a8 0000'), 'tagged, inner type unknown'],
  // IPv4 header (RFC 791 3.1)
  ['too-short', h(`${ETH4}45c00020000040`), 'IPv4 header cut at 7 bytes'],
  ['bad-ip-header', ip4(V3, { vihl: '65' }), 'IP version 6 under EtherType IPv4'],
  ['bad-ip-header', ip4(V3, { vihl: '44' }), 'IHL 16 bytes'],
  ['too-short', ip4(V3, { vihl: '4f' }), 'IHL 60 bytes, 32 present'],
  ['too-short', ip4(V3, { totalLen: 64 }), 'total length past the frame'],
  ['bad-ip-header', ip4(V3, { totalLen: 16 }), 'total length below the header'],
  ['bad-ip-checksum', ip4(V3, { check: 'dead' }), 'header checksum wrong'],
  ['bad-ip-header', ip4(V3, { flags: '2000' }), 'more-fragments set'],
  ['bad-ip-header', ip4(V3, { flags: '0001' }), 'fragment offset 8'],
  ['not-vrrp', ip4('0035 0035 000c 0000 00000000', { proto: '11' }), 'UDP'],
  // RFC 5798 7.1 / RFC 3768 7.1, in order
  ['bad-ttl', ip4(V3, { ttl: 'fe' }), 'TTL 254: routed'],
  ['bad-ttl', ip4(V3, { ttl: '01' }), 'TTL 1'],
  ['too-short', ip4('31016401'), 'VRRP message of 4 bytes'],
  ['bad-version', ip4('410164010064 0000 c0000264'), 'version 4'],
  ['bad-version', ip4('110164010064 0000 c0000264'), 'version 1'],
  ['bad-type', ip4('320164010064 05a3 c0000264'), 'type 2 (RFC 5798 5.2.2: only ADVERTISEMENT)'],
  ['bad-type', ip4('300164010064 05a5 c0000264'), 'type 0'],
  ['bad-length', ip4('310164020064 0000 c0000264'), 'count 2, one address present'],
  ['bad-length', ip4(vrrpSum('310164010064 0000 c0000264 00000000', 'pseudo4')), 'trailing bytes after the list'],
  ['bad-length', ip4('210164010001 b897 c0000264 00000000'), 'v2 auth data cut short'],
  ['bad-checksum', ip4('310164010064 05a5 c0000264'), 'v3 checksum off by one'],
  ['bad-checksum', ip4('310164010064 05a4 c0000265'), 'v3 address changed after checksumming'],
  ['bad-checksum', ip4(vrrpSum(V2, 'pseudo4')), 'v2 checksummed with the pseudo-header (RFC 3768 5.3.8: never)'],
  ['bad-checksum', ip4(V2.replace('b897', 'b898')), 'v2 checksum off by one'],
  ['address-count', ip4(vrrpSum('310164000064 0000', 'pseudo4')), 'v3 count 0, checksum right'],
  ['address-count', ip4(vrrpSum('210164000001 0000 0000000000000000', 'plain')), 'v2 count 0, checksum right'],
  // IPv6 (RFC 8200 3, RFC 5798 5.1.2)
  ['too-short', h(`${ETH6}6c000000 0018 70`), 'IPv6 header cut short'],
  ['bad-ip-header', ip6(V6, { ver: '4' }), 'IP version 4 under EtherType IPv6'],
  ['too-short', ip6(V6, { payloadLen: 40 }), 'payload length past the frame'],
  ['not-vrrp', ip6('0035 0035 0008 0000', { nh: '11' }), 'UDP'],
  ['not-vrrp', ip6(V6, { nh: '00' }), 'hop-by-hop header first (not walked)'],
  ['bad-ttl', ip6(V6, { hop: '40' }), 'hop limit 64'],
  ['bad-checksum', ip6(vrrpSum(V6, 'plain')), 'v3 over IPv6 without the pseudo-header'],
  [
    'bad-version',
    ip6(vrrpSum('210164010001 0000 20010db8000000000000000000000001 0000000000000000', 'pseudo6')),
    'VRRPv2 over IPv6',
  ],
  // ARP (RFC 826)
  ['too-short', h(ETHARP + ARP).slice(0, 2 * 34), 'ARP cut at 20 bytes'],
  ['bad-arp', h(ETHARP + ARP.replace('0001 0800', '0006 0800')), 'hardware type IEEE 802'],
  ['bad-arp', h(ETHARP + ARP.replace('06 04 0001', '06 10 0001')), 'protocol length 16'],
  ['bad-arp', h(ETHARP + ARP.replace('06 04 0001', '06 04 0003')), 'operation 3 (RARP)'],
  // ICMPv6 Neighbor Discovery (RFC 4861 7.1.1, 7.1.2)
  ['bad-ttl', icmp6(NA_MSG, { hop: 'fe' }), 'NA hop limit 254: off-link'],
  [
    'bad-icmpv6',
    icmp6(NA_MSG).replace(/8800(....)a0000000/, (_m, c: string) => `8800${hex4(parseInt(c, 16) ^ 1)}a0000000`),
    'NA checksum wrong',
  ],
  ['bad-icmpv6', icmp6(NA_MSG.replace('8800', '8801')), 'NA code 1'],
  ['bad-icmpv6', icmp6(NA_MSG.replace('0201 00005e000201', '0200 00005e000201')), 'option length 0'],
  ['bad-icmpv6', icmp6(NA_MSG.replace('0201 00005e000201', '0202 00005e000201')), 'option past the end'],
  ['bad-icmpv6', icmp6(NA_MSG.replace('a0000000', 'e0000000')), 'solicited NA to ff02::1'],
  ['bad-icmpv6', icmp6(NA_MSG.replace('20010db8', 'ff020db8')), 'multicast target'],
  [
    'bad-icmpv6',
    icmp6(`${NS_MSG}0101 00005e000201`, { src: UNSPEC, dst: SOLICITED }),
    'DAD NS (from ::) with a source link-layer option',
  ],
  ['bad-icmpv6', icmp6(NS_MSG, { src: UNSPEC, dst: ALL6 }), 'DAD NS (from ::) to all-nodes, not solicited-node'],
  ['too-short', icmp6('8800 0000 a0000000 20010db8000000000000'), 'NA of 14 bytes'],
  ['not-vrrp', icmp6('8000 0000 0001 0001'), 'ICMPv6 echo request'],
];

for (const [reason, frameHex, what] of rows) {
  test(`decodeFrame drops ${what} as '${reason}'`, () => {
    let r: ReturnType<typeof decodeFrame> | undefined;
    try {
      r = decodeFrame(fromHex(frameHex));
    } catch (e) {
      assert.unreachable(`threw ${(e as Error).message}`);
    }
    assert.ok(r && !r.ok, `decoded ok: ${JSON.stringify(r)}`);
    if (r && !r.ok) {
      assert.is(r.reason, reason, r.detail);
      assert.type(r.detail, 'string');
    }
  });
}

const ctx4 = { family: 4 as const, src: '192.0.2.1', dst: '224.0.0.18' };
const advertRows: Array<[DropReason, string, Parameters<typeof decodeAdvert>[1], string]> = [
  ['too-short', '', ctx4, 'empty'],
  ['too-short', '31016401006405', ctx4, '7 bytes'],
  ['bad-version', V3, { ...ctx4, version: 2 }, 'a v3 advert where v2 is configured (RFC 5798 7.1)'],
  ['bad-version', V2, { ...ctx4, version: 3 }, 'a v2 advert where v3 is configured'],
  ['bad-ip-header', V3, { ...ctx4, src: 'not-an-ip' }, 'a source that is no IPv4 address'],
  ['bad-checksum', V3, { ...ctx4, src: '192.0.2.2' }, 'the pseudo-header of another source'],
];
for (const [reason, msg, ctx, what] of advertRows) {
  test(`decodeAdvert drops ${what} as '${reason}'`, () => {
    const r = decodeAdvert(fromHex(msg), ctx);
    assert.ok(!r.ok);
    if (!r.ok) assert.is(r.reason, reason, r.detail);
  });
}

test('the helpers build good frames when nothing is broken, so each row above has one defect', () => {
  for (const good of [
    ip4(V3),
    ip4(V2),
    ip6(V6),
    icmp6(NA_MSG),
    h(ETHARP + ARP),
    icmp6(NS_MSG, { src: UNSPEC, dst: SOLICITED }),
    icmp6(`${NS_MSG}0101 00005e000201`, { dst: SOLICITED }),
  ]) {
    const r = decodeFrame(fromHex(good));
    assert.ok(r.ok, JSON.stringify(r));
  }
});

test.run();
