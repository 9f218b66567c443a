// struct ifreq for the Linux SIOC* ioctls, per ABI (linux/if.h; sizes compiled for each ABI, see
// shared facts 3.4). Pure: bytes in, bytes out; koffi only ever sees the finished buffer.
//
//   0               16                                  size
//   +---------------+-----------------------------------+
//   | ifr_name[16]  | union: sockaddr ifr_hwaddr (16)   |  sa_family u16 @16, MAC from @18
//   | NUL-padded    |        short ifr_flags @16        |
//   |               |        int ifr_ifindex / mtu @16  |
//   +---------------+-----------------------------------+
// The union holds a `struct ifmap` with unsigned longs and a pointer, hence 24 bytes (40 total)
// on LP64 and 16 (32 total) on ILP32.

export type LinuxAbi = 'lp64' | 'ilp32';

/** sizeof(struct ifreq): x86_64 and aarch64 40; i386 and armhf 32. */
export const IFREQ_SIZE: Record<LinuxAbi, number> = { lp64: 40, ilp32: 32 };
export const IFNAMSIZ = 16;
export const ARPHRD_ETHER = 1; // linux/if_arp.h
export const AF_UNSPEC = 0;

// linux/sockios.h: the same number on every architecture.
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const SIOCSIFHWADDR = 0x8924;
export const SIOCGIFHWADDR = 0x8927;
export const SIOCADDMULTI = 0x8931;
export const SIOCDELMULTI = 0x8932;
export const SIOCGIFINDEX = 0x8933;

// linux/if.h
export const IFF_UP = 0x1;
export const IFF_LOWER_UP = 0x10000;

/** The ABI of the running Node: 64-bit Linux targets are LP64, 32-bit ones ILP32. */
export function abiOf(arch: string): LinuxAbi {
  return arch === 'ia32' || arch === 'arm' ? 'ilp32' : 'lp64';
}

/** An interface name fits ifr_name: 1-15 bytes plus the NUL, no '/' or whitespace (dev_valid_name). */
export function validIfname(name: string): boolean {
  const n = Buffer.byteLength(name);
  return n >= 1 && n < IFNAMSIZ && name !== '.' && name !== '..' && !/[/\s:]/.test(name);
}

export type IfreqUnion =
  | { kind: 'none' }
  | { kind: 'hwaddr'; family: number; mac: Uint8Array } // SIOCSIFHWADDR, SIOCADDMULTI
  | { kind: 'flags'; flags: number } // SIOCSIFFLAGS (short)
  | { kind: 'int'; value: number }; // ifindex / mtu

/** Builds a zeroed ifreq for `abi` naming `ifname`. Throws RangeError on a name that does not fit. */
export function encodeIfreq(abi: LinuxAbi, ifname: string, u: IfreqUnion = { kind: 'none' }): Uint8Array {
  if (!validIfname(ifname)) throw new RangeError(`bad interface name '${ifname}'`);
  const buf = new Uint8Array(IFREQ_SIZE[abi]);
  const dv = new DataView(buf.buffer);
  buf.set(Buffer.from(ifname, 'utf8'), 0);
  switch (u.kind) {
    case 'none':
      break;
    case 'hwaddr':
      dv.setUint16(16, u.family, true);
      buf.set(u.mac.subarray(0, 14), 18);
      break;
    case 'flags':
      dv.setInt16(16, (u.flags << 16) >> 16, true);
      break;
    case 'int':
      dv.setInt32(16, u.value, true);
      break;
    default: {
      const never: never = u;
      throw new Error(`unknown ifreq union ${String(never)}`);
    }
  }
  return buf;
}

// Little-endian throughout: every ABI tandem ships on is little-endian.
export function ifreqHwaddr(buf: Uint8Array): { family: number; mac: Uint8Array } {
  return { family: buf[16] | (buf[17] << 8), mac: buf.slice(18, 24) };
}

/** ifr_flags as the unsigned 16 bits the kernel filled in. */
export function ifreqFlags(buf: Uint8Array): number {
  return buf[16] | (buf[17] << 8);
}

export function ifreqInt(buf: Uint8Array): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getInt32(16, true);
}
