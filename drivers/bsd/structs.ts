// Pure encoders and decoders for the BSD ioctl argument structs and socket addresses. Layouts
// are shared/facts/ioctl.md section 3 (offsets in the comment above each function). All target
// ABIs are little-endian (amd64, aarch64, i386, earm/armv7); big-endian earmeb is not covered.
// Decoders return null (or a partial result) on short input; they never read past the end.
import {
  formatIPv4,
  formatIPv6,
  formatMac,
  multicastMac,
  parseCidr as parseCidrText,
  type Cidr,
} from '../linux/addr.ts';
import { CONSTANTS, structSize, type BsdAbi, type BsdOs, type StructName } from './abi.ts';

export const IFNAMSIZ = 16;

// ---------------------------------------------------------------- address text <-> bytes
// One implementation (firmware/core/packet/addr.ts) behind the drivers' null-returning adapters in
// drivers/linux/addr.ts, which despite its folder holds nothing Linux-specific.
export { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from '../linux/addr.ts';
export type { Cidr } from '../linux/addr.ts';

/** "192.0.2.10/24" or "2001:db8::1/64"; a bare address gets the host prefix (32 / 128). Unlike
 *  the Linux driver's, text with blanks around it is refused, as it always was here. */
export function parseCidr(text: string): Cidr | null {
  return text === text.trim() ? parseCidrText(text) : null;
}

/** Prefix length -> mask bytes (4 or 16). */
export function prefixMask(prefixLength: number, bytes: 4 | 16): Uint8Array {
  const m = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - 8 * i));
    m[i] = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return m;
}

/** Leading one bits of a mask (bytes past the end count as zero). */
export function maskPrefixLength(mask: Uint8Array): number {
  let n = 0;
  for (const byte of mask) {
    if (byte === 0xff) {
      n += 8;
      continue;
    }
    let b = byte;
    while (b & 0x80) {
      n++;
      b = (b << 1) & 0xff;
    }
    break;
  }
  return n;
}

/** The Ethernet group MAC of an IP multicast group (RFC 1112 6.4, RFC 2464 7), or a multicast
 *  MAC as is; null otherwise. */
export function groupMac(group: string): Uint8Array | null {
  return multicastMac(group);
}

// ---------------------------------------------------------------- sockaddrs (with sa_len)
/** sockaddr_in, 16: sin_len 0, sin_family 1 (=2), sin_port 2:2 BE, sin_addr 4:4, sin_zero 8:8. */
export function encodeSockaddrIn(addr: Uint8Array, port = 0): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 16;
  b[1] = 2;
  b[2] = port >> 8;
  b[3] = port & 0xff;
  b.set(addr.subarray(0, 4), 4);
  return b;
}

/** sockaddr_in6, 28: sin6_len 0, family 1 (24 NetBSD/OpenBSD, 28 FreeBSD), port 2:2, flowinfo
 *  4:4, sin6_addr 8:16, sin6_scope_id 24:4. */
export function encodeSockaddrIn6(os: BsdOs, addr: Uint8Array, scopeId = 0): Uint8Array {
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  b[0] = 28;
  b[1] = CONSTANTS[os].AF_INET6;
  b.set(addr.subarray(0, 16), 8);
  v.setUint32(24, scopeId >>> 0, true);
  return b;
}

/** The sockaddr_dl size: NetBSD 32 (if_dl.h rev 1.31), OpenBSD 32, FreeBSD 54. */
export const SOCKADDR_DL_SIZE: Readonly<Record<BsdOs, number>> = { netbsd: 32, freebsd: 54, openbsd: 32 };

export interface SockaddrDlFields {
  index?: number;
  type?: number;
  name?: string;
  mac?: Uint8Array;
  len?: number;
}

/** sockaddr_dl: sdl_len 0, sdl_family 1 (=18), sdl_index 2:2, type 4, nlen 5, alen 6, slen 7,
 *  data from 8: the name (nlen bytes, no NUL) then the link address (alen bytes). */
