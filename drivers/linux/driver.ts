// The Linux backend: ioctls on an AF_INET datagram socket for MAC, flags and multicast filters;
// rtnetlink for links, addresses and macvlans; libpcap (drivers/pcap-channel.ts) for frames.
// Every socket is opened when the driver is created, so a driver made inside a network namespace
// keeps working there. One owner for each side effect: the multicast filters this driver joins are
// counted and left again on close(); setMac/addAddress/createMacvlan are undone by the daemon,
// which reads getMac first and relies on removeAddress/deleteLink being idempotent.
import type {
  ClusterDataPath,
  ClusterDataPathSpec,
  Driver,
  InterfaceSettingName,
  LinkInfo,
  NetEvent,
  OsName,
  PacketChannel,
  PacketChannelOptions,
  RawVrrpOptions,
  RawVrrpSocket,
  BfdSocket,
  BfdSocketOptions,
} from '../types.ts';
import { DriverError } from '../types.ts';
import { formatMac, multicastMac, parseCidr, parseMac } from './addr.ts';
import { E, linuxError } from './errno.ts';
import type { IfreqUnion, LinuxAbi } from './ifreq.ts';
import {
  abiOf,
  AF_UNSPEC,
  ARPHRD_ETHER,
  encodeIfreq,
  IFF_LOWER_UP,
  IFF_UP,
  ifreqFlags,
  ifreqHwaddr,
  ifreqInt,
  SIOCADDMULTI,
  SIOCDELMULTI,
  SIOCGIFFLAGS,
  SIOCGIFHWADDR,
  SIOCGIFINDEX,
  SIOCSIFFLAGS,
  SIOCSIFHWADDR,
  validIfname,
} from './ifreq.ts';
import * as c from './libc.ts';
import type { NlAddr, NlLink, NlMessage } from './netlink.ts';
import {
  AF_UNSPEC as NL_AF_UNSPEC,
  decodeAddr,
  decodeLink,
  encodeAddr,
  encodeDelLink,
  encodeGetAddrDump,
  encodeGetLink,
  encodeGetLinkDump,
  encodeNewMacvlan,
  encodeUnicastFilter,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_LINK,
} from './netlink.ts';
import { RtnlSocket } from './rtnl.ts';
import { HSRP_GROUPS, openPcapChannel } from '../pcap-channel.ts';
import { openLinuxRawVrrp } from './raw-vrrp.ts';
import { openLinuxBfd } from './bfd-socket.ts';
import { readInterfaceSysctl, writeInterfaceSysctl } from './sysctl.ts';
import { Nft, VipFilters } from './nft.ts';
import { openClusterDataPath, removeClusterDataPath } from './cluster-datapath.ts';

const SIOCGIFNAME = 0x8910;
/** RFC 5798 5.1.1.2 groups, joined by a VRRP channel so a non-promiscuous NIC passes them. */
const VRRP_GROUPS = ['224.0.0.18', 'ff02::12'];

export interface LinuxDriverOptions {
  abi?: LinuxAbi;
}

export function createLinuxDriver(opts: LinuxDriverOptions = {}): LinuxDriver {
  return new LinuxDriver(opts);
}

type LinkState = { ifname: string; up: boolean; carrier: boolean };

class Watcher {
  readonly listeners = new Set<(ev: NetEvent) => void>();
  private readonly links = new Map<number, LinkState>();
  private readonly addrs = new Map<string, NlAddr>();
  private readonly poll: { close(): void; unref(): void };
  /** Times the kernel dropped events (ENOBUFS) and we resynchronised from a dump. */
  overruns = 0;

  constructor(
    private readonly sock: RtnlSocket,
    private readonly driver: LinuxDriver,
  ) {
    // Seed from dumps so only real changes are reported.
    for (const l of driver.dumpLinks()) this.links.set(l.index, stateOf(l));
    for (const a of driver.dumpAddrs()) this.addrs.set(addrKey(a), a);
    // Event-driven: a uv poll on the non-blocking socket wakes the loop as soon as the kernel
    // queues a message (no thread, no timer); unref'd so watching alone keeps no process alive.
    this.poll = c.pollReadable(sock.fd, () => this.drain());
    this.poll.unref();
  }

  private emit(ev: NetEvent): void {
    for (const l of [...this.listeners]) l(ev);
  }

