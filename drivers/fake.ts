// An in-memory Driver for unit tests: links, addresses, MACs, macvlans, multicast joins and
// events, with every call recorded. FakeLan joins several fake drivers' packet channels into one
// broadcast segment. Behaviour follows the Linux driver: the same errors (ENODEV, EEXIST,
// EADDRNOTAVAIL for a multicast MAC, EBUSY while up when a NIC is made to refuse live changes),
// the same idempotence, events delivered later (a microtask), never inside the call that caused them.
import { formatMac, multicastMac, parseCidr, parseMac } from './linux/addr.ts';
import { FakeBfdSocket } from './fake-bfd.ts';
import type {
  BfdSocket,
  BfdSocketOptions,
  ClusterDataPath,
  ClusterDataPathSpec,
  InterfaceSettingName,
  Driver,
  LinkInfo,
  NetEvent,
  OsName,
  PacketChannel,
  PacketChannelOptions,
  RawVrrpOptions,
  RawVrrpSocket,
} from './types.ts';
import { DriverError, errnoHint } from './types.ts';
import { writeEthernet, writeIpv4Header, writeIpv6Header } from '../firmware/core/packet/ether.ts';

const ERRNO: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
};

function fail(op: string, ifname: string, code: string, extra = ''): DriverError {
  return new DriverError(op, ifname, ERRNO[code] ?? 0, code, [errnoHint(code), extra].filter(Boolean).join('; '));
}

export interface FakeCall {
  op: string;
  args: unknown[];
}

export interface FakeLinkOptions {
  mac?: string;
  up?: boolean; // default true
  cable?: boolean; // carrier when up; default true
  mtu?: number; // default 1500
  /** Refuse a MAC change while up with EBUSY, as drivers without IFF_LIVE_ADDR_CHANGE do. */
  refuseMacWhileUp?: boolean;
}

interface FakeLink {
  ifname: string;
  index: number;
  mac: string;
  up: boolean;
  cable: boolean;
  mtu: number;
  refuseMacWhileUp: boolean;
  parent?: string;
  kind?: 'macvlan';
  addresses: string[];
  reported?: { up: boolean; carrier: boolean }; // last state sent to watchers
}

export interface FakeDriverOptions {
  os?: OsName;
  links?: Record<string, FakeLinkOptions>;
  /** 'microtask' (default) like a real kernel: events after the call returns. 'sync' for tests
   *  that want them inline. */
  delivery?: 'microtask' | 'sync';
}

/** Which frames a channel with these options would capture (the pcap filter, re-done by hand). */
export function fakeChannelAccepts(opts: PacketChannelOptions, frame: Uint8Array): boolean {
  if (opts.filter !== undefined) return true;
  if (frame.length < 14) return false;
  // As on Linux, where the NIC strips an 802.1Q tag into metadata before the kernel's filter runs
  // and libpcap puts it back: the filter judges what follows the tag.
  const tag = frame.length >= 18 && ((frame[12] << 8) | frame[13]) === 0x8100 ? 4 : 0;
  const type = (frame[12 + tag] << 8) | frame[13 + tag];
  const vrrp =
    (type === 0x0800 && frame.length > 23 + tag && frame[23 + tag] === 112) ||
    (type === 0x86dd && frame.length > 20 + tag && frame[20 + tag] === 112);
  const udpPort = (ipLen: number, proto: number) =>
    frame[14 + tag + proto] === 17 && frame.length > 14 + tag + ipLen + 4
      ? (frame[14 + tag + ipLen + 2] << 8) | frame[14 + tag + ipLen + 3]
      : -1;
  const hsrp = (type === 0x0800 && udpPort(20, 9) === 1985) || (type === 0x86dd && udpPort(40, 6) === 2029);
  if (opts.hsrp === true && hsrp) return true;
  const neighbor =
    type === 0x0806 ||
    (type === 0x86dd && frame.length > 54 + tag && frame[20 + tag] === 58 && frame[54 + tag] === 135);
  return (opts.vrrp !== false && vrrp) || (opts.neighbor === true && neighbor);
}

