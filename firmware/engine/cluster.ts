// One active-active cluster on this node (issue #13, docs/cluster.md): its capture of the cluster
// adverts (IP protocol 253), the membership machine (core/cluster/machine.ts) on one timer, and
// the data path behind the driver, told which buckets this node serves on every change. The
// engine never hashes a packet: the kernel does (drivers/linux's nftables).
import type { ClusterDataPath, Driver, NetEvent, PacketChannel } from '../../drivers/types.ts';
import type { ClusterConfig } from '../config/types.ts';
import {
  type ClusterAction,
  ClusterMachine,
  clusterBucketOf,
  type HeardAdvert,
  clusterMac,
  clusterSeed,
  clusterWeight,
  nodeIdOf,
} from '../core/cluster/index.ts';
import {
  type ClusterAdvert,
  type ClusterDropReason,
  decodeClusterFrame,
  encodeClusterFrame,
} from '../core/packet/cluster.ts';
import { parseIp } from '../core/packet/addr.ts';
import type { ClusterStatus, EngineEvent } from '../core/status.ts';
import type { Logger } from '../runtime/log.ts';
import type { ConntrackdDriver } from '../../drivers/conntrackd.ts';
import { ClusterStateSync } from './cluster-state-sync.ts';
import type { Journal } from './journal.ts';
import { TrackScript } from './scripts.ts';

/** While a bucket drains, connection tracking is asked this often whether its flows have ended. */
export const DRAIN_CHECK_MS = 1_000;

/** The capture: cluster adverts only. The Linux driver joins the VRRP group MACs for it, which
 *  are the groups the adverts are sent to. */
export const CLUSTER_CAPTURE_FILTER = 'ip proto 253 or ip6 proto 253';

export interface ClusterRunnerDeps {
  driver: Driver;
  journal: Journal;
  log: Logger;
  now: () => number;
  node: string;
  /** Addresses on the interface that are not this node's own (instances' and clusters' VIPs). */
  foreignAddresses: () => Set<string>;
  onEvent: (e: EngineEvent) => void;
  onChange: () => void;
  /** Where a forward cluster's state sync writes conntrackd's files. */
  stateDir: string;
  conntrackd?: ConntrackdDriver; // tests stand one in
}

export class ClusterRunner {
  private machine!: ClusterMachine;
  private channel: PacketChannel | undefined;
  private dataPath: ClusterDataPath | undefined;
  private timer: NodeJS.Timeout | undefined;
  private src: { family: 4 | 6; address: string } | undefined;
  private dirty = false; // the data path missed a setBuckets: retried at the next tick
  private failedReason: string | undefined;
  private stopped = false;
  private drainCheck: NodeJS.Timeout | undefined;
  private drainChecking = false;
  /** The data path cannot list connections (no conntrack tool): drains end by drain_timeout. */
  private drainCheckUnavailable = false;
  private ownCarrier = true;
  private readonly trackedDown = new Set<string>();
  private scripts: TrackScript[] = [];
  private sync: ClusterStateSync | undefined;
  maintenance = false;
  readonly mac: string;
  readonly drops: Partial<Record<ClusterDropReason, number>> = {};
  readonly counters: ClusterStatus['counters'] = {
    advertsSent: 0,
    advertsReceived: 0,
    sendErrors: 0,
    dataPathErrors: 0,
    bucketsGained: 0,
    bucketsLost: 0,
    failovers: 0,
    memberDowns: 0,
    drainsEnded: 0,
  };

  constructor(
    readonly cfg: ClusterConfig,
    private readonly deps: ClusterRunnerDeps,
  ) {
    this.mac = clusterMac(cfg.id, cfg.macMode);
  }

  get name(): string {
    return this.cfg.name;
  }