  private drain(): void {
    for (;;) {
      let msgs: NlMessage[] | null;
      try {
        msgs = this.sock.receive('watch', '', c.MSG_DONTWAIT);
      } catch (e) {
        if (e instanceof DriverError && e.errno === E.ENOBUFS) {
          this.overruns++;
          this.resync();
          continue;
        }
        throw e;
      }
      if (!msgs) return;
      for (const m of msgs) this.onMessage(m);
    }
  }

  private onMessage(m: NlMessage): void {
    if (m.type === RTM_NEWLINK || m.type === RTM_DELLINK) {
      const l = decodeLink(m);
      if (l) this.onLink(l, m.type === RTM_NEWLINK);
    } else if (m.type === RTM_NEWADDR || m.type === RTM_DELADDR) {
      const a = decodeAddr(m);
      if (a) this.onAddr(a, m.type === RTM_NEWADDR);
    }
  }

  private onLink(l: NlLink, present: boolean): void {
    const old = this.links.get(l.index);
    if (!present) {
      this.links.delete(l.index);
      this.emit({ type: 'link-removed', ifname: l.ifname || old?.ifname || '', index: l.index });
      return;
    }
    const now = stateOf(l);
    this.links.set(l.index, now);
    if (old && old.up === now.up && old.carrier === now.carrier && old.ifname === now.ifname) return;
    this.emit({ type: 'link', ifname: now.ifname, index: l.index, up: now.up, carrier: now.carrier });
  }

  private onAddr(a: NlAddr, present: boolean): void {
    const key = addrKey(a);
    const had = this.addrs.has(key);
    if (present) this.addrs.set(key, a);
    else this.addrs.delete(key);
    if (had === present) return; // e.g. an IPv6 address leaving the tentative state
    const ifname = this.links.get(a.index)?.ifname ?? this.driver.nameOf(a.index);
    this.emit({
      type: present ? 'address-added' : 'address-removed',
      ifname,
      index: a.index,
      address: a.address,
      prefixLength: a.prefixLength,
    });
  }

  /** After an overrun: diff a fresh dump against what we knew and report the difference. */
  private resync(): void {
    const links = new Map(this.driver.dumpLinks().map((l) => [l.index, l] as const));
    for (const [index, old] of [...this.links]) {
      if (!links.has(index)) this.onLink({ index, ifname: old.ifname } as NlLink, false);
    }
    for (const l of links.values()) this.onLink(l, true);
    const addrs = new Map(this.driver.dumpAddrs().map((a) => [addrKey(a), a] as const));
    for (const [key, a] of [...this.addrs]) if (!addrs.has(key)) this.onAddr(a, false);
    for (const a of addrs.values()) this.onAddr(a, true);
  }

  close(): void {
    this.poll.close();
    this.sock.close();
  }
}

const stateOf = (l: NlLink): LinkState => ({
  ifname: l.ifname,
  up: (l.flags & IFF_UP) !== 0,
  carrier: (l.flags & IFF_LOWER_UP) !== 0,
});
const addrKey = (a: NlAddr) => `${a.index}|${a.address}/${a.prefixLength}`;

export class LinuxDriver implements Driver {
  readonly os: OsName = 'linux';
  private readonly abi: LinuxAbi;
  private readonly ioFd: number;
  private readonly rt: RtnlSocket;
  private watcher: Watcher | null = null;
  private readonly joined = new Map<string, number>(); // "ifname|mac" -> references
  private readonly channels = new Set<PacketChannel>();
  private readonly raws = new Set<RawVrrpSocket>();
  private readonly vipFilters = new VipFilters(new Nft()); // nftables, opened on first use
  private readonly clusters = new Set<ClusterDataPath>();
  private closed = false;

  constructor(opts: LinuxDriverOptions = {}) {
    this.abi = opts.abi ?? abiOf(process.arch);
    const s = c.socket(c.AF_INET, c.SOCK_DGRAM | c.SOCK_CLOEXEC, 0);
    if (s.ret < 0) throw linuxError('socket', '', s.errno);
    this.ioFd = s.ret;
    try {
      this.rt = new RtnlSocket(0, false, this.abi === 'lp64');
    } catch (e) {
      c.close(this.ioFd);
      throw e;
    }
  }

  // ---- ioctls ----

  private checkName(op: string, ifname: string): void {
    if (!validIfname(ifname))
      throw new DriverError(op, ifname, E.EINVAL, 'EINVAL', 'interface names are 1-15 bytes without / : or spaces');
  }

  private ifreq(op: string, ifname: string, request: number, u?: IfreqUnion): Uint8Array {
    this.checkName(op, ifname);
    const req = encodeIfreq(this.abi, ifname, u);
    const r = c.ioctl(this.ioFd, request, req);
    if (r.ret < 0) throw linuxError(op, ifname, r.errno);
    return req;
  }

