// The protocol engine: one state machine per virtual router (instance.ts), one capture per
// interface (ports.ts), the tracking that sets each instance's fault and priority
// (core/policy/tracking.ts), and the change journal that undoes everything at exit. Protocol
// work (receive, step, send) never waits for anything else: notify and track scripts, the
// supervisor's services and file writes other than the journal run beside it.
import { randomUUID } from 'node:crypto';
import type { CarpTransitionReason } from '../core/carp/types.ts';
import type { HsrpTransitionReason } from '../core/hsrp/types.ts';
import type { Driver, NetEvent } from '../../drivers/types.ts';
import type { ClusterConfig, InstanceConfig, StateSyncConfig, TandemConfig } from '../config/types.ts';
import { CommandError } from '../core/errors.ts';
import { MAX_BACKUP_PRIORITY, MIN_BACKUP_PRIORITY, syncGroupHolds, trackingVerdict } from '../core/policy/tracking.ts';
import { syncGroupPriorities } from '../core/policy/sync-group.ts';
import type { EngineEvent, EngineStatus, ReloadResult } from '../core/status.ts';
import type { TransitionReason, VrrpStateName } from '../core/vrrp/index.ts';
import type { Logger } from '../runtime/log.ts';
import { TimerLateness } from '../runtime/timer-lateness.ts';
import { VERSION } from '../runtime/version.ts';
import { type ActionFailure, Instance } from './instance.ts';
import { ClusterRunner } from './cluster.ts';

/** How long an instance stays in fault after a failed action before it tries again. */
export const ACTION_FAULT_RETRY_MS = 5_000;
/** After tandem changes a NIC's own MAC, a carrier loss this short is the NIC re-initialising
 *  (autonegotiation takes 1-3 s), not a fault; a longer one is a fault from when it began. */
export const OWN_MAC_FLAP_GRACE_MS = 3_000;
import { Journal, type Undoer } from './journal.ts';
import { Port } from './ports.ts';
import { planReload } from './reload-plan.ts';
import { NotifyQueue, TrackScript } from './scripts.ts';
import type { ConntrackdDriver } from '../../drivers/conntrackd.ts';
import { StateSync } from './state-sync.ts';

/** The same state sync, whatever the line it was written on. */
function sameStateSync(a: StateSyncConfig | undefined, b: StateSyncConfig | undefined): boolean {
  const strip = (c: StateSyncConfig | undefined) => (c ? JSON.stringify({ ...c, line: 0 }) : '');
  return strip(a) === strip(b);
}

export interface EngineOptions {
  driver: Driver;
  log: Logger;
  /** Validated by the supervisor, which read the file. */
  config: TandemConfig;
  now?: () => number; // monotonic ms; tests inject a clock
  actionFaultRetryMs?: number; // default ACTION_FAULT_RETRY_MS; tests shorten it
  macFlapGraceMs?: number; // default OWN_MAC_FLAP_GRACE_MS; tests shorten it
  conntrackd?: ConntrackdDriver; // state sync's conntrackd; tests stand one in
}

/** What tracking knows about one instance, gathered from link events and scripts. */
interface Tracking {
  ownCarrier: boolean;
  trackedDown: Set<string>; // tracked interfaces currently down
  scripts: TrackScript[];
  maintenance: boolean;
  priorityOverride?: number; // set-priority command
  groupHold: boolean; // another member of its sync group is in fault
  faulted: boolean; // last fault verdict fed to the machine
  actionFault?: NodeJS.Timeout; // set while faulted for a failed action; clears itself to retry
  lastPriority: number; // last effective priority fed to the machine
  ownPriority: number; // from this instance's own tracking, before its sync groups
}

export type EventListener = (e: EngineEvent) => void;

export class Engine {
  config: TandemConfig;
  readonly bootId = randomUUID();
  readonly startedAt = Date.now();
  private readonly now: () => number;
  private instances = new Map<string, Instance>();
  private clusters = new Map<string, ClusterRunner>();
  private ports = new Map<string, Port>();
  private tracking = new Map<string, Tracking>();
  private notify = new Map<string, NotifyQueue>();
  private unwatch: (() => void) | undefined;
  private journal!: Journal;
  private readonly loop = new TimerLateness(); // loopDelay in status: how late the protocol timers ran
  private listeners: EventListener[] = [];
  private changeListeners: (() => void)[] = [];
  private stopping = false;
  private reloading: Promise<ReloadResult> | undefined;
  private stateSync: StateSync | undefined;
  private macFlapUntil = new Map<string, number>(); // ifname -> end of the grace after our MAC change
  private macFlapTimers = new Map<string, NodeJS.Timeout>();

