// Per-OS, per-ABI numbers for the BSD drivers, kept as data. Every request code is computed by
// the <sys/ioccom.h> encoder from (direction, group, number, sizeof) and the struct sizes below;
// test/unit/driver-bsd-abi.test.ts checks each one against the hex values in
// shared/facts/ioctl.md section 2. Nothing here touches the OS.

export type BsdOs = 'netbsd' | 'freebsd' | 'openbsd';
/** 'lp64': amd64 and aarch64. 'i386'. 'arm32': NetBSD earm, FreeBSD/OpenBSD armv7 (little-endian). */
export type BsdAbi = 'lp64' | 'i386' | 'arm32';

export const BSD_OSES: readonly BsdOs[] = ['netbsd', 'freebsd', 'openbsd'];
export const BSD_ABIS: readonly BsdAbi[] = ['lp64', 'i386', 'arm32'];

/** The ABI of the running Node (process.arch), or null when tandem has no table for it. */
export function abiForArch(arch: string): BsdAbi | null {
  switch (arch) {
    case 'x64':
    case 'arm64':
      return 'lp64';
    case 'ia32':
      return 'i386';
    case 'arm':
      return 'arm32';
    default:
      return null;
  }
}

// ---- <sys/ioccom.h>: identical on NetBSD, FreeBSD and OpenBSD (facts/ioctl.md section 1) ----
export const IOCPARM_MASK = 0x1fff;
export const IOC_IN = 0x80000000;
export const IOC_INOUT = 0xc0000000;

/** dir | (size & 0x1fff) << 16 | group << 8 | num, as an unsigned 32-bit number (never negative:
 *  the codes are >= 0x80000000 and go to ioctl as unsigned long, zero-extended). */
export function ioc(dir: number, group: string | number, num: number, size: number): number {
  const g = typeof group === 'string' ? group.charCodeAt(0) : group;
  return (dir | ((size & IOCPARM_MASK) << 16) | ((g & 0xff) << 8) | (num & 0xff)) >>> 0;
}
export const iow = (g: string | number, n: number, size: number): number => ioc(IOC_IN, g, n, size);
export const iowr = (g: string | number, n: number, size: number): number => ioc(IOC_INOUT, g, n, size);

/** The parameter size encoded in a request code (what the kernel copies in/out). */
export function iocParamLength(code: number): number {
  return (code >>> 16) & IOCPARM_MASK;
}

// ---- Struct sizes (facts/ioctl.md section 3) ----
export type StructName =
  | 'ifreq'
  | 'if_laddrreq'
  | 'ifaliasreq'
  | 'oifaliasreq'
  | 'in6_aliasreq'
  | 'in6_ifreq'
  | 'ifmediareq'
  | 'ifdatareq'
  | 'if_msghdr';

type PerAbi = number | Readonly<Record<BsdAbi, number>>;
const abi3 = (lp64: number, i386: number, arm32: number) => ({ lp64, i386, arm32 }) as const;

export const STRUCT_SIZES: Readonly<Record<BsdOs, Partial<Record<StructName, PerAbi>>>> = {
  netbsd: {
    ifreq: 144,
    if_laddrreq: 280,
    ifaliasreq: 64,
    in6_aliasreq: 128,
    in6_ifreq: 288,
    ifmediareq: abi3(48, 40, 40),
    ifdatareq: abi3(152, 148, 152),
    if_msghdr: 152,
  },
  freebsd: {
    ifreq: 32,
    ifaliasreq: 68,
    oifaliasreq: 64,
    in6_aliasreq: abi3(136, 124, 136),
    in6_ifreq: 288,
    ifmediareq: abi3(48, 40, 40),
    if_msghdr: 168,
  },
  openbsd: {
    ifreq: 32,
    ifaliasreq: 64,
    in6_aliasreq: 128,
    in6_ifreq: 288,
    ifmediareq: abi3(64, 56, 56),
    if_msghdr: abi3(168, 160, 168),
  },
};

