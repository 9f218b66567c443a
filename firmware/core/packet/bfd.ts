// BFD Control packets (RFC 5880 section 4.1), carried in UDP to port 3784 (RFC 5881 section 4).
// Pure: bytes in, a decoded packet or a typed reason out; never throws on input, never reads past
// the end. The checks are the ones of RFC 5880 6.8.6 that need no session; the session (engine
// side) then checks the discriminators against its own.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       My Discriminator                        |
// |                      Your Discriminator                       |
// |                    Desired Min TX Interval                    |   (microseconds)
// |                   Required Min RX Interval                    |   (microseconds)
// |                 Required Min Echo RX Interval                 |   (microseconds)
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Auth Type   |   Auth Len    |    Authentication Data...     |   (only when A is set)

/** UDP destination port of single-hop BFD Control packets (RFC 5881 section 4). */
export const BFD_CONTROL_PORT = 3784;
/** RFC 5881 section 4: "The source port MUST be in the range 49152 through 65535." */
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;
/** RFC 5881 section 5: sent with TTL / Hop Limit 255, and without authentication a received
 *  packet with any other TTL MUST be discarded (GTSM, RFC 5082). */
export const BFD_TTL = 255;
/** The mandatory section's size; with the A bit the minimum is 26 (RFC 5880 6.8.6). */
export const BFD_HEADER_LEN = 24;
export const BFD_VERSION = 1;

/** RFC 5880 4.1 State field. */
export type BfdStateName = 'AdminDown' | 'Down' | 'Init' | 'Up';
export const BFD_STATES: readonly BfdStateName[] = ['AdminDown', 'Down', 'Init', 'Up'];

/** RFC 5880 4.1 Diagnostic codes 0..8 (values 9..31 are reserved and decoded as numbers). */
export const BFD_DIAG_NAMES = [
  'no-diagnostic', // 0
  'control-detection-time-expired', // 1
  'echo-function-failed', // 2
  'neighbor-signaled-session-down', // 3
  'forwarding-plane-reset', // 4
  'path-down', // 5
  'concatenated-path-down', // 6
  'administratively-down', // 7
  'reverse-concatenated-path-down', // 8
] as const;
export type BfdDiagName = (typeof BFD_DIAG_NAMES)[number];

export function bfdDiagName(diag: number): string {
  return BFD_DIAG_NAMES[diag] ?? `reserved-${diag}`;
}

/** One Control packet; intervals in microseconds as on the wire. */
export interface BfdControl {
  diag: number; // 0..31
  state: BfdStateName;
  poll: boolean; // P
  final: boolean; // F
  cpi: boolean; // C: Control Plane Independent
  demand: boolean; // D
  detectMult: number; // 1..255
  myDiscr: number; // u32, nonzero
  yourDiscr: number; // u32, 0 until the remote's is known
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
  /** The authentication section when A was set (only its type and length are examined). */
  auth?: { type: number; len: number };
}

export type BfdDropReason =
  | 'bfd-short' // fewer bytes than the mandatory section
  | 'bfd-version' // Version is not 1
  | 'bfd-length' // Length < 24 (26 with A), or larger than the UDP payload
  | 'bfd-auth-length' // Auth Len does not fit inside Length
  | 'bfd-detect-mult-zero' // Detect Mult is zero
  | 'bfd-multipoint' // M bit set
  | 'bfd-my-discr-zero' // My Discriminator is zero
  | 'bfd-your-discr-zero' // Your Discriminator zero while State is not Down or AdminDown
  | 'bfd-poll-and-final'; // P and F together (RFC 5880 4.1: "MUST NOT set both")

export type DecodedBfd = { ok: true; packet: BfdControl } | { ok: false; reason: BfdDropReason; detail: string };

const bad = (reason: BfdDropReason, detail: string): DecodedBfd => ({ ok: false, reason, detail });

/** Checks in RFC 5880 6.8.6 order, up to those that need the session (discriminator lookup, A bit
 *  against the session's configuration). Bytes past Length (UDP padding) are ignored. */
export function decodeBfd(b: Uint8Array): DecodedBfd {
  if (b.length < BFD_HEADER_LEN) return bad('bfd-short', `${b.length} bytes`);
  const version = b[0] >> 5;
  if (version !== BFD_VERSION) return bad('bfd-version', `version ${version}`);
  const flags = b[1];
  const a = (flags & 0x04) !== 0;
  const length = b[3];
  const min = a ? BFD_HEADER_LEN + 2 : BFD_HEADER_LEN;
  if (length < min) return bad('bfd-length', `Length ${length} < ${min}`);
  if (length > b.length) return bad('bfd-length', `Length ${length} > ${b.length} bytes received`);
  let auth: BfdControl['auth'];
  if (a) {
    auth = { type: b[24], len: b[25] };
    if (auth.len < 2 || BFD_HEADER_LEN + auth.len > length)
      return bad('bfd-auth-length', `Auth Len ${auth.len} in Length ${length}`);
  }
  const detectMult = b[2];
  if (detectMult === 0) return bad('bfd-detect-mult-zero', 'Detect Mult 0');
  if (flags & 0x01) return bad('bfd-multipoint', 'M bit set');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const myDiscr = dv.getUint32(4);
  const yourDiscr = dv.getUint32(8);
  if (myDiscr === 0) return bad('bfd-my-discr-zero', 'My Discriminator 0');
  const state = BFD_STATES[flags >> 6];
  if (yourDiscr === 0 && state !== 'Down' && state !== 'AdminDown')
    return bad('bfd-your-discr-zero', `Your Discriminator 0 in state ${state}`);
  const poll = (flags & 0x20) !== 0;
  const final = (flags & 0x10) !== 0;
  if (poll && final) return bad('bfd-poll-and-final', 'P and F both set');
  return {
    ok: true,
    packet: {
      diag: b[0] & 0x1f,
      state,
      poll,
      final,
      cpi: (flags & 0x08) !== 0,
      demand: (flags & 0x02) !== 0,
      detectMult,
      myDiscr,
      yourDiscr,
      desiredMinTxUs: dv.getUint32(12),
      requiredMinRxUs: dv.getUint32(16),
      requiredMinEchoRxUs: dv.getUint32(20),
      ...(auth ? { auth } : {}),
    },
  };
}

/** The 24-byte packet without authentication (tandem never sends the A bit; M is always 0). */
export function encodeBfd(p: BfdControl): Uint8Array {
  const b = new Uint8Array(BFD_HEADER_LEN);
  const dv = new DataView(b.buffer);
  b[0] = (BFD_VERSION << 5) | (p.diag & 0x1f);
  b[1] =
    (BFD_STATES.indexOf(p.state) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.demand ? 0x02 : 0);
  b[2] = p.detectMult & 0xff;
  b[3] = BFD_HEADER_LEN;
  dv.setUint32(4, p.myDiscr >>> 0);
  dv.setUint32(8, p.yourDiscr >>> 0);
  dv.setUint32(12, p.desiredMinTxUs >>> 0);
  dv.setUint32(16, p.requiredMinRxUs >>> 0);
  dv.setUint32(20, p.requiredMinEchoRxUs >>> 0);
  return b;
}
