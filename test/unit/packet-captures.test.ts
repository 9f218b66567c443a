// Real frames from keepalived 2.2.7 and FRR 8.4 vrrpd, recorded by test/fixtures/capture.sh.
// Each is decoded, its fields checked against the peer's configuration, and re-encoded byte for
// byte. The only inputs taken from the capture besides the advert are per-packet sender choices
// the advert does not carry: the Ethernet source, IPv4 Identification and DF (keepalived counts
// IDs without DF; FRR counts with DF), the IPv6 flow label (the kernel picks one per socket),
// keepalived's broadcast target MAC in gratuitous ARPs and its NA without the Router flag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import {
  decodeFrame,
  encodeGratuitousArp,
  encodeNeighborAdvert,
  encodeVrrpFrame,
  fromHex,
  toHex,
} from '../../firmware/core/packet/index.ts';
import type { Decoded, VrrpAdvert } from '../../firmware/core/packet/index.ts';

function frames(name: string): Uint8Array[] {
  const text = readFileSync(new URL(`../fixtures/${name}.hex`, import.meta.url), 'utf8');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.ok(lines.length >= 2, `${name}: too few frames`);
  return lines.map(fromHex);
}

type Ok<K> = Extract<Decoded, { kind: K }>;
function decoded<K extends 'vrrp' | 'arp' | 'nd'>(f: Uint8Array, kind: K): Ok<K> {
  const d = decodeFrame(f);
  if (!d.ok) throw new Error(`${d.reason}: ${d.detail}`);
  assert.is(d.kind, kind);
  return d as Ok<K>;
}

const ipv4Id = (f: Uint8Array) => (f[18] << 8) | f[19];
const ipv4Df = (f: Uint8Array) => (f[20] & 0x40) !== 0;
const flowLabel = (f: Uint8Array) => ((f[15] & 0x0f) << 16) | (f[16] << 8) | f[17];

function checkV4(name: string, src: string, advert: VrrpAdvert, checksumForm: string, df: boolean) {
  for (const [i, f] of frames(name).entries()) {
    const d = decoded(f, 'vrrp');
    assert.is(d.family, 4);
    assert.is(d.src, src);
    assert.is(d.dst, '224.0.0.18');
    assert.is(d.ttl, 255);
    assert.is(d.eth.dst, '01:00:5e:00:00:12');
    assert.equal(d.advert, advert, `${name} frame ${i}`);
    assert.is(d.checksumForm, checksumForm);
    assert.is(ipv4Df(f), df);
    const again = encodeVrrpFrame({
      srcMac: d.eth.src,
      family: 4,
      src: d.src,
      advert: d.advert,
      checksumForm: d.checksumForm,
      ipId: ipv4Id(f),
      dontFragment: ipv4Df(f),
    });
    assert.is(toHex(again), toHex(f), `${name} frame ${i}`);
  }
}

test('keepalived VRRPv2 (RFC 3768): VRID 51, priority 150, 1 s, simple password, re-encoded exactly', () => {
  const authData = new Uint8Array(8);
  authData.set(new TextEncoder().encode('tandem'));
  checkV4(
    'keepalived-v2-ipv4',
    '192.0.2.1',
    { version: 2, vrid: 51, priority: 150, maxAdverIntervalCs: 100, addresses: ['192.0.2.51'], authType: 1, authData },
    'vrrp-only',
    false,
  );
});

test('keepalived VRRPv3 over IPv4 (RFC 5798 5.2.8): pseudo-header checksum, 50 cs, two VIPs, re-encoded exactly', () => {
  checkV4(
    'keepalived-v3-ipv4',
    '192.0.2.1',
    { version: 3, vrid: 52, priority: 120, maxAdverIntervalCs: 50, addresses: ['192.0.2.52', '192.0.2.53'] },
    'pseudo-header',
    false,
  );
});

test('FRR 8.4 vrrpd VRRPv3 over IPv4: pseudo-header checksum, virtual MAC source, DF set, re-encoded exactly', () => {
  checkV4(
    'frr-v3-ipv4',
    '192.0.2.2',
    { version: 3, vrid: 61, priority: 200, maxAdverIntervalCs: 100, addresses: ['192.0.2.61'] },
    'pseudo-header',
    true,
  );
  assert.is(decoded(frames('frr-v3-ipv4')[0], 'vrrp').eth.src, '00:00:5e:00:01:3d'); // RFC 5798 7.3, VRID 61
});

test('keepalived VRRPv3 over IPv6 (RFC 5798 5.1.2): link-local source, ff02::12, re-encoded exactly', () => {
  for (const f of frames('keepalived-v3-ipv6')) {
    const d = decoded(f, 'vrrp');
    assert.is(d.family, 6);
    assert.is(d.dst, 'ff02::12');
    assert.is(d.ttl, 255);
    assert.match(d.src, /^fe80::/);
    assert.is(d.eth.dst, '33:33:00:00:00:12');
    assert.equal(d.advert, {
      version: 3,
      vrid: 53,
      priority: 110,
      maxAdverIntervalCs: 100,
      addresses: ['2001:db8::53'],
    });
    assert.is(d.checksumForm, 'pseudo-header');
    const again = encodeVrrpFrame({
      srcMac: d.eth.src,
      family: 6,
      src: d.src,
      advert: d.advert,
      flowLabel: flowLabel(f),
    });
    assert.is(toHex(again), toHex(f));
  }
});

test('keepalived gratuitous ARPs (RFC 5798 6.4.2): request form, sender = target = VIP, re-encoded exactly', () => {
  const vips = new Set<string>();
  for (const f of frames('keepalived-garp')) {
    const d = decoded(f, 'arp');
    assert.is(d.eth.dst, 'ff:ff:ff:ff:ff:ff');
    assert.is(d.arp.op, 1);
    assert.is(d.arp.senderIp, d.arp.targetIp);
    assert.is(d.arp.senderMac, d.eth.src);
    assert.is(d.arp.targetMac, 'ff:ff:ff:ff:ff:ff'); // keepalived's choice; tandem sends zero (RFC 5227 2.3)
    vips.add(d.arp.senderIp);
    assert.is(
      toHex(encodeGratuitousArp({ mac: d.arp.senderMac, ip: d.arp.senderIp, targetMac: d.arp.targetMac })),
      toHex(f),
    );
  }
  assert.ok(
    [...vips].every((v) => ['192.0.2.51', '192.0.2.52', '192.0.2.53'].includes(v)),
    [...vips].join(),
  );
});

test('keepalived unsolicited NA (RFC 4861 4.4): to ff02::1, Override set, target link-layer option, re-encoded exactly', () => {
  for (const f of frames('keepalived-na')) {
    const d = decoded(f, 'nd');
    assert.equal(d.nd, {
      type: 136,
      src: '2001:db8::53',
      dst: 'ff02::1',
      target: '2001:db8::53',
      router: false,
      solicited: false,
      override: true,
      linkAddr: d.eth.src,
    });
    const again = encodeNeighborAdvert({ srcMac: d.eth.src, src: d.nd.src, target: d.nd.target, router: false });
    assert.is(toHex(again), toHex(f));
  }
});

test.run();
