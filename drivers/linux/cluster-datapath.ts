// The Linux data path of an active-active cluster (issue #13; docs/cluster-datapath.md): every
// node receives every client frame (sent to a shared cluster MAC), the kernel hashes the client
// address into a bucket (nft `jhash`) and passes only the buckets the engine says this node
// serves. The data path never decides ownership: it installs what setBuckets() is given.
//
// What it installs, and undoes on close() (or removeClusterDataPath() after a crash):
// - nft tables `tandem_<name>` in the netdev, arp and inet families (nftables.ts, one transaction);
// - the cluster MAC in the NIC's multicast filter (multicast, igmp) plus, in igmp mode, an IPv4
//   group joined on a socket so the kernel's IGMP reports make snooping switches forward; in
//   unicast mode the MAC in the NIC's unicast filter;
// - the IPv4 addresses /32 on the interface, the IPv6 addresses /128 nodad on `lo` (so the
//   kernel never answers a Neighbor Solicitation for them with the node's MAC, and its own
//   solicitations use a link-local source); NS for them are answered from userspace with an NA
//   carrying the cluster MAC;
// - sysctls: arp_announce=2 on the interface, nf_conntrack_tcp_loose=0 in the namespace.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeNd } from '../../firmware/core/packet/nd.ts';
import { encodeNeighborAdvert, readEthernet } from '../../firmware/core/packet/index.ts';
import { solicitedNodeAddress } from '../../firmware/core/packet/addr.ts';
import {
  ETHERTYPE_IPV6,
  ICMPV6_NEIGHBOR_SOLICIT,
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  ND_HOP_LIMIT,
} from '../../firmware/core/packet/constants.ts';
import type { ClusterDataPath, ClusterDataPathSpec, PacketChannel, PacketChannelOptions } from '../types.ts';
import { DriverError } from '../types.ts';
import { formatMac, parseCidr, parseMac } from './addr.ts';
import { validIfname } from './ifreq.ts';
import * as c from './libc.ts';
import { linuxError } from './errno.ts';
import { nftRun } from './nftables.ts';
import { readInterfaceSysctl, writeInterfaceSysctl } from './sysctl.ts';

/** What the data path needs of the Linux driver (LinuxDriver implements it). */
export interface ClusterHost {
  getMac(ifname: string): string;
  index(ifname: string): number;
  link(ifname: string): { up: boolean };
  joinMulticast(ifname: string, group: string): void;
  leaveMulticast(ifname: string, group: string): void;
  addAddress(ifname: string, cidr: string): void;
  removeAddress(ifname: string, cidr: string): void;
  listAddresses(ifname: string): string[];
  openChannel(ifname: string, opts?: PacketChannelOptions): PacketChannel;
  /** The NIC's unicast receive filter (unicast mode: the shared MAC is not the NIC's own). */
  unicastFilter(ifname: string, mac: string, add: boolean): void;
}

/** The interface IPv6 cluster addresses live on (see the top of this file). */
export const V6_ADDRESS_LINK = 'lo';
/** Netdev ingress priority: before anything an operator is likely to hook there. */
const INGRESS_PRIORITY = -300;
/** After conntrack (-200, NF_IP_PRI_CONNTRACK) so `ct state` is known, before mangle (-150). */
const PREROUTING_PRIORITY = -190;
/** The one namespace-wide sysctl (Documentation/networking/nf_conntrack-sysctl.rst). */
const TCP_LOOSE_PATH = '/proc/sys/net/netfilter/nf_conntrack_tcp_loose';
const TCP_LOOSE = 'net.netfilter.nf_conntrack_tcp_loose';

export const tableName = (name: string): string => `tandem_${name}`;
/** The config's cluster names (firmware/config): all valid in an nft identifier after `tandem_`. */
const CLUSTER_NAME = /^[A-Za-z0-9_.-]{1,32}$/;

function fail(op: string, ifname: string, code: string, hint: string): DriverError {
  return new DriverError(op, ifname, 0, code, hint);
}

interface Plan {
  table: string;
  ifname: string;
  mac: string;
  v4: string[]; // bare addresses
  v6: string[];
  buckets: number;
  hashV4: string;
  hashV6: string;
  hashArp: string;
  hashNa: string;
  /** forward mode: the return path's interface and its IPv4 gateway addresses (bare). */
  forward?: { rif: string; r4: string[]; hashReturn: string };
}

