// Linux errno numbers in words (asm-generic/errno-base.h, asm-generic/errno.h; the same on every
// architecture tandem targets: x86_64, aarch64, i386, armhf). Netlink ACKs carry Linux errnos
// whatever the host, so this table is data, not a lookup through the running libc.
import { DriverError, errnoHint } from '../types.ts';

const NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  23: 'ENFILE',
  24: 'EMFILE',
  25: 'ENOTTY',
  28: 'ENOSPC',
  34: 'ERANGE',
  36: 'ENAMETOOLONG',
  38: 'ENOSYS',
  61: 'ENODATA',
  71: 'EPROTO',
  90: 'EMSGSIZE',
  92: 'ENOPROTOOPT',
  93: 'EPROTONOSUPPORT',
  95: 'EOPNOTSUPP',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN',
  101: 'ENETUNREACH',
  105: 'ENOBUFS',
  110: 'ETIMEDOUT',
  113: 'EHOSTUNREACH',
};

export const E = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
} as const;

/** 'EBUSY' for 16; 'E#<n>' for numbers outside the table. */
export function linuxErrnoName(errno: number): string {
  return NAMES[errno] ?? `E#${errno}`;
}

/** A DriverError from a positive Linux errno, with the shared hint and any kernel message. */
export function linuxError(op: string, ifname: string, errno: number, extra = ''): DriverError {
  const code = linuxErrnoName(errno);
  const hint = [errnoHint(code), extra].filter((s) => s).join('; ');
  return new DriverError(op, ifname, errno, code, hint);
}
