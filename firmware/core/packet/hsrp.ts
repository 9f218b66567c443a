// HSRP codecs: version 1 (RFC 2281 section 5) and version 2 (TLVs), with the MD5 Authentication
// TLV both carry. Pure: bytes in, bytes out. The election is firmware/core/hsrp/.
import type { DropReason } from './types.ts';
import { formatIp, parseIp } from './addr.ts';
import { keyedMd5 } from './md5.ts';

/*
 * RFC 2281 5.1, the UDP payload (UDP port 1985, to 224.0.0.2, IP TTL 1):
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   Version     |   Op Code     |     State     |   Hellotime   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   Holdtime    |   Priority    |     Group     |   Reserved    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                      Authentication  Data                     |
 *    |                      Authentication  Data                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                      Virtual IP Address                       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * No checksum of its own (UDP's covers it). Hellotime and Holdtime are seconds, meaningful only
 * in Hello messages (5.1).
 */

/** RFC 2281 5.1: Version 0. */
export const HSRP_V1_VERSION = 0;
export const HSRP_V1_LEN = 20;
export const HSRP_PORT = 1985;
/** 224.0.0.2, all routers (RFC 2281 5.1). */
export const HSRP_V1_GROUP = '224.0.0.2';
/** Op Code (RFC 2281 5.1). */
export const HSRP_OP = { hello: 0, coup: 1, resign: 2 } as const;
export type HsrpOp = keyof typeof HSRP_OP;
/** State (RFC 2281 5.1): the sender's state, one bit each. */
export const HSRP_STATE = { initial: 0, learn: 1, listen: 2, speak: 4, standby: 8, active: 16 } as const;
export type HsrpStateName = keyof typeof HSRP_STATE;

export interface HsrpV1Message {
  op: HsrpOp;
  state: HsrpStateName;
  hellotimeS: number; // 0..255
  holdtimeS: number; // 0..255
  priority: number; // 0..255, higher wins (RFC 2281 5.1)
  group: number; // 0..255
  /** 8 bytes of clear text; "cisco" by default. */
  auth: string;
  /** The virtual address; 0.0.0.0 when the sender has not learnt it (RFC 2281 5.1). */
  virtualIp: string;
  /** An MD5 Authentication TLV after the 20 bytes (Cisco's extension; Authentication Data is
   *  then zeros). */
  md5?: HsrpMd5;
}

/** The MD5 Authentication TLV (type 4, 28 bytes), as Wireshark's packet-hsrp.c and scapy's
 *  HSRPmd5 lay it out: algorithm (1 = MD5), padding, flags (2), the sender's IPv4 address (4),
 *  key id (4), digest (16). */
export interface HsrpMd5 {
  algorithm: number;
  flags: number;
  ip: string;
  keyId: number;
  digest: Uint8Array;
}

/** What an encoder needs to sign a message with the MD5 TLV. */
export interface HsrpMd5Key {
  key: string;
  keyId: number;
  /** The sender's address for the TLV's IP field (IPv4; zeros for an IPv6 sender). */
  ip: string;
}

export const HSRP_MD5_ALGORITHM = 1;
const TLV_MD5_LEN = 28;

/** Writes the MD5 TLV header and fields at `o` (digest zero). */
function writeMd5Tlv(out: Uint8Array, o: number, k: HsrpMd5Key): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[o] = TLV_MD5_AUTH;
  out[o + 1] = TLV_MD5_LEN;
  out[o + 2] = HSRP_MD5_ALGORITHM;
  const ip = parseIp(k.ip);
  if (ip?.family === 4) out.set(ip.bytes, o + 6);
  dv.setUint32(o + 10, k.keyId >>> 0);
}

function readMd5Tlv(b: Uint8Array, v: number): HsrpMd5 {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    algorithm: b[v],
    flags: dv.getUint16(v + 2),
    ip: formatIp(b.slice(v + 4, v + 8)),
    keyId: dv.getUint32(v + 8),
    digest: b.slice(v + 12, v + 28),
  };
}

/** Offset of the MD5 TLV's digest in an HSRP payload (v1 or v2), or -1 when it carries none. */
function md5DigestOffset(b: Uint8Array): number {
  let o = b.length > 0 && b[0] === HSRP_V1_VERSION ? HSRP_V1_LEN : 0;
  while (o + 2 <= b.length) {
    const type = b[o],
      len = b[o + 1];
    if (o + 2 + len > b.length) return -1;
    if (type === TLV_MD5_AUTH && len === TLV_MD5_LEN) return o + 2 + 12;
    o += 2 + len;
  }
  return -1;
}

