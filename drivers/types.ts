// The driver interface: everything tandem asks of the operating system and the NIC. The daemon
// sees only this; tests use drivers/fake.ts. Backends: drivers/linux (real here), drivers/bsd
// (NetBSD, FreeBSD, OpenBSD: encoded per the facts, untested on a real kernel).

export type OsName = 'linux' | 'netbsd' | 'freebsd' | 'openbsd';

/** Every failure is one of these: names the interface, the operation and errno in words. */
export class DriverError extends Error {
  constructor(
    readonly op: string, // 'set-mac', 'add-address', 'create-macvlan', ...
    readonly ifname: string,
    readonly errno: number, // positive errno, 0 when not from a syscall
    readonly code: string, // 'EPERM', 'ENODEV', 'EBUSY', ...
    readonly hint: string, // plain words: 'not root / missing CAP_NET_ADMIN'
  ) {
    super(`${op} ${ifname}: ${code}${hint ? ` (${hint})` : ''}`);
    this.name = 'DriverError';
  }
}

/** Plain-words hint for an errno name, shared by every backend ('' when there is nothing to add). */
export function errnoHint(code: string): string {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return 'not root / missing CAP_NET_ADMIN';
    case 'ENODEV':
    case 'ENXIO':
      return 'no such interface';
    case 'EBUSY':
      return 'the NIC driver refuses this while the link is up';
    case 'EADDRINUSE':
      return 'address already in use on this port';
    case 'EADDRNOTAVAIL':
      return 'address not valid here (multicast or zero MAC, or not configured)';
    case 'EEXIST':
      return 'already exists';
    case 'EINVAL':
      return 'the kernel rejected an argument';
    case 'EOPNOTSUPP':
      return 'not supported by this interface or kernel';
    case 'ENOBUFS':
    case 'ENOMEM':
      return 'kernel out of buffers';
    case 'ENETDOWN':
      return 'interface is down';
    case 'ETIMEDOUT':
      return 'no answer from the kernel in time';
    default:
      return '';
  }
}

export interface LinkInfo {
  ifname: string;
  index: number;
  mac: string;
  up: boolean; // administratively up (IFF_UP)
  carrier: boolean; // lower layer up (IFF_LOWER_UP / link state)
  mtu: number;
}

export type NetEvent =
  | { type: 'link'; ifname: string; index: number; up: boolean; carrier: boolean }
  | { type: 'link-removed'; ifname: string; index: number }
  | { type: 'address-added'; ifname: string; index: number; address: string; prefixLength: number }
  | { type: 'address-removed'; ifname: string; index: number; address: string; prefixLength: number };

export interface PacketChannelOptions {
  /** Capture VRRP (IP proto 112, v4 and v6). Default true. */
  vrrp?: boolean;
  /** Also capture HSRP (UDP 1985 over IPv4, 2029 over IPv6) and join its groups (224.0.0.2,
   *  224.0.0.102, ff02::66). Default false. */
  hsrp?: boolean;
  /** Also capture ARP requests and IPv6 Neighbor Solicitations (for answering). Default false. */
  neighbor?: boolean;
  /** Capture in promiscuous mode. Default false: the Linux driver joins the VRRP group MACs
   *  (01:00:5e:00:00:12, 33:33:00:00:00:12) for the channel's lifetime instead. */
  promiscuous?: boolean;
  /** A libpcap filter expression used instead of the two above (tests, diagnostics). */
  filter?: string;
}

/** Capture and injection of whole Ethernet frames on one interface (libpcap). */
export interface PacketChannel {
  readonly ifname: string;
  send(frame: Uint8Array): void; // throws DriverError on failure
  onFrame(cb: (frame: Uint8Array) => void): void;
  close(): void;
  /** Frames the kernel dropped before we read them (pcap_stats ps_drop), when known. */
  dropped(): number;
  /** The channel hands back the frames it sent itself: BPF does (bpfopen() sets bd_seesent = 1,
   *  NetBSD sys/net/bpf.c 1.191; FreeBSD and OpenBSD alike), a Linux packet socket does not. Such
   *  echoes are expected, not drops. */
  readonly echoesSends?: boolean;
}