  /** Installs the data path (journal first), opens the capture and starts advertising (joining).
   *  Throws (DriverError) when the data path or the capture cannot be opened; nothing is left. */
  start(): void {
    const { driver, journal, now } = this.deps;
    const c = this.cfg;
    const link = driver.link(c.interface);
    this.ownCarrier = link.up && link.carrier;
    for (const t of c.track.interfaces) {
      try {
        const l = driver.link(t.name);
        if (!(l.up && l.carrier)) this.trackedDown.add(t.name);
      } catch {
        this.trackedDown.add(t.name);
      }
    }
    journal.recordCluster(c.name, c.interface);
    try {
      this.dataPath = driver.openClusterDataPath({
        name: c.name,
        interface: c.interface,
        id: c.id,
        mac: this.mac,
        macMode: c.macMode,
        addresses: c.addresses.map((a) => `${a.address}/${a.prefixLength}`),
        buckets: c.buckets,
        hash: c.hash,
        seed: clusterSeed(c.id),
        mode: c.mode,
        ...(c.returnPath
          ? {
              returnPath: {
                interface: c.returnPath.interface,
                addresses: c.returnPath.addresses.map((a) => `${a.address}/${a.prefixLength}`),
              },
            }
          : {}),
      });
      this.channel = driver.openChannel(c.interface, { filter: CLUSTER_CAPTURE_FILTER });
    } catch (e) {
      this.dataPath?.close();
      journal.forgetCluster(c.name, c.interface);
      this.failedReason = (e as Error).message;
      throw e;
    }
    this.channel.onFrame((f) => this.receive(f));
    if (c.stateSync) {
      this.sync = new ClusterStateSync(c.stateSync, {
        cluster: c.name,
        stateDir: this.deps.stateDir,
        log: this.deps.log,
        now,
        emit: (e) => this.deps.onEvent(e),
        ...(this.deps.conntrackd ? { driver: this.deps.conntrackd } : {}),
      });
      this.sync.start();
    }
    this.machine = new ClusterMachine(
      {
        clusterId: c.id,
        buckets: c.buckets,
        nodeId: nodeIdOf(this.deps.node),
        nodeName: this.deps.node,
        advertIntervalMs: c.advertIntervalMs,
        drainTimeoutMs: c.drainTimeoutMs,
        preemptDelayMs: c.preemptDelayMs,
      },
      this.effectiveWeight(),
      now(),
    );
    this.scripts = c.track.scripts.map((spec) => {
      const ts = new TrackScript(spec, (ok) => {
        this.deps.log.info({ cluster: c.name, script: spec.run, ok }, 'track script changed');
        this.deps.onEvent({
          cluster: c.name,
          reason: ok ? 'track-script-ok' : 'track-script-failed',
          script: spec.run,
        });
        this.reweigh();
      });
      ts.start();
      return ts;
    });
    this.perform(this.machine.tick(now()));
    this.deps.log.info({ cluster: c.name, interface: c.interface, id: c.id, mac: this.mac }, 'cluster started');
  }

  private effectiveWeight(): number {
    return clusterWeight({
      configuredWeight: this.cfg.weight,
      ownCarrier: this.ownCarrier,
      maintenance: this.maintenance,
      tracked: [
        ...this.cfg.track.interfaces.map((t) => ({ down: this.trackedDown.has(t.name), weight: t.weight })),
        ...this.scripts.map((s) => ({ down: !s.ok, weight: s.spec.weight })),
      ],
    });
  }

  /** Feeds the machine a new effective weight when tracking, maintenance or the config moved it. */
  reweigh(): void {
    if (!this.machine || this.stopped) return;
    this.perform(this.machine.setWeight(this.effectiveWeight(), this.deps.now()));
  }

  setMaintenance(on: boolean): void {
    this.maintenance = on;
    this.reweigh();
  }

  /** A new configured weight (reload) without a restart. */
  setConfiguredWeight(cfg: ClusterConfig): void {
    (this as { cfg: ClusterConfig }).cfg = cfg;
    this.reweigh();
  }