/**
 * The digest of an HSRP payload: RFC 1828 keyed MD5 over the whole UDP payload with the digest
 * field zeroed. Checked against John the Ripper's hsrp format vectors, which come from Cisco IOS
 * captures (test/unit/packet-hsrp-md5.test.ts).
 */
export function hsrpMd5Digest(payload: Uint8Array, key: string): Uint8Array | undefined {
  const at = md5DigestOffset(payload);
  if (at < 0) return undefined;
  const copy = new Uint8Array(payload);
  copy.fill(0, at, at + 16);
  return keyedMd5(new TextEncoder().encode(key), copy);
}

/** Fills in the digest of a payload encoded with an MD5 TLV. */
function signMd5(payload: Uint8Array, key: string): Uint8Array {
  const d = hsrpMd5Digest(payload, key)!;
  payload.set(d, md5DigestOffset(payload));
  return payload;
}

/** True when the payload carries an MD5 TLV whose digest matches `key`. */
export function verifyHsrpMd5(payload: Uint8Array, key: string): boolean {
  const d = hsrpMd5Digest(payload, key);
  if (!d) return false;
  const at = md5DigestOffset(payload);
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= d[i] ^ payload[at + i];
  return diff === 0;
}

export type DecodedHsrp = { ok: true; message: HsrpV1Message } | { ok: false; reason: DropReason; detail: string };

const byName = <T extends Record<string, number>>(t: T, v: number) =>
  (Object.keys(t) as (keyof T)[]).find((k) => t[k] === v);

/** The HSRPv1 virtual MAC 00:00:0c:07:ac:<group> (RFC 2281 5.3). */
export function hsrpV1VirtualMac(group: number): string {
  return `00:00:0c:07:ac:${group.toString(16).padStart(2, '0')}`;
}

function fail(msg: string): never {
  throw new RangeError(`encodeHsrpV1: ${msg}`);
}

/** With `md5`, the MD5 TLV follows the 20 bytes and Authentication Data is zeros. */
export function encodeHsrpV1(m: HsrpV1Message, md5?: HsrpMd5Key): Uint8Array {
  const b = (n: number, what: string) => {
    if (!Number.isInteger(n) || n < 0 || n > 255) fail(`${what} must be 0..255, got ${n}`);
    return n;
  };
  const auth = new TextEncoder().encode(m.auth);
  if (auth.length > 8) fail('authentication data is at most 8 bytes');
  const vip = parseIp(m.virtualIp);
  if (vip?.family !== 4) fail(`virtual IP ${JSON.stringify(m.virtualIp)} is not IPv4`);
  const out = new Uint8Array(HSRP_V1_LEN + (md5 ? 2 + TLV_MD5_LEN : 0));
  out[0] = HSRP_V1_VERSION;
  out[1] = HSRP_OP[m.op];
  out[2] = HSRP_STATE[m.state];
  out[3] = b(m.hellotimeS, 'hellotime');
  out[4] = b(m.holdtimeS, 'holdtime');
  out[5] = b(m.priority, 'priority');
  out[6] = b(m.group, 'group');
  if (!md5) out.set(auth, 8);
  out.set(vip.bytes, 16);
  if (!md5) return out;
  writeMd5Tlv(out, HSRP_V1_LEN, md5);
  return signMd5(out, md5.key);
}

/** Parses an HSRPv1 UDP payload. After the 20 bytes an MD5 TLV is read; other extra bytes and the
 *  reserved byte are ignored. Never throws. */
export function decodeHsrpV1(b: Uint8Array): DecodedHsrp {
  if (b.length < HSRP_V1_LEN)
    return { ok: false, reason: 'too-short', detail: `${b.length} bytes, HSRPv1 is ${HSRP_V1_LEN}` };
  if (b[0] !== HSRP_V1_VERSION) return { ok: false, reason: 'bad-version', detail: `HSRP version ${b[0]}` };
  const op = byName(HSRP_OP, b[1]);
  if (op === undefined) return { ok: false, reason: 'bad-type', detail: `HSRP op code ${b[1]}` };
  const state = byName(HSRP_STATE, b[2]);
  if (state === undefined) return { ok: false, reason: 'bad-type', detail: `HSRP state ${b[2]}` };
  const authBytes = b.subarray(8, 16);
  const end = authBytes.indexOf(0);
  return {
    ok: true,
    message: {
      op,
      state,
      hellotimeS: b[3],
      holdtimeS: b[4],
      priority: b[5],
      group: b[6],
      auth: new TextDecoder().decode(end < 0 ? authBytes : authBytes.subarray(0, end)),
      virtualIp: formatIp(b.slice(16, 20)),
      ...(b.length >= HSRP_V1_LEN + 2 + TLV_MD5_LEN && b[20] === TLV_MD5_AUTH && b[21] === TLV_MD5_LEN
        ? { md5: readMd5Tlv(b, 22) }
        : {}),
    },
  };
}

