// The active-active cluster advert (issue #13; docs/cluster.md): who is alive, with which weight,
// and which hash buckets each node serves. Carried in IP protocol 253 (RFC 3692, "use for
// experimentation and testing") with a 16-bit experiment id first (RFC 4727 section 1), sent to
// the VRRP groups 224.0.0.18 / ff02::12 with TTL / Hop Limit 255. keepalived and FRR vrrpd open
// raw sockets for protocol 112 only, so the kernel never hands them these packets.
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |     Experiment ID 0x7464      |    Version    |  Cluster ID   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                            Node ID                            |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |            Weight             |     Advert Interval (ms)      |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                           View Hash                           |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |            Buckets            |           Checksum            |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |  Name Length  |J|L|  (zero)   |  Owned bitmap (Buckets bits)  ~
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    ~  Draining bitmap (Buckets bits)  ~  Node Name (Name Length)   ~
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Each bitmap is ceil(Buckets / 8) bytes, bucket 0 in the high bit of its first byte; bits past
// Buckets are zero. J: joining (listening, not yet counted in the assignment), L: leaving (stop:
// drop this node from the view at once). The checksum is the Internet checksum over the whole
// message with the IP pseudo-header (RFC 768 / RFC 8200 8.1), as VRRPv3 does.
import { formatIp, parseIp } from './addr.ts';
import { internetChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from './checksum.ts';
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  VRRP_IPV4_TOS,
  VRRP_TTL,
} from './constants.ts';
import { multicastMac } from './addr.ts';
import { readEthernet, writeEthernet, writeIpv4Header, writeIpv6Header } from './ether.ts';
import type { Family } from './types.ts';
import { VRRP_GROUP_V4, VRRP_GROUP_V6 } from './types.ts';

/** RFC 3692 experimental IP protocol number. */
export const IPPROTO_CLUSTER = 253;
/** RFC 4727 experiment id at the front of the payload: "td". */
export const CLUSTER_EXPERIMENT_ID = 0x7464;
export const CLUSTER_VERSION = 1;
/** Fixed part before the bitmaps. */
export const CLUSTER_HEADER_LEN = 22;
/** Bucket count limits (config and wire): bitmaps of 128 bytes at most. */
export const CLUSTER_MIN_BUCKETS = 1;
export const CLUSTER_MAX_BUCKETS = 1024;
export const CLUSTER_MAX_NAME = 64;
const FLAG_JOINING = 0x80;
const FLAG_LEAVING = 0x40;

export interface ClusterAdvert {
  clusterId: number; // 1..255
  nodeId: number; // u32, derived from the node name (core/cluster/hash.ts nodeIdOf)
  weight: number; // u16; 0 = serves nothing
  advertIntervalMs: number; // u16, 1..65535
  viewHash: number; // u32, hash of the live members the sender counts (core/cluster/hash.ts viewHash)
  buckets: number; // 1..1024
  joining: boolean;
  leaving: boolean;
  owned: readonly number[]; // bucket numbers, ascending
  draining: readonly number[]; // bucket numbers, ascending, disjoint from owned
  name: string; // the sender's node name (printable ASCII, up to 64)
}

/** Why a cluster advert was dropped: counted per reason, never acted on. */
export type ClusterDropReason =
  | 'truncated' // shorter than its header or than Buckets and Name Length say
  | 'bad-ttl' // TTL / Hop Limit not 255: routed
  | 'bad-experiment' // another experiment's protocol 253 packet
  | 'bad-version'
  | 'bad-checksum'
  | 'wrong-cluster' // a Cluster ID not ours
  | 'bad-bucket-map' // Buckets not ours, bits past Buckets, owned and draining overlap
  | 'bad-field' // interval 0, name not printable
  | 'own-node-id'; // another node claims our Node ID (hash collision or a copied config)

export type ClusterDecodeResult =
  | { ok: true; advert: ClusterAdvert; src: string; family: Family }
  | { ok: false; reason: ClusterDropReason; detail: string }
  | { ok: false; reason: 'not-cluster'; detail: string };

