// The only code that calls a BSD libc: koffi declarations and pointer walking, nothing else.
// Small on purpose, so that it can be reviewed line by line; the symbol names come from
// LIBC_SYMBOLS (NetBSD: __socket30). Its declarations are exercised on Linux glibc by
// test/unit/driver-bsd-koffi.test.ts (same prototypes, same struct ifaddrs head).
import koffi from 'koffi';
import type { BsdAbi, LibcSymbols } from './abi.ts';
import type { BsdLibc, RawIfaddr } from './backend.ts';
import { IF_DATA_HEAD } from './structs.ts';

// struct ifaddrs: the first seven members are the same on NetBSD, FreeBSD, OpenBSD (and glibc);
// NetBSD appends ifa_addrflags, which is not read. Pointers as void * (BigInt addresses).
const IfaddrsHead = koffi.struct('tandem_bsd_ifaddrs', {
  ifa_next: 'void *',
  ifa_name: 'void *',
  ifa_flags: 'unsigned int',
  ifa_addr: 'void *',
  ifa_netmask: 'void *',
  ifa_dstaddr: 'void *',
  ifa_data: 'void *',
});

interface IfaddrsRecord {
  ifa_next: bigint | null;
  ifa_name: bigint | null;
  ifa_flags: number;
  ifa_addr: bigint | null;
  ifa_netmask: bigint | null;
  ifa_data: bigint | null;
}

export interface KoffiLibcOptions {
  /** dlopen path; defaults per OS in abi.ts LIBC_PATH. */
  path: string;
  /** How many bytes a sockaddr at a pointer has. BSD: sa_len (byte 0). The Linux smoke test
   *  passes a fixed length, as glibc sockaddrs carry no sa_len. */
  sockaddrLength?: (firstTwoBytes: Uint8Array) => number;
}

const copy = (p: bigint, n: number): Uint8Array => new Uint8Array(koffi.view(p, n)).slice();

export function loadKoffiLibc(symbols: LibcSymbols, _abi: BsdAbi, o: KoffiLibcOptions): BsdLibc {
  const lib = koffi.load(o.path);
  const socket = lib.func(`int ${symbols.socket}(int domain, int type, int protocol)`);
  // ioctl(int, unsigned long, ...): the request is unsigned long, so 0x8118691C is passed
  // zero-extended; the argument goes as a variadic pointer to the caller's bytes.
  const ioctl = lib.func(`int ${symbols.ioctl}(int fd, unsigned long request, ...)`);
  const close = lib.func(`int ${symbols.close}(int fd)`);
  const read = lib.func(`long ${symbols.read}(int fd, _Out_ uint8_t *buf, size_t len)`);
  const nametoindex = lib.func(`unsigned int ${symbols.if_nametoindex}(const char *name)`);
  const indextoname = lib.func(`const char *${symbols.if_indextoname}(unsigned int index, _Out_ uint8_t *buf)`);
  const getifaddrs = lib.func(`int ${symbols.getifaddrs}(_Out_ void **ifap)`);
  const freeifaddrs = lib.func(`void ${symbols.freeifaddrs}(void *ifa)`);
  // Not renamed by any of the three libcs, unlike socket() on NetBSD.
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const uint8_t *val, uint32_t len)');
  const bind = lib.func('int bind(int fd, const uint8_t *addr, uint32_t len)');
  const sendto = lib.func(
    'long sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t alen)',
  );
  const saLen = o.sockaddrLength ?? ((b: Uint8Array) => b[0]);

  const sockaddr = (p: bigint | null): Uint8Array | null => {
    if (!p) return null;
    const n = Math.max(2, Math.min(255, saLen(copy(p, 2))));
    return copy(p, n);
  };

  return {
    socket: (d, t, p) => socket(d, t, p),
    ioctl: (fd, request, arg) => ioctl(fd, request >>> 0, 'uint8_t *', arg),
    close: (fd) => close(fd),
    read: (fd, buf) => Number(read(fd, buf, buf.length)),
    errno: () => koffi.errno(),
    setsockopt: (fd, level, name, val) => setsockopt(fd, level, name, val, val.length),
    bind: (fd, addr) => bind(fd, addr, addr.length),
    sendto: (fd, buf, flags, addr) => Number(sendto(fd, buf, buf.length, flags, addr, addr.length)),
    if_nametoindex: (name) => nametoindex(name),
    if_indextoname: (index) => (indextoname(index, new Uint8Array(16)) as string | null) ?? null,
    getifaddrs(): RawIfaddr[] | null {
      const head: (bigint | null)[] = [null];
      if (getifaddrs(head) !== 0) return null;
      const out: RawIfaddr[] = [];
      try {
        for (let p = head[0]; p; ) {
          const r = koffi.decode(p, IfaddrsHead) as IfaddrsRecord;
          const addr = sockaddr(r.ifa_addr);
          out.push({
            name: r.ifa_name ? (koffi.decode(r.ifa_name, 'char', -1) as string) : '',
            flags: r.ifa_flags,
            addr,
            netmask: sockaddr(r.ifa_netmask),
            data: r.ifa_data ? copy(r.ifa_data, IF_DATA_HEAD) : null,
          });
          p = r.ifa_next;
        }
      } finally {
        freeifaddrs(head[0]);
      }
      return out;
    },
    watchReadable(fd, onReadable) {
      // koffi 3.3 calls back with (status, events) although its .d.ts declares (events).
      const cb = (status: unknown, ev?: { readable?: boolean }) => {
        const events = typeof status === 'object' ? (status as { readable?: boolean }) : ev;
        if ((typeof status !== 'number' || status === 0) && events?.readable) onReadable();
      };
      type DeclaredCb = (ev: { readable: boolean; writable: boolean; disconnect: boolean }) => void;
      const h = koffi.node.poll(fd, { readable: true }, cb as unknown as DeclaredCb) as ReturnType<
        typeof koffi.node.poll
      > | null;
      if (!h) throw new Error(`uv_poll on fd ${fd} failed`);
      return { close: () => h.close() };
    },
  };
}