/** Checks a spec and derives what the ruleset needs. Throws DriverError('open-cluster', ...). */
export function planOf(spec: ClusterDataPathSpec): Plan {
  const op = 'open-cluster';
  const ifname = spec.interface;
  if (!validIfname(ifname)) throw fail(op, ifname, 'EINVAL', 'not a valid interface name');
  if (!CLUSTER_NAME.test(spec.name))
    throw fail(
      op,
      ifname,
      'EINVAL',
      `cluster name '${spec.name}' must be 1-32 of A-Z a-z 0-9 _ . - (it names nft tables)`,
    );
  const mac = parseMac(spec.mac);
  if (!mac) throw fail(op, ifname, 'EINVAL', `'${spec.mac}' is not a MAC address`);
  const multicast = (mac[0] & 1) === 1;
  if (spec.macMode === 'unicast' && multicast)
    throw fail(op, ifname, 'EINVAL', `unicast mode needs a unicast cluster MAC, not ${formatMac(mac)}`);
  if (spec.macMode !== 'unicast' && !multicast)
    throw fail(op, ifname, 'EINVAL', `${spec.macMode} mode needs a multicast cluster MAC, not ${formatMac(mac)}`);
  if (spec.macMode === 'igmp' && !(mac[0] === 0x01 && mac[1] === 0x00 && mac[2] === 0x5e && mac[3] < 0x80))
    throw fail(
      op,
      ifname,
      'EINVAL',
      `igmp mode needs an IPv4 group MAC 01:00:5e:00:00:00-7f:ff:ff, not ${formatMac(mac)}`,
    );
  if (!Number.isInteger(spec.buckets) || spec.buckets < 1 || spec.buckets > 4096)
    throw fail(op, ifname, 'EINVAL', `buckets must be 1..4096, got ${spec.buckets}`);
  if (!Number.isInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xffffffff)
    throw fail(op, ifname, 'EINVAL', `seed must be a 32-bit unsigned integer, got ${spec.seed}`);
  const v4: string[] = [],
    v6: string[] = [];
  for (const text of spec.addresses) {
    const cidr = parseCidr(text);
    if (!cidr) throw fail(op, ifname, 'EINVAL', `'${text}' is not an address/prefix`);
    const bare = cidr.text.slice(0, cidr.text.indexOf('/'));
    (cidr.family === 4 ? v4 : v6).push(bare);
  }
  if (v4.length + v6.length === 0) throw fail(op, ifname, 'EINVAL', 'a cluster needs at least one address');
  let forward: Plan['forward'];
  if (spec.mode === 'forward') {
    const rp = spec.returnPath;
    if (!rp) throw fail(op, ifname, 'EINVAL', 'forward mode needs a return path');
    if (!validIfname(rp.interface) || rp.interface === ifname)
      throw fail(op, rp.interface, 'EINVAL', 'the return path needs its own, valid interface');
    if (v6.length || spec.hash !== 'source')
      throw fail(op, ifname, 'EINVAL', 'forward mode is IPv4 and hashes the client (source) only');
    const r4: string[] = [];
    for (const text of rp.addresses) {
      const cidr = parseCidr(text);
      if (cidr?.family !== 4) throw fail(op, rp.interface, 'EINVAL', `'${text}' is not an IPv4 address/prefix`);
      r4.push(cidr.text.slice(0, cidr.text.indexOf('/')));
    }
    if (!r4.length) throw fail(op, rp.interface, 'EINVAL', 'the return path needs at least one address');
    forward = {
      rif: rp.interface,
      r4,
      hashReturn: `jhash ip daddr mod ${spec.buckets} seed 0x${spec.seed.toString(16)}`,
    };
  } else if (spec.returnPath) throw fail(op, ifname, 'EINVAL', 'a return path needs forward mode');
  // jhash over addresses only, never ports: a non-first fragment has no ports, and must land in
  // the same bucket as the first one (../shared/facts/cluster.md).
  const tail = `mod ${spec.buckets} seed 0x${spec.seed.toString(16)}`;
  const both = spec.hash === 'source-dest';
  return {
    table: tableName(spec.name),
    ifname,
    mac: formatMac(mac),
    v4,
    v6,
    buckets: spec.buckets,
    hashV4: `jhash ${both ? 'ip saddr . ip daddr' : 'ip saddr'} ${tail}`,
    hashV6: `jhash ${both ? 'ip6 saddr . ip6 daddr' : 'ip6 saddr'} ${tail}`,
    hashArp: `jhash ${both ? 'arp saddr ip . arp daddr ip' : 'arp saddr ip'} ${tail}`,
    // An NA goes back to the asker: its destination is the client whose bucket decides.
    hashNa: `jhash ${both ? 'ip6 daddr . ip6 saddr' : 'ip6 daddr'} ${tail}`,
    ...(forward ? { forward } : {}),
  };
}