export class FakeChannel implements PacketChannel {
  readonly sent: Uint8Array[] = [];
  /** Frames handed back to this channel's listeners because it sent them (BSD only). */
  echoed = 0;
  /** Like the real drivers: BPF on the BSDs hands a channel its own sends back. */
  get echoesSends(): boolean {
    return this.driver.os !== 'linux';
  }
  private readonly listeners: Array<(f: Uint8Array) => void> = [];
  closed = false;
  droppedCount = 0;

  constructor(
    readonly driver: FakeDriver,
    readonly ifname: string,
    readonly opts: PacketChannelOptions,
  ) {}

  send(frame: Uint8Array): void {
    this.driver.record('send', [this.ifname, frame]);
    if (this.closed) throw fail('send', this.ifname, 'EBADF', 'channel closed');
    this.driver.maybeFail('send', this.ifname);
    const l = this.driver.linkState(this.ifname);
    if (!l) throw fail('send', this.ifname, 'ENODEV');
    const copy = new Uint8Array(frame);
    this.sent.push(copy);
    if (l.up && l.cable) this.driver.lan?.carry(this, copy);
    if (this.echoesSends)
      queueMicrotask(() => {
        if (this.deliver(copy)) this.echoed++;
      });
  }

  onFrame(cb: (frame: Uint8Array) => void): void {
    this.listeners.push(cb);
  }

  /** Hands a frame to the listeners as if captured (applies the channel's filter). */
  deliver(frame: Uint8Array): boolean {
    if (this.closed || !fakeChannelAccepts(this.opts, frame)) return false;
    const copy = new Uint8Array(frame);
    for (const cb of this.listeners) cb(copy);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.driver.record('channel-close', [this.ifname]);
    this.driver.forgetChannel(this);
  }

  dropped(): number {
    return this.droppedCount;
  }
}

/** A raw VRRP socket: records each send; on a FakeLan the kernel's part is played by hand (IP
 *  header with TTL 255, the peer's MAC "resolved" from whichever port holds `dst`), so the peer's
 *  packet channels capture a frame as they would on Linux. A `dst` no port holds goes nowhere. */
export class FakeRawVrrp implements RawVrrpSocket {
  readonly sent: Array<{ dst: string; payload: Uint8Array }> = [];
  closed = false;

  constructor(
    readonly driver: FakeDriver,
    readonly ifname: string,
    readonly family: 4 | 6,
    readonly src: string | undefined,
  ) {}

  send(dst: string, payload: Uint8Array): void {
    this.driver.record('raw-send', [this.ifname, dst, payload]);
    if (this.closed) throw fail('send-advert', this.ifname, 'EBADF', 'raw VRRP socket closed');
    const l = this.driver.linkState(this.ifname);
    if (!l) throw fail('send-advert', this.ifname, 'ENODEV');
    const d = parseCidr(dst);
    if (!d || d.family !== this.family || d.prefixLength !== (this.family === 4 ? 32 : 128)) {
      throw fail('send-advert', this.ifname, 'EINVAL', `'${dst}' is not an IPv${this.family} address`);
    }
    const copy = new Uint8Array(payload);
    this.sent.push({ dst: d.text.split('/')[0], payload: copy });
    const src =
      this.src ??
      l.addresses
        .map((a) => parseCidr(a)!)
        .find((a) => a.family === this.family)
        ?.text.split('/')[0];
    if (!src || !l.up || !l.cable) return;
    this.driver.lan?.carryIp(this.driver, this.ifname, this.family, parseCidr(src)!.address, d.address, copy);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.driver.record('raw-close', [this.ifname]);
  }
}

/** A cluster's data path in memory (issue #13): records the spec, every setBuckets and close. */
export class FakeClusterDataPath implements ClusterDataPath {
  owned: number[] = [];
  draining: number[] = [];
  handing: number[] = [];
  readonly history: { owned: number[]; draining: number[]; handing: number[] }[] = [];
  closed = false;

