// The BSD Driver on top of a small libc binding. Everything OS-specific is a table lookup in
// abi.ts or a pure encoder in structs.ts; this file only sequences syscalls, and each ioctl
// socket is opened, used once and closed on every path. The binding is injected, so tests run
// it with a recording fake (test/unit/driver-bsd-backend.test.ts); libc-koffi.ts is the real one.
import {
  type ClusterDataPath,
  type ClusterDataPathSpec,
  DriverError,
  type Driver,
  type LinkInfo,
  type NetEvent,
  type PacketChannel,
  type PacketChannelOptions,
  type RawVrrpOptions,
  type RawVrrpSocket,
} from '../types.ts';
import {
  BSD_E,
  CONSTANTS,
  LIBC_SYMBOLS,
  bsdErrnoName,
  iocParamLength,
  linkStateCarrier,
  requestCode,
  type BsdAbi,
  type BsdOs,
  type LibcSymbols,
  type RequestName,
} from './abi.ts';
import { parseRtMessage } from './rtsock.ts';
import {
  decodeIfData,
  decodeSockaddr,
  encodeIfreq,
  encodeIfreqLladdr,
  encodeIfreqMulti,
  encodeIn6AliasReq,
  encodeIn6Ifreq,
  encodeInAliasReq,
  encodeIfLaddrReq,
  encodeSetActiveMac,
  encodeSockaddrIn,
  encodeSockaddrIn6,
  parseIPv4,
  parseIPv6,
  groupMac,
  ifreqFlags,
  parseCidr,
  parseMac,
  setIfreqFlags,
  sockaddrMaskPrefix,
} from './structs.ts';

/** One getifaddrs(3) entry with its sockaddrs copied out (sa_len bytes each). */
export interface RawIfaddr {
  name: string;
  flags: number; // ifa_flags: IFF_*
  addr: Uint8Array | null;
  netmask: Uint8Array | null;
  /** AF_LINK entries: the first IF_DATA_HEAD bytes of the struct if_data at ifa_data. */
  data: Uint8Array | null;
}

/** The libc calls the backend makes. Return values as in C (-1 and errno() on failure). */
export interface BsdLibc {
  socket(domain: number, type: number, protocol: number): number;
  /** ioctl(fd, (unsigned long)request, arg): `request` is the unsigned code, never negative. */
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  close(fd: number): number;
  read(fd: number, buf: Uint8Array): number;
  errno(): number;
  if_nametoindex(name: string): number;
  if_indextoname(index: number): string | null;
  /** null when getifaddrs failed (errno() says why). */
  getifaddrs(): RawIfaddr[] | null;
  /** Calls back whenever fd is readable (libuv poll); close() stops it. */
  watchReadable(fd: number, onReadable: () => void): { close(): void };
  // Raw VRRP sockets (unicast adverts). Optional so a binding without them still drives the rest;
  // openRawVrrp then reports ENOTSUP.
  setsockopt?(fd: number, level: number, name: number, val: Uint8Array): number;
  bind?(fd: number, addr: Uint8Array): number;
  /** Returns bytes sent, or -1 and errno(). */
  sendto?(fd: number, buf: Uint8Array, flags: number, addr: Uint8Array): number;
}

// netinet/in.h and netinet6/in6.h: the same numbers on NetBSD, FreeBSD and OpenBSD.
export const BSD_IPPROTO_IP = 0,
  BSD_IP_TTL = 4,
  BSD_IPPROTO_IPV6 = 41,
  BSD_IPV6_UNICAST_HOPS = 4;
/** IANA protocol number of VRRP (RFC 5798 5.1.1.4). */
const IPPROTO_VRRP = 112;

export type LibcLoader = (symbols: LibcSymbols, abi: BsdAbi) => BsdLibc;
export type ChannelOpener = (ifname: string, opts?: PacketChannelOptions) => PacketChannel;