const elements = (xs: readonly (string | number)[]): string => (xs.length ? ` elements = { ${xs.join(', ')} };` : '');

/**
 * The whole ruleset as one nft buffer (applied as one transaction). `comment` is what a later
 * removeClusterDataPath needs after a crash (the MAC joined and the sysctl values to restore).
 * The packet mark carries the bucket number from the netdev hook to the inet hook: nft 1.0.6
 * cannot compare a raw jhash with a `type mark` set, so the hash goes through `meta mark` anyway.
 */
export function ruleset(p: Plan, comment: string): string {
  const t = p.table;
  const dev = JSON.stringify(p.ifname);
  const fw = p.forward;
  const rdev = fw ? JSON.stringify(fw.rif) : '';
  const sets = `set addrs4 { type ipv4_addr;${elements(p.v4)} }\n  set addrs6 { type ipv6_addr;${elements(p.v6)} }`;
  const rset = fw ? `\n  set raddrs4 { type ipv4_addr;${elements(fw.r4)} }` : '';
  // local: packets to the cluster addresses; forward: every IPv4 frame to the cluster MAC (the
  // addresses are the clients' gateway), hashed on the client: source here, destination on the
  // return path (../shared/facts/cluster.md: jhash over addresses, never ports).
  const toHash = fw
    ? `ether daddr ${p.mac} meta protocol ip meta mark set ${p.hashV4} goto bucket`
    : `meta protocol ip ip daddr @addrs4 meta mark set ${p.hashV4} goto bucket
    meta protocol ip6 ip6 daddr @addrs6 meta mark set ${p.hashV6} goto bucket`;
  const returnChain = fw
    ? `
  chain ingress_return {
    type filter hook ingress device ${rdev} priority ${INGRESS_PRIORITY}; policy accept;
    arp operation request arp daddr ip @raddrs4 goto arp_request
    ether daddr ${p.mac} meta protocol ip meta mark set ${fw.hashReturn} goto bucket
    ether daddr ${p.mac} meta protocol arp meta pkttype set host accept
    ether daddr ${p.mac} drop
  }`
    : '';
  const arpReturn = fw
    ? `\n    meta oifname ${rdev} arp operation reply arp saddr ip @raddrs4 arp saddr ether set ${p.mac}`
    : '';
  const toCluster = fw
    ? `iifname { ${dev}, ${rdev} } ether daddr ${p.mac} goto cluster`
    : `iifname ${dev} ip daddr @addrs4 goto cluster
    iifname ${dev} ip6 daddr @addrs6 goto cluster`;
  // The bucket number is the packet's mark only until here: a forwarded packet leaves without it.
  const clearMark = fw ? '\n    meta mark set 0' : '';
  return `table netdev ${t} {
  comment ${JSON.stringify(comment)}
  ${sets}${rset}
  set owned { type mark; }
  set serving { type mark; }
  chain ingress {
    type filter hook ingress device ${dev} priority ${INGRESS_PRIORITY}; policy accept;
    arp operation request arp daddr ip @addrs4 goto arp_request
    ${toHash}
    ether daddr ${p.mac} meta protocol arp meta pkttype set host accept
    ether daddr ${p.mac} drop
  }${returnChain}
  chain arp_request {
    meta mark set ${p.hashArp}
    meta mark != @owned drop
    ether daddr ${p.mac} meta pkttype set host
  }
  chain bucket {
    meta mark != @serving drop
    ether daddr ${p.mac} meta pkttype set host
  }
  chain egress {
    type filter hook egress device ${dev} priority 0; policy accept;
    meta protocol ip6 ip6 saddr @addrs6 ip6 daddr != ff00::/8 icmpv6 type nd-neighbor-advert meta mark set ${p.hashNa} goto na_reply
  }
  chain na_reply {
    meta mark != @owned drop
    meta mark set 0
  }
}
table arp ${t} {
  ${sets.split('\n')[0]}${rset}
  chain output {
    type filter hook output priority 0; policy accept;
    meta oifname ${dev} arp operation reply arp saddr ip @addrs4 arp saddr ether set ${p.mac}${arpReturn}
  }
}
table inet ${t} {
  ${sets}
  set draining { type mark; }
  set handing { type mark; }
  chain prerouting {
    type filter hook prerouting priority ${PREROUTING_PRIORITY}; policy accept;
    ${toCluster}
  }
  chain cluster {
    ct state invalid drop
    meta mark @draining meta l4proto tcp ct state != { established, related } drop
    meta mark @draining meta mark != @handing meta l4proto != tcp drop${clearMark}
  }
}
`;
}

