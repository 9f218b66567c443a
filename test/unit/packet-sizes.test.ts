// Wire sizes pinned (as CARP pins sizeof(struct carp_header)), and the encoder's refusals:
// invalid adverts are programming errors, so encoding throws where decoding never does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as P from '../../firmware/core/packet/index.ts';

test('header sizes match the standards', () => {
  assert.is(P.ETH_HEADER_LEN, 14); // IEEE 802.3
  assert.is(P.VLAN_TAG_LEN, 4); // IEEE 802.1Q
  assert.is(P.ETH_MIN_FRAME_LEN, 60);
  assert.is(P.IPV4_HEADER_LEN, 20); // RFC 791 3.1
  assert.is(P.IPV6_HEADER_LEN, 40); // RFC 8200 3
  assert.is(P.VRRP_HEADER_LEN, 8); // RFC 5798 5.1, RFC 3768 5.1
  assert.is(P.VRRP_V2_AUTH_LEN, 8); // RFC 3768 5.3.10
  assert.is(P.ARP_IPV4_LEN, 28); // RFC 826
  assert.is(P.ND_MESSAGE_LEN, 24); // RFC 4861 4.3, 4.4
  assert.is(P.ND_LLA_OPTION_LEN, 8); // RFC 4861 4.6.1
  assert.is(P.IPPROTO_VRRP, 112);
  assert.is(P.VRRP_TTL, 255);
  assert.is(P.VRRP_V3_MAX_ADVER_INT_CS, 4095);
});

const v3 = {
  version: 3 as const,
  vrid: 9,
  priority: 100,
  maxAdverIntervalCs: 100,
  addresses: ['192.0.2.9', '192.0.2.10'],
};

test('encoded frames have exactly the sizes the constants add up to', () => {
  const f4 = P.encodeVrrpFrame({ srcMac: P.virtualMac(9, 4), family: 4, src: '192.0.2.1', advert: v3 });
  assert.is(f4.length, P.ETH_HEADER_LEN + P.IPV4_HEADER_LEN + P.VRRP_HEADER_LEN + 2 * 4);
  const f2 = P.encodeVrrpFrame({
    srcMac: P.virtualMac(9, 4),
    vlan: 5,
    family: 4,
    src: '192.0.2.1',
    advert: { ...v3, version: 2 },
  });
  assert.is(
    f2.length,
    P.ETH_HEADER_LEN + P.VLAN_TAG_LEN + P.IPV4_HEADER_LEN + P.VRRP_HEADER_LEN + 2 * 4 + P.VRRP_V2_AUTH_LEN,
  );
  const f6 = P.encodeVrrpFrame({
    srcMac: P.virtualMac(9, 6),
    family: 6,
    src: 'fe80::1',
    advert: { ...v3, addresses: ['2001:db8::9'] },
  });
  assert.is(f6.length, P.ETH_HEADER_LEN + P.IPV6_HEADER_LEN + P.VRRP_HEADER_LEN + 16);
  assert.is(
    P.encodeGratuitousArp({ mac: '02:00:00:00:00:01', ip: '192.0.2.9' }).length,
    P.ETH_HEADER_LEN + P.ARP_IPV4_LEN,
  );
  assert.is(
    P.encodeNeighborAdvert({ srcMac: '02:00:00:00:00:01', src: 'fe80::1', target: '2001:db8::9' }).length,
    P.ETH_HEADER_LEN + P.IPV6_HEADER_LEN + P.ND_MESSAGE_LEN + P.ND_LLA_OPTION_LEN,
  );
  assert.is(P.advertLength(2, 4, 3), 8 + 12 + 8);
  assert.is(P.padFrame(P.encodeGratuitousArp({ mac: '02:00:00:00:00:01', ip: '192.0.2.9' })).length, 60);
});

test('RFC 3768 5.3.7: a VRRPv2 interval that is not whole seconds is a programming error (throws)', () => {
  const ctx = { family: 4 as const, src: '192.0.2.1', dst: '224.0.0.18' };
  assert.throws(() => P.encodeAdvert({ ...v3, version: 2, maxAdverIntervalCs: 150 }, ctx), /multiple of 100/);
  assert.throws(() => P.encodeAdvert({ ...v3, version: 2, maxAdverIntervalCs: 25600 }, ctx), /multiple of 100/);
  assert.ok(P.encodeAdvert({ ...v3, version: 2, maxAdverIntervalCs: 25500 }, ctx).length > 0);
});

test('the encoder refuses what the wire cannot carry', () => {
  const ctx = { family: 4 as const, src: '192.0.2.1', dst: '224.0.0.18' };
  const bad: Array<[string, P.VrrpAdvert, typeof ctx | { family: 6; src: string; dst: string }]> = [
    ['VRID 0', { ...v3, vrid: 0 }, ctx],
    ['priority 256', { ...v3, priority: 256 }, ctx],
    ['v3 interval 4096 cs (12 bits, RFC 5798 5.2.7)', { ...v3, maxAdverIntervalCs: 4096 }, ctx],
    ['v3 interval 0', { ...v3, maxAdverIntervalCs: 0 }, ctx],
    ['no addresses', { ...v3, addresses: [] }, ctx],
    ['an IPv6 address in an IPv4 advert', { ...v3, addresses: ['2001:db8::1'] }, ctx],
    [
      'VRRPv2 over IPv6',
      { ...v3, version: 2, addresses: ['2001:db8::1'] },
      { family: 6, src: 'fe80::1', dst: 'ff02::12' },
    ],
    ['9 bytes of auth data', { ...v3, version: 2, authData: new Uint8Array(9) }, ctx],
  ];
  for (const [what, advert, c] of bad) assert.throws(() => P.encodeAdvert(advert, c), /encodeAdvert/, what);
  assert.throws(() => P.simplePasswordAuthData('123456789'));
  assert.is(P.toHex(P.simplePasswordAuthData('tandem')), '74616e64656d0000'); // RFC 2338 5.3.10: zero padded
});

test('RFC 5798 5.2.6: the reserved bits are sent as zero and ignored on receive', () => {
  const ctx = { family: 4 as const, src: '192.0.2.1', dst: '224.0.0.18' };
  const msg = P.encodeAdvert({ ...v3, maxAdverIntervalCs: 4095 }, { ...ctx, checksumForm: 'vrrp-only' });
  assert.is(msg[4], 0x0f);
  // Set the reserved bits and fix the checksum (vrrp-only: plain sum over the message).
  msg[4] = 0xff;
  msg[6] = 0;
  msg[7] = 0;
  const c = P.internetChecksum(msg);
  msg[6] = c >> 8;
  msg[7] = c & 255;
  const r = P.decodeAdvert(msg, ctx);
  assert.ok(r.ok);
  if (r.ok) assert.is(r.advert.maxAdverIntervalCs, 4095);
});

test.run();