  constructor(
    readonly driver: FakeDriver,
    readonly spec: ClusterDataPathSpec,
  ) {}

  setBuckets(owned: readonly number[], draining: readonly number[], handing: readonly number[] = []): void {
    this.driver.record('cluster-set-buckets', [this.spec.name, [...owned], [...draining], [...handing]]);
    if (this.closed) throw fail('cluster-set-buckets', this.spec.interface, 'EBADF', 'data path closed');
    this.driver.maybeFail('cluster-set-buckets', this.spec.interface);
    const own = new Set(owned);
    this.owned = [...own].sort((a, b) => a - b);
    this.draining = [...new Set(draining)].filter((b) => !own.has(b)).sort((a, b) => a - b);
    this.handing = [...new Set(handing)].filter((b) => this.draining.includes(b)).sort((a, b) => a - b);
    this.history.push({ owned: this.owned, draining: this.draining, handing: this.handing });
  }

  describe(): { table: string; mac: string; addresses: string[]; sysctls: Record<string, string> } {
    return { table: `tandem_${this.spec.name}`, mac: this.spec.mac, addresses: [...this.spec.addresses], sysctls: {} };
  }

  /** The connections a test says conntrack holds open; `undefined` stands for a missing tool. */
  connections: { client: string; service: string }[] | undefined = [];
  openConnections(): Promise<{ client: string; service: string }[]> {
    this.driver.record('cluster-open-connections', [this.spec.name]);
    return this.connections
      ? Promise.resolve([...this.connections])
      : Promise.reject(new Error('conntrack -L: not found'));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.driver.record('cluster-close', [this.spec.name]);
    this.driver.forgetClusterDataPath(this);
  }
}

export class FakeDriver implements Driver {
  readonly os: OsName;
  readonly calls: FakeCall[] = [];
  lan: FakeLan | null = null;
  private readonly links = new Map<string, FakeLink>();
  private readonly listeners = new Set<(ev: NetEvent) => void>();
  private readonly chans = new Set<FakeChannel>();
  private readonly raws = new Set<FakeRawVrrp>();
  /** Cluster data paths installed and not closed, by cluster name. */
  readonly clusterPaths = new Map<string, FakeClusterDataPath>();
  private readonly joins = new Map<string, number>();
  private readonly settings = new Map<string, string>();
  private readonly filters = new Map<string, readonly string[]>();
  private readonly failures = new Map<string, string[]>();
  private readonly persistentFailures = new Map<string, string>();
  private readonly delivery: 'microtask' | 'sync';
  private nextIndex = 1;
  closed = false;

  constructor(opts: FakeDriverOptions = {}) {
    this.os = opts.os ?? 'linux';
    this.delivery = opts.delivery ?? 'microtask';
    this.addLinkQuietly('lo', { mac: '00:00:00:00:00:00' });
    for (const [name, o] of Object.entries(opts.links ?? {})) this.addLinkQuietly(name, o);
  }

  // ---- test controls ----

  record(op: string, args: unknown[]): void {
    this.calls.push({ op, args });
  }

  /** Calls of one operation, e.g. callsOf('set-mac'). */
  callsOf(op: string): unknown[][] {
    return this.calls.filter((c) => c.op === op).map((c) => c.args);
  }

  /** Makes the next call of `op` ('set-mac', 'add-address', ...) throw DriverError(code). */
  failNext(op: string, code: string): void {
    const q = this.failures.get(op) ?? [];
    q.push(code);
    this.failures.set(op, q);
  }

  /** Makes every call of `op` throw DriverError(code) until called again with null. */
  failAlways(op: string, code: string | null): void {
    if (code) this.persistentFailures.set(op, code);
    else this.persistentFailures.delete(op);
  }