/** The ruleset split into its netdev+arp half and its inet half. */
function splitRuleset(text: string): [string, string] {
  const i = text.indexOf('table inet ');
  return [text.slice(0, i), text.slice(i)];
}

/** The transaction that makes `owned`/`draining` current (flush and refill, atomic). */
export function bucketCommands(
  table: string,
  buckets: number,
  owned: readonly number[],
  draining: readonly number[],
  handing: readonly number[] = [],
) {
  const check = (b: number) => {
    if (!Number.isInteger(b) || b < 0 || b >= buckets)
      throw new DriverError('set-buckets', table, 0, 'EINVAL', `bucket ${b} is not in 0..${buckets - 1}`);
  };
  owned.forEach(check);
  draining.forEach(check);
  handing.forEach(check);
  const own = [...new Set(owned)].sort((a, b) => a - b);
  const ownSet = new Set(own);
  const drain = [...new Set(draining)].filter((b) => !ownSet.has(b)).sort((a, b) => a - b);
  const drainSet = new Set(drain);
  const hand = [...new Set(handing)].filter((b) => drainSet.has(b)).sort((a, b) => a - b);
  const serving = [...own, ...drain].sort((a, b) => a - b);
  const lines = [
    `flush set netdev ${table} owned`,
    `flush set netdev ${table} serving`,
    `flush set inet ${table} draining`,
    `flush set inet ${table} handing`,
  ];
  if (own.length) lines.push(`add element netdev ${table} owned { ${own.join(', ')} }`);
  if (serving.length) lines.push(`add element netdev ${table} serving { ${serving.join(', ')} }`);
  if (drain.length) lines.push(`add element inet ${table} draining { ${drain.join(', ')} }`);
  if (hand.length) lines.push(`add element inet ${table} handing { ${hand.join(', ')} }`);
  return `${lines.join('\n')}\n`;
}

// ---- sysctls: one owner, reference counted per process, restored by the last user ----

type SysctlKey = { kind: 'arp_announce'; ifname: string } | { kind: 'tcp_loose' };
const held = new Map<string, { original: string; refs: number }>();
const keyOf = (k: SysctlKey) => (k.kind === 'tcp_loose' ? TCP_LOOSE : `net.ipv4.conf.${k.ifname}.arp_announce`);

function readSysctl(k: SysctlKey): string {
  if (k.kind === 'arp_announce') return readInterfaceSysctl(k.ifname, 'arp_announce');
  try {
    return readFileSync(TCP_LOOSE_PATH, 'utf8').trim();
  } catch (e) {
    throw fail('read tcp_loose', '', (e as NodeJS.ErrnoException).code ?? 'EIO', 'nf_conntrack not loaded?');
  }
}

function writeSysctl(k: SysctlKey, value: string): void {
  if (k.kind === 'arp_announce') {
    writeInterfaceSysctl(k.ifname, 'arp_announce', value);
    return;
  }
  try {
    writeFileSync(TCP_LOOSE_PATH, value);
  } catch (e) {
    throw fail('set tcp_loose', '', (e as NodeJS.ErrnoException).code ?? 'EIO', 'cannot write nf_conntrack_tcp_loose');
  }
}

