// The few libc calls the Linux driver makes, bound once through koffi. Buffers go in as `void *`
// (koffi passes a Buffer/Uint8Array's memory directly, so the kernel's writes land in it).
// errno is read with koffi.errno() right after each call, before any other FFI call can clobber it.
import koffi from 'koffi';

// Bound on first use, so importing this module on another OS does nothing.
type Fn = (...args: unknown[]) => number | bigint;
let fns: Record<'socket' | 'close' | 'ioctl' | 'bind' | 'sendto' | 'recv' | 'setsockopt', Fn> | null = null;
function libc() {
  if (fns) return fns;
  const lib = koffi.load('libc.so.6');
  fns = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    close: lib.func('int close(int fd)'),
    // ioctl is variadic in C; a fixed `void *` third argument has the same calling convention on
    // the Linux ABIs we ship (SysV x86_64, i386 cdecl, AAPCS, AAPCS64).
    ioctl: lib.func('int ioctl(int fd, unsigned long request, void *arg)'),
    bind: lib.func('int bind(int fd, void *addr, uint32_t len)'),
    sendto: lib.func('intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t alen)'),
    recv: lib.func('intptr_t recv(int fd, void *buf, size_t len, int flags)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *val, uint32_t len)'),
  };
  return fns;
}

export const AF_INET = 2,
  AF_NETLINK = 16;
export const SOCK_DGRAM = 2,
  SOCK_RAW = 3,
  SOCK_NONBLOCK = 0o4000,
  SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;
export const SOL_SOCKET = 1,
  SO_RCVBUF = 8,
  SO_RCVTIMEO = 20;
export const SOL_NETLINK = 270,
  NETLINK_CAP_ACK = 10,
  NETLINK_EXT_ACK = 11;
export const MSG_DONTWAIT = 0x40;

/** A syscall result: the value, or -1 with a positive errno. */
export interface Sys {
  ret: number;
  errno: number;
}

function sys(ret: number | bigint): Sys {
  const r = Number(ret);
  return { ret: r, errno: r < 0 ? koffi.errno() : 0 };
}

export const socket = (domain: number, type: number, protocol: number): Sys =>
  sys(libc().socket(domain, type, protocol));
export const close = (fd: number): Sys => sys(libc().close(fd));
export const ioctl = (fd: number, request: number, arg: Uint8Array): Sys => sys(libc().ioctl(fd, request, arg));
export const bind = (fd: number, addr: Uint8Array): Sys => sys(libc().bind(fd, addr, addr.length));
export const sendto = (fd: number, buf: Uint8Array, flags: number, addr: Uint8Array): Sys =>
  sys(libc().sendto(fd, buf, buf.length, flags, addr, addr.length));
export const recv = (fd: number, buf: Uint8Array, flags: number): Sys => sys(libc().recv(fd, buf, buf.length, flags));
export const setsockopt = (fd: number, level: number, name: number, val: Uint8Array): Sys =>
  sys(libc().setsockopt(fd, level, name, val, val.length));

/** sockaddr_nl (12): family u16 @0 = AF_NETLINK, pad @2, pid u32 @4, groups u32 @8. */
export function sockaddrNl(pid: number, groups: number): Uint8Array {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_NETLINK, true);
  dv.setUint32(4, pid >>> 0, true);
  dv.setUint32(8, groups >>> 0, true);
  return b;
}

/** A uv poll on `fd` (koffi.node.poll): the callback runs on the event loop when it is readable. */
export function pollReadable(fd: number, cb: () => void): { close(): void; unref(): void } {
  const h = koffi.node.poll(fd, { readable: true }, () => cb());
  return { close: () => h.close(), unref: () => h.unref() };
}

export const u32le = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};

/** struct timeval for SO_RCVTIMEO: two longs (8+8 on LP64, 4+4 on ILP32). */
export function timeval(ms: number, lp64: boolean): Uint8Array {
  const w = lp64 ? 8 : 4;
  const b = new Uint8Array(2 * w);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, Math.floor(ms / 1000), true);
  dv.setUint32(w, (ms % 1000) * 1000, true);
  return b;
}