export function structSize(os: BsdOs, abi: BsdAbi, name: StructName): number | null {
  const v = STRUCT_SIZES[os][name];
  if (v === undefined) return null;
  return typeof v === 'number' ? v : v[abi];
}

// ---- Request definitions (facts/ioctl.md section 2: sockio.h, in6_var.h) ----
export type RequestName =
  | 'SIOCALIFADDR'
  | 'SIOCGLIFADDR'
  | 'SIOCDLIFADDR'
  | 'SIOCSIFLLADDR'
  | 'SIOCGHWADDR'
  | 'SIOCSIFFLAGS'
  | 'SIOCGIFFLAGS'
  | 'SIOCAIFADDR'
  | 'OSIOCAIFADDR'
  | 'SIOCDIFADDR'
  | 'SIOCAIFADDR_IN6'
  | 'SIOCDIFADDR_IN6'
  | 'SIOCGIFMTU'
  | 'SIOCSIFMTU'
  | 'SIOCGIFINDEX'
  | 'SIOCADDMULTI'
  | 'SIOCDELMULTI'
  | 'SIOCGIFMEDIA'
  | 'SIOCGIFDATA';

/** [direction, number in group 'i', argument struct]. */
type RequestDef = readonly ['W' | 'WR', number, StructName];

export const REQUESTS: Readonly<Record<BsdOs, Partial<Record<RequestName, RequestDef>>>> = {
  // NetBSD has no SIOCSIFLLADDR: the MAC moves with SIOCALIFADDR + IFLR_ACTIVE (facts section 6).
  netbsd: {
    SIOCALIFADDR: ['W', 28, 'if_laddrreq'],
    SIOCGLIFADDR: ['WR', 29, 'if_laddrreq'],
    SIOCDLIFADDR: ['W', 30, 'if_laddrreq'],
    SIOCSIFFLAGS: ['W', 16, 'ifreq'],
    SIOCGIFFLAGS: ['WR', 17, 'ifreq'],
    SIOCAIFADDR: ['W', 26, 'ifaliasreq'],
    SIOCDIFADDR: ['W', 25, 'ifreq'],
    SIOCAIFADDR_IN6: ['W', 107, 'in6_aliasreq'],
    SIOCDIFADDR_IN6: ['W', 25, 'in6_ifreq'],
    SIOCGIFMTU: ['WR', 126, 'ifreq'],
    SIOCSIFMTU: ['W', 127, 'ifreq'],
    SIOCGIFINDEX: ['WR', 140, 'ifreq'],
    SIOCADDMULTI: ['W', 49, 'ifreq'],
    SIOCDELMULTI: ['W', 50, 'ifreq'],
    SIOCGIFMEDIA: ['WR', 56, 'ifmediareq'],
    SIOCGIFDATA: ['WR', 133, 'ifdatareq'],
  },
  freebsd: {
    SIOCSIFLLADDR: ['W', 60, 'ifreq'],
    SIOCGHWADDR: ['WR', 62, 'ifreq'],
    SIOCSIFFLAGS: ['W', 16, 'ifreq'],
    SIOCGIFFLAGS: ['WR', 17, 'ifreq'],
    SIOCAIFADDR: ['W', 43, 'ifaliasreq'],
    OSIOCAIFADDR: ['W', 26, 'oifaliasreq'],
    SIOCDIFADDR: ['W', 25, 'ifreq'],
    SIOCAIFADDR_IN6: ['W', 27, 'in6_aliasreq'],
    SIOCDIFADDR_IN6: ['W', 25, 'in6_ifreq'],
    SIOCGIFMTU: ['WR', 51, 'ifreq'],
    SIOCSIFMTU: ['W', 52, 'ifreq'],
    SIOCGIFINDEX: ['WR', 32, 'ifreq'],
    SIOCADDMULTI: ['W', 49, 'ifreq'],
    SIOCDELMULTI: ['W', 50, 'ifreq'],
    SIOCGIFMEDIA: ['WR', 56, 'ifmediareq'],
    SIOCGIFDATA: ['W', 44, 'ifreq'],
  },
  openbsd: {
    SIOCSIFLLADDR: ['W', 31, 'ifreq'],
    SIOCSIFFLAGS: ['W', 16, 'ifreq'],
    SIOCGIFFLAGS: ['WR', 17, 'ifreq'],
    SIOCAIFADDR: ['W', 26, 'ifaliasreq'],
    SIOCDIFADDR: ['W', 25, 'ifreq'],
    SIOCAIFADDR_IN6: ['W', 26, 'in6_aliasreq'],
    SIOCDIFADDR_IN6: ['W', 25, 'in6_ifreq'],
    SIOCGIFMTU: ['WR', 126, 'ifreq'],
    SIOCADDMULTI: ['W', 49, 'ifreq'],
    SIOCDELMULTI: ['W', 50, 'ifreq'],
    SIOCGIFMEDIA: ['WR', 56, 'ifmediareq'],
    SIOCGIFDATA: ['WR', 27, 'ifreq'],
  },
};