  /** Throws the failure injected for `op`, if any (failNext first, then failAlways). */
  maybeFail(op: string, ifname: string): void {
    const code = this.failures.get(op)?.shift() ?? this.persistentFailures.get(op);
    if (code) throw fail(op, ifname, code, 'injected by FakeDriver');
  }

  private addLinkQuietly(ifname: string, o: FakeLinkOptions, extra: Partial<FakeLink> = {}): FakeLink {
    const index = this.nextIndex++;
    const l: FakeLink = {
      ifname,
      index,
      mac: o.mac ? formatMac(parseMac(o.mac)!) : `02:fa:ce:00:00:${index.toString(16).padStart(2, '0')}`,
      up: o.up ?? true,
      cable: o.cable ?? true,
      mtu: o.mtu ?? 1500,
      refuseMacWhileUp: o.refuseMacWhileUp ?? false,
      addresses: [],
      ...extra,
    };
    this.links.set(ifname, l);
    if (!extra.parent) l.reported = { up: l.up, carrier: this.carrier(l) };
    return l;
  }

  /** A NIC appears (hot-plug): emits a link event. */
  addLink(ifname: string, o: FakeLinkOptions = {}): LinkInfo {
    const l = this.addLinkQuietly(ifname, o);
    this.emit({ type: 'link', ifname, index: l.index, up: l.up, carrier: this.carrier(l) });
    return this.info(l);
  }

  /** A NIC disappears: emits link-removed (and its macvlans go too). */
  removeLink(ifname: string): void {
    const l = this.links.get(ifname);
    if (!l) return;
    for (const m of [...this.links.values()]) if (m.parent === ifname) this.removeLink(m.ifname);
    this.links.delete(ifname);
    this.emit({ type: 'link-removed', ifname, index: l.index });
  }

  /** Plug or unplug the cable: carrier follows when the link is up. */
  setCable(ifname: string, cable: boolean): void {
    const l = this.need('set-cable', ifname);
    if (l.cable === cable) return;
    l.cable = cable;
    this.emitLink(l);
    for (const m of this.links.values()) if (m.parent === ifname) this.emitLink(m);
  }

  /** The frames sent on `ifname` (all interfaces when omitted), oldest first. */
  sentFrames(ifname?: string): Uint8Array[] {
    return this.callsOf('send')
      .filter((a) => ifname === undefined || a[0] === ifname)
      .map((a) => a[1] as Uint8Array);
  }

  /** Delivers a frame to this driver's open channels on `ifname`; returns how many took it. */
  deliver(ifname: string, frame: Uint8Array): number {
    let n = 0;
    for (const ch of this.chans) if (ch.ifname === ifname && ch.deliver(frame)) n++;
    return n;
  }

  openChannels(ifname?: string): FakeChannel[] {
    return [...this.chans].filter((c) => ifname === undefined || c.ifname === ifname);
  }

  /** Multicast MACs joined on `ifname` (with joinMulticast, counted once each). */
  joinedGroups(ifname: string): string[] {
    return [...this.joins.keys()].filter((k) => k.startsWith(`${ifname}|`)).map((k) => k.split('|')[1]);
  }

  linkState(ifname: string): Readonly<FakeLink> | undefined {
    return this.links.get(ifname);
  }

  forgetChannel(ch: FakeChannel): void {
    this.chans.delete(ch);
  }

  // ---- events ----

  private emit(ev: NetEvent): void {
    if (this.listeners.size === 0) return;
    const run = () => {
      for (const l of [...this.listeners]) l(ev);
    };
    if (this.delivery === 'sync') run();
    else queueMicrotask(run);
  }

  private carrier(l: FakeLink): boolean {
    const parent = l.parent ? this.links.get(l.parent) : undefined;
    return l.up && l.cable && (!l.parent || (!!parent && parent.up && parent.cable));
  }

