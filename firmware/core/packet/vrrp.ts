// VRRP advertisement codec, v2 (RFC 3768) and v3 (RFC 5798, RFC 9568). Pure: bytes in, bytes out.
import type { ChecksumForm, DropReason, Family, VrrpAdvert, VrrpVersion } from './types.ts';
import { IPPROTO_VRRP, VRRP_TYPE_ADVERTISEMENT } from './types.ts';
import {
  IPV4_ADDR_LEN,
  IPV6_ADDR_LEN,
  VRRP_HEADER_LEN,
  VRRP_V2_AUTH_LEN,
  VRRP_V2_MAX_ADVER_INT_S,
  VRRP_V3_MAX_ADVER_INT_CS,
} from './constants.ts';
import { formatIp, parseIp } from './addr.ts';
import { internetChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6 } from './checksum.ts';

/** IP addresses as text or bytes; the frame decoder passes bytes, callers usually text. */
export type IpArg = string | Uint8Array;

export interface AdvertContext {
  family: Family;
  /** IP source and destination of the packet carrying the advert (pseudo-header). */
  src: IpArg;
  dst: IpArg;
}

export interface EncodeAdvertContext extends AdvertContext {
  /** v3 over IPv4 only (RFC 5798 5.2.8 vs RFC 9568 5.2.8); default 'pseudo-header'. */
  checksumForm?: ChecksumForm;
}

export interface DecodeAdvertContext extends AdvertContext {
  /** The version this router runs; another one is dropped as 'bad-version' (RFC 5798 7.1). */
  version?: VrrpVersion;
}

export type DecodedAdvert =
  | { ok: true; advert: VrrpAdvert; checksumForm: ChecksumForm }
  | { ok: false; reason: DropReason; detail: string };

const addrLen = (family: Family) => (family === 4 ? IPV4_ADDR_LEN : IPV6_ADDR_LEN);

function ipBytes(a: IpArg, family: Family): Uint8Array | undefined {
  if (a instanceof Uint8Array) return a.length === addrLen(family) ? a : undefined;
  const p = parseIp(a);
  return p && p.family === family ? p.bytes : undefined;
}

function pseudoSum(family: Family, src: Uint8Array, dst: Uint8Array, length: number): number {
  return family === 4
    ? pseudoHeaderSumV4(src, dst, IPPROTO_VRRP, length)
    : pseudoHeaderSumV6(src, dst, IPPROTO_VRRP, length);
}

/** RFC 2338 5.3.10 simple text password: up to 8 bytes, zero padded. */
export function simplePasswordAuthData(password: string): Uint8Array {
  const bytes = new TextEncoder().encode(password);
  if (bytes.length > VRRP_V2_AUTH_LEN)
    throw new RangeError(`a VRRPv2 password is at most 8 bytes, got ${bytes.length}`);
  const out = new Uint8Array(VRRP_V2_AUTH_LEN);
  out.set(bytes);
  return out;
}

/** Length in bytes of the VRRP message for `count` addresses. */
export function advertLength(version: VrrpVersion, family: Family, count: number): number {
  return VRRP_HEADER_LEN + count * addrLen(family) + (version === 2 ? VRRP_V2_AUTH_LEN : 0);
}

function fail(msg: string): never {
  throw new RangeError(`encodeAdvert: ${msg}`);
}

/*
 * VRRPv3 (RFC 5798 5.1, RFC 9568 5.1):
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |(rsvd) |     Max Adver Int     |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                       IPvX Address(es)                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * VRRPv2 (RFC 3768 5.1):
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   Auth Type   |   Adver Int   |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         IP Address (1..n)                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     Authentication Data (1)                   |
 *    |                     Authentication Data (2)                   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Checksum: v2 over the VRRP message only (RFC 3768 5.3.8); v3 over IPv6 with the pseudo-header
 * (RFC 5798 5.2.8); v3 over IPv4 with it (RFC 5798, keepalived, FRR) or without (RFC 9568 5.2.8
 * errata, Cisco, Juniper), chosen by `checksumForm`.
 */

/** Builds the VRRP message (the IP payload). Invalid adverts are programming errors: they throw,
 * unlike decoding, which never does. */