  private flags(ifname: string): number {
    return ifreqFlags(this.ifreq('get-flags', ifname, SIOCGIFFLAGS));
  }

  private setFlags(op: string, ifname: string, flags: number): void {
    this.ifreq(op, ifname, SIOCSIFFLAGS, { kind: 'flags', flags });
  }

  index(ifname: string): number {
    return ifreqInt(this.ifreq('get-index', ifname, SIOCGIFINDEX));
  }

  /** The name of interface `index`, or '' when there is none (SIOCGIFNAME on our own socket, so
   *  it answers for the namespace the driver was made in). */
  nameOf(index: number): string {
    const req = new Uint8Array(encodeIfreq(this.abi, 'x', { kind: 'int', value: index }));
    req[0] = 0;
    if (c.ioctl(this.ioFd, SIOCGIFNAME, req).ret < 0) return '';
    return Buffer.from(req.subarray(0, 16)).toString('utf8').replace(/\0.*$/s, '');
  }

  getMac(ifname: string): string {
    return formatMac(ifreqHwaddr(this.ifreq('get-mac', ifname, SIOCGIFHWADDR)).mac);
  }

  setMac(ifname: string, mac: string, opts: { cycleLink?: boolean } = {}): void {
    const bytes = parseMac(mac);
    if (!bytes) throw new DriverError('set-mac', ifname, E.EINVAL, 'EINVAL', `'${mac}' is not a MAC address`);
    const u: IfreqUnion = { kind: 'hwaddr', family: ARPHRD_ETHER, mac: bytes };
    try {
      this.ifreq('set-mac', ifname, SIOCSIFHWADDR, u);
      return;
    } catch (e) {
      if (!(e instanceof DriverError) || e.errno !== E.EBUSY) throw e;
      if (!opts.cycleLink) {
        throw new DriverError(
          'set-mac',
          ifname,
          E.EBUSY,
          'EBUSY',
          'the NIC driver refuses a MAC change while up; cycleLink takes the link down for the change',
        );
      }
    }
    // Drivers using eth_mac_addr() without IFF_LIVE_ADDR_CHANGE: down, set, up (up again even if
    // the set fails, so a refusal never leaves the NIC down).
    const flags = this.flags(ifname);
    this.setFlags('set-mac', ifname, flags & ~IFF_UP);
    try {
      this.ifreq('set-mac', ifname, SIOCSIFHWADDR, u);
    } finally {
      if (flags & IFF_UP) this.setFlags('set-mac', ifname, flags | IFF_UP);
    }
  }

  setUp(ifname: string, up: boolean): void {
    const flags = this.flags(ifname);
    if (((flags & IFF_UP) !== 0) === up) return;
    this.setFlags(up ? 'link-up' : 'link-down', ifname, up ? flags | IFF_UP : flags & ~IFF_UP);
  }

  getInterfaceSetting(ifname: string, name: InterfaceSettingName): string {
    return readInterfaceSysctl(ifname, name);
  }

  setInterfaceSetting(ifname: string, name: InterfaceSettingName, value: string): void {
    writeInterfaceSysctl(ifname, name, value);
  }

  joinMulticast(ifname: string, group: string): void {
    const mac = this.groupMac('join-multicast', ifname, group);
    const key = `${ifname}|${formatMac(mac)}`;
    const n = this.joined.get(key) ?? 0;
    // SIOCADDMULTI wants sa_family AF_UNSPEC (dev_ifsioc); the kernel keeps one "global"
    // reference however often it is called, so we count callers ourselves.
    if (n === 0) this.ifreq('join-multicast', ifname, SIOCADDMULTI, { kind: 'hwaddr', family: AF_UNSPEC, mac });
    this.joined.set(key, n + 1);
  }

  leaveMulticast(ifname: string, group: string): void {
    const mac = this.groupMac('leave-multicast', ifname, group);
    const key = `${ifname}|${formatMac(mac)}`;
    const n = this.joined.get(key) ?? 0;
    if (n > 1) {
      this.joined.set(key, n - 1);
      return;
    }
    this.joined.delete(key);
    try {
      this.ifreq('leave-multicast', ifname, SIOCDELMULTI, { kind: 'hwaddr', family: AF_UNSPEC, mac });
    } catch (e) {
      // Not joined (ENOENT) or the interface is gone: nothing is left to undo.
      if (!(e instanceof DriverError) || (e.errno !== E.ENOENT && e.errno !== E.ENODEV)) throw e;
    }
  }

