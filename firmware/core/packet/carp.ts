// CARP advertisement codec (OpenBSD sys/netinet/ip_carp.h, ip_carp.c; carp(4) on the BSDs,
// ucarp on Linux). Pure: bytes in, bytes out; the HMAC is the pure SHA-1 in ./sha1.ts.
import type { CarpAdvert, DropReason, Family } from './types.ts';
import { IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6 } from './types.ts';
import {
  CARP_AUTHLEN,
  CARP_HEADER_LEN,
  CARP_IPV4_TOS,
  CARP_KEY_LEN,
  CARP_TTL,
  CARP_VERSION,
  CARP_TYPE_ADVERTISEMENT,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
} from './constants.ts';
import { multicastMac, parseIp } from './addr.ts';
import { internetChecksum } from './checksum.ts';
import { writeEthernet, writeIpv4Header, writeIpv6Header } from './ether.ts';
import { hmacSha1 } from './sha1.ts';

/*
 * struct carp_header (ip_carp.h), 36 bytes, IP protocol 112 like VRRP, to 224.0.0.18 / ff02::12:
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Type  |     VHID      |    AdvSkew    |    AuthLen    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |    Demote     |    AdvBase    |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                      Counter (high 32 bits)                   |
 *    |                      Counter (low 32 bits)                    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                 SHA-1 HMAC (20 bytes, 5 words)                |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Version 2, Type 1 (advertisement): the same first byte as a VRRPv2 advert. AuthLen is the size
 * of counter + HMAC in 32-bit words (7). Demote is OpenBSD's (FreeBSD and ucarp call it pad1 and
 * send 0). The advert interval is AdvBase s + AdvSkew/256 s. The checksum covers the CARP header
 * alone (no pseudo-header), like VRRPv2.
 */

export interface CarpAuth {
  /** The passphrase as bytes, at most CARP_KEY_LEN (ip_carp.h sc_key[20], zero padded). */
  key: Uint8Array;
  /** The virtual addresses the HMAC covers (ip_carp.c carp_hmac_prepare_ctx). */
  addresses: string[];
}

export type DecodedCarp = { ok: true; advert: CarpAdvert } | { ok: false; reason: DropReason; detail: string };

/** The passphrase as the 20-byte key ip_carp.c copies into its pad (longer is a config error). */
export function carpKey(passphrase: string): Uint8Array {
  const b = new TextEncoder().encode(passphrase);
  if (b.length > CARP_KEY_LEN) throw new RangeError(`a CARP passphrase is at most ${CARP_KEY_LEN} bytes`);
  const k = new Uint8Array(CARP_KEY_LEN);
  k.set(b);
  return k;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * The HMAC as ip_carp.c computes it: HMAC-SHA1 under the 20-byte key of version, type, VHID,
 * then every IPv4 address in ascending order, every IPv6 address in ascending order (each once),
 * then the 8-byte counter as it is on the wire. OpenBSD hashes every address of the carp
 * interface; tandem hashes the configured virtual addresses. Its variant that also hashes a
 * non-default lladdr, and the one with IPv6 link-locals, are not produced (see docs/carp.md).
 */
export function carpHmac(auth: CarpAuth, vhid: number, counter: Uint8Array): Uint8Array {
  const v4: Uint8Array[] = [],
    v6: Uint8Array[] = [];
  for (const a of auth.addresses) {
    const p = parseIp(a);
    if (p) (p.family === 4 ? v4 : v6).push(p.bytes);
  }
  const uniqSorted = (l: Uint8Array[]) =>
    l.sort(cmpBytes).filter((b, i, all) => i === 0 || cmpBytes(all[i - 1], b) !== 0);
  return hmacSha1(
    auth.key,
    Uint8Array.of(CARP_VERSION, CARP_TYPE_ADVERTISEMENT, vhid),
    ...uniqSorted(v4),
    ...uniqSorted(v6),
    counter,
  );
}

/** The counter as 8 big-endian bytes (ip_carp.c carp_prepare_ad: two htonl words). */
export function counterBytes(counter: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, counter));
  return b;
}

function fail(msg: string): never {
  throw new RangeError(`encodeCarp: ${msg}`);
}

const byte = (n: number) => Number.isInteger(n) && n >= 0 && n <= 255;

/** Builds the 36-byte CARP message with its HMAC and checksum. Bad arguments are programming
 *  errors and throw; decoding never does. */
export function encodeCarp(a: Omit<CarpAdvert, 'md'>, auth: CarpAuth): Uint8Array {
  if (!byte(a.vhid) || a.vhid < 1) fail(`VHID must be 1..255, got ${a.vhid}`);
  if (!byte(a.advbase)) fail(`advbase must be 0..255, got ${a.advbase}`);
  if (!byte(a.advskew)) fail(`advskew must be 0..255, got ${a.advskew}`);
  if (!byte(a.demote)) fail(`demote must be 0..255, got ${a.demote}`);
  if (auth.key.length > CARP_KEY_LEN) fail(`key is at most ${CARP_KEY_LEN} bytes`);
  const out = new Uint8Array(CARP_HEADER_LEN);
  out[0] = (CARP_VERSION << 4) | CARP_TYPE_ADVERTISEMENT;
  out[1] = a.vhid;
  out[2] = a.advskew;
  out[3] = CARP_AUTHLEN;
  out[4] = a.demote;
  out[5] = a.advbase;
  const counter = counterBytes(a.counter);
  out.set(counter, 8);
  out.set(carpHmac(auth, a.vhid, counter), 16);
  const sum = internetChecksum(out);
  out[6] = sum >> 8;
  out[7] = sum & 0xff;
  return out;
}