  /** Like the Linux watcher: only a change of up or carrier is reported. */
  private emitLink(l: FakeLink): void {
    const now = { up: l.up, carrier: this.carrier(l) };
    if (l.reported && l.reported.up === now.up && l.reported.carrier === now.carrier) return;
    l.reported = now;
    this.emit({ type: 'link', ifname: l.ifname, index: l.index, ...now });
  }

  private need(op: string, ifname: string): FakeLink {
    const l = this.links.get(ifname);
    if (!l) throw fail(op, ifname, 'ENODEV');
    return l;
  }

  private info(l: FakeLink): LinkInfo {
    return { ifname: l.ifname, index: l.index, mac: l.mac, up: l.up, carrier: this.carrier(l), mtu: l.mtu };
  }

  // ---- Driver ----

  link(ifname: string): LinkInfo {
    this.record('link', [ifname]);
    this.maybeFail('link', ifname);
    return this.info(this.need('link', ifname));
  }

  getMac(ifname: string): string {
    this.record('get-mac', [ifname]);
    this.maybeFail('get-mac', ifname);
    return this.need('get-mac', ifname).mac;
  }

  setMac(ifname: string, mac: string, opts: { cycleLink?: boolean } = {}): void {
    this.record('set-mac', [ifname, mac, opts]);
    this.maybeFail('set-mac', ifname);
    const l = this.need('set-mac', ifname);
    const bytes = parseMac(mac);
    if (!bytes) throw fail('set-mac', ifname, 'EINVAL', `'${mac}' is not a MAC address`);
    if ((bytes[0] & 1) === 1 || bytes.every((b) => b === 0)) throw fail('set-mac', ifname, 'EADDRNOTAVAIL');
    if (l.refuseMacWhileUp && l.up) {
      if (!opts.cycleLink) throw fail('set-mac', ifname, 'EBUSY', 'cycleLink takes the link down for the change');
      l.up = false;
      this.emitLink(l);
      l.mac = formatMac(bytes);
      l.up = true;
      this.emitLink(l);
      return;
    }
    l.mac = formatMac(bytes);
  }

  setUp(ifname: string, up: boolean): void {
    this.record('set-up', [ifname, up]);
    this.maybeFail('set-up', ifname);
    const l = this.need('set-up', ifname);
    if (l.up === up) return;
    l.up = up;
    this.emitLink(l);
    for (const m of this.links.values()) if (m.parent === ifname) this.emitLink(m);
  }

  addAddress(ifname: string, cidrText: string): void {
    this.record('add-address', [ifname, cidrText]);
    this.maybeFail('add-address', ifname);
    const l = this.need('add-address', ifname);
    const c = parseCidr(cidrText);
    if (!c) throw fail('add-address', ifname, 'EINVAL', `'${cidrText}' is not an address/prefix`);
    if (l.addresses.includes(c.text)) return;
    l.addresses.push(c.text);
    this.emit({
      type: 'address-added',
      ifname,
      index: l.index,
      address: c.text.split('/')[0],
      prefixLength: c.prefixLength,
    });
  }

  removeAddress(ifname: string, cidrText: string): void {
    this.record('remove-address', [ifname, cidrText]);
    this.maybeFail('remove-address', ifname);
    const l = this.need('remove-address', ifname);
    const c = parseCidr(cidrText);
    if (!c) throw fail('remove-address', ifname, 'EINVAL', `'${cidrText}' is not an address/prefix`);
    const at = l.addresses.indexOf(c.text);
    if (at < 0) return;
    l.addresses.splice(at, 1);
    this.emit({
      type: 'address-removed',
      ifname,
      index: l.index,
      address: c.text.split('/')[0],
      prefixLength: c.prefixLength,
    });
  }

  listAddresses(ifname: string): string[] {
    this.record('list-addresses', [ifname]);
    this.maybeFail('list-addresses', ifname);
    return [...this.need('list-addresses', ifname).addresses];
  }