/** A raw IP socket for VRRP (IP protocol 112) on one interface, for unicast adverts: the kernel
 *  adds the IP header and resolves the peer's link address, so a peer is reached through routing
 *  and neighbour discovery rather than by an Ethernet frame we build. Send-only. */
export interface RawVrrpSocket {
  readonly ifname: string;
  readonly family: 4 | 6;
  /** Sends one VRRP message (the IP payload, checksum already filled in) to `dst`. Throws
   *  DriverError. The kernel sets TTL / Hop Limit 255 (RFC 5798 5.1.1.3 / 5.1.2.3). */
  send(dst: string, payload: Uint8Array): void;
  close(): void;
}

export interface RawVrrpOptions {
  /** Source address to bind (the sender's primary address, so the checksum's pseudo-header and
   *  the packet agree). Without it the kernel picks one by its routing. */
  src?: string;
}

/** One UDP datagram received on the BFD Control port, with the TTL / Hop Limit it arrived with
 *  (RFC 5881 section 5 needs it: single-hop BFD accepts only 255). */
export interface BfdDatagram {
  src: string; // canonical text
  srcPort: number;
  ttl: number;
  data: Uint8Array;
}

/** Single-hop BFD over UDP (RFC 5881): sends from a source port in 49152-65535 with TTL / Hop
 *  Limit 255 to port 3784; receives every datagram to local port 3784 of its family. */
export interface BfdSocket {
  readonly family: 4 | 6;
  readonly srcPort: number;
  send(dst: string, payload: Uint8Array): void; // throws DriverError
  onDatagram(cb: (d: BfdDatagram) => void): void;
  close(): void;
}

export interface BfdSocketOptions {
  /** Local address to send from (the instance's primary address). */
  src?: string;
  /** Interface to pin the sending socket to (SO_BINDTODEVICE), so a link-local peer resolves. */
  ifname?: string;
}

/** Per-interface kernel settings that tandem may change (and restores at exit). On Linux these
 *  are the sysctls net.ipv4.conf.IF.arp_ignore / arp_announce (ip-sysctl.rst) and
 *  net.ipv6.conf.IF.disable_ipv6 / addr_gen_mode; the BSDs have no per-interface equivalent. */
export type InterfaceSettingName = 'arp_ignore' | 'arp_announce' | 'disable_ipv6' | 'addr_gen_mode';
export const INTERFACE_SETTING_NAMES: readonly InterfaceSettingName[] = [
  'arp_ignore',
  'arp_announce',
  'disable_ipv6',
  'addr_gen_mode',
];

/** One active-active cluster's data path on one interface (issue #13). */
export interface ClusterDataPathSpec {
  /** Cluster name from the config; names the driver's objects (nft table `tandem_<name>`). */
  name: string;
  interface: string;
  /** 1..255, the cluster's identity on the wire. */
  id: number;
  /** The cluster MAC, computed by the core (`clusterMac(id, macMode)` in firmware/core/cluster/). */
  mac: string;
  macMode: 'multicast' | 'igmp' | 'unicast';
  /** "addr/prefix" strings, IPv4 and IPv6. */
  addresses: string[];
  /** Number of hash buckets, fixed for the cluster's life. Bucket numbers are 0..buckets-1. */
  buckets: number;
  /** source: hash the client (source) address only; source-dest: both addresses. Never ports. */
  hash: 'source' | 'source-dest';
  /** Hash seed; identical on every node of the cluster (the core derives it from the id). */
  seed: number;
  /** local (default): the addresses are this node's services. forward: they are a gateway; every
   *  IPv4 frame to the cluster MAC is hashed on its source here and on its destination on the
   *  return path's interface, so both directions of a flow reach the same node. */
  mode?: 'local' | 'forward';
  /** forward: the servers' side (IPv4 "addr/prefix" gateway addresses). */
  returnPath?: { interface: string; addresses: string[] };
}