/** The request code for `name` on (os, abi), or null when that OS has no such request. */
export function requestCode(os: BsdOs, abi: BsdAbi, name: RequestName): number | null {
  const def = REQUESTS[os][name];
  if (!def) return null;
  const [dir, num, struct] = def;
  const size = structSize(os, abi, struct);
  if (size === null) return null;
  return (dir === 'W' ? iow : iowr)('i', num, size);
}

/** Every request of (os, abi) with its code: the table docs/netbsd.md prints on a BSD box.
 *  @public */
export function requestTable(os: BsdOs, abi: BsdAbi): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(REQUESTS[os]) as RequestName[]) {
    const code = requestCode(os, abi, name);
    if (code !== null) out[name] = code;
  }
  return out;
}

// ---- Constants that differ per OS ----
export interface BsdConstants {
  AF_UNSPEC: number;
  AF_INET: number;
  AF_LINK: number;
  AF_INET6: number;
  /** PF_ROUTE = AF_ROUTE: 34 on NetBSD (17 is its old AF_OROUTE), 17 on FreeBSD/OpenBSD. */
  AF_ROUTE: number;
  SOCK_DGRAM: number;
  SOCK_RAW: number;
  /** OR-ed into the socket type; NetBSD/FreeBSD 0x10000000, OpenBSD 0x8000 (sys/socket.h). */
  SOCK_CLOEXEC: number;
  /** OR-ed into the socket type; NetBSD/FreeBSD 0x20000000, OpenBSD 0x4000 (sys/socket.h). */
  SOCK_NONBLOCK: number;
  IFF_UP: number;
  IFF_BROADCAST: number;
  IFF_RUNNING: number;
  IFF_MULTICAST: number;
  /** NetBSD if_laddrreq flags (net/if.h); 0 elsewhere. */
  IFLR_PREFIX: number;
  IFLR_ACTIVE: number;
  IFLR_FACTORY: number;
  /** in6_aliasreq.ifra_flags: skip DAD. 0 on OpenBSD (no IN6_IFF_NODAD in in6_var.h rev 1.81). */
  IN6_IFF_NODAD: number;
  ND6_INFINITE_LIFETIME: number;
  RTM_VERSION: number;
  RTM_NEWADDR: number;
  RTM_DELADDR: number;
  RTM_IFINFO: number;
  RTM_IFANNOUNCE: number;
  /** if_data link-state values (net/if.h). OpenBSD numbers differ and "up" is >= UP. */
  LINK_STATE_UNKNOWN: number;
  LINK_STATE_DOWN: number;
  LINK_STATE_UP: number;
  IFAN_ARRIVAL: number;
  IFAN_DEPARTURE: number;
}

// RTA_* bits and their order in a routing message are the same on all three (net/route.h).
export const RTA = {
  DST: 0x1,
  GATEWAY: 0x2,
  NETMASK: 0x4,
  GENMASK: 0x8,
  IFP: 0x10,
  IFA: 0x20,
  AUTHOR: 0x40,
  BRD: 0x80,
} as const;
export const RTAX_COUNT = 8;

