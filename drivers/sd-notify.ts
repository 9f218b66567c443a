// sd_notify(3) for `Type=notify` units: one datagram to the unix socket named by $NOTIFY_SOCKET
// (a path, or `@name` for the abstract namespace). Node has no unix datagram sockets, so this goes
// through libc with koffi like the rest of the Linux driver. Without $NOTIFY_SOCKET (not started
// by systemd, or another OS) it does nothing. Protocol: systemd's sd_notify(3) man page; the
// address is a struct sockaddr_un (sys/un.h: sa_family_t, then sun_path[108]).
import koffi from 'koffi';
import { linuxErrnoName } from './linux/errno.ts';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SUN_PATH_MAX = 108;

type Fn = (...args: unknown[]) => number | bigint;
let fns: { socket: Fn; sendto: Fn; close: Fn } | null = null;
function libc() {
  if (fns) return fns;
  const lib = koffi.load('libc.so.6');
  fns = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    sendto: lib.func('intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t alen)'),
    close: lib.func('int close(int fd)'),
  };
  return fns;
}

/** struct sockaddr_un for `target`, sized as the kernel wants it: a path with its NUL, an
 *  abstract name (leading `@` becomes a NUL byte) without one. Undefined when it does not fit. */
export function sockaddrUn(target: string): Uint8Array | undefined {
  const abstract = target.startsWith('@');
  const name = new TextEncoder().encode(abstract ? target.slice(1) : target);
  const pathLen = abstract ? 1 + name.length : name.length + 1;
  if (pathLen > SUN_PATH_MAX || (!abstract && !target.startsWith('/'))) return undefined;
  const b = new Uint8Array(2 + pathLen);
  new DataView(b.buffer).setUint16(0, AF_UNIX, true);
  b.set(name, abstract ? 3 : 2);
  return b;
}

export type NotifyResult = { sent: true } | { sent: false; reason: string };

/** Sends `state` (newline-separated KEY=VALUE lines, e.g. "READY=1\nSTATUS=...") to systemd. */
export function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): NotifyResult {
  const target = env.NOTIFY_SOCKET;
  if (!target) return { sent: false, reason: 'no NOTIFY_SOCKET' };
  if (process.platform !== 'linux') return { sent: false, reason: `not on ${process.platform}` };
  const addr = sockaddrUn(target);
  if (!addr) return { sent: false, reason: `NOTIFY_SOCKET=${target} is not a usable unix socket address` };
  const c = libc();
  const fd = Number(c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd < 0) return { sent: false, reason: `socket: ${linuxErrnoName(koffi.errno())}` };
  try {
    const msg = new TextEncoder().encode(state);
    const n = Number(c.sendto(fd, msg, msg.length, 0, addr, addr.length));
    if (n < 0) return { sent: false, reason: `sendto ${target}: ${linuxErrnoName(koffi.errno())}` };
    return { sent: true };
  } finally {
    c.close(fd);
  }
}