function holdSysctl(k: SysctlKey, value: string): string {
  const key = keyOf(k);
  const h = held.get(key);
  if (h) {
    h.refs++;
    return h.original;
  }
  const original = readSysctl(k);
  if (original !== value) writeSysctl(k, value);
  held.set(key, { original, refs: 1 });
  return original;
}

function releaseSysctl(k: SysctlKey): void {
  const key = keyOf(k);
  const h = held.get(key);
  if (!h) return;
  if (--h.refs > 0) return;
  held.delete(key);
  try {
    writeSysctl(k, h.original);
  } catch {
    /* the interface may be gone: nothing left to restore */
  }
}

// ---- the IPv4 group of igmp mode ----

const IPPROTO_IP = 0,
  IP_ADD_MEMBERSHIP = 35;

/** 01:00:5e:XX:YY:ZZ (XX < 0x80) -> 239.XX.YY.ZZ, an administratively scoped group (RFC 2365)
 *  whose mapped MAC (RFC 1112 6.4: the low 23 bits) is the cluster MAC; for the core's MAC
 *  01:00:5e:7e:54:<id> that is 239.126.84.<id>, as docs/configuration.md says. */
export function igmpGroupOf(mac: string): string {
  const b = parseMac(mac);
  if (!b) throw new TypeError(`not a MAC: ${mac}`);
  return `239.${b[3]}.${b[4]}.${b[5]}`;
}

/** A socket that holds an IPv4 group on `index` (ip_mreqn, include/uapi/linux/in.h): the kernel
 *  sends the IGMP reports and answers queries while it is open. Returns the fd. */
function joinIgmpGroup(ifname: string, index: number, group: string): number {
  const s = c.socket(c.AF_INET, c.SOCK_DGRAM | c.SOCK_CLOEXEC, 0);
  if (s.ret < 0) throw linuxError('join-igmp', ifname, s.errno);
  const mreqn = new Uint8Array(12);
  mreqn.set(group.split('.').map(Number), 0);
  new DataView(mreqn.buffer).setInt32(8, index, true);
  const r = c.setsockopt(s.ret, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreqn);
  if (r.ret < 0) {
    c.close(s.ret);
    throw linuxError('join-igmp', ifname, r.errno, group);
  }
  return s.ret;
}

// ---- crash recovery ----

/** The comment on the netdev table: what removeClusterDataPath must undo after a crash. */
function recoveryComment(ifname: string, mac: string, sysctls: Record<string, string>, rif?: string): string {
  const name = (k: string) =>
    k === TCP_LOOSE
      ? 'tcp_loose'
      : rif && k === keyOf({ kind: 'arp_announce', ifname: rif })
        ? 'rarp_announce'
        : 'arp_announce';
  const restore = Object.entries(sysctls)
    .map(([k, v]) => `${name(k)}=${v}`)
    .join(' ');
  return `tandem cluster on ${ifname}; mac=${mac};${rif ? ` return=${rif};` : ''} restore ${restore}`.slice(0, 250);
}

function listTable(family: string, table: string): string | null {
  try {
    return nftRun('list-cluster', '', `list table ${family} ${table}\n`);
  } catch (e) {
    if (e instanceof DriverError && e.code === 'ENOENT') return null;
    throw e;
  }
}

function deleteTables(table: string): void {
  for (const family of ['netdev', 'arp', 'inet']) {
    try {
      nftRun('remove-cluster', '', `delete table ${family} ${table}\n`);
    } catch (e) {
      if (!(e instanceof DriverError) || e.code !== 'ENOENT') throw e;
    }
  }
}