/*
 * HSRP version 2 (Cisco; no RFC: the layout Wireshark's packet-hsrp.c dissects): UDP 1985 to
 * 224.0.0.102, or UDP 2029 to ff02::66 over IPv6, a sequence of TLVs, each type (1 byte), length
 * (1 byte, of the value), value:
 *   1 Group State, 40 bytes: version 2, op code, state, IP version (4 or 6), group (2 bytes,
 *     0..4095), identifier (the sender's MAC, 6), priority (4), hellotime ms (4), holdtime ms (4),
 *     virtual IP (16: an IPv4 address in the first 4, zeros after)
 *   3 Text Authentication, 8 bytes of clear text
 *   4 MD5 Authentication, 28 bytes: algorithm, padding, flags (2), IP address (4), key id (4),
 *     digest (16): RFC 1828 keyed MD5 of the whole payload with the digest zeroed (hsrpMd5Digest).
 */
export const HSRP_V2_VERSION = 2;
export const HSRP_V2_GROUP_V4 = '224.0.0.102';
export const HSRP_V2_GROUP_V6 = 'ff02::66';
export const HSRP_V2_PORT_V6 = 2029;
export const HSRP_V2_MAX_GROUP = 4095;
const TLV_GROUP_STATE = 1;
const TLV_TEXT_AUTH = 3;
const TLV_MD5_AUTH = 4;
const GROUP_STATE_LEN = 40;

/** HSRPv2 states (Wireshark's hsrp2_state_vals): numbered, not one bit each as in v1. */
export const HSRP_V2_STATE = { init: 1, learn: 2, listen: 3, speak: 4, standby: 5, active: 6 } as const;
export type HsrpV2StateName = keyof typeof HSRP_V2_STATE;

export interface HsrpV2Message {
  op: HsrpOp;
  state: HsrpV2StateName;
  family: 4 | 6;
  group: number; // 0..4095
  identifier: string; // the sender's MAC
  priority: number; // 0..255 (4 bytes on the wire)
  hellotimeMs: number;
  holdtimeMs: number;
  virtualIp: string;
  /** Text Authentication TLV; absent: none sent. */
  auth?: string;
  /** The MD5 Authentication TLV (sent instead of text when encoding with a key). */
  md5?: HsrpMd5;
}

export type DecodedHsrpV2 = { ok: true; message: HsrpV2Message } | { ok: false; reason: DropReason; detail: string };

/** HSRPv2 virtual MACs: 00:00:0c:9f:f<group> over IPv4, 00:05:73:a0:0<group> over IPv6. */
export function hsrpV2VirtualMac(group: number, family: 4 | 6): string {
  const g = group.toString(16).padStart(3, '0');
  return family === 4 ? `00:00:0c:9f:f${g[0]}:${g.slice(1)}` : `00:05:73:a0:0${g[0]}:${g.slice(1)}`;
}

function failV2(msg: string): never {
  throw new RangeError(`encodeHsrpV2: ${msg}`);
}