export function encodeAdvert(advert: VrrpAdvert, ctx: EncodeAdvertContext): Uint8Array {
  const { version, vrid, priority, maxAdverIntervalCs, addresses } = advert;
  const { family } = ctx;
  if (version !== 2 && version !== 3) fail(`version must be 2 or 3, got ${version}`);
  if (version === 2 && family !== 4) fail('VRRPv2 (RFC 3768) is IPv4 only');
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) fail(`VRID must be 1..255, got ${vrid}`);
  if (!Number.isInteger(priority) || priority < 0 || priority > 255) fail(`priority must be 0..255, got ${priority}`);
  if (addresses.length < 1 || addresses.length > 255) fail(`1..255 addresses needed, got ${addresses.length}`);
  const src = ipBytes(ctx.src, family),
    dst = ipBytes(ctx.dst, family);
  if (!src || !dst) fail(`src/dst must be IPv${family} addresses`);
  let intervalField: number;
  if (version === 2) {
    // RFC 3768 5.3.7: whole seconds only.
    const s = maxAdverIntervalCs / 100;
    if (!Number.isInteger(s) || s < 1 || s > VRRP_V2_MAX_ADVER_INT_S)
      fail(`v2 interval must be 1..255 s in centiseconds (multiple of 100), got ${maxAdverIntervalCs}`);
    intervalField = s;
  } else {
    if (
      !Number.isInteger(maxAdverIntervalCs) ||
      maxAdverIntervalCs < 1 ||
      maxAdverIntervalCs > VRRP_V3_MAX_ADVER_INT_CS
    ) {
      fail(`v3 Max Adver Int must be 1..4095 cs, got ${maxAdverIntervalCs}`);
    }
    intervalField = maxAdverIntervalCs;
  }

  const alen = addrLen(family);
  const out = new Uint8Array(advertLength(version, family, addresses.length));
  out[0] = (version << 4) | VRRP_TYPE_ADVERTISEMENT;
  out[1] = vrid;
  out[2] = priority;
  out[3] = addresses.length;
  if (version === 2) {
    const authType = advert.authType ?? 0;
    if (!Number.isInteger(authType) || authType < 0 || authType > 255)
      fail(`auth type must be 0..255, got ${authType}`);
    out[4] = authType;
    out[5] = intervalField;
  } else {
    out[4] = intervalField >> 8; // the 4 reserved bits above it stay zero (RFC 5798 5.2.6)
    out[5] = intervalField & 0xff;
  }
  addresses.forEach((a, i) => {
    const b = ipBytes(a, family);
    if (!b) fail(`address ${JSON.stringify(a)} is not IPv${family}`);
    out.set(b, VRRP_HEADER_LEN + i * alen);
  });
  if (version === 2 && advert.authData) {
    if (advert.authData.length > VRRP_V2_AUTH_LEN) fail('auth data is at most 8 bytes');
    out.set(advert.authData, VRRP_HEADER_LEN + addresses.length * alen);
  }
  const withPseudo = version === 3 && (family === 6 || (ctx.checksumForm ?? 'pseudo-header') === 'pseudo-header');
  const sum = internetChecksum(out, withPseudo ? pseudoSum(family, src, dst, out.length) : 0);
  out[6] = sum >> 8;
  out[7] = sum & 0xff;
  return out;
}

/**
 * Parses a VRRP message (the IP payload, exactly IP-length bytes). Checks follow RFC 5798 7.1 /
 * RFC 3768 7.1 as far as they concern the packet alone: version, type (5.2.2), the whole message
 * present and no longer than Count IPvX Addrs implies, checksum, then a non-empty address list.
 * TTL is the frame decoder's; VRID, auth, interval and address list are the caller's (they need
 * configuration). The reserved bits of v3 are ignored (RFC 5798 5.2.6). Never throws.
 */
export function decodeAdvert(bytes: Uint8Array, ctx: DecodeAdvertContext): DecodedAdvert {
  const { family } = ctx;
  if (family !== 4 && family !== 6) return { ok: false, reason: 'bad-ip-header', detail: `family ${family}` };
  if (bytes.length < VRRP_HEADER_LEN) {
    return { ok: false, reason: 'too-short', detail: `${bytes.length} bytes, the VRRP header is ${VRRP_HEADER_LEN}` };
  }
  const version = bytes[0] >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'bad-version', detail: `version ${version}` };
  if (ctx.version !== undefined && version !== ctx.version) {
    return { ok: false, reason: 'bad-version', detail: `version ${version}, configured ${ctx.version}` };
  }
  if (version === 2 && family === 6) return { ok: false, reason: 'bad-version', detail: 'VRRPv2 over IPv6' };
  const type = bytes[0] & 0x0f;
  if (type !== VRRP_TYPE_ADVERTISEMENT) return { ok: false, reason: 'bad-type', detail: `type ${type}` };
  const count = bytes[3];
  const expected = advertLength(version, family, count);
  if (bytes.length !== expected) {
    return {
      ok: false,
      reason: 'bad-length',
      detail: `${bytes.length} bytes, ${count} IPv${family} addresses need ${expected}`,
    };
  }
  const src = ipBytes(ctx.src, family),
    dst = ipBytes(ctx.dst, family);
  if (!src || !dst) return { ok: false, reason: 'bad-ip-header', detail: `src/dst not IPv${family}` };

  let checksumForm: ChecksumForm;
  const pseudo = () => internetChecksum(bytes, pseudoSum(family, src, dst, bytes.length)) === 0;
  const plain = () => internetChecksum(bytes) === 0;
  if (version === 2) {
    if (!plain()) return { ok: false, reason: 'bad-checksum', detail: 'v2 checksum over the VRRP message is wrong' };
    checksumForm = 'vrrp-only';
  } else if (family === 6) {
    if (!pseudo()) return { ok: false, reason: 'bad-checksum', detail: 'v3 IPv6 checksum with pseudo-header is wrong' };
    checksumForm = 'pseudo-header';
  } else if (pseudo()) {
    checksumForm = 'pseudo-header'; // preferred when both match: the RFC 5798 default
  } else if (plain()) {
    checksumForm = 'vrrp-only';
  } else {
    return { ok: false, reason: 'bad-checksum', detail: 'v3 IPv4 checksum matches neither form' };
  }
  if (count === 0) return { ok: false, reason: 'address-count', detail: 'Count IPvX Addrs is 0' };

  const alen = addrLen(family);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const o = VRRP_HEADER_LEN + i * alen;
    addresses.push(formatIp(bytes.subarray(o, o + alen)));
  }
  const advert: VrrpAdvert = {
    version,
    vrid: bytes[1],
    priority: bytes[2],
    maxAdverIntervalCs: version === 2 ? bytes[5] * 100 : ((bytes[4] & 0x0f) << 8) | bytes[5],
    addresses,
  };
  if (version === 2) {
    advert.authType = bytes[4];
    const o = VRRP_HEADER_LEN + count * alen;
    advert.authData = bytes.slice(o, o + VRRP_V2_AUTH_LEN);
  }
  return { ok: true, advert, checksumForm };
}
