// The backup's fast path (issue #15): an advert byte-identical to the one that last refreshed an
// instance's Master_Down_Timer is neither decoded nor stepped; the instance restarts the timer
// (core/vrrp/repeat.ts). One entry per VRRP instance on the port, keyed by family and VRID read
// at fixed offsets. Byte-identical means: the whole captured frame, except the IPv4
// Identification and header checksum, which a sender may change per packet (RFC 6864); the header
// checksum is then verified here, so the frame passes every check decodeFrame would make.
import { internetChecksum } from '../core/packet/checksum.ts';
import type { VrrpState } from '../core/vrrp/types.ts';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IPPROTO_VRRP = 112;
const ETHER_LEN = 14;
const IPV4_LEN = 20; // VRRP over IPv4 carries no options
const IPV6_LEN = 40;

/** 4 << 8 | VRID for IPv4 (no options), 6 << 8 | VRID for IPv6, or -1: not a candidate. */
export function repeatKey(f: Uint8Array): number {
  if (f.length < ETHER_LEN + IPV4_LEN + 8) return -1;
  const type = (f[12] << 8) | f[13];
  if (type === ETHERTYPE_IPV4) {
    if (f[ETHER_LEN] !== 0x45 || f[ETHER_LEN + 9] !== IPPROTO_VRRP) return -1;
    return (4 << 8) | f[ETHER_LEN + IPV4_LEN + 1];
  }
  if (type === ETHERTYPE_IPV6) {
    if (f.length < ETHER_LEN + IPV6_LEN + 8 || f[ETHER_LEN + 6] !== IPPROTO_VRRP) return -1;
    return (6 << 8) | f[ETHER_LEN + IPV6_LEN + 1];
  }
  return -1;
}

/** `frame` is `known` but for the IPv4 Identification and header checksum (bytes 18-19 and 24-25);
 *  when those differ, `frame`'s header checksum is verified. */
export function sameAdvertFrame(frame: Uint8Array, known: Uint8Array): boolean {
  const a = frame,
    b = known;
  const n = a.length;
  if (n !== b.length) return false;
  const v4 = a[12] === 0x08 && a[13] === 0x00;
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i] && !(v4 && (i === 18 || i === 19 || i === 24 || i === 25))) return false;
  }
  if (v4 && (a[18] !== b[18] || a[19] !== b[19] || a[24] !== b[24] || a[25] !== b[25]))
    return internetChecksum(a.subarray(ETHER_LEN, ETHER_LEN + IPV4_LEN)) === 0;
  return true;
}

/** What an instance needs to offer for the fast path. */
export interface RepeatTarget {
  /** Restart the Master_Down_Timer if the machine is still in `expected`; the new state, or
   *  undefined when something else changed it since (then the frame takes the full path). */
  heardRepeat(expected: VrrpState): VrrpState | undefined;
}

interface Entry {
  target: RepeatTarget;
  frame: Uint8Array;
  state: VrrpState;
}

export class RepeatAdverts {
  private readonly byKey = new Map<number, Entry>();

  /** True when `frame` was an exact repeat and the instance took it. */
  take(frame: Uint8Array): boolean {
    const key = repeatKey(frame);
    if (key < 0) return false;
    const e = this.byKey.get(key);
    if (!e || !sameAdvertFrame(frame, e.frame)) return false;
    const next = e.target.heardRepeat(e.state);
    if (!next) {
      this.byKey.delete(key);
      return false;
    }
    e.state = next;
    return true;
  }

  /** After the full path: `frame` left `target` in `state`, a plain refresh a repeat may redo. */
  remember(frame: Uint8Array, target: RepeatTarget, state: VrrpState): void {
    const key = repeatKey(frame);
    if (key >= 0) this.byKey.set(key, { target, frame: frame.slice(), state });
  }

  forget(target: RepeatTarget): void {
    for (const [k, e] of this.byKey) if (e.target === target) this.byKey.delete(k);
  }
}