const common = {
  AF_UNSPEC: 0,
  AF_INET: 2,
  AF_LINK: 18,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  IFF_UP: 0x1,
  IFF_BROADCAST: 0x2,
  IFF_RUNNING: 0x40,
  IFF_MULTICAST: 0x8000,
  ND6_INFINITE_LIFETIME: 0xffffffff,
  IFAN_ARRIVAL: 0,
  IFAN_DEPARTURE: 1,
};

export const CONSTANTS: Readonly<Record<BsdOs, BsdConstants>> = {
  netbsd: {
    ...common,
    AF_INET6: 24,
    AF_ROUTE: 34,
    SOCK_CLOEXEC: 0x10000000,
    SOCK_NONBLOCK: 0x20000000,
    IFLR_PREFIX: 0x8000,
    IFLR_ACTIVE: 0x4000,
    IFLR_FACTORY: 0x2000,
    IN6_IFF_NODAD: 0x20,
    // net/route.h rev 1.132 (facts section 5); the pre-8.0 numbers were 0xC/0xD/0xF.
    RTM_VERSION: 4,
    RTM_NEWADDR: 0x16,
    RTM_DELADDR: 0x17,
    RTM_IFINFO: 0x14,
    RTM_IFANNOUNCE: 0x10,
    LINK_STATE_UNKNOWN: 0,
    LINK_STATE_DOWN: 1,
    LINK_STATE_UP: 2,
  },
  // FreeBSD/OpenBSD RTM_* numbers and RTM_VERSION are not in the facts file: net/route.h as
  // recalled and cross-read against golang.org/x/net/route's parsers. UNVERIFIED on a kernel.
  freebsd: {
    ...common,
    AF_INET6: 28,
    AF_ROUTE: 17,
    SOCK_CLOEXEC: 0x10000000,
    SOCK_NONBLOCK: 0x20000000,
    IFLR_PREFIX: 0,
    IFLR_ACTIVE: 0,
    IFLR_FACTORY: 0,
    IN6_IFF_NODAD: 0x20,
    RTM_VERSION: 5,
    RTM_NEWADDR: 0xc,
    RTM_DELADDR: 0xd,
    RTM_IFINFO: 0xe,
    RTM_IFANNOUNCE: 0x11,
    LINK_STATE_UNKNOWN: 0,
    LINK_STATE_DOWN: 1,
    LINK_STATE_UP: 2,
  },
  openbsd: {
    ...common,
    AF_INET6: 24,
    AF_ROUTE: 17,
    SOCK_CLOEXEC: 0x8000,
    SOCK_NONBLOCK: 0x4000,
    IFLR_PREFIX: 0,
    IFLR_ACTIVE: 0,
    IFLR_FACTORY: 0,
    IN6_IFF_NODAD: 0,
    RTM_VERSION: 5,
    RTM_NEWADDR: 0xc,
    RTM_DELADDR: 0xd,
    RTM_IFINFO: 0xe,
    RTM_IFANNOUNCE: 0xf,
    LINK_STATE_UNKNOWN: 0,
    LINK_STATE_DOWN: 2,
    LINK_STATE_UP: 4,
  },
};

/** Carrier from an if_data link state: UP (OpenBSD: >= UP, the duplex values) or UNKNOWN, which
 *  interfaces without media reporting use and which must not read as "cable out". */
export function linkStateCarrier(os: BsdOs, state: number): boolean {
  const c = CONSTANTS[os];
  if (state === c.LINK_STATE_UNKNOWN) return true;
  return os === 'openbsd' ? state >= c.LINK_STATE_UP : state === c.LINK_STATE_UP;
}