const bitmapLen = (buckets: number) => Math.ceil(buckets / 8);

/** The message length for `buckets` and a node name of `nameLen` bytes. */
export function clusterAdvertLength(buckets: number, nameLen: number): number {
  return CLUSTER_HEADER_LEN + 2 * bitmapLen(buckets) + nameLen;
}

function writeBitmap(out: Uint8Array, at: number, list: readonly number[], buckets: number): void {
  for (const b of list) {
    if (!Number.isInteger(b) || b < 0 || b >= buckets) throw new RangeError(`bucket ${b} outside 0..${buckets - 1}`);
    out[at + (b >> 3)] |= 0x80 >> (b & 7);
  }
}

function readBitmap(b: Uint8Array, at: number, buckets: number): { list: number[]; beyond: boolean } {
  const list: number[] = [];
  let beyond = false;
  for (let i = 0; i < bitmapLen(buckets) * 8; i++) {
    if (b[at + (i >> 3)] & (0x80 >> (i & 7))) {
      if (i < buckets) list.push(i);
      else beyond = true;
    }
  }
  return { list, beyond };
}

function pseudoSum(family: Family, src: Uint8Array, dst: Uint8Array, len: number): number {
  return family === 4
    ? pseudoHeaderSumV4(src, dst, IPPROTO_CLUSTER, len)
    : pseudoHeaderSumV6(src, dst, IPPROTO_CLUSTER, len);
}

const PRINTABLE = /^[\x21-\x7e]*$/;

/** The message (IP payload) with its checksum over `src` and `dst`. Throws on values that cannot
 *  be encoded (a programming error, not input). */