export function encodeSockaddrDl(os: BsdOs, f: SockaddrDlFields): Uint8Array {
  const size = f.len ?? SOCKADDR_DL_SIZE[os];
  const name = new TextEncoder().encode(f.name ?? '');
  const mac = f.mac ?? new Uint8Array(0);
  const b = new Uint8Array(Math.max(size, 8 + name.length + mac.length));
  const v = new DataView(b.buffer);
  b[0] = size;
  b[1] = CONSTANTS[os].AF_LINK;
  v.setUint16(2, f.index ?? 0, true);
  b[4] = f.type ?? 0;
  b[5] = name.length;
  b[6] = mac.length;
  b[7] = 0;
  b.set(name, 8);
  b.set(mac, 8 + name.length);
  return b;
}

export type Sockaddr =
  | { family: 'inet'; address: string; bytes: Uint8Array }
  | { family: 'inet6'; address: string; bytes: Uint8Array; scopeId: number }
  | { family: 'link'; index: number; type: number; name: string; mac: string | null }
  | { family: 'other'; af: number };

/** Reads a sockaddr whose sa_len may be short: the routing socket trims trailing zero bytes of
 *  netmasks (sa_len 0 means all zero), so missing bytes read as zero. `family` overrides the
 *  af byte for such masks, whose family byte may be 0. */
export function decodeSockaddr(os: BsdOs, raw: Uint8Array, family?: number): Sockaddr | null {
  if (raw.length < 2 && family === undefined) return null;
  const saLen = Math.min(raw[0] ?? 0, raw.length);
  const af = family ?? raw[1];
  const c = CONSTANTS[os];
  const at = (i: number) => (i < saLen ? raw[i] : 0);
  const span = (from: number, n: number) => Uint8Array.from({ length: n }, (_, k) => at(from + k));
  if (af === c.AF_INET) {
    const bytes = span(4, 4);
    return { family: 'inet', address: formatIPv4(bytes), bytes };
  }
  if (af === c.AF_INET6) {
    const bytes = span(8, 16);
    let scopeId = (at(24) | (at(25) << 8) | (at(26) << 16) | (at(27) << 24)) >>> 0;
    // KAME: the kernel embeds the scope (interface index) in bytes 2-3 of link-local unicast
    // and multicast addresses it reports; take it out as ifconfig does.
    const scoped = (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80) || (bytes[0] === 0xff && (bytes[1] & 0x0f) <= 2);
    if (scoped && (bytes[2] || bytes[3])) {
      if (!scopeId) scopeId = (bytes[2] << 8) | bytes[3];
      bytes[2] = 0;
      bytes[3] = 0;
    }
    return { family: 'inet6', address: formatIPv6(bytes), bytes, scopeId };
  }
  if (af === c.AF_LINK) {
    if (saLen < 8) return null;
    const nlen = raw[5],
      alen = raw[6];
    if (8 + nlen + alen > raw.length) return null;
    return {
      family: 'link',
      index: raw[2] | (raw[3] << 8),
      type: raw[4],
      name: new TextDecoder().decode(raw.subarray(8, 8 + nlen)),
      mac: alen === 6 ? formatMac(raw.subarray(8 + nlen, 8 + nlen + 6)) : null,
    };
  }
  return { family: 'other', af };
}

/** Prefix length from a netmask sockaddr of the given address family (may be trimmed). */
/** `_os`: the layout is the same on the three BSDs (sa_len first); kept so callers pass it. */
export function sockaddrMaskPrefix(_os: BsdOs, raw: Uint8Array | null, family: 'inet' | 'inet6'): number {
  const full = family === 'inet' ? 32 : 128;
  if (!raw) return full;
  const saLen = Math.min(raw[0] ?? 0, raw.length);
  const from = family === 'inet' ? 4 : 8;
  const n = family === 'inet' ? 4 : 16;
  const m = Uint8Array.from({ length: n }, (_, k) => (from + k < saLen ? raw[from + k] : 0));
  return maskPrefixLength(m);
}

// ---------------------------------------------------------------- ifreq family
function sizeOf(os: BsdOs, abi: BsdAbi, s: StructName): number {
  const n = structSize(os, abi, s);
  if (n === null) throw new RangeError(`${os} has no ${s}`);
  return n;
}