function setElements(listing: string, set: string): string[] {
  const m = new RegExp(`set ${set} \\{[^}]*?elements = \\{([^}]*)\\}`, 's').exec(listing);
  return m
    ? m[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

/** Undoes what a crashed run left (from the nft table it left): addresses, MAC, sysctls, tables. */
export function removeClusterDataPath(host: ClusterHost, name: string, ifname: string): void {
  if (!CLUSTER_NAME.test(name)) return; // never ours: planOf refuses such names
  const table = tableName(name);
  const listing = listTable('netdev', table);
  if (listing) {
    for (const a of setElements(listing, 'addrs4')) quietly(() => host.removeAddress(ifname, `${a}/32`));
    for (const a of setElements(listing, 'addrs6')) {
      quietly(() => host.removeAddress(V6_ADDRESS_LINK, `${a}/128`));
      quietly(() => host.leaveMulticast(ifname, solicitedNodeAddress(a)));
    }
    const comment = /comment "([^"]*)"/.exec(listing)?.[1] ?? '';
    const mac = /mac=([0-9a-f:]{17})/.exec(comment)?.[1];
    // SIOCADDMULTI and the unicast filter outlive the process that asked for them: undo here.
    if (mac && (parseMac(mac)![0] & 1) === 1) quietly(() => host.leaveMulticast(ifname, mac));
    else if (mac) quietly(() => host.unicastFilter(ifname, mac, false));
    const announce = / arp_announce=(\d)/.exec(comment)?.[1];
    if (announce !== undefined && !held.has(keyOf({ kind: 'arp_announce', ifname })))
      quietly(() => writeInterfaceSysctl(ifname, 'arp_announce', announce));
    // forward mode: the return path's addresses, MAC and sysctl
    const rif = /return=([^;\s]+);/.exec(comment)?.[1];
    if (rif && validIfname(rif)) {
      for (const a of setElements(listing, 'raddrs4')) quietly(() => host.removeAddress(rif, `${a}/32`));
      if (mac && (parseMac(mac)![0] & 1) === 1) quietly(() => host.leaveMulticast(rif, mac));
      else if (mac) quietly(() => host.unicastFilter(rif, mac, false));
      const rannounce = /rarp_announce=(\d)/.exec(comment)?.[1];
      if (rannounce !== undefined && !held.has(keyOf({ kind: 'arp_announce', ifname: rif })))
        quietly(() => writeInterfaceSysctl(rif, 'arp_announce', rannounce));
    }
    const loose = /tcp_loose=(\d)/.exec(comment)?.[1];
    if (loose !== undefined && !held.has(TCP_LOOSE)) quietly(() => writeSysctl({ kind: 'tcp_loose' }, loose));
  }
  deleteTables(table);
}

function quietly(f: () => void): void {
  try {
    f();
  } catch {
    /* best effort: the interface may be gone */
  }
}

// ---- the data path ----