  private groupMac(op: string, ifname: string, group: string): Uint8Array {
    const mac = multicastMac(group);
    if (!mac) throw new DriverError(op, ifname, E.EINVAL, 'EINVAL', `'${group}' is not a multicast group or MAC`);
    return mac;
  }

  // ---- rtnetlink ----

  link(ifname: string): LinkInfo {
    this.checkName('link', ifname);
    const seq = this.rt.nextSeq();
    const msgs = this.rt.query('link', ifname, encodeGetLink(seq, ifname), seq, false);
    const l = msgs.length ? decodeLink(msgs[0]) : null;
    if (!l) throw linuxError('link', ifname, E.ENODEV);
    return {
      ifname: l.ifname,
      index: l.index,
      mac: l.mac,
      up: (l.flags & IFF_UP) !== 0,
      carrier: (l.flags & IFF_LOWER_UP) !== 0,
      mtu: l.mtu,
    };
  }

  dumpLinks(): NlLink[] {
    const seq = this.rt.nextSeq();
    return this.rt
      .query('list-links', '', encodeGetLinkDump(seq), seq, true)
      .map(decodeLink)
      .filter((l): l is NlLink => l !== null);
  }

  dumpAddrs(): NlAddr[] {
    const seq = this.rt.nextSeq();
    return this.rt
      .query('list-addresses', '', encodeGetAddrDump(seq, NL_AF_UNSPEC), seq, true)
      .map(decodeAddr)
      .filter((a): a is NlAddr => a !== null);
  }

  private cidr(op: string, ifname: string, text: string) {
    const cidr = parseCidr(text);
    if (!cidr) throw new DriverError(op, ifname, E.EINVAL, 'EINVAL', `'${text}' is not an address/prefix`);
    return cidr;
  }

  addAddress(ifname: string, cidrText: string): void {
    const cidr = this.cidr('add-address', ifname, cidrText);
    const index = this.index(ifname);
    const seq = this.rt.nextSeq();
    try {
      this.rt.request('add-address', ifname, encodeAddr(seq, true, index, cidr), seq);
    } catch (e) {
      if (!(e instanceof DriverError) || e.errno !== E.EEXIST) throw e;
    }
  }

  removeAddress(ifname: string, cidrText: string): void {
    const cidr = this.cidr('remove-address', ifname, cidrText);
    const index = this.index(ifname);
    const seq = this.rt.nextSeq();
    try {
      this.rt.request('remove-address', ifname, encodeAddr(seq, false, index, cidr), seq);
    } catch (e) {
      if (!(e instanceof DriverError) || (e.errno !== E.EADDRNOTAVAIL && e.errno !== E.ENOENT)) throw e;
    }
  }

  listAddresses(ifname: string): string[] {
    const index = this.index(ifname);
    return this.dumpAddrs()
      .filter((a) => a.index === index)
      .map((a) => `${a.address}/${a.prefixLength}`);
  }

  createMacvlan(parent: string, name: string, mac: string): void {
    this.checkName('create-macvlan', name);
    const bytes = parseMac(mac);
    if (!bytes) throw new DriverError('create-macvlan', name, E.EINVAL, 'EINVAL', `'${mac}' is not a MAC address`);
    const parentIndex = this.index(parent);
    const seq = this.rt.nextSeq();
    this.rt.request('create-macvlan', name, encodeNewMacvlan(seq, name, parentIndex, bytes), seq);
  }

  deleteLink(name: string): void {
    this.checkName('delete-link', name);
    const seq = this.rt.nextSeq();
    try {
      this.rt.request('delete-link', name, encodeDelLink(seq, name), seq);
    } catch (e) {
      if (!(e instanceof DriverError) || e.errno !== E.ENODEV) throw e;
    }
  }

  watch(listener: (ev: NetEvent) => void): () => void {
    if (!this.watcher) {
      const sock = new RtnlSocket(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, true, this.abi === 'lp64');
      try {
        this.watcher = new Watcher(sock, this);
      } catch (e) {
        sock.close();
        throw e;
      }
    }
    const w = this.watcher;
    w.listeners.add(listener);
    return () => {
      w.listeners.delete(listener);
      if (w.listeners.size === 0 && this.watcher === w) {
        w.close();
        this.watcher = null;
      }
    };
  }

  // ---- frames ----