export interface BsdBackendOptions {
  abi: BsdAbi;
  loadLibc: LibcLoader;
  /** Packet channels (libpcap on BPF). Without it openChannel throws ENOTSUP. */
  openChannel?: ChannelOpener;
}

const HINTS: Record<string, string> = {
  EPERM: 'not root',
  EACCES: 'not root',
  ENXIO: 'no such interface',
  ENODEV: 'no such interface',
  EBUSY: 'the NIC driver refuses this while the link is up',
  EADDRNOTAVAIL: 'address not configured or not valid here',
  EADDRINUSE: 'address already in use',
  EINVAL: 'the kernel rejected an argument',
  EOPNOTSUPP: 'not supported by this interface or kernel',
  EAFNOSUPPORT: 'address family not in this kernel',
  ENOTTY: 'request code unknown to this kernel (ABI mismatch?)',
};

/** A DriverError in BSD errno words. */
export function bsdError(os: BsdOs, op: string, ifname: string, errno: number, extra = ''): DriverError {
  const code = bsdErrnoName(os, errno);
  return new DriverError(op, ifname, errno, code, [HINTS[code] ?? '', extra].filter(Boolean).join('; '));
}

const VRRP_GROUPS = ['224.0.0.18', 'ff02::12'];
/** HSRP's groups (RFC 2281 5.1; v2 over IPv4 and IPv6), joined when the channel captures HSRP. */
const HSRP_GROUPS = ['224.0.0.2', '224.0.0.102', 'ff02::66'];