export function encodeClusterAdvert(a: ClusterAdvert, family: Family, src: Uint8Array, dst: Uint8Array): Uint8Array {
  if (a.buckets < CLUSTER_MIN_BUCKETS || a.buckets > CLUSTER_MAX_BUCKETS)
    throw new RangeError(`buckets must be ${CLUSTER_MIN_BUCKETS}..${CLUSTER_MAX_BUCKETS}`);
  if (a.name.length > CLUSTER_MAX_NAME || !PRINTABLE.test(a.name)) throw new RangeError('node name not encodable');
  const n = bitmapLen(a.buckets);
  const out = new Uint8Array(clusterAdvertLength(a.buckets, a.name.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, CLUSTER_EXPERIMENT_ID);
  v.setUint8(2, CLUSTER_VERSION);
  v.setUint8(3, a.clusterId);
  v.setUint32(4, a.nodeId >>> 0);
  v.setUint16(8, a.weight);
  v.setUint16(10, a.advertIntervalMs);
  v.setUint32(12, a.viewHash >>> 0);
  v.setUint16(16, a.buckets);
  v.setUint8(20, a.name.length);
  v.setUint8(21, (a.joining ? FLAG_JOINING : 0) | (a.leaving ? FLAG_LEAVING : 0));
  writeBitmap(out, CLUSTER_HEADER_LEN, a.owned, a.buckets);
  writeBitmap(out, CLUSTER_HEADER_LEN + n, a.draining, a.buckets);
  for (let i = 0; i < a.name.length; i++) out[CLUSTER_HEADER_LEN + 2 * n + i] = a.name.charCodeAt(i);
  v.setUint16(18, internetChecksum(out, pseudoSum(family, src, dst, out.length)));
  return out;
}

export interface ClusterExpect {
  clusterId: number;
  buckets: number;
}

/** Validates one message (the IP payload). Checks in this order: length, experiment id, version,
 *  checksum, cluster id, bucket count and maps, fields. Never throws, never reads past the end. */
export function decodeClusterAdvert(
  b: Uint8Array,
  family: Family,
  src: Uint8Array,
  dst: Uint8Array,
  expect: ClusterExpect,
): { ok: true; advert: ClusterAdvert } | { ok: false; reason: ClusterDropReason; detail: string } {
  if (b.length < CLUSTER_HEADER_LEN)
    return { ok: false, reason: 'truncated', detail: `${b.length} bytes, the header needs ${CLUSTER_HEADER_LEN}` };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const exid = v.getUint16(0);
  if (exid !== CLUSTER_EXPERIMENT_ID)
    return { ok: false, reason: 'bad-experiment', detail: `experiment id 0x${exid.toString(16)}` };
  const version = v.getUint8(2);
  if (version !== CLUSTER_VERSION) return { ok: false, reason: 'bad-version', detail: `version ${version}` };
  const buckets = v.getUint16(16);
  const nameLen = v.getUint8(20);
  const want = clusterAdvertLength(buckets, nameLen);
  if (b.length < want)
    return { ok: false, reason: 'truncated', detail: `${b.length} bytes, Buckets and Name Length say ${want}` };
  const msg = b.subarray(0, want);
  if (internetChecksum(msg, pseudoSum(family, src, dst, want)) !== 0)
    return { ok: false, reason: 'bad-checksum', detail: 'checksum wrong' };
  const clusterId = v.getUint8(3);
  if (clusterId !== expect.clusterId)
    return { ok: false, reason: 'wrong-cluster', detail: `cluster id ${clusterId}, ours ${expect.clusterId}` };
  if (buckets !== expect.buckets)
    return { ok: false, reason: 'bad-bucket-map', detail: `${buckets} buckets, ours ${expect.buckets}` };
  const n = bitmapLen(buckets);
  const owned = readBitmap(b, CLUSTER_HEADER_LEN, buckets);
  const draining = readBitmap(b, CLUSTER_HEADER_LEN + n, buckets);
  if (owned.beyond || draining.beyond)
    return { ok: false, reason: 'bad-bucket-map', detail: `bits set past bucket ${buckets - 1}` };
  const ownedSet = new Set(owned.list);
  const both = draining.list.find((x) => ownedSet.has(x));
  if (both !== undefined)
    return { ok: false, reason: 'bad-bucket-map', detail: `bucket ${both} both owned and draining` };
  const advertIntervalMs = v.getUint16(10);
  if (advertIntervalMs === 0) return { ok: false, reason: 'bad-field', detail: 'advert interval 0' };
  let name = '';
  for (let i = 0; i < nameLen; i++) name += String.fromCharCode(b[CLUSTER_HEADER_LEN + 2 * n + i]);
  if (nameLen > CLUSTER_MAX_NAME || !PRINTABLE.test(name))
    return { ok: false, reason: 'bad-field', detail: 'node name not printable ASCII of 1..64' };
  const flags = v.getUint8(21);
  return {
    ok: true,
    advert: {
      clusterId,
      nodeId: v.getUint32(4),
      weight: v.getUint16(8),
      advertIntervalMs,
      viewHash: v.getUint32(12),
      buckets,
      joining: (flags & FLAG_JOINING) !== 0,
      leaving: (flags & FLAG_LEAVING) !== 0,
      owned: owned.list,
      draining: draining.list,
      name,
    },
  };
}

export interface ClusterFrameOptions {
  srcMac: string;
  family: Family;
  /** The sender's own address on the interface (IPv6: its link-local). */
  src: string;
  advert: ClusterAdvert;
  /** Default 255; others only to build bad frames in tests. */
  ttl?: number;
}

/** A whole frame to 224.0.0.18 / ff02::12, ready for a raw send. */
export function encodeClusterFrame(o: ClusterFrameOptions): Uint8Array {
  const dstText = o.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6;
  const src = parseIp(o.src);
  if (!src || src.family !== o.family) throw new TypeError(`src ${JSON.stringify(o.src)} is not IPv${o.family}`);
  const dst = parseIp(dstText)!.bytes;
  const msg = encodeClusterAdvert(o.advert, o.family, src.bytes, dst);
  const ipLen = o.family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  const { frame, offset } = writeEthernet(
    multicastMac(dstText),
    o.srcMac,
    undefined,
    o.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6,
    ipLen + msg.length,
  );
  const ttl = o.ttl ?? VRRP_TTL;
  if (o.family === 4) {
    writeIpv4Header(frame, offset, {
      tos: VRRP_IPV4_TOS,
      id: 0,
      dontFragment: true,
      ttl,
      protocol: IPPROTO_CLUSTER,
      src: src.bytes,
      dst,
      payloadLen: msg.length,
    });
  } else {
    writeIpv6Header(frame, offset, {
      trafficClass: VRRP_IPV4_TOS,
      flowLabel: 0,
      nextHeader: IPPROTO_CLUSTER,
      hopLimit: ttl,
      src: src.bytes,
      dst,
      payloadLen: msg.length,
    });
  }
  frame.set(msg, offset + ipLen);
  return frame;
}

/** Decodes a captured frame: 'not-cluster' for anything that is not IP protocol 253 (not counted
 *  by the caller), else the advert or the reason it is dropped. Never throws. */
export function decodeClusterFrame(bytes: Uint8Array, expect: ClusterExpect): ClusterDecodeResult {
  const e = readEthernet(bytes);
  if (!e.ok) return { ok: false, reason: 'not-cluster', detail: e.detail };
  const o = e.offset;
  const avail = bytes.length - o;
  let family: Family, src: Uint8Array, dst: Uint8Array, payload: Uint8Array, ttl: number;
  if (e.eth.etherType === ETHERTYPE_IPV4) {
    if (avail < IPV4_HEADER_LEN || bytes[o] >> 4 !== 4) return { ok: false, reason: 'not-cluster', detail: 'IPv4' };
    if (bytes[o + 9] !== IPPROTO_CLUSTER) return { ok: false, reason: 'not-cluster', detail: 'protocol' };
    const ihl = (bytes[o] & 0x0f) * 4;
    const total = (bytes[o + 2] << 8) | bytes[o + 3];
    if (ihl < IPV4_HEADER_LEN || total < ihl || total > avail)
      return { ok: false, reason: 'truncated', detail: `IPv4 total length ${total}, ${avail} bytes present` };
    if (internetChecksum(bytes.subarray(o, o + ihl)) !== 0)
      return { ok: false, reason: 'bad-checksum', detail: 'IPv4 header checksum wrong' };
    if (((bytes[o + 6] << 8) | bytes[o + 7]) & 0x3fff) return { ok: false, reason: 'truncated', detail: 'a fragment' };
    family = 4;
    ttl = bytes[o + 8];
    src = bytes.slice(o + 12, o + 16);
    dst = bytes.slice(o + 16, o + 20);
    payload = bytes.subarray(o + ihl, o + total);
  } else if (e.eth.etherType === ETHERTYPE_IPV6) {
    if (avail < IPV6_HEADER_LEN || bytes[o] >> 4 !== 6) return { ok: false, reason: 'not-cluster', detail: 'IPv6' };
    if (bytes[o + 6] !== IPPROTO_CLUSTER) return { ok: false, reason: 'not-cluster', detail: 'next header' };
    const len = (bytes[o + 4] << 8) | bytes[o + 5];
    if (IPV6_HEADER_LEN + len > avail)
      return { ok: false, reason: 'truncated', detail: `IPv6 payload length ${len}, ${avail - 40} bytes present` };
    family = 6;
    ttl = bytes[o + 7];
    src = bytes.slice(o + 8, o + 24);
    dst = bytes.slice(o + 24, o + 40);
    payload = bytes.subarray(o + IPV6_HEADER_LEN, o + IPV6_HEADER_LEN + len);
  } else return { ok: false, reason: 'not-cluster', detail: 'EtherType' };
  // Like RFC 5798 7.1: a TTL below 255 means the packet was routed from another segment.
  if (ttl !== VRRP_TTL) return { ok: false, reason: 'bad-ttl', detail: `TTL ${ttl}` };
  const d = decodeClusterAdvert(payload, family, src, dst, expect);
  return d.ok ? { ok: true, advert: d.advert, src: formatIp(src), family } : d;
}