export function openClusterDataPath(host: ClusterHost, spec: ClusterDataPathSpec): ClusterDataPath {
  const p = planOf(spec);
  const { ifname } = p;
  const index = host.index(ifname); // ENODEV named for this interface
  // The interfaces the cluster MAC, its sysctl and its IPv4 addresses go on: one, or two in
  // forward mode (the return path too).
  const sides = [
    { dev: ifname, index, v4: p.v4 },
    ...(p.forward ? [{ dev: p.forward.rif, index: host.index(p.forward.rif), v4: p.forward.r4 }] : []),
  ];
  if (p.v6.length && !host.link(V6_ADDRESS_LINK).up)
    throw fail('open-cluster', ifname, 'ENETDOWN', `IPv6 cluster addresses live on ${V6_ADDRESS_LINK}, which is down`);
  // A stale data path of this name (a crash, the journal not read yet) is replaced, not doubled.
  removeClusterDataPath(host, spec.name, ifname);

  const undo: (() => void)[] = [];
  const sysctls: Record<string, string> = {};
  const originals: Record<string, string> = {};
  let closed = false;
  const nodeMac = host.getMac(ifname);
  const joinsMac = spec.macMode !== 'unicast';
  const runUndo = () => {
    for (const f of undo.splice(0).reverse()) quietly(f);
  };

  try {
    // 1. The inet table first: its ct expressions load nf_conntrack in this namespace, which
    //    brings the tcp_loose sysctl to life.
    const [netdevArp, inet] = splitRuleset(ruleset(p, ''));
    nftRun('open-cluster', ifname, inet);
    undo.push(() => deleteTables(p.table));

    // 2. Sysctls (their originals go into the netdev table's comment, for crash recovery).
    //    arp_announce=2: the node's own ARP requests never carry a cluster address as sender IP,
    //    which would teach the segment the node's MAC for it (ip-sysctl.rst; measured 7.3 s of
    //    outage with 0). tcp_loose=0: a node that gets a bucket mid-stream drops the packets of
    //    TCP flows it does not track (ct state invalid) instead of picking them up and sending RST.
    for (const { dev } of sides) {
      const announce: SysctlKey = { kind: 'arp_announce', ifname: dev };
      originals[keyOf(announce)] = holdSysctl(announce, '2');
      sysctls[keyOf(announce)] = '2';
      undo.push(() => releaseSysctl(announce));
    }
    const loose: SysctlKey = { kind: 'tcp_loose' };
    originals[TCP_LOOSE] = holdSysctl(loose, '0');
    sysctls[TCP_LOOSE] = '0';
    undo.push(() => releaseSysctl(loose));

    // 3. The bucket filter and the ARP rewrite, one transaction.
    const comment = recoveryComment(ifname, p.mac, originals, p.forward?.rif);
    nftRun('open-cluster', ifname, netdevArp.replace('comment ""', `comment ${JSON.stringify(comment)}`));

    // 4. The cluster MAC in the NIC's filter; igmp mode also holds the group for snooping switches.
    for (const { dev, index: devIndex } of sides) {
      if (joinsMac) {
        host.joinMulticast(dev, p.mac);
        undo.push(() => host.leaveMulticast(dev, p.mac));
      }
      if (spec.macMode === 'unicast') {
        host.unicastFilter(dev, p.mac, true);
        undo.push(() => host.unicastFilter(dev, p.mac, false));
      }
      if (spec.macMode === 'igmp') {
        const fd = joinIgmpGroup(dev, devIndex, igmpGroupOf(p.mac));
        undo.push(() => c.close(fd));
      }
    }

    // 5. Addresses: IPv4 /32 on the interface, IPv6 /128 nodad on lo (top of file).
    for (const { dev, v4 } of sides) {
      const present4 = new Set(host.listAddresses(dev));
      for (const a of v4) {
        const cidr = `${a}/32`;
        if (present4.has(cidr)) continue; // the operator's: not ours to remove
        host.addAddress(dev, cidr);
        undo.push(() => host.removeAddress(dev, cidr));
      }
    }
    if (p.v6.length) {
      const present6 = new Set(host.listAddresses(V6_ADDRESS_LINK));
      for (const a of p.v6) {
        const cidr = `${a}/128`;
        if (!present6.has(cidr)) {
          host.addAddress(V6_ADDRESS_LINK, cidr);
          undo.push(() => host.removeAddress(V6_ADDRESS_LINK, cidr));
        }
        const group = solicitedNodeAddress(a);
        host.joinMulticast(ifname, group);
        undo.push(() => host.leaveMulticast(ifname, group));
      }
      // 6. NS for the addresses answered here, with the cluster MAC as target link-layer address.
      const ch = host.openChannel(ifname, { vrrp: false, filter: 'icmp6 and ip6[40] == 135' });
      undo.push(() => ch.close());
      const mine = new Set(p.v6);
      ch.onFrame((frame) => {
        const na = neighborAdvertFor(frame, mine, nodeMac, p.mac);
        if (na) quietly(() => ch.send(na));
      });
    }
  } catch (e) {
    runUndo();
    throw e;
  }

  const describe = () => ({
    table: p.table,
    mac: p.mac,
    addresses: sides.flatMap((s) => s.v4.map((a) => `${a}/32`)).concat(p.v6.map((a) => `${a}/128`)),
    sysctls: { ...sysctls },
  });
  return {
    setBuckets(owned, draining, handing = []) {
      if (closed) throw fail('set-buckets', ifname, 'EBADF', `cluster ${spec.name} is closed`);
      nftRun('set-buckets', ifname, bucketCommands(p.table, p.buckets, owned, draining, handing));
    },
    describe,
    // forward mode: every flow through the node (none of its own addresses at either end)
    openConnections: () =>
      p.forward
        ? openConnections(
            null,
            null,
            new Set(sides.flatMap((s) => host.listAddresses(s.dev).map((x) => x.split('/')[0]))),
          )
        : openConnections(p.v4, p.v6),
    close() {
      if (closed) return;
      closed = true;
      runUndo();
    },
  };
}

/** The `conntrack` tool (conntrack-tools) lists the namespace's table; a drain check waits this
 *  long for it at most. */
const CONNTRACK_TIMEOUT_MS = 2_000;