/**
 * True when an IP-protocol-112 payload is CARP rather than VRRP. Both start 0x21 (version 2,
 * type 1); a VRRPv2 advert is 16 + 4 x Count bytes long (IPv6 would be 16 + 16 x Count), so 36
 * bytes with byte 3 = 7 (AuthLen) cannot be one: it would carry Count 5 (IPv6: none fits). A
 * CARP message with trailing bytes is therefore read as VRRP and dropped as 'bad-length', and a
 * VRRPv2 advert over IPv6 stays 'bad-version' (RFC 3768 is IPv4 only).
 */
export function looksLikeCarp(payload: Uint8Array, _family: Family): boolean {
  return payload.length === CARP_HEADER_LEN && payload[0] >> 4 === CARP_VERSION && payload[3] === CARP_AUTHLEN;
}

/**
 * Parses a CARP message, in ip_carp.c carp_input order as far as the packet alone goes: length,
 * checksum, version, type. TTL is the frame decoder's; VHID and HMAC need configuration and are
 * the caller's (verifyCarp). Never throws.
 */
export function decodeCarp(b: Uint8Array): DecodedCarp {
  if (b.length < CARP_HEADER_LEN)
    return { ok: false, reason: 'too-short', detail: `${b.length} bytes, the CARP header is ${CARP_HEADER_LEN}` };
  if (internetChecksum(b) !== 0) return { ok: false, reason: 'bad-checksum', detail: 'CARP checksum is wrong' };
  const version = b[0] >> 4,
    type = b[0] & 0x0f;
  if (version !== CARP_VERSION) return { ok: false, reason: 'bad-version', detail: `CARP version ${version}` };
  if (type !== CARP_TYPE_ADVERTISEMENT) return { ok: false, reason: 'bad-type', detail: `CARP type ${type}` };
  return {
    ok: true,
    advert: {
      vhid: b[1],
      advskew: b[2],
      demote: b[4],
      advbase: b[5],
      counter: new DataView(b.buffer, b.byteOffset + 8, 8).getBigUint64(0),
      md: b.slice(16, 36),
    },
  };
}

/** True when the advert's HMAC is the one our passphrase and addresses give (constant time is
 *  not needed: the HMAC is public on the wire, only the key is secret). */
export function verifyCarp(a: CarpAdvert, auth: CarpAuth): boolean {
  const want = carpHmac(auth, a.vhid, counterBytes(a.counter));
  return cmpBytes(want, a.md) === 0 && a.md.length === want.length;
}

export interface CarpFrameOptions {
  /** Ethernet source: the virtual MAC 00:00:5e:00:01:<vhid> (ip_carp.c sends from it). */
  srcMac: string;
  vlan?: number;
  family: Family;
  /** Our address on the interface (IPv6: the link-local). */
  src: string;
  advert: Omit<CarpAdvert, 'md'>;
  auth: CarpAuth;
  /** Default 255 (CARP_DFLTTL); other values only to build bad frames in tests. */
  ttl?: number;
}

/** A complete CARP advert frame for a raw send, to 224.0.0.18 / ff02::12. */
export function encodeCarpFrame(o: CarpFrameOptions): Uint8Array {
  const dst = o.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6;
  const src = parseIp(o.src);
  if (!src || src.family !== o.family) throw new TypeError(`src ${JSON.stringify(o.src)} is not IPv${o.family}`);
  const dstBytes = parseIp(dst)!.bytes;
  const carp = encodeCarp(o.advert, o.auth);
  const ipLen = o.family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  const { frame, offset } = writeEthernet(
    multicastMac(dst),
    o.srcMac,
    o.vlan,
    o.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6,
    ipLen + carp.length,
  );
  if (o.family === 4) {
    // ip_carp.c carp_send_ad: TOS IPTOS_LOWDELAY, DF, TTL 255.
    writeIpv4Header(frame, offset, {
      tos: CARP_IPV4_TOS,
      id: 0,
      dontFragment: true,
      ttl: o.ttl ?? CARP_TTL,
      protocol: IPPROTO_VRRP,
      src: src.bytes,
      dst: dstBytes,
      payloadLen: carp.length,
    });
  } else {
    writeIpv6Header(frame, offset, {
      trafficClass: 0,
      flowLabel: 0,
      nextHeader: IPPROTO_VRRP,
      hopLimit: o.ttl ?? CARP_TTL,
      src: src.bytes,
      dst: dstBytes,
      payloadLen: carp.length,
    });
  }
  frame.set(carp, offset + ipLen);
  return frame;
}

/** CARP's virtual MAC for both families: 00:00:5e:00:01:<vhid> (ip_carp.c carp_set_enaddr). It is
 *  the IPv4 VRRP MAC of the same number: a VRID and a VHID with one number clash on one LAN. */
export function carpVirtualMac(vhid: number): string {
  return `00:00:5e:00:01:${vhid.toString(16).padStart(2, '0')}`;
}