  createMacvlan(parent: string, name: string, mac: string): void {
    this.record('create-macvlan', [parent, name, mac]);
    this.maybeFail('create-macvlan', name);
    this.need('create-macvlan', parent);
    if (this.links.has(name)) throw fail('create-macvlan', name, 'EEXIST');
    const bytes = parseMac(mac);
    if (!bytes) throw fail('create-macvlan', name, 'EINVAL', `'${mac}' is not a MAC address`);
    for (const l of this.links.values()) {
      if (l.parent === parent && l.mac === formatMac(bytes)) throw fail('create-macvlan', name, 'EADDRINUSE');
    }
    const l = this.addLinkQuietly(name, { mac, up: false }, { parent, kind: 'macvlan' });
    this.emitLink(l);
  }

  deleteLink(name: string): void {
    this.record('delete-link', [name]);
    this.maybeFail('delete-link', name);
    this.removeLink(name);
  }

  /** Per-interface settings: Linux-like defaults ("0") on a fake Linux, none on a fake BSD. */
  getInterfaceSetting(ifname: string, name: InterfaceSettingName): string | undefined {
    this.link(ifname);
    if (this.os !== 'linux') return undefined;
    return this.settings.get(`${ifname}|${name}`) ?? '0';
  }

  setInterfaceSetting(ifname: string, name: InterfaceSettingName, value: string): void {
    this.record('set-interface-setting', [ifname, name, value]);
    this.maybeFail('set-interface-setting', ifname);
    this.link(ifname);
    if (this.os !== 'linux') throw new DriverError(`set ${name}`, ifname, 0, 'EOPNOTSUPP', 'not on this OS');
    this.settings.set(`${ifname}|${name}`, value);
  }

  setVipFilter(name: string, addresses: readonly string[]): void {
    this.record('set-vip-filter', [name, [...addresses]]);
    this.maybeFail('set-vip-filter', name);
    if (this.os !== 'linux')
      throw fail('vip-filter', name, 'EINVAL', `accept_mode: false is not implemented on ${this.os}`);
    this.filters.set(name, [...addresses]);
  }

  removeVipFilter(name: string): void {
    this.record('remove-vip-filter', [name]);
    this.maybeFail('remove-vip-filter', name);
    this.filters.delete(name);
  }

  joinMulticast(ifname: string, group: string): void {
    this.record('join-multicast', [ifname, group]);
    this.maybeFail('join-multicast', ifname);
    this.need('join-multicast', ifname);
    const mac = multicastMac(group);
    if (!mac) throw fail('join-multicast', ifname, 'EINVAL', `'${group}' is not a multicast group or MAC`);
    const key = `${ifname}|${formatMac(mac)}`;
    this.joins.set(key, (this.joins.get(key) ?? 0) + 1);
  }

  leaveMulticast(ifname: string, group: string): void {
    this.record('leave-multicast', [ifname, group]);
    this.maybeFail('leave-multicast', ifname);
    const mac = multicastMac(group);
    if (!mac) throw fail('leave-multicast', ifname, 'EINVAL', `'${group}' is not a multicast group or MAC`);
    const key = `${ifname}|${formatMac(mac)}`;
    const n = this.joins.get(key) ?? 0;
    if (n > 1) this.joins.set(key, n - 1);
    else this.joins.delete(key);
  }