/** TCP connections to the cluster addresses that conntrack holds open: `conntrack -L -p tcp`, per
 *  family, original direction's src (client) and dst (service); TIME_WAIT and CLOSE are over. */
async function openConnections(
  v4: readonly string[] | null,
  v6: readonly string[] | null,
  own?: ReadonlySet<string>,
): Promise<{ client: string; service: string }[]> {
  const out: { client: string; service: string }[] = [];
  for (const [family, addrs] of [
    ['ipv4', v4],
    ['ipv6', v6],
  ] as const) {
    if (addrs ? !addrs.length : family === 'ipv6') continue;
    const text = await new Promise<string>((resolve, reject) =>
      execFile(
        'conntrack',
        ['-L', '-f', family, '-p', 'tcp'],
        { timeout: CONNTRACK_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout) => (err ? reject(new Error(`conntrack -L: ${err.message}`)) : resolve(stdout)),
      ),
    );
    out.push(...parseConntrackList(text, addrs ? new Set(addrs.map(canonicalIp)) : null, own));
  }
  return out;
}

/** One text per address: IPv6 compressed and lower case (RFC 5952, as the URL parser writes it). */
const canonicalIp = (a: string) => (a.includes(':') ? new URL(`http://[${a}]/`).hostname.slice(1, -1) : a);

/** Lines of `conntrack -L -p tcp`: "tcp 6 431999 ESTABLISHED src=A dst=B sport=.. dport=.. src=B
 *  dst=A ..."; the first src/dst pair is the original direction. `services` null (forward mode):
 *  every flow through the node, that is neither from nor to one of its `own` addresses. */
export function parseConntrackList(
  text: string,
  services: ReadonlySet<string> | null,
  own: ReadonlySet<string> = new Set(),
): { client: string; service: string }[] {
  const out: { client: string; service: string }[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'tcp' || f[3] === 'TIME_WAIT' || f[3] === 'CLOSE') continue;
    const client = f.find((x) => x.startsWith('src='))?.slice(4);
    const service = f.find((x) => x.startsWith('dst='))?.slice(4);
    if (!client || !service) continue;
    if (services ? services.has(canonicalIp(service)) : !own.has(client) && !own.has(service))
      out.push({ client, service });
  }
  return out;
}

/**
 * The NA answering one captured frame, or null when it is not a valid NS (RFC 4861 7.1.1: hop
 * limit 255, checksum, code, options) for one of `targets`. Solicited (unicast back to the
 * asker's link address) or, for a DAD probe from "::", to all-nodes (RFC 4861 7.2.4).
 * Sent from the node's own MAC (a frame from the cluster MAC would teach switches to send it to
 * one port); the target link-layer address is the cluster MAC.
 */
export function neighborAdvertFor(
  frame: Uint8Array,
  targets: ReadonlySet<string>,
  nodeMac: string,
  clusterMac: string,
): Uint8Array | null {
  const eth = readEthernet(frame);
  if (!eth.ok || eth.eth.etherType !== ETHERTYPE_IPV6) return null;
  const o = eth.offset;
  if (frame.length < o + IPV6_HEADER_LEN) return null;
  if (frame[o + 6] !== IPPROTO_ICMPV6 || frame[o + 7] !== ND_HOP_LIMIT) return null;
  const len = (frame[o + 4] << 8) | frame[o + 5];
  if (frame.length < o + IPV6_HEADER_LEN + len) return null;
  const src = frame.subarray(o + 8, o + 24),
    dst = frame.subarray(o + 24, o + 40);
  const r = decodeNd(frame.subarray(o + IPV6_HEADER_LEN, o + IPV6_HEADER_LEN + len), src, dst);
  if (!r.ok || r.nd.type !== ICMPV6_NEIGHBOR_SOLICIT || !targets.has(r.nd.target)) return null;
  const dad = r.nd.src === '::';
  return encodeNeighborAdvert({
    srcMac: nodeMac,
    src: r.nd.target,
    dst: dad ? 'ff02::1' : r.nd.src,
    dstMac: dad ? undefined : (r.nd.linkAddr ?? eth.eth.src),
    target: r.nd.target,
    router: false,
    solicited: !dad,
    override: true,
    linkAddr: clusterMac,
    vlan: eth.eth.vlan,
  });
}