/** An interface name into the first 16 bytes, NUL-terminated; throws on a name that does not fit. */
function putName(b: Uint8Array, ifname: string): void {
  const n = new TextEncoder().encode(ifname);
  if (n.length === 0 || n.length >= IFNAMSIZ)
    throw new RangeError(`interface name '${ifname}' does not fit IFNAMSIZ (16)`);
  b.set(n, 0);
}

/** ifreq: ifr_name 0:16, union from 16 (NetBSD 144 bytes: 128-byte union; FreeBSD/OpenBSD 32). */
export function encodeIfreq(os: BsdOs, abi: BsdAbi, ifname: string, union?: Uint8Array): Uint8Array {
  const b = new Uint8Array(sizeOf(os, abi, 'ifreq'));
  putName(b, ifname);
  if (union) {
    if (16 + union.length > b.length) throw new RangeError(`ifreq union overflow: ${union.length} bytes`);
    b.set(union, 16);
  }
  return b;
}

/** ifr_flags: short at 16 (FreeBSD adds ifr_flagshigh at 18). */
export function ifreqFlags(os: BsdOs, b: Uint8Array): number {
  const low = b[16] | (b[17] << 8);
  return os === 'freebsd' ? (low | ((b[18] | (b[19] << 8)) << 16)) >>> 0 : low;
}
export function setIfreqFlags(os: BsdOs, b: Uint8Array, flags: number): void {
  b[16] = flags & 0xff;
  b[17] = (flags >> 8) & 0xff;
  if (os === 'freebsd') {
    b[18] = (flags >> 16) & 0xff;
    b[19] = (flags >>> 24) & 0xff;
  }
}

/** FreeBSD/OpenBSD SIOCSIFLLADDR: ifr_addr.sa_len = 6, sa_family = AF_LINK, MAC in sa_data (18). */
export function encodeIfreqLladdr(os: BsdOs, abi: BsdAbi, ifname: string, mac: Uint8Array): Uint8Array {
  const sa = new Uint8Array(16);
  sa[0] = 6;
  sa[1] = CONSTANTS[os].AF_LINK;
  sa.set(mac.subarray(0, 6), 2);
  return encodeIfreq(os, abi, ifname, sa);
}

/** SIOCADDMULTI/SIOCDELMULTI argument: a link-level group address in ifr_addr. NetBSD and
 *  OpenBSD ether_multiaddr() take AF_UNSPEC with the MAC in sa_data; FreeBSD's ifioctl takes
 *  only AF_LINK (a sockaddr_dl, alen 6, trimmed to 14 bytes so it fits the 16-byte ifr_addr). */
export function encodeIfreqMulti(os: BsdOs, abi: BsdAbi, ifname: string, mac: Uint8Array): Uint8Array {
  if (os === 'freebsd') return encodeIfreq(os, abi, ifname, encodeSockaddrDl(os, { mac, len: 14 }).subarray(0, 16));
  const sa = new Uint8Array(16);
  sa[0] = 16;
  sa[1] = CONSTANTS[os].AF_UNSPEC;
  sa.set(mac.subarray(0, 6), 2);
  return encodeIfreq(os, abi, ifname, sa);
}

/** NetBSD if_laddrreq, 280: iflr_name 0:16, flags 16:4, prefixlen 20:4, addr (sockaddr_storage)
 *  24:128, dstaddr 152:128. */
export function encodeIfLaddrReq(
  abi: BsdAbi,
  ifname: string,
  flags: number,
  prefixlen: number,
  addr: Uint8Array,
): Uint8Array {
  const b = new Uint8Array(sizeOf('netbsd', abi, 'if_laddrreq'));
  const v = new DataView(b.buffer);
  putName(b, ifname);
  v.setUint32(16, flags >>> 0, true);
  v.setUint32(20, prefixlen >>> 0, true);
  if (addr.length > 128) throw new RangeError('if_laddrreq address larger than sockaddr_storage');
  b.set(addr, 24);
  return b;
}

/** NetBSD SIOCALIFADDR argument that makes `mac` the active link address (facts section 6):
 *  IFLR_ACTIVE, and a sockaddr_dl with alen 6. The kernel rebuilds index, type and name itself. */