export interface ClusterDataPath {
  /** Sets, atomically (one libnftables transaction), which buckets this node serves:
   *  `owned`: every packet (new flows too); `draining`: only packets of flows this node already
   *  tracks (established/related), new ones dropped. Any other bucket: dropped.
   *  A bucket in both lists counts as owned. `handing` (a subset of draining, default none):
   *  UDP, ICMP and other non-TCP packets still pass, new TCP flows do not (the new owner has not
   *  claimed the bucket yet). */
  setBuckets(owned: readonly number[], draining: readonly number[], handing?: readonly number[]): void;
  /** What is installed, for `tandem status`: table name, joined MAC, addresses, sysctls changed. */
  describe(): { table: string; mac: string; addresses: string[]; sysctls: Record<string, string> };
  /** The TCP connections to the cluster addresses (forward mode: through the node) that connection tracking still holds open (not
   *  TIME_WAIT or CLOSE), as client and service address: how the engine learns that a draining
   *  bucket's flows have ended. Absent where the OS has no such view. */
  openConnections?(): Promise<{ client: string; service: string }[]>;
  /** Removes everything the data path installed and restores every sysctl it changed. */
  close(): void;
}

export interface Driver {
  readonly os: OsName;
  link(ifname: string): LinkInfo; // throws DriverError(ENODEV)
  getMac(ifname: string): string;
  /** Sets the NIC's own MAC. `cycleLink`: when the driver refuses while up (EBUSY), take the
   *  link down, set, and bring it up again; without it the EBUSY is reported. */
  setMac(ifname: string, mac: string, opts?: { cycleLink?: boolean }): void;
  setUp(ifname: string, up: boolean): void;
  /** Addresses as "addr/prefix" strings. IPv6 are added with IFA_F_NODAD where the OS has it. */
  addAddress(ifname: string, cidr: string): void; // adding an existing one is not an error
  removeAddress(ifname: string, cidr: string): void; // removing a missing one is not an error
  listAddresses(ifname: string): string[];
  /** A macvlan (bridge mode) on `parent` named `name` carrying `mac` (RFC 5798 7.3 virtual MAC). */
  createMacvlan(parent: string, name: string, mac: string): void;
  deleteLink(name: string): void; // deleting a missing one is not an error
  /** The current value of a per-interface setting, or undefined where this OS has no such
   *  setting (then there is nothing to set or restore). Throws DriverError for a missing interface. */
  getInterfaceSetting(ifname: string, name: InterfaceSettingName): string | undefined;
  setInterfaceSetting(ifname: string, name: InterfaceSettingName, value: string): void;
  /** RFC 5798 6.1 Accept_Mode false: a kernel filter named `name` (letters, digits, `_`) that drops
   *  IP packets addressed to `addresses`, while ARP and IPv6 Neighbor Discovery for them still pass.
   *  Setting a name again replaces its addresses. Linux: nftables (drivers/linux/nft.ts); the BSDs
   *  throw EOPNOTSUPP (not built: npf on NetBSD, pf elsewhere; `tandem check` refuses it there). */
  setVipFilter(name: string, addresses: readonly string[]): void;
  removeVipFilter(name: string): void; // removing a missing one is not an error
  joinMulticast(ifname: string, group: string): void;
  leaveMulticast(ifname: string, group: string): void;
  /** Link and address events (netlink / routing socket). Returns a function that stops watching. */
  watch(listener: (ev: NetEvent) => void): () => void;
  openChannel(ifname: string, opts?: PacketChannelOptions): PacketChannel;
  /** A raw VRRP socket on `ifname` for unicast adverts (keepalived's unicast_peer). */
  openRawVrrp(ifname: string, family: 4 | 6, opts?: RawVrrpOptions): RawVrrpSocket;
  /** A single-hop BFD socket (RFC 5881). Linux only; the BSD backend throws ENOTSUP. */
  openBfd(family: 4 | 6, opts?: BfdSocketOptions): BfdSocket;
  /** Installs a cluster's data path (replacing any stale one of the same name left by a crash). */
  openClusterDataPath(spec: ClusterDataPathSpec): ClusterDataPath;
  /** Removes a data path left by a crashed run (from the journal); a missing one is not an error. */
  removeClusterDataPath(name: string, ifname: string): void;
  close(): void;
}