  constructor(private opts: EngineOptions) {
    this.config = opts.config;
    this.now = opts.now ?? (() => performance.now());
  }

  get log(): Logger {
    return this.opts.log;
  }
  get driver(): Driver {
    return this.opts.driver;
  }
  /** Transitions and notable faults (telemetry's `events`). */
  onEvent(l: EventListener): void {
    this.listeners.push(l);
  }
  /** Anything `status()` shows changed in a way worth republishing (state, priority, fault). */
  onChange(l: () => void): void {
    this.changeListeners.push(l);
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'event listener failed');
      }
    }
    this.changed();
  }

  private changed(): void {
    for (const l of this.changeListeners) {
      try {
        l();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'change listener failed');
      }
    }
  }

  /** Clean up after a crashed run, and start every instance. */
  start(): void {
    this.journal = new Journal(this.config.stateDir);
    const left = this.journal.leftovers();
    if (this.journal.ignored.length)
      this.log.warn(
        { ignored: this.journal.ignored.slice(0, 20) },
        'journal records ignored (malformed or from an earlier boot)',
      );
    if (left) {
      const errors = Journal.undo(left, this.undoer());
      this.log.warn({ left, errors }, 'cleaned up what a previous run left behind');
    }
    this.journal.clear();
    this.unwatch = this.driver.watch((ev) => this.onNetEvent(ev));
    // One absent interface must not keep the others down (a restart loop): start what can
    // start, report the rest, and retry them until their interface appears (issue #12).
    for (const c of this.config.instances) this.tryAddInstance(c);
    if (this.config.stateSync) this.startStateSync();
    for (const c of this.config.clusters ?? []) this.addCluster(c);
    this.recomputeAll();
    this.log.info({ node: this.config.node, version: VERSION, instances: this.config.instances.length }, 'started');
  }

  /** conntrackd replication (state-sync.ts), started after the instances so its hold applies
   *  before any advert is read. */
  private startStateSync(): void {
    this.stateSync = new StateSync(
      this.config.stateSync!,
      this.config.stateDir,
      {
        log: this.log,
        now: this.now,
        emit: (e) => this.emit(e),
        changed: () => this.changed(),
        holdPreempt: (n, held) => this.instances.get(n)?.holdPreempt(held),
        recompute: (n) => this.recompute(n),
        stateOf: (n) => this.instances.get(n)?.stateName,
      },
      this.opts.conntrackd,
    );
    this.stateSync.start();
  }

  /** A reload changed `state_sync`: stop the old conntrackd (or let go of the operator's), start
   *  the new one and feed it the followed instances' current states, as at a start. */
  private async restartStateSync(): Promise<void> {
    const old = this.stateSync;
    this.stateSync = undefined;
    await old?.stop();
    const cfg = this.config.stateSync;
    if (cfg) {
      this.startStateSync();
      const started = this.stateSync as StateSync | undefined;
      for (const n of cfg.instances) {
        const st = this.instances.get(n)?.stateName;
        if (st) started?.onTransition(n, st);
      }
    }
    this.log.info({ instances: cfg?.instances ?? [] }, 'state_sync reloaded');
  }

  /** Instances that could not start (their interface is missing, ...), retried every 2 s. */
  private readonly unstarted = new Map<string, { cfg: InstanceConfig; error: string }>();
  private retryTimer: NodeJS.Timeout | undefined;

  private tryAddInstance(c: InstanceConfig): void {
    try {
      this.addInstance(c);
      if (this.unstarted.delete(c.name)) {
        this.log.info({ instance: c.name, interface: c.interface }, 'instance started: its interface is back');
        this.emit({ instance: c.name, reason: 'instance-started' });
      }
    } catch (e) {
      const error = (e as Error).message;
      if (this.unstarted.get(c.name)?.error !== error) {
        this.log.error({ instance: c.name, interface: c.interface, err: error }, 'instance cannot start: retrying');
        this.emit({ instance: c.name, reason: 'instance-start-failed', error });
      }
      this.unstarted.set(c.name, { cfg: c, error });
    }
    if (this.unstarted.size && !this.retryTimer) {
      this.retryTimer = setInterval(() => {
        if (this.stopping) return;
        for (const { cfg } of [...this.unstarted.values()]) {
          // A reload since may have started it, changed it or removed it: retry only the current one.
          const now = this.config.instances.find((c) => c.name === cfg.name);
          if (!now || this.instances.has(cfg.name)) this.unstarted.delete(cfg.name);
          else this.tryAddInstance(now);
        }
        if (this.unstarted.size === 0) {
          clearInterval(this.retryTimer);
          this.retryTimer = undefined;
          this.recomputeAll();
        }
      }, 2000);
      this.retryTimer.unref();
    }
  }

  /** Configured instances that are not running, and why. */
  unstartedInstances(): { name: string; interface: string; error: string }[] {
    return [...this.unstarted.values()].map((u) => ({ name: u.cfg.name, interface: u.cfg.interface, error: u.error }));
  }

  private undoer(): Undoer {
    return {
      setMac: (i, m) => this.driver.setMac(i, m, { cycleLink: true }),
      removeAddress: (i, c) => this.driver.removeAddress(i, c),
      deleteLink: (n) => this.driver.deleteLink(n),
      setInterfaceSetting: (i, n, v) => this.driver.setInterfaceSetting(i, n, v),
      removeVipFilter: (n) => this.driver.removeVipFilter(n),
      removeClusterDataPath: (n, i) => this.driver.removeClusterDataPath(n, i),
    };
  }

  /** The interface's capture: VRRP and CARP (IP protocols 112) always; HSRP's UDP port and
   *  groups only once an HSRP instance runs there, so a VRRP-only node neither captures nor joins
   *  them. */
  private port(ifname: string, hsrp: boolean): Port {
    let p = this.ports.get(ifname);
    if (!p) {
      p = new Port(ifname, this.driver.openChannel(ifname, { vrrp: true }));
      this.ports.set(ifname, p);
    }
    if (hsrp && !p.capturesHsrp) p.addHsrpCapture(this.driver.openChannel(ifname, { vrrp: false, hsrp: true }));
    return p;
  }

  private primaryIp(c: InstanceConfig, all: readonly InstanceConfig[] = this.config.instances): string {
    if (c.sourceAddress) return c.sourceAddress;
    const vips = new Set(all.flatMap((i) => i.addresses.map((a) => a.address)));
    const own = this.driver
      .listAddresses(c.interface)
      .map((cidr) => cidr.split('/')[0])
      .filter((a) => !vips.has(a));
    const pick =
      c.family === 4 ? own.find((a) => !a.includes(':')) : own.find((a) => a.toLowerCase().startsWith('fe80:'));
    if (!pick) {
      throw new Error(
        `instance ${c.name}: interface ${c.interface} has no ${c.family === 4 ? 'IPv4' : 'IPv6 link-local'} address of its own to send advertisements from (add one, or set source_address)`,
      );
    }
    return pick;
  }

  private addInstance(c: InstanceConfig): Instance {
    const link = this.driver.link(c.interface);
    if (c.macMode === 'virtual') this.prepareVirtualMacParent(c);
    else if (c.priority !== 255) this.sweepVips(c);
    const port = this.port(c.interface, c.protocol === 'hsrp');
    const primaryIp = this.primaryIp(c);
    // unicast_peers: adverts leave through a raw socket bound to our primary address, so the
    // packet's source is the one the checksum was computed with. Receiving needs nothing more:
    // the port's capture takes IP protocol 112 to any destination.
    const raw = c.unicastPeers.length ? this.driver.openRawVrrp(c.interface, c.family, { src: primaryIp }) : undefined;
    const inst = new Instance(
      c,
      {
        driver: this.driver,
        channel: port.channel,
        raw,
        journal: this.journal,
        log: this.log,
        now: this.now,
        primaryIp,
        nicMac: this.journal.current().macs[c.interface] ?? link.mac,
        hooks: {
          onTransition: (i, from, to, reason) => this.transitioned(i, from, to, reason),
          onEvent: (e) => this.emit(e),
          onActionFailed: (i, reason) => this.actionFailed(i, reason),
          onTimerRan: (lateMs) => this.loop.record(lateMs),
          onOwnMacChange: (ifname) =>
            this.macFlapUntil.set(ifname, this.now() + (this.opts.macFlapGraceMs ?? OWN_MAC_FLAP_GRACE_MS)),
          beforeTakeAddresses: (i) => this.stateSync?.beforeTakeover(i.name),
        },
      },
      link.index,
    );
    port.add(inst);
    this.instances.set(c.name, inst);
    this.setNotify(c);
    const t: Tracking = {
      ownCarrier: link.carrier && link.up,
      trackedDown: new Set(),
      scripts: [],
      maintenance: false,
      groupHold: false,
      faulted: false,
      lastPriority: c.priority,
      ownPriority: c.priority,
    };
    this.tracking.set(c.name, t);
    for (const ti of c.track.interfaces) {
      try {
        const l = this.driver.link(ti.name);
        if (!(l.up && l.carrier)) this.trackedInterface(c.name, ti.name, false);
      } catch {
        this.trackedInterface(c.name, ti.name, false);
      }
    }
    t.scripts = this.startTrackScripts(c);
    inst.start();
    return inst;
  }

  /** An active-active cluster (engine/cluster.ts). One that cannot start is logged and shown in
   *  status as failed; the rest of the daemon runs on. */
  private addCluster(c: ClusterConfig): void {
    const r = new ClusterRunner(c, {
      driver: this.driver,
      journal: this.journal,
      log: this.log,
      now: this.now,
      node: this.config.node,
      foreignAddresses: () =>
        new Set([
          ...this.config.instances.flatMap((i) => i.addresses.map((a) => a.address)),
          ...(this.config.clusters ?? []).flatMap((x) =>
            [...x.addresses, ...(x.returnPath?.addresses ?? [])].map((a) => a.address),
          ),
        ]),
      onEvent: (e) => this.emit(e),
      onChange: () => this.changed(),
      stateDir: this.config.stateDir,
      ...(this.opts.conntrackd ? { conntrackd: this.opts.conntrackd } : {}),
    });
    this.clusters.set(c.name, r);
    try {
      r.start();
    } catch (e) {
      this.log.error({ cluster: c.name, err: (e as Error).message }, 'could not start cluster');
      this.emit({ cluster: c.name, reason: 'cluster-failed', error: (e as Error).message });
    }
  }

  /** Clusters on reload: a changed weight (or tracking of the same items) applies in place, any
   *  other change restarts the cluster (a planned stop with draining, then a fresh start). */
  private async reloadClusters(next: TandemConfig): Promise<void> {
    const nextByName = new Map((next.clusters ?? []).map((c) => [c.name, c]));
    const stop: ClusterRunner[] = [];
    for (const [name, r] of this.clusters) {
      const n = nextByName.get(name);
      if (n && JSON.stringify({ ...n, weight: 0, line: 0 }) === JSON.stringify({ ...r.cfg, weight: 0, line: 0 })) {
        r.setConfiguredWeight(n);
        nextByName.delete(name);
      } else stop.push(r);
    }
    await Promise.all(stop.map((r) => r.stop()));
    for (const r of stop) this.clusters.delete(r.name);
    for (const c of nextByName.values()) this.addCluster(c);
  }

  /** One TrackScript per configured script, each feeding the instance's tracking. */
  private startTrackScripts(c: InstanceConfig): TrackScript[] {
    return c.track.scripts.map((spec) => {
      const ts = new TrackScript(spec, (ok) => {
        this.log.info({ instance: c.name, script: spec.run, ok }, 'track script changed');
        this.emit({ instance: c.name, reason: ok ? 'track-script-ok' : 'track-script-failed', script: spec.run });
        this.recompute(c.name);
      });
      ts.start();
      return ts;
    });
  }

  /** A virtual address already on the interface before we own it is a leftover (a crash, or a
   *  journal write that did not happen): remove it so a backup never answers for it. The address
   *  owner (255) is exempt: its virtual address is its own. */
  private sweepVips(c: InstanceConfig): void {
    const present = new Map(this.driver.listAddresses(c.interface).map((cidr) => [cidr.split('/')[0], cidr]));
    for (const a of c.addresses) {
      const cidr = present.get(a.address);
      if (!cidr) continue;
      try {
        this.driver.removeAddress(c.interface, cidr);
        this.log.warn({ instance: c.name, address: cidr }, 'removed a leftover virtual address before starting');
      } catch (e) {
        this.log.error(
          { instance: c.name, address: cidr, err: (e as Error).message },
          'could not remove a leftover virtual address',
        );
      }
    }
  }

  private setNotify(c: InstanceConfig): void {
    this.notify.delete(c.name);
    if (!c.notify) return;
    this.notify.set(
      c.name,
      new NotifyQueue(c.notifyTimeoutMs, (argv, r) => {
        if (r.code !== 0)
          this.log.warn(
            { instance: c.name, argv, code: r.code, timedOut: r.timedOut, error: r.error },
            'notify script failed',
          );
      }),
    );
  }

  /** In mac_mode virtual the parent must not answer ARP for the VIP with its own MAC (the Linux
   *  weak host model would): arp_ignore=1, arp_announce=2, as FRR needs too. Restored at exit.
   *  Where the OS has no such per-interface setting (the BSDs) there is nothing to do. */
  private prepareVirtualMacParent(c: InstanceConfig): void {
    if (c.family !== 4) return;
    for (const [name, value] of [
      ['arp_ignore', '1'],
      ['arp_announce', '2'],
    ] as const) {
      try {
        const old = this.driver.getInterfaceSetting(c.interface, name);
        if (old === undefined || old === value) continue;
        this.journal.recordSetting(c.interface, name, old);
        this.driver.setInterfaceSetting(c.interface, name, value);
      } catch (e) {
        this.log.warn({ interface: c.interface, setting: name, err: (e as Error).message }, 'could not set');
      }
    }
  }

  private onNetEvent(ev: NetEvent): void {
    for (const r of this.clusters.values()) r.netEvent(ev);
    if (ev.type === 'link' && ev.up && !this.stopping) {
      // An instance that could not start on this interface (admin-down: no capture opens on it)
      // starts now rather than at the next 2 s retry.
      for (const { cfg } of [...this.unstarted.values()]) {
        const now = this.config.instances.find((c) => c.name === cfg.name);
        if (now && now.interface === ev.ifname && !this.instances.has(now.name)) this.tryAddInstance(now);
      }
      if (this.unstarted.size === 0 && this.retryTimer) {
        clearInterval(this.retryTimer);
        this.retryTimer = undefined;
        this.recomputeAll();
      }
    }
    if (ev.type === 'link') {
      for (const inst of this.instances.values()) {
        const t = this.tracking.get(inst.name)!;
        if (inst.cfg.interface === ev.ifname) {
          const ok = ev.up && ev.carrier;
          if (ok !== t.ownCarrier) {
            t.ownCarrier = ok;
            // A loss right after our own MAC change is re-judged when the grace ends.
            if (ok || !this.inMacFlapGrace(ev.ifname)) {
              this.log.info({ instance: inst.name, interface: ev.ifname, carrier: ok }, 'interface link changed');
              this.emit({ instance: inst.name, reason: ok ? 'carrier-up' : 'carrier-down', interface: ev.ifname });
              this.recompute(inst.name);
            }
          }
        }
        if (inst.cfg.track.interfaces.some((x) => x.name === ev.ifname))
          this.trackedInterface(inst.name, ev.ifname, ev.up && ev.carrier);
      }
    } else if (ev.type === 'address-removed') {
      for (const inst of this.instances.values()) inst.addressRemoved(ev.ifname, ev.address);
    }
  }

  /** True while a carrier loss on `ifname` may be our own MAC change; arms one re-check at the end
   *  of the grace, when a carrier still down becomes a fault. */
  private inMacFlapGrace(ifname: string): boolean {
    const until = this.macFlapUntil.get(ifname) ?? 0;
    const left = until - this.now();
    if (left <= 0) return false;
    if (!this.macFlapTimers.has(ifname)) {
      this.log.info({ interface: ifname, graceMs: Math.round(left) }, 'carrier lost after our MAC change: waiting');
      this.macFlapTimers.set(
        ifname,
        setTimeout(() => {
          this.macFlapTimers.delete(ifname);
          // A timer may fire a little before the engine's clock reaches `until` (or a newer MAC
          // change moved it): wait out the rest instead of judging a carrier still in its grace.
          if (this.inMacFlapGrace(ifname)) return;
          for (const inst of this.instances.values()) {
            if (inst.cfg.interface !== ifname) continue;
            const t = this.tracking.get(inst.name)!;
            if (!t.ownCarrier && !t.faulted)
              this.emit({ instance: inst.name, reason: 'carrier-down', interface: ifname });
            this.recompute(inst.name);
          }
        }, left + 1),
      );
    }
    return true;
  }

  private trackedInterface(name: string, ifname: string, up: boolean): void {
    const t = this.tracking.get(name);
    if (!t) return;
    const was = !t.trackedDown.has(ifname);
    if (was === up) return;
    if (up) t.trackedDown.delete(ifname);
    else t.trackedDown.add(ifname);
    this.log.info({ instance: name, tracked: ifname, up }, 'tracked interface changed');
    this.emit({ instance: name, reason: up ? 'tracked-interface-up' : 'tracked-interface-down', interface: ifname });
    this.recompute(name);
  }

  /** Fault and effective priority from everything tracked, fed to the machine on change. */
  private recompute(name: string): void {
    const inst = this.instances.get(name);
    const t = this.tracking.get(name);
    if (!inst || !t || this.stopping) return;
    const c = inst.cfg;
    const v = trackingVerdict({
      configuredPriority: c.priority,
      priorityOverride: t.priorityOverride,
      ownCarrier: t.ownCarrier || this.now() < (this.macFlapUntil.get(c.interface) ?? 0),
      tracked: [
        ...c.track.interfaces.map((ti) => ({ down: t.trackedDown.has(ti.name), weight: ti.weight })),
        ...t.scripts.map((s) => ({ down: !s.ok, weight: s.spec.weight })),
        ...(this.stateSync?.tracked(name) ?? []),
      ],
      maintenance: t.maintenance,
      groupHold: t.groupHold,
      actionFault: t.actionFault !== undefined,
    });
    if (v.fault !== t.faulted) {
      t.faulted = v.fault;
      inst.feed({ type: v.fault ? 'interface-down' : 'interface-up' });
      this.applySyncGroups();
    }
    t.ownPriority = v.effectivePriority;
    this.applyPriorities(name);
  }

  /** Feeds `name` and its sync-group mates the priority each should now advertise (own tracking,
   *  then the group's worst change: core/policy/sync-group.ts). */
  private applyPriorities(name: string): void {
    const groups = this.config.syncGroups.filter((g) => g.instances.includes(name));
    const shared = syncGroupPriorities(groups, (n) => {
      const t = this.tracking.get(n);
      const i = this.instances.get(n);
      return t && i ? { configured: i.cfg.priority, own: t.ownPriority } : undefined;
    });
    for (const n of new Set([name, ...shared.keys()])) {
      const t = this.tracking.get(n);
      const inst = this.instances.get(n);
      if (!t || !inst) continue;
      const p = shared.get(n) ?? t.ownPriority;
      if (p === t.lastPriority) continue;
      t.lastPriority = p;
      inst.feed({ type: 'priority', priority: p });
      this.changed();
    }
  }

  /** An instance could not act for its machine: fault it (the machine releases what it holds and
   *  stops advertising, so the peer takes over) and try again after ACTION_FAULT_RETRY_MS. The
   *  machine is fed after the current step, never from inside it. */
  private actionFailed(inst: Instance, reason: ActionFailure): void {
    const t = this.tracking.get(inst.name);
    if (!t || t.actionFault || this.stopping) return;
    const retryMs = this.opts.actionFaultRetryMs ?? ACTION_FAULT_RETRY_MS;
    this.log.error({ instance: inst.name, reason, retryMs }, 'fault: could not act as master');
    this.emit({ instance: inst.name, reason });
    t.actionFault = setTimeout(() => {
      t.actionFault = undefined;
      this.recompute(inst.name);
    }, retryMs);
    setImmediate(() => this.recompute(inst.name));
  }

  private recomputeAll(): void {
    for (const n of this.instances.keys()) this.recompute(n);
  }

  /** Sync groups fail over together: while any member is in fault, the others hand over
   *  (effective priority 0, make-before-break) and stay backup. */
  private applySyncGroups(): void {
    const holds = syncGroupHolds(this.config.syncGroups, (n) => this.tracking.get(n)?.faulted ?? false);
    for (const [n, hold] of holds) {
      const t = this.tracking.get(n);
      if (!t || hold === t.groupHold) continue;
      t.groupHold = hold;
      this.recompute(n);
    }
  }

  private transitioned(
    inst: Instance,
    from: VrrpStateName,
    to: VrrpStateName,
    reason: TransitionReason | CarpTransitionReason | HsrpTransitionReason,
  ): void {
    if (inst.cfg.notify) this.notify.get(inst.name)?.push([inst.cfg.notify, inst.name, to]);
    this.emit({ instance: inst.name, from, to, reason });
    this.stateSync?.onTransition(inst.name, to);
  }

  // ---- commands (control socket, MQTT) ----

  instanceNames(): string[] {
    return [...this.instances.keys()];
  }

  setPriority(name: string, value: number | null): void {
    const t = this.tracking.get(name);
    if (!t) throw new CommandError('unknown-instance', `no instance named '${name}'`);
    if (value !== null && !(Number.isInteger(value) && value >= MIN_BACKUP_PRIORITY && value <= MAX_BACKUP_PRIORITY)) {
      throw new CommandError(
        'bad-argument',
        `priority must be an integer ${MIN_BACKUP_PRIORITY}..${MAX_BACKUP_PRIORITY} (null restores the configured one)`,
      );
    }
    t.priorityOverride = value ?? undefined;
    this.recompute(name);
  }

  /** Maintenance: hand mastership over with priority 0 (make-before-break) and stay backup. */
  maintenance(on: boolean, name?: string): string[] {
    const cluster = name === undefined ? undefined : this.clusters.get(name);
    if (cluster) {
      cluster.setMaintenance(on);
      return [cluster.name];
    }
    if (name === undefined) for (const r of this.clusters.values()) r.setMaintenance(on);
    const names = name ? [name] : [...this.instances.keys()];
    for (const n of names) {
      const t = this.tracking.get(n);
      if (!t) throw new CommandError('unknown-instance', `no instance named '${n}'`);
      t.maintenance = on;
      this.recompute(n);
    }
    return names;
  }

  /** Apply a new configuration (validated by the supervisor): unchanged instances keep running
   *  untouched, in-place changes keep their state, the rest restart. One reload at a time: a
   *  second one waits for the first. */
  reload(next: TandemConfig): Promise<ReloadResult> {
    const run = async () => this.applyReload(next);
    const p = (this.reloading ?? Promise.resolve()).then(run, run);
    this.reloading = p;
    return p;
  }

  private async applyReload(next: TandemConfig): Promise<ReloadResult> {
    const plan = planReload(this.config.instances, next.instances);
    const nextByName = new Map(next.instances.map((c) => [c.name, c]));
    // Everything that will start must be able to: checked before anything is touched, so a bad
    // reload leaves the running instances as they are.
    const errors: string[] = [];
    for (const name of [...plan.restart, ...plan.add]) {
      const c = nextByName.get(name)!;
      try {
        this.driver.link(c.interface);
        this.primaryIp(c, next.instances);
      } catch (e) {
        errors.push(`instance ${name}: ${(e as Error).message}`);
      }
    }
    if (errors.length) {
      this.log.error({ errors }, 'reload rejected: keeping the running configuration');
      this.emit({ reason: 'reload-rejected', errors });
      return { ok: false, errors, kept: [], restarted: [], added: [], removed: [] };
    }
    for (const name of plan.inPlace) this.reconfigureInPlace(this.instances.get(name)!, nextByName.get(name)!);
    await this.stopInstances([...plan.remove, ...plan.restart].map((n) => this.instances.get(n)!));
    this.config = next;
    await this.reloadClusters(next);
    for (const c of next.instances) {
      if (this.instances.has(c.name)) continue;
      try {
        this.addInstance(c);
      } catch (e) {
        this.log.error({ instance: c.name, err: (e as Error).message }, 'could not start instance');
      }
    }
    if (sameStateSync(this.stateSync?.cfg, next.stateSync)) this.stateSync?.reapply();
    else await this.restartStateSync();
    this.recomputeAll();
    const result: ReloadResult = {
      ok: true,
      errors: [],
      kept: [...plan.unchanged, ...plan.inPlace],
      restarted: plan.restart,
      added: plan.add,
      removed: plan.remove,
    };
    const { kept, restarted, added, removed } = result;
    this.log.info({ kept, restarted, added, removed }, 'reloaded');
    this.emit({ reason: 'reloaded', kept, restarted, added, removed });
    return result;
  }

  /** Priority, preempt, tracking, notify or announcement settings changed: no restart. */
  private reconfigureInPlace(inst: Instance, c: InstanceConfig): void {
    const t = this.tracking.get(inst.name)!;
    if (JSON.stringify(inst.cfg.track.scripts) !== JSON.stringify(c.track.scripts)) {
      for (const s of t.scripts) s.stop();
      t.scripts = this.startTrackScripts(c);
    }
    for (const name of [...t.trackedDown])
      if (!c.track.interfaces.some((x) => x.name === name)) t.trackedDown.delete(name);
    this.setNotify(c);
    inst.reconfigure(c);
    t.lastPriority = inst.effectivePriority;
    this.recompute(c.name);
    this.log.info({ instance: c.name }, 'reconfigured in place');
  }

  private async stopInstances(list: Instance[]): Promise<void> {
    if (!list.length) return;
    for (const i of list) i.feed({ type: 'shutdown' });
    const worst = Math.max(...list.map((i) => i.masterDownMs));
    const deadline = this.now() + worst + 500;
    while (list.some((i) => !i.stopped) && this.now() < deadline) await sleep(5);
    for (const i of list) {
      i.dispose();
      // Only entries that still point at this instance: its replacement may be registered.
      if (this.instances.get(i.name) === i) {
        this.instances.delete(i.name);
        for (const s of this.tracking.get(i.name)?.scripts ?? []) s.stop();
        clearTimeout(this.tracking.get(i.name)?.actionFault);
        this.tracking.delete(i.name);
        this.notify.delete(i.name);
      }
      const port = this.ports.get(i.cfg.interface);
      if (!port) continue;
      port.remove(i);
      if (port.size === 0) {
        port.close();
        this.ports.delete(port.ifname);
      }
    }
  }

  /** Graceful stop: priority-0 handover, keep answering until the new master speaks, then undo. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.unstarted.clear();
    await this.reloading?.catch(() => {});
    await Promise.all([
      this.stopInstances([...this.instances.values()]),
      ...[...this.clusters.values()].map((r) => r.stop()),
    ]);
    await this.stateSync?.stop();
    this.unwatch?.();
    for (const t of this.macFlapTimers.values()) clearTimeout(t);
    this.macFlapTimers.clear();
    const errors = Journal.undo(this.journal.current(), this.undoer());
    if (errors.length) this.log.warn({ errors }, 'some changes could not be undone');
    this.journal.clear();
    for (const p of this.ports.values()) p.close();
    this.ports.clear();
    this.log.info('stopped');
  }

  status(): EngineStatus {
    const now = this.now();
    return {
      node: this.config.node,
      version: VERSION,
      pid: process.pid,
      bootId: this.bootId,
      uptimeMs: Date.now() - this.startedAt,
      loopDelay: this.loop.summary(),
      instances: [...this.instances.values()].map((i) => {
        const t = this.tracking.get(i.name)!;
        return {
          ...i.status(now),
          maintenance: t.maintenance,
          trackedDown: [...t.trackedDown],
          failedScripts: t.scripts.filter((s) => !s.ok).map((s) => s.spec.run),
        };
      }),
      interfaces: [...this.ports.values()].map((p) => p.status()),
      ...(this.stateSync ? { stateSync: this.stateSync.status() } : {}),
      ...(this.clusters.size ? { clusters: [...this.clusters.values()].map((r) => r.status()) } : {}),
      ...(this.unstarted.size ? { unstarted: this.unstartedInstances() } : {}),
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