  watch(listener: (ev: NetEvent) => void): () => void {
    this.record('watch', []);
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  openChannel(ifname: string, opts: PacketChannelOptions = {}): PacketChannel {
    this.record('open-channel', [ifname, opts]);
    this.maybeFail('open-channel', ifname);
    // As libpcap on Linux (pcap_activate: "That device is not up"): no capture on an admin-down link.
    if (!this.need('open-channel', ifname).up)
      throw fail('open-channel', ifname, 'EIO', 'libpcap: That device is not up (as the real driver)');
    const ch = new FakeChannel(this, ifname, opts);
    this.chans.add(ch);
    return ch;
  }

  openRawVrrp(ifname: string, family: 4 | 6, opts: RawVrrpOptions = {}): RawVrrpSocket {
    this.record('open-raw-vrrp', [ifname, family, opts]);
    this.maybeFail('open-raw-vrrp', ifname);
    this.need('open-raw-vrrp', ifname);
    if (family !== 4 && family !== 6)
      throw fail('open-raw-vrrp', ifname, 'EINVAL', `family must be 4 or 6, got ${String(family)}`);
    if (opts.src !== undefined && parseCidr(opts.src)?.family !== family) {
      throw fail('open-raw-vrrp', ifname, 'EINVAL', `source '${opts.src}' is not an IPv${family} address`);
    }
    const r = new FakeRawVrrp(this, ifname, family, opts.src);
    this.raws.add(r);
    return r;
  }

  private readonly bfds = new Set<FakeBfdSocket>();
  openBfd(family: 4 | 6, opts: BfdSocketOptions = {}): BfdSocket {
    this.record('open-bfd', [family, opts]);
    this.maybeFail('open-bfd', opts.ifname ?? '');
    const b = new FakeBfdSocket(family, 49152 + this.bfds.size, opts.src, opts.ifname);
    this.bfds.add(b);
    return b;
  }

  /** BFD sockets opened and not closed. */
  openBfds(): FakeBfdSocket[] {
    return [...this.bfds].filter((b) => !b.closed);
  }

  /** Accept_Mode filters in place: name -> the addresses they drop packets for. */
  vipFilters(): Map<string, readonly string[]> {
    return new Map(this.filters);
  }

  openClusterDataPath(spec: ClusterDataPathSpec): ClusterDataPath {
    this.record('open-cluster-data-path', [spec]);
    this.maybeFail('open-cluster-data-path', spec.interface);
    this.need('open-cluster-data-path', spec.interface);
    this.clusterPaths.get(spec.name)?.close(); // a stale one of the same name is replaced
    const dp = new FakeClusterDataPath(this, spec);
    this.clusterPaths.set(spec.name, dp);
    return dp;
  }

  removeClusterDataPath(name: string, ifname: string): void {
    this.record('remove-cluster-data-path', [name, ifname]);
    this.clusterPaths.get(name)?.close();
  }

  forgetClusterDataPath(dp: FakeClusterDataPath): void {
    if (this.clusterPaths.get(dp.spec.name) === dp) this.clusterPaths.delete(dp.spec.name);
  }

  /** Raw VRRP sockets opened and not closed. */
  openRaws(): FakeRawVrrp[] {
    return [...this.raws].filter((r) => !r.closed);
  }

  close(): void {
    this.record('close', []);
    this.closed = true;
    for (const r of this.raws) r.close();
    for (const b of this.bfds) b.close();
    for (const dp of [...this.clusterPaths.values()]) dp.close();
    for (const ch of [...this.chans]) ch.close();
    this.listeners.clear();
    this.lan?.detach(this);
  }
}

/** One broadcast segment: a frame sent on an attached (driver, interface) reaches every other
 *  attached one whose link is up with carrier, unless the segment is cut for it. Like a Linux
 *  packet socket, the sending channel never sees its own frame. */
export class FakeLan {
  private readonly ports: Array<{ driver: FakeDriver; ifname: string }> = [];
  private readonly cut = new Set<string>();
  readonly frames: Array<{ from: string; frame: Uint8Array }> = [];
  /** Optional: return false to drop a frame in transit (loss, partitions by content). */
  filter:
    | ((
        frame: Uint8Array,
        from: { driver: FakeDriver; ifname: string },
        to: { driver: FakeDriver; ifname: string },
      ) => boolean)
    | null = null;

  constructor(private readonly delivery: 'microtask' | 'sync' = 'microtask') {}

  attach(driver: FakeDriver, ifname: string): this {
    if (driver.lan && driver.lan !== this) throw new Error('a FakeDriver joins at most one FakeLan');
    driver.lan = this;
    this.ports.push({ driver, ifname });
    return this;
  }