// ---- libc symbols that are renamed per OS (facts section 8) ----
export interface LibcSymbols {
  socket: string;
  ioctl: string;
  close: string;
  read: string;
  getifaddrs: string;
  freeifaddrs: string;
  if_nametoindex: string;
  if_indextoname: string;
}
const plainSymbols: LibcSymbols = {
  socket: 'socket',
  ioctl: 'ioctl',
  close: 'close',
  read: 'read',
  getifaddrs: 'getifaddrs',
  freeifaddrs: 'freeifaddrs',
  if_nametoindex: 'if_nametoindex',
  if_indextoname: 'if_indextoname',
};
export const LIBC_SYMBOLS: Readonly<Record<BsdOs, LibcSymbols>> = {
  // NetBSD's <sys/socket.h> renames socket() to __socket30; plain "socket" is the old compat entry.
  netbsd: { ...plainSymbols, socket: '__socket30' },
  freebsd: plainSymbols,
  openbsd: plainSymbols,
};
/** The libc to dlopen. NetBSD: libc.so.12 (its major has been 12 since NetBSD 1.6; the unversioned
 *  libc.so is a development link that the comp set installs, absent on a base-only box).
 *  FreeBSD: libc.so.7. OpenBSD bumps libc's major every few releases: libc.so, resolved by ld.so. */
export const LIBC_PATH: Readonly<Record<BsdOs, string>> = {
  netbsd: 'libc.so.12',
  freebsd: 'libc.so.7',
  openbsd: 'libc.so',
};

// ---- errno (sys/errno.h): 1..66 are shared by the 4.4BSD descendants; the rest differ ----
const BSD_ERRNO_SHARED: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  8: 'ENOEXEC',
  9: 'EBADF',
  10: 'ECHILD',
  11: 'EDEADLK',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  15: 'ENOTBLK',
  16: 'EBUSY',
  17: 'EEXIST',
  18: 'EXDEV',
  19: 'ENODEV',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  25: 'ENOTTY',
  26: 'ETXTBSY',
  27: 'EFBIG',
  28: 'ENOSPC',
  29: 'ESPIPE',
  30: 'EROFS',
  31: 'EMLINK',
  32: 'EPIPE',
  33: 'EDOM',
  34: 'ERANGE',
  35: 'EAGAIN',
  36: 'EINPROGRESS',
  37: 'EALREADY',
  38: 'ENOTSOCK',
  39: 'EDESTADDRREQ',
  40: 'EMSGSIZE',
  41: 'EPROTOTYPE',
  42: 'ENOPROTOOPT',
  43: 'EPROTONOSUPPORT',
  44: 'ESOCKTNOSUPPORT',
  45: 'EOPNOTSUPP',
  46: 'EPFNOSUPPORT',
  47: 'EAFNOSUPPORT',
  48: 'EADDRINUSE',
  49: 'EADDRNOTAVAIL',
  50: 'ENETDOWN',
  51: 'ENETUNREACH',
  52: 'ENETRESET',
  53: 'ECONNABORTED',
  54: 'ECONNRESET',
  55: 'ENOBUFS',
  56: 'EISCONN',
  57: 'ENOTCONN',
  58: 'ESHUTDOWN',
  59: 'ETOOMANYREFS',
  60: 'ETIMEDOUT',
  61: 'ECONNREFUSED',
  62: 'ELOOP',
  63: 'ENAMETOOLONG',
  64: 'EHOSTDOWN',
  65: 'EHOSTUNREACH',
  66: 'ENOTEMPTY',
  78: 'ENOSYS',
};
const BSD_ERRNO_EXTRA: Readonly<Record<BsdOs, Record<number, string>>> = {
  netbsd: { 86: 'ENOTSUP' },
  freebsd: {}, // FreeBSD's ENOTSUP is EOPNOTSUPP (45)
  openbsd: { 91: 'ENOTSUP' },
};

/** The errno numbers the backend tests for, by name (identical on the three). */
export const BSD_E = {
  EPERM: 1,
  ENOENT: 2,
  ENXIO: 6,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EAGAIN: 35,
  EOPNOTSUPP: 45,
  EADDRINUSE: 48,
  EADDRNOTAVAIL: 49,
} as const;

/** 'EADDRNOTAVAIL' for 49 on any BSD; 'E#<n>' outside the table. */
export function bsdErrnoName(os: BsdOs, errno: number): string {
  return BSD_ERRNO_EXTRA[os][errno] ?? BSD_ERRNO_SHARED[errno] ?? `E#${errno}`;
}