export function encodeSetActiveMac(abi: BsdAbi, ifname: string, mac: Uint8Array): Uint8Array {
  return encodeIfLaddrReq(abi, ifname, CONSTANTS.netbsd.IFLR_ACTIVE, 0, encodeSockaddrDl('netbsd', { mac }));
}

/** in_aliasreq / ifaliasreq: name 0:16, addr 16:16, broadaddr 32:16, mask 48:16; FreeBSD adds
 *  ifra_vhid at 64 (68 bytes, left 0: no CARP). Broadcast is the subnet's for prefixes <= 30. */
export function encodeInAliasReq(
  os: BsdOs,
  abi: BsdAbi,
  ifname: string,
  addr: Uint8Array,
  prefixLength: number,
): Uint8Array {
  const b = new Uint8Array(sizeOf(os, abi, 'ifaliasreq'));
  putName(b, ifname);
  const mask = prefixMask(prefixLength, 4);
  b.set(encodeSockaddrIn(addr), 16);
  if (prefixLength <= 30) {
    const brd = Uint8Array.from(addr.subarray(0, 4), (x, i) => (x & mask[i]) | (~mask[i] & 0xff));
    b.set(encodeSockaddrIn(brd), 32);
  }
  b.set(encodeSockaddrIn(mask), 48);
  return b;
}

/** in6_aliasreq: name 0:16, addr 16:28, dstaddr 44:28, prefixmask 72:28, flags 100:4,
 *  lifetime 104: {expire, preferred: time_t; vltime, pltime: u32}. 128 bytes on NetBSD/OpenBSD;
 *  FreeBSD 136 (vhid at 128), or 124 on i386 where time_t is 4 bytes (vhid at 120). Lifetimes
 *  are infinite; IN6_IFF_NODAD where the OS has it, so a virtual address is usable at once. */
export function encodeIn6AliasReq(
  os: BsdOs,
  abi: BsdAbi,
  ifname: string,
  addr: Uint8Array,
  prefixLength: number,
  scopeId = 0,
): Uint8Array {
  const b = new Uint8Array(sizeOf(os, abi, 'in6_aliasreq'));
  const v = new DataView(b.buffer);
  putName(b, ifname);
  b.set(encodeSockaddrIn6(os, addr, scopeId), 16);
  b.set(encodeSockaddrIn6(os, prefixMask(prefixLength, 16)), 72);
  v.setUint32(100, CONSTANTS[os].IN6_IFF_NODAD, true);
  const time32 = os === 'freebsd' && abi === 'i386';
  const vlAt = time32 ? 112 : 120; // after expire + preferred (2 x time_t)
  v.setUint32(vlAt, CONSTANTS[os].ND6_INFINITE_LIFETIME, true);
  v.setUint32(vlAt + 4, CONSTANTS[os].ND6_INFINITE_LIFETIME, true);
  return b;
}

/** in6_ifreq, 288: name 0:16, union 16:272 (ifr_addr: sockaddr_in6 at 16). */
export function encodeIn6Ifreq(os: BsdOs, abi: BsdAbi, ifname: string, addr: Uint8Array, scopeId = 0): Uint8Array {
  const b = new Uint8Array(sizeOf(os, abi, 'in6_ifreq'));
  putName(b, ifname);
  b.set(encodeSockaddrIn6(os, addr, scopeId), 16);
  return b;
}

// ---------------------------------------------------------------- if_data
/** Where if_data keeps the link state and MTU: NetBSD int @4 / u64 @8; FreeBSD u8 @4 / u32 @8;
 *  OpenBSD u8 @3 / u32 @4. The first 16 bytes are enough. */
export const IF_DATA_HEAD = 16;
export function decodeIfData(os: BsdOs, d: Uint8Array): { linkState: number; mtu: number } | null {
  if (d.length < IF_DATA_HEAD) return null;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  switch (os) {
    case 'netbsd':
      return { linkState: v.getInt32(4, true), mtu: v.getUint32(8, true) };
    case 'freebsd':
      return { linkState: d[4], mtu: v.getUint32(8, true) };
    case 'openbsd':
      return { linkState: d[3], mtu: v.getUint32(4, true) };
  }
}