export function createBsdBackend(os: BsdOs, opts: BsdBackendOptions): Driver {
  const { abi } = opts;
  const c = CONSTANTS[os];
  const libc = opts.loadLibc(LIBC_SYMBOLS[os], abi);
  const watchers = new Set<() => void>();
  const raws = new Set<RawVrrpSocket>();

  const fail = (op: string, ifname: string, extra = ''): never => {
    throw bsdError(os, op, ifname, libc.errno(), extra);
  };

  const code = (op: string, ifname: string, name: RequestName): number => {
    const rq = requestCode(os, abi, name);
    if (rq === null) throw new DriverError(op, ifname, 0, 'ENOTSUP', `${os} has no ${name}`);
    return rq;
  };

  /** socket -> fn -> close, the close on every path. */
  function withSocket<T>(op: string, ifname: string, domain: number, type: number, fn: (fd: number) => T): T {
    const fd = libc.socket(domain, type, 0);
    if (fd < 0) fail(op, ifname, 'socket');
    try {
      return fn(fd);
    } finally {
      libc.close(fd);
    }
  }
  /** One ioctl; returns 0, or the errno when `tolerate` lists it; throws on any other. */
  function ioctl(
    op: string,
    ifname: string,
    fd: number,
    name: RequestName,
    arg: Uint8Array,
    tolerate: number[] = [],
  ): number {
    const rq = code(op, ifname, name);
    // The kernel copies exactly the size encoded in the code: a mismatch is a table bug.
    if (iocParamLength(rq) !== arg.length)
      throw new RangeError(`${name}: ${arg.length}-byte argument, code says ${iocParamLength(rq)}`);
    if (libc.ioctl(fd, rq, arg) === 0) return 0;
    const e = libc.errno();
    if (tolerate.includes(e)) return e;
    throw bsdError(os, op, ifname, e, name);
  }

  function entries(op: string, ifname: string): RawIfaddr[] {
    const list = libc.getifaddrs();
    return list ?? fail(op, ifname, 'getifaddrs');
  }

  /** NetBSD keeps every link address an interface ever had (the factory one first) and libc's
   *  getifaddrs (lib/libc/net/getifaddrs.c 1.15) gives each the same if_data, so the active one
   *  can only be asked for: SIOCGLIFADDR with IFLR_PREFIX and the address, read IFLR_ACTIVE and
   *  IFLR_FACTORY from the reply, as ifconfig does (sbin/ifconfig/util.c print_link_addresses;
   *  sys/net/if.h 1.304 struct if_laddrreq). */
  function linkAddressFlags(ifname: string, addr: Uint8Array): number {
    const sa = decodeSockaddr(os, addr);
    const alen = sa && sa.family === 'link' && sa.mac ? parseMac(sa.mac)!.length : 6;
    const req = encodeIfLaddrReq(
      abi,
      ifname,
      c.IFLR_PREFIX,
      alen * 8,
      addr.subarray(0, Math.min(addr[0] || addr.length, 128)),
    );
    withSocket('link', ifname, c.AF_LINK, c.SOCK_DGRAM, (fd) => ioctl('link', ifname, fd, 'SIOCGLIFADDR', req));
    return new DataView(req.buffer, req.byteOffset).getUint32(16, true);
  }

  /** The NetBSD link addresses of `ifname` with their flags (see linkAddressFlags). */
  function netbsdLinkAddresses(ifname: string, all: RawIfaddr[]): { entry: RawIfaddr; flags: number }[] {
    return all.map((entry) => ({ entry, flags: linkAddressFlags(ifname, entry.addr!) }));
  }

  function link(ifname: string): LinkInfo {
    const all = entries('link', ifname).filter((e) => e.name === ifname && e.addr && e.addr[1] === c.AF_LINK);
    // One AF_LINK entry is the active address. With several (NetBSD after a MAC change), the
    // kernel says which; if_data (carrier, MTU) is the interface's, on whichever entry has it.
    const withData = all.find((x) => x.data) ?? all[0];
    const e =
      os === 'netbsd' && all.length > 1
        ? (netbsdLinkAddresses(ifname, all).find((x) => x.flags & c.IFLR_ACTIVE)?.entry ?? withData)
        : withData;
    if (!e) throw new DriverError('link', ifname, BSD_E.ENXIO, 'ENXIO', 'no such interface');
    const sa = decodeSockaddr(os, e.addr!);
    const d = withData?.data ? decodeIfData(os, withData.data) : null;
    const index = libc.if_nametoindex(ifname) || (sa && sa.family === 'link' ? sa.index : 0);
    return {
      ifname,
      index,
      mac: sa && sa.family === 'link' && sa.mac ? sa.mac : '00:00:00:00:00:00',
      up: (withData!.flags & c.IFF_UP) !== 0,
      carrier: d ? linkStateCarrier(os, d.linkState) : (withData!.flags & c.IFF_RUNNING) !== 0,
      mtu: d ? d.mtu : 0,
    };
  }

  function setUp(ifname: string, up: boolean): void {
    withSocket('set-up', ifname, c.AF_INET, c.SOCK_DGRAM, (fd) => {
      const req = encodeIfreq(os, abi, ifname);
      ioctl('set-up', ifname, fd, 'SIOCGIFFLAGS', req);
      const flags = ifreqFlags(os, req);
      const want = up ? flags | c.IFF_UP : flags & ~c.IFF_UP;
      if (want === flags) return;
      setIfreqFlags(os, req, want); // the rest of the returned ifreq is sent back unchanged
      ioctl('set-up', ifname, fd, 'SIOCSIFFLAGS', req);
    });
  }

  function setMacOnce(ifname: string, mac: Uint8Array): number {
    if (os === 'netbsd') {
      // NetBSD: SIOCALIFADDR + IFLR_ACTIVE on an AF_LINK datagram socket (facts section 6).
      return withSocket('set-mac', ifname, c.AF_LINK, c.SOCK_DGRAM, (fd) =>
        ioctl('set-mac', ifname, fd, 'SIOCALIFADDR', encodeSetActiveMac(abi, ifname, mac), [BSD_E.EBUSY]),
      );
    }
    return withSocket('set-mac', ifname, c.AF_INET, c.SOCK_DGRAM, (fd) =>
      ioctl('set-mac', ifname, fd, 'SIOCSIFLLADDR', encodeIfreqLladdr(os, abi, ifname, mac), [BSD_E.EBUSY]),
    );
  }

  /** NetBSD leaves the replaced MAC on the interface as an inactive link address: remove every
   *  inactive one that is not the factory address, so a master/backup cycle does not pile them up
   *  (SIOCDLIFADDR refuses only the active and the factory address: sys/net/link_proto.c 1.40). */
  function dropInactiveLinkAddresses(ifname: string): void {
    const all = entries('set-mac', ifname).filter((e) => e.name === ifname && e.addr && e.addr[1] === c.AF_LINK);
    if (all.length < 2) return;
    for (const { entry, flags } of netbsdLinkAddresses(ifname, all)) {
      if (flags & (c.IFLR_ACTIVE | c.IFLR_FACTORY)) continue;
      const addr = entry.addr!.subarray(0, Math.min(entry.addr![0] || entry.addr!.length, 128));
      const req = encodeIfLaddrReq(abi, ifname, 0, 0, addr);
      withSocket('set-mac', ifname, c.AF_LINK, c.SOCK_DGRAM, (fd) =>
        ioctl('set-mac', ifname, fd, 'SIOCDLIFADDR', req, [BSD_E.EBUSY]),
      );
    }
  }

  function setMac(ifname: string, macText: string, o?: { cycleLink?: boolean }): void {
    const mac = parseMac(macText);
    if (!mac) throw new DriverError('set-mac', ifname, 0, 'EINVAL', `bad MAC '${macText}'`);
    if (setMacOnce(ifname, mac) === 0) {
      if (os === 'netbsd') dropInactiveLinkAddresses(ifname);
      return;
    }
    if (!o?.cycleLink)
      throw bsdError(os, 'set-mac', ifname, BSD_E.EBUSY, 'pass cycleLink to take the link down for the change');
    setUp(ifname, false);
    try {
      if (setMacOnce(ifname, mac) !== 0) throw bsdError(os, 'set-mac', ifname, BSD_E.EBUSY, 'refused even while down');
    } finally {
      setUp(ifname, true);
    }
    if (os === 'netbsd') dropInactiveLinkAddresses(ifname);
  }

  function cidrOf(op: string, ifname: string, text: string) {
    const cidr = parseCidr(text);
    if (!cidr) throw new DriverError(op, ifname, 0, 'EINVAL', `bad address '${text}'`);
    return cidr;
  }
  /** Link-local IPv6 needs the interface as sin6_scope_id. */
  const scopeFor = (ifname: string, a: Uint8Array) =>
    a[0] === 0xfe && (a[1] & 0xc0) === 0x80 ? libc.if_nametoindex(ifname) : 0;

  function addAddress(ifname: string, text: string): void {
    const cidr = cidrOf('add-address', ifname, text);
    if (cidr.family === 4) {
      // SIOCAIFADDR on an existing address updates it in place: adding twice is not an error.
      withSocket('add-address', ifname, c.AF_INET, c.SOCK_DGRAM, (fd) =>
        ioctl(
          'add-address',
          ifname,
          fd,
          'SIOCAIFADDR',
          encodeInAliasReq(os, abi, ifname, cidr.address, cidr.prefixLength),
          [BSD_E.EEXIST],
        ),
      );
    } else {
      withSocket('add-address', ifname, c.AF_INET6, c.SOCK_DGRAM, (fd) =>
        ioctl(
          'add-address',
          ifname,
          fd,
          'SIOCAIFADDR_IN6',
          encodeIn6AliasReq(os, abi, ifname, cidr.address, cidr.prefixLength, scopeFor(ifname, cidr.address)),
          [BSD_E.EEXIST],
        ),
      );
    }
  }

  function removeAddress(ifname: string, text: string): void {
    const cidr = cidrOf('remove-address', ifname, text);
    // A missing address answers EADDRNOTAVAIL: removing it is not an error.
    if (cidr.family === 4) {
      withSocket('remove-address', ifname, c.AF_INET, c.SOCK_DGRAM, (fd) =>
        ioctl(
          'remove-address',
          ifname,
          fd,
          'SIOCDIFADDR',
          encodeIfreq(os, abi, ifname, encodeSockaddrIn(cidr.address)),
          [BSD_E.EADDRNOTAVAIL],
        ),
      );
    } else {
      withSocket('remove-address', ifname, c.AF_INET6, c.SOCK_DGRAM, (fd) =>
        ioctl(
          'remove-address',
          ifname,
          fd,
          'SIOCDIFADDR_IN6',
          encodeIn6Ifreq(os, abi, ifname, cidr.address, scopeFor(ifname, cidr.address)),
          [BSD_E.EADDRNOTAVAIL],
        ),
      );
    }
  }

  function listAddresses(ifname: string): string[] {
    const out: string[] = [];
    for (const e of entries('list-addresses', ifname)) {
      if (e.name !== ifname || !e.addr) continue;
      const sa = decodeSockaddr(os, e.addr);
      if (!sa || (sa.family !== 'inet' && sa.family !== 'inet6')) continue;
      out.push(`${sa.address}/${sockaddrMaskPrefix(os, e.netmask, sa.family)}`);
    }
    return out;
  }

  function multicast(op: 'join-multicast' | 'leave-multicast', ifname: string, group: string): void {
    const mac = groupMac(group);
    if (!mac) throw new DriverError(op, ifname, 0, 'EINVAL', `'${group}' is not a multicast group or group MAC`);
    const join = op === 'join-multicast';
    withSocket(op, ifname, c.AF_INET, c.SOCK_DGRAM, (fd) =>
      // FreeBSD answers EADDRINUSE to a second join; leaving a group not joined: EADDRNOTAVAIL/ENOENT.
      ioctl(
        op,
        ifname,
        fd,
        join ? 'SIOCADDMULTI' : 'SIOCDELMULTI',
        encodeIfreqMulti(os, abi, ifname, mac),
        join ? [BSD_E.EADDRINUSE] : [BSD_E.EADDRNOTAVAIL, BSD_E.ENOENT],
      ),
    );
  }

  function watch(listener: (ev: NetEvent) => void): () => void {
    const fd = libc.socket(c.AF_ROUTE, c.SOCK_RAW | c.SOCK_CLOEXEC, 0);
    if (fd < 0) fail('watch', '', 'routing socket');
    const names = new Map<number, string>();
    const nameOf = (index: number, given: string | null): string => {
      if (given) {
        names.set(index, given);
        return given;
      }
      const known = names.get(index) ?? libc.if_indextoname(index);
      if (known) names.set(index, known);
      return known ?? `#${index}`;
    };
    const buf = new Uint8Array(2048);
    const onReadable = () => {
      const n = libc.read(fd, buf);
      if (n <= 0) return;
      const r = parseRtMessage(os, abi, buf.subarray(0, n));
      if (!r.ok) return; // a message of another RTM_VERSION or a short read: not ours to judge
      const m = r.msg;
      switch (m.kind) {
        case 'ifinfo':
          listener({
            type: 'link',
            ifname: nameOf(m.index, m.ifname),
            index: m.index,
            up: (m.flags & c.IFF_UP) !== 0,
            carrier: linkStateCarrier(os, m.linkState),
          });
          break;
        case 'newaddr':
        case 'deladdr': {
          const a = m.address;
          if (!a || (a.family !== 'inet' && a.family !== 'inet6')) break;
          listener({
            type: m.kind === 'newaddr' ? 'address-added' : 'address-removed',
            ifname: nameOf(m.index, m.ifname),
            index: m.index,
            address: a.address,
            prefixLength: m.prefixLength,
          });
          break;
        }
        case 'ifannounce':
          if (m.what === 'departure') {
            listener({ type: 'link-removed', ifname: m.ifname, index: m.index });
            names.delete(m.index);
          } else if (m.what === 'arrival') names.set(m.index, m.ifname);
          break;
        case 'other':
          break;
      }
    };
    const poll = libc.watchReadable(fd, onReadable);
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      poll.close();
      libc.close(fd);
      watchers.delete(stop);
    };
    watchers.add(stop);
    return stop;
  }

  function openChannel(ifname: string, o?: PacketChannelOptions): PacketChannel {
    if (!opts.openChannel)
      throw new DriverError(
        'open-channel',
        ifname,
        0,
        'ENOTSUP',
        'no packet channel opener (drivers/pcap-channel.ts) wired in',
      );
    // Without promiscuous mode the NIC must accept the VRRP group MACs: join for the channel's life.
    const groups = o?.promiscuous ? [] : [...VRRP_GROUPS, ...(o?.hsrp ? HSRP_GROUPS : [])];
    for (const g of groups) multicast('join-multicast', ifname, g);
    let ch: PacketChannel;
    try {
      ch = opts.openChannel(ifname, o);
    } catch (e) {
      for (const g of groups) {
        try {
          multicast('leave-multicast', ifname, g);
        } catch {
          /* best effort */
        }
      }
      throw e;
    }
    let closed = false;
    return {
      ifname: ch.ifname,
      echoesSends: true,
      send: (f) => ch.send(f),
      onFrame: (cb) => ch.onFrame(cb),
      dropped: () => ch.dropped(),
      close: () => {
        if (closed) return;
        closed = true;
        ch.close();
        for (const g of groups) {
          try {
            multicast('leave-multicast', ifname, g);
          } catch {
            /* interface may be gone */
          }
        }
      },
    };
  }

  /** socket(AF_INET[6], SOCK_RAW, 112) with TTL / Hop Limit 255 (RFC 5798 5.1.1.3 / 5.1.2.3).
   *  BSD has no SO_BINDTODEVICE: the route to the peer picks the interface (peers are on-link),
   *  and binding the source address pins what the checksum's pseudo-header assumed. */
  function openRawVrrp(ifname: string, family: 4 | 6, o: RawVrrpOptions = {}): RawVrrpSocket {
    const op = 'open-raw-vrrp';
    const { setsockopt, bind, sendto } = libc;
    if (!setsockopt || !bind || !sendto)
      throw new DriverError(op, ifname, 0, 'ENOTSUP', 'the libc binding has no setsockopt/bind/sendto');
    const index = libc.if_nametoindex(ifname);
    if (index === 0) throw new DriverError(op, ifname, BSD_E.ENXIO, 'ENXIO', 'no such interface');
    const sockaddr = (text: string): Uint8Array | null => {
      if (family === 4) {
        const a = parseIPv4(text);
        return a ? encodeSockaddrIn(a) : null;
      }
      const a = parseIPv6(text);
      // RFC 4007 6: a link-local address needs its zone, the interface index.
      return a ? encodeSockaddrIn6(os, a, a[0] === 0xfe && (a[1] & 0xc0) === 0x80 ? index : 0) : null;
    };
    const src = o.src !== undefined ? sockaddr(o.src) : null;
    if (o.src !== undefined && !src)
      throw new DriverError(op, ifname, 0, 'EINVAL', `source '${o.src}' is not an IPv${family} address`);
    // Non-blocking as on Linux: a full send buffer fails the one advert (counted as a send error)
    // instead of stalling the engine's loop.
    const fd = libc.socket(
      family === 4 ? c.AF_INET : c.AF_INET6,
      c.SOCK_RAW | c.SOCK_CLOEXEC | c.SOCK_NONBLOCK,
      IPPROTO_VRRP,
    );
    if (fd < 0) fail(op, ifname, 'socket');
    try {
      const ttl = new Uint8Array(4);
      new DataView(ttl.buffer).setInt32(0, 255, true);
      const [level, name] = family === 4 ? [BSD_IPPROTO_IP, BSD_IP_TTL] : [BSD_IPPROTO_IPV6, BSD_IPV6_UNICAST_HOPS];
      if (setsockopt(fd, level, name, ttl) !== 0) fail(op, ifname, family === 4 ? 'IP_TTL' : 'IPV6_UNICAST_HOPS');
      if (src && bind(fd, src) !== 0) fail(op, ifname, `bind ${o.src}`);
    } catch (e) {
      libc.close(fd);
      throw e;
    }
    let closed = false;
    const raw: RawVrrpSocket = {
      ifname,
      family,
      send(dst: string, payload: Uint8Array): void {
        if (closed) throw new DriverError('send-advert', ifname, 0, 'EBADF', 'raw VRRP socket closed');
        const sa = sockaddr(dst);
        if (!sa) throw new DriverError('send-advert', ifname, 0, 'EINVAL', `'${dst}' is not an IPv${family} address`);
        if (sendto(fd, payload, 0, sa) < 0) fail('send-advert', ifname, `to ${dst}`);
      },
      close(): void {
        if (closed) return;
        closed = true;
        libc.close(fd);
        raws.delete(raw);
      },
    };
    raws.add(raw);
    return raw;
  }

  return {
    os,
    link,
    getMac: (ifname) => link(ifname).mac,
    setMac,
    setUp,
    addAddress,
    removeAddress,
    listAddresses,
    createMacvlan(parent: string, name: string): void {
      throw new DriverError(
        'create-macvlan',
        parent,
        0,
        'ENOTSUP',
        `${os} has no macvlan (wanted '${name}'): use mac_mode move, or none`,
      );
    },
    deleteLink(name: string): void {
      // tandem creates no links on BSD; deleting a missing one is not an error, and a present
      // one is not ours to destroy.
      if (libc.if_nametoindex(name) === 0) return;
      throw new DriverError(
        'delete-link',
        name,
        0,
        'ENOTSUP',
        `tandem creates no links on ${os}; not destroying '${name}'`,
      );
    },
    // ARP behaviour and IPv6 address generation are global on the BSDs (net.link.ether.inet.*,
    // net.inet6.ip6.*), not per interface: nothing to change, so nothing to restore.
    getInterfaceSetting: () => undefined,
    setInterfaceSetting: (ifname, name) => {
      throw new DriverError(`set ${name}`, ifname, 0, 'EOPNOTSUPP', `no per-interface ${name} on ${os}`);
    },
    // accept_mode: false would need npf (NetBSD) or pf (FreeBSD, OpenBSD) rules; not built, and
    // `tandem check` refuses accept_mode: false on these systems. Nothing is ever installed.
    setVipFilter: (name) => {
      throw new DriverError('vip-filter', name, 0, 'EOPNOTSUPP', `accept_mode: false is not implemented on ${os}`);
    },
    removeVipFilter: () => {},
    joinMulticast: (ifname, group) => multicast('join-multicast', ifname, group),
    leaveMulticast: (ifname, group) => multicast('leave-multicast', ifname, group),
    watch,
    openChannel,
    openRawVrrp,
    openBfd(family: 4 | 6): never {
      throw new DriverError('open-bfd', `udp${family}`, 0, 'ENOTSUP', `BFD is implemented on Linux only, not ${os}`);
    },
    // No NetBSD/BSD cluster data path yet (docs/cluster-datapath.md says what it would take).
    openClusterDataPath(spec: ClusterDataPathSpec): ClusterDataPath {
      throw new DriverError(
        'open-cluster',
        spec.interface,
        0,
        'ENOTSUP',
        `no active-active cluster data path on ${os} yet (docs/cluster-datapath.md); clusters run on Linux only`,
      );
    },
    removeClusterDataPath: () => {},
    close(): void {
      for (const stop of [...watchers]) stop();
      for (const r of [...raws]) r.close();
    },
  };
}