  openChannel(ifname: string, opts: PacketChannelOptions = {}): PacketChannel {
    this.ifreq('open-channel', ifname, SIOCGIFINDEX); // ENODEV named as this operation
    const groups = opts.promiscuous
      ? []
      : [...(opts.vrrp !== false ? VRRP_GROUPS : []), ...(opts.hsrp ? HSRP_GROUPS : [])];
    const done: string[] = [];
    try {
      for (const g of groups) {
        this.joinMulticast(ifname, g);
        done.push(g);
      }
      const ch = openPcapChannel(ifname, opts, 'linux');
      const wrapped: PacketChannel = {
        ifname,
        send: (f) => ch.send(f),
        onFrame: (cb) => ch.onFrame(cb),
        dropped: () => ch.dropped(),
        close: () => {
          if (!this.channels.delete(wrapped)) return;
          ch.close();
          for (const g of done) this.leaveQuietly(ifname, g);
        },
      };
      this.channels.add(wrapped);
      return wrapped;
    } catch (e) {
      for (const g of done) this.leaveQuietly(ifname, g);
      throw e;
    }
  }

  openRawVrrp(ifname: string, family: 4 | 6, opts: RawVrrpOptions = {}): RawVrrpSocket {
    const index = ifreqInt(this.ifreq('open-raw-vrrp', ifname, SIOCGIFINDEX));
    const raw = openLinuxRawVrrp(ifname, index, family, opts);
    const wrapped: RawVrrpSocket = {
      ifname,
      family,
      send: (dst, payload) => raw.send(dst, payload),
      close: () => {
        if (this.raws.delete(wrapped)) raw.close();
      },
    };
    this.raws.add(wrapped);
    return wrapped;
  }

  openBfd(family: 4 | 6, opts: BfdSocketOptions = {}): BfdSocket {
    const b = openLinuxBfd(family, opts);
    const wrapped: BfdSocket = {
      family,
      srcPort: b.srcPort,
      send: (dst, payload) => b.send(dst, payload),
      onDatagram: (cb) => b.onDatagram(cb),
      close: () => {
        if (this.bfds.delete(wrapped)) b.close();
      },
    };
    this.bfds.add(wrapped);
    return wrapped;
  }
  private readonly bfds = new Set<BfdSocket>();

  setVipFilter(name: string, addresses: readonly string[]): void {
    this.vipFilters.set(name, addresses);
  }

  removeVipFilter(name: string): void {
    this.vipFilters.remove(name);
  }

  // ---- active-active cluster data path (cluster-datapath.ts) ----

  openClusterDataPath(spec: ClusterDataPathSpec): ClusterDataPath {
    const dp = openClusterDataPath(this, spec);
    const wrapped: ClusterDataPath = {
      setBuckets: (owned, draining, handing) => dp.setBuckets(owned, draining, handing),
      describe: () => dp.describe(),
      close: () => {
        if (this.clusters.delete(wrapped)) dp.close();
      },
    };
    this.clusters.add(wrapped);
    return wrapped;
  }

  removeClusterDataPath(name: string, ifname: string): void {
    removeClusterDataPath(this, name, ifname);
  }

  /** Adds (removes) a unicast MAC to (from) the NIC's own receive filter (netlink.ts). */
  unicastFilter(ifname: string, mac: string, add: boolean): void {
    const op = add ? 'add-unicast-filter' : 'remove-unicast-filter';
    const bytes = parseMac(mac);
    if (!bytes) throw new DriverError(op, ifname, E.EINVAL, 'EINVAL', `'${mac}' is not a MAC address`);
    const seq = this.rt.nextSeq();
    try {
      this.rt.request(op, ifname, encodeUnicastFilter(seq, add, this.index(ifname), bytes), seq);
    } catch (e) {
      const benign: number[] = add ? [E.EEXIST] : [E.ENOENT, E.ENODEV];
      if (!(e instanceof DriverError) || !benign.includes(e.errno)) throw e;
    }
  }

  private leaveQuietly(ifname: string, group: string): void {
    try {
      this.leaveMulticast(ifname, group);
    } catch {
      /* the interface may be gone */
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const dp of [...this.clusters]) dp.close();
    for (const ch of [...this.channels]) ch.close();
    for (const r of [...this.raws]) r.close();
    for (const b of [...this.bfds]) b.close();
    for (const key of [...this.joined.keys()]) {
      const [ifname, mac] = key.split('|');
      this.joined.set(key, 1);
      this.leaveQuietly(ifname, mac);
    }
    this.watcher?.close();
    this.watcher = null;
    this.rt.close();
    c.close(this.ioFd);
    this.vipFilters.close();
  }
}
