// HSRP version 1 codec (RFC 2281 section 5). Pure: bytes in, bytes out. Only the codec exists so
// far: no HSRP state machine or instance runs yet (README, "What is not done yet").
import type { DropReason } from './types.ts';
import { formatIp, parseIp } from './addr.ts';

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
/** RFC 2281 5.1 Authentication Data default: "cisco" padded with zeros to 8 bytes. */
export const HSRP_DEFAULT_AUTH = 'cisco';

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

export function encodeHsrpV1(m: HsrpV1Message): Uint8Array {
  const b = (n: number, what: string) => {
    if (!Number.isInteger(n) || n < 0 || n > 255) fail(`${what} must be 0..255, got ${n}`);
    return n;
  };
  const auth = new TextEncoder().encode(m.auth);
  if (auth.length > 8) fail('authentication data is at most 8 bytes');
  const vip = parseIp(m.virtualIp);
  if (vip?.family !== 4) fail(`virtual IP ${JSON.stringify(m.virtualIp)} is not IPv4`);
  const out = new Uint8Array(HSRP_V1_LEN);
  out[0] = HSRP_V1_VERSION;
  out[1] = HSRP_OP[m.op];
  out[2] = HSRP_STATE[m.state];
  out[3] = b(m.hellotimeS, 'hellotime');
  out[4] = b(m.holdtimeS, 'holdtime');
  out[5] = b(m.priority, 'priority');
  out[6] = b(m.group, 'group');
  out.set(auth, 8);
  out.set(vip.bytes, 16);
  return out;
}

/** Parses an HSRPv1 UDP payload. Extra bytes after the 20 are ignored; the reserved byte too.
 *  Never throws. */
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
    },
  };
}