  detach(driver: FakeDriver): void {
    for (let i = this.ports.length - 1; i >= 0; i--) if (this.ports[i].driver === driver) this.ports.splice(i, 1);
    if (driver.lan === this) driver.lan = null;
  }

  private key(driver: FakeDriver, ifname: string): string {
    return `${this.ports.findIndex((p) => p.driver === driver)}|${ifname}`;
  }

  /** Cuts (or restores) one port: nothing goes in or out, the link itself stays up. */
  setCut(driver: FakeDriver, ifname: string, cut: boolean): void {
    if (cut) this.cut.add(this.key(driver, ifname));
    else this.cut.delete(this.key(driver, ifname));
  }

  carry(from: FakeChannel, frame: Uint8Array): void {
    const src = this.ports.find((p) => p.driver === from.driver && p.ifname === from.ifname);
    if (!src || this.cut.has(this.key(src.driver, src.ifname))) return;
    this.frames.push({ from: `${this.ports.indexOf(src)}:${src.ifname}`, frame });
    const go = () => {
      for (const dst of this.ports) {
        if (this.cut.has(this.key(dst.driver, dst.ifname))) continue;
        const l = dst.driver.linkState(dst.ifname);
        if (!l?.up || !l.cable) continue;
        if (this.filter && !this.filter(frame, src, dst)) continue;
        for (const ch of dst.driver.openChannels(dst.ifname)) if (ch !== from) ch.deliver(frame);
      }
    };
    if (this.delivery === 'sync') go();
    else queueMicrotask(go);
  }

  /** A unicast IP packet (protocol 112) from a raw socket: delivered as a frame to the port whose
   *  interface holds `dst`, from the sender's NIC MAC to that port's, with TTL / Hop Limit 255. */
  carryIp(
    driver: FakeDriver,
    ifname: string,
    family: 4 | 6,
    src: Uint8Array,
    dst: Uint8Array,
    payload: Uint8Array,
  ): void {
    const from = this.ports.find((p) => p.driver === driver && p.ifname === ifname);
    if (!from || this.cut.has(this.key(driver, ifname))) return;
    const dstText = parseCidr(family === 4 ? [...dst].join('.') : hex6(dst))!.text;
    const to = this.ports.find(
      (p) =>
        p !== from && p.driver.linkState(p.ifname)?.addresses.some((a) => a.split('/')[0] === dstText.split('/')[0]),
    );
    if (!to) return; // nobody answers ARP / ND for it
    const ipLen = family === 4 ? 20 : 40;
    const { frame, offset } = writeEthernet(
      to.driver.linkState(to.ifname)!.mac,
      driver.linkState(ifname)!.mac,
      undefined,
      family === 4 ? 0x0800 : 0x86dd,
      ipLen + payload.length,
    );
    if (family === 4) {
      writeIpv4Header(frame, offset, {
        tos: 0xc0,
        id: 0,
        dontFragment: true,
        ttl: 255,
        protocol: 112,
        src,
        dst,
        payloadLen: payload.length,
      });
    } else {
      writeIpv6Header(frame, offset, {
        trafficClass: 0xc0,
        flowLabel: 0,
        nextHeader: 112,
        hopLimit: 255,
        src,
        dst,
        payloadLen: payload.length,
      });
    }
    frame.set(payload, offset + ipLen);
    this.frames.push({ from: `${this.ports.indexOf(from)}:${from.ifname}`, frame });
    const go = () => {
      if (this.cut.has(this.key(to.driver, to.ifname))) return;
      const l = to.driver.linkState(to.ifname);
      if (!l?.up || !l.cable) return;
      if (this.filter && !this.filter(frame, from, to)) return;
      for (const ch of to.driver.openChannels(to.ifname)) ch.deliver(frame);
    };
    if (this.delivery === 'sync') go();
    else queueMicrotask(go);
  }
}

function hex6(b: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return g.join(':');
}