/** With `md5`, an MD5 TLV follows the Group State TLV (and no Text Authentication TLV). */
export function encodeHsrpV2(m: HsrpV2Message, md5?: HsrpMd5Key): Uint8Array {
  if (!Number.isInteger(m.group) || m.group < 0 || m.group > HSRP_V2_MAX_GROUP)
    failV2(`group must be 0..${HSRP_V2_MAX_GROUP}, got ${m.group}`);
  if (!Number.isInteger(m.priority) || m.priority < 0 || m.priority > 255)
    failV2(`priority must be 0..255, got ${m.priority}`);
  for (const [k, v] of [
    ['hellotimeMs', m.hellotimeMs],
    ['holdtimeMs', m.holdtimeMs],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) failV2(`${k} must be a 32-bit count of ms, got ${v}`);
  const vip = parseIp(m.virtualIp);
  if (vip?.family !== m.family) failV2(`virtual IP ${JSON.stringify(m.virtualIp)} is not IPv${m.family}`);
  const mac = m.identifier.split(':').map((x) => Number.parseInt(x, 16));
  if (mac.length !== 6 || mac.some((x) => !(x >= 0 && x <= 255))) failV2(`identifier ${m.identifier} is not a MAC`);
  const auth = m.auth === undefined || md5 ? undefined : new TextEncoder().encode(m.auth);
  if (auth && auth.length > 8) failV2('text authentication is at most 8 bytes');
  const out = new Uint8Array(2 + GROUP_STATE_LEN + (auth ? 10 : 0) + (md5 ? 2 + TLV_MD5_LEN : 0));
  const dv = new DataView(out.buffer);
  out[0] = TLV_GROUP_STATE;
  out[1] = GROUP_STATE_LEN;
  out[2] = HSRP_V2_VERSION;
  out[3] = HSRP_OP[m.op];
  out[4] = HSRP_V2_STATE[m.state];
  out[5] = m.family;
  dv.setUint16(6, m.group);
  out.set(mac, 8);
  dv.setUint32(14, m.priority);
  dv.setUint32(18, m.hellotimeMs);
  dv.setUint32(22, m.holdtimeMs);
  out.set(vip.bytes, 26);
  if (auth) {
    out[42] = TLV_TEXT_AUTH;
    out[43] = 8;
    out.set(auth, 44);
  }
  if (!md5) return out;
  writeMd5Tlv(out, 2 + GROUP_STATE_LEN, md5);
  return signMd5(out, md5.key);
}

/** Walks an HSRPv2 UDP payload's TLVs; a Group State TLV is required, unknown TLVs are skipped.
 *  Never throws, never reads past the end. */
export function decodeHsrpV2(b: Uint8Array): DecodedHsrpV2 {
  let group: HsrpV2Message | undefined;
  let auth: string | undefined;
  let md5: HsrpV2Message['md5'];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let o = 0; o < b.length; ) {
    if (o + 2 > b.length) return { ok: false, reason: 'too-short', detail: `TLV header at ${o} cut off` };
    const type = b[o],
      len = b[o + 1],
      v = o + 2;
    if (v + len > b.length)
      return { ok: false, reason: 'bad-length', detail: `TLV ${type} of ${len} bytes at ${o} runs past the end` };
    if (type === TLV_GROUP_STATE) {
      if (len !== GROUP_STATE_LEN)
        return { ok: false, reason: 'bad-length', detail: `Group State TLV of ${len} bytes` };
      if (b[v] !== HSRP_V2_VERSION) return { ok: false, reason: 'bad-version', detail: `HSRP version ${b[v]}` };
      const op = byName(HSRP_OP, b[v + 1]);
      const state = byName(HSRP_V2_STATE, b[v + 2]);
      const family = b[v + 3];
      if (op === undefined) return { ok: false, reason: 'bad-type', detail: `HSRPv2 op code ${b[v + 1]}` };
      if (state === undefined) return { ok: false, reason: 'bad-type', detail: `HSRPv2 state ${b[v + 2]}` };
      if (family !== 4 && family !== 6) return { ok: false, reason: 'bad-ip-header', detail: `IP version ${family}` };
      const group_ = dv.getUint16(v + 4);
      if (group_ > HSRP_V2_MAX_GROUP) return { ok: false, reason: 'unknown-vrid', detail: `group ${group_}` };
      const priority = dv.getUint32(v + 12);
      group = {
        op,
        state,
        family,
        group: group_,
        identifier: [...b.subarray(v + 6, v + 12)].map((x) => x.toString(16).padStart(2, '0')).join(':'),
        priority: Math.min(priority, 255),
        hellotimeMs: dv.getUint32(v + 16),
        holdtimeMs: dv.getUint32(v + 20),
        virtualIp: formatIp(b.slice(v + 24, v + 24 + (family === 4 ? 4 : 16))),
      };
    } else if (type === TLV_TEXT_AUTH && len === 8) {
      const t = b.subarray(v, v + 8);
      const end = t.indexOf(0);
      auth = new TextDecoder().decode(end < 0 ? t : t.subarray(0, end));
    } else if (type === TLV_MD5_AUTH && len === TLV_MD5_LEN) {
      md5 = readMd5Tlv(b, v);
    }
    o = v + len;
  }
  if (!group) return { ok: false, reason: 'too-short', detail: 'no Group State TLV' };
  return { ok: true, message: { ...group, ...(auth !== undefined ? { auth } : {}), ...(md5 ? { md5 } : {}) } };
}