  netEvent(ev: NetEvent): void {
    if (ev.type === 'link') {
      const ok = ev.up && ev.carrier;
      let changed = false;
      if (ev.ifname === this.cfg.interface && ok !== this.ownCarrier) {
        this.ownCarrier = ok;
        changed = true;
        this.deps.onEvent({ cluster: this.name, reason: ok ? 'carrier-up' : 'carrier-down', interface: ev.ifname });
        if (ok && this.machine && !this.stopped) this.perform(this.machine.rejoin(this.deps.now()));
      }
      if (this.cfg.track.interfaces.some((t) => t.name === ev.ifname) && ok === this.trackedDown.has(ev.ifname)) {
        if (ok) this.trackedDown.delete(ev.ifname);
        else this.trackedDown.add(ev.ifname);
        this.deps.onEvent({
          cluster: this.name,
          reason: ok ? 'tracked-interface-up' : 'tracked-interface-down',
          interface: ev.ifname,
        });
        changed = true;
      }
      if (changed) this.reweigh();
    } else if (ev.type === 'address-removed' && ev.ifname === this.cfg.interface && ev.address === this.src?.address) {
      this.src = undefined;
    }
  }

  private count(reason: ClusterDropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  receive(frame: Uint8Array): void {
    if (this.stopped) return;
    const d = decodeClusterFrame(frame, { clusterId: this.cfg.id, buckets: this.cfg.buckets });
    if (!d.ok) {
      // Frames of protocol 253 that are not adverts of this cluster are counted; anything else
      // (the capture filter should let nothing else through) is ignored.
      if (d.reason !== 'not-cluster') this.count(d.reason);
      return;
    }
    if (d.advert.nodeId === this.machine.p.nodeId) {
      // Linux never captures our own frames back, BPF does: those come from our own address.
      // From elsewhere, our id is a name hash collision or a node name used twice.
      if (d.src !== this.src?.address) this.count('own-node-id');
      return;
    }
    this.counters.advertsReceived++;
    this.perform(this.machine.receive(d.advert, this.deps.now()));
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const wait = Math.max(0, this.machine.nextDeadline() - this.deps.now());
    this.timer = setTimeout(() => this.onTimer(), wait);
  }

  private onTimer(): void {
    // Adverts already captured are read first (the check phase runs after the poll phase), so a
    // member's last advert is never lost to its own down timer.
    setImmediate(() => {
      if (this.stopped) return;
      if (this.dirty) this.applyBuckets(this.machine.owned, this.machine.draining.keys(), this.machine.handing.keys());
      this.perform(this.machine.tick(this.deps.now()));
    });
  }

  private perform(actions: ClusterAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send-advert':
          this.send(this.machine.advert());
          break;
        case 'set-buckets':
          this.applyBuckets(a.owned, a.draining, a.handing);
          break;
        case 'member-up':
          this.deps.log.info({ cluster: this.name, member: a.name }, 'cluster member up');
          this.deps.onEvent({ cluster: this.name, reason: 'cluster-member-up', member: a.name });
          break;
        case 'member-down':
          // Its flows (owned or draining) now come here or to another survivor: whoever gets
          // them needs the state the dead member replicated.
          void this.sync?.commit(`member ${a.name} down`);
          this.counters.memberDowns++;
          this.deps.log.warn({ cluster: this.name, member: a.name, why: a.reason }, 'cluster member down');
          this.deps.onEvent({ cluster: this.name, reason: 'cluster-member-down', member: a.name, why: a.reason });
          break;
        case 'ownership':
          this.counters.bucketsGained += a.gained.length;
          this.counters.bucketsLost += a.lost.length;
          this.counters.failovers += a.failover.length;
          this.deps.log.info(
            { cluster: this.name, gained: a.gained, lost: a.lost, failover: a.failover },
            'cluster ownership changed',
          );
          this.deps.onEvent({
            cluster: this.name,
            reason: 'cluster-ownership',
            gained: a.gained,
            lost: a.lost,
            failover: a.failover,
            owned: [...this.machine.owned].sort((x, y) => x - y),
            draining: [...this.machine.draining.keys()].sort((x, y) => x - y),
          });
          break;
        default: {
          const never: never = a;
          throw new Error(`unhandled cluster action ${JSON.stringify(never)}`);
        }
      }
    }
    if (actions.some((a) => a.type !== 'send-advert')) this.deps.onChange();
    this.arm();
  }

  private applyBuckets(owned: Iterable<number>, draining: Iterable<number>, handing: Iterable<number>): void {
    if (!this.dataPath) return;
    try {
      this.dataPath.setBuckets([...owned], [...draining], [...handing]);
      this.dirty = false;
      this.watchDrains();
    } catch (e) {
      this.dirty = true;
      this.counters.dataPathErrors++;
      this.deps.log.error({ cluster: this.name, err: (e as Error).message }, 'cluster data path: setBuckets failed');
    }
  }

  /** Look at connection tracking every DRAIN_CHECK_MS while something drains (only then). */
  private watchDrains(): void {
    const want = this.machine.draining.size > 0 && !this.drainCheckUnavailable && !this.stopped;
    if (want && !this.drainCheck && this.dataPath?.openConnections)
      this.drainCheck = setInterval(() => void this.checkDrains(), DRAIN_CHECK_MS);
    if (!want && this.drainCheck) {
      clearInterval(this.drainCheck);
      this.drainCheck = undefined;
    }
  }

  /** A draining bucket with no open connection left (at least DRAIN_CHECK_MS after its move) is
   *  done: stop serving it rather than wait for drain_timeout. */
  private async checkDrains(): Promise<void> {
    if (this.drainChecking || !this.dataPath?.openConnections) return;
    this.drainChecking = true;
    try {
      const conns = await this.dataPath.openConnections();
      if (this.stopped) return;
      const c = this.cfg;
      const seed = clusterSeed(c.id);
      const busy = new Set<number>();
      for (const { client, service } of conns) {
        const a = parseIp(client);
        const b = parseIp(service);
        if (a && b && a.family === b.family) busy.add(clusterBucketOf(a.bytes, b.bytes, c.hash, c.buckets, seed));
      }
      const now = this.deps.now();
      const done = [...this.machine.draining]
        .filter(([b, endsAt]) => !busy.has(b) && now - (endsAt - c.drainTimeoutMs) >= DRAIN_CHECK_MS)
        .map(([b]) => b);
      if (!done.length) return;
      this.counters.drainsEnded += done.length;
      this.deps.log.info({ cluster: this.name, buckets: done }, 'cluster drain ended: no connection left');
      this.deps.onEvent({ cluster: this.name, reason: 'cluster-drain-ended', buckets: done });
      this.perform(this.machine.endDrain(done, now));
    } catch (e) {
      this.drainCheckUnavailable = true;
      this.watchDrains();
      this.deps.log.warn(
        { cluster: this.name, err: (e as Error).message },
        'cannot see connection tracking: draining buckets end at drain_timeout',
      );
    } finally {
      this.drainChecking = false;
    }
  }

  /** The address adverts leave from: the interface's own IPv4 address, else its IPv6 link-local. */
  private source(): { family: 4 | 6; address: string } | undefined {
    if (this.src) return this.src;
    const foreign = this.deps.foreignAddresses();
    const own = this.deps.driver
      .listAddresses(this.cfg.interface)
      .map((cidr) => cidr.split('/')[0])
      .filter((a) => !foreign.has(a));
    const v4 = own.find((a) => !a.includes(':'));
    const ll = own.find((a) => a.toLowerCase().startsWith('fe80:'));
    this.src = v4 ? { family: 4, address: v4 } : ll ? { family: 6, address: ll } : undefined;
    return this.src;
  }

  private send(h: HeardAdvert): void {
    if (!this.channel) return;
    const src = this.source();
    if (!src) {
      this.counters.sendErrors++;
      this.deps.log.debug({ cluster: this.name }, 'no own address to send cluster adverts from');
      return;
    }
    const advert: ClusterAdvert = { ...h, clusterId: this.cfg.id, buckets: this.cfg.buckets };
    try {
      const mac = this.deps.driver.link(this.cfg.interface).mac;
      this.channel.send(encodeClusterFrame({ srcMac: mac, family: src.family, src: src.address, advert }));
      this.counters.advertsSent++;
    } catch (e) {
      this.counters.sendErrors++;
      this.deps.log.debug({ cluster: this.name, err: (e as Error).message }, 'cluster advert not sent');
    }
  }

  /** Planned stop: weight 0 announced, every owned bucket handed over and drained (at most
   *  drain_timeout), a farewell advert, then the data path removed. */
  async stop(): Promise<void> {
    if (this.stopped || !this.machine) {
      this.dispose();
      return;
    }
    for (const s of this.scripts) s.stop();
    const { now } = this.deps;
    this.perform(this.machine.leave(now()));
    const deadline = now() + this.cfg.drainTimeoutMs + 50;
    while (!this.machine.drained && now() < deadline) await sleep(10);
    this.send(this.machine.farewell());
    this.dispose();
    await this.sync?.stop();
  }

  /** Removes everything at once (no handover): the data path, the capture, the timer. */
  dispose(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.drainCheck);
    void this.sync?.stop(); // SIGTERM now; stop() awaits the end
    for (const s of this.scripts) s.stop();
    this.channel?.close();
    if (this.dataPath) {
      try {
        this.dataPath.close();
      } catch (e) {
        this.deps.log.error({ cluster: this.name, err: (e as Error).message }, 'cluster data path: close failed');
      }
      this.deps.journal.forgetCluster(this.cfg.name, this.cfg.interface);
    }
    this.dataPath = undefined;
  }

  status(): ClusterStatus {
    const c = this.cfg;
    const m = this.machine;
    const base = {
      name: c.name,
      interface: c.interface,
      id: c.id,
      mac: this.mac,
      macMode: c.macMode,
      addresses: [...c.addresses, ...(c.returnPath?.addresses ?? [])].map((a) => `${a.address}/${a.prefixLength}`),
      bucketCount: c.buckets,
      configuredWeight: c.weight,
      maintenance: this.maintenance,
      counters: { ...this.counters },
      drops: { ...this.drops },
      mode: c.mode,
      ...(this.sync ? { stateSync: this.sync.status() } : {}),
    };
    if (!m) {
      return {
        ...base,
        weight: 0,
        state: 'failed',
        ...(this.failedReason ? { error: this.failedReason } : {}),
        owned: [],
        draining: [],
        members: [],
      };
    }
    const view = m.viewHash();
    const self = m.advert();
    const members = [
      {
        node: this.deps.node,
        nodeId: m.p.nodeId,
        self: true,
        weight: self.weight,
        buckets: m.owned.size,
        draining: m.draining.size,
        joining: m.joining,
        viewAgrees: true,
      },
      ...[...m.members.values()].map((x) => ({
        node: x.name,
        nodeId: x.nodeId,
        self: false,
        weight: x.weight,
        buckets: x.owned.size,
        draining: x.draining.size,
        joining: x.joining,
        viewAgrees: x.viewHash === view,
      })),
    ].sort((a, b) => a.node.localeCompare(b.node));
    return {
      ...base,
      weight: self.weight,
      state: this.stopped || m.leaving ? 'leaving' : m.joining ? 'joining' : 'serving',
      owned: [...self.owned],
      draining: [...self.draining],
      members,
      ...(this.dataPath ? { dataPath: this.dataPath.describe() } : {}),
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
