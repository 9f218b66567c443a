// The daemon: joins the config, the driver, the codecs and one state machine per virtual router.
// Protocol work (receive, step, send) never waits for anything else: notify and track scripts,
// the control socket, telemetry and file writes other than the change journal run beside it.
import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { InstanceConfig, TandemConfig } from '../config/types.ts';
import type { Driver, NetEvent, PacketChannel } from '../../drivers/types.ts';
import { loadConfig, formatIssue } from '../config/index.ts';
import { decodeFrame } from '../core/packet/index.ts';
import type { TransitionReason, VrrpStateName } from '../core/vrrp/types.ts';
import { Instance } from './instance.ts';
import { Journal } from './journal.ts';
import { NotifyQueue, TrackScript } from './scripts.ts';
import type { Logger } from '../runtime/log.ts';
import { VERSION } from '../runtime/version.ts';
import { CommandError } from '../telemetry/types.ts';

export interface DaemonOptions {
  driver: Driver;
  log: Logger;
  configFile: string;
  /** Overrides for tests: a config already loaded. */
  config?: TandemConfig;
  now?: () => number;
}

interface Port {
  ifname: string;
  channel: PacketChannel;
  byKey: Map<string, Instance>; // `${family}:${vrid}`
  drops: Record<string, number>;
}

interface TrackState {
  ownCarrier: boolean;
  trackedDown: Set<string>; // tracked interfaces (no weight) currently down
  weightLoss: number; // sum of weights of failed tracked objects
  scriptFault: number; // failed scripts without weight
  scripts: TrackScript[];
  maintenance: boolean;
  priorityOverride?: number; // set-priority command
  groupHold: boolean; // another member of its sync group is in fault
  faulted: boolean; // last fault verdict fed to the machine
  lastPriority: number;
}

/** A state transition or a notable fault, as published on telemetry's `events` topic. */
export interface DaemonEvent {
  instance?: string;
  from?: VrrpStateName;
  to?: VrrpStateName;
  reason: TransitionReason | string;
  [k: string]: unknown;
}
export type EventListener = (e: DaemonEvent) => void;

export class Daemon {
  config!: TandemConfig;
  readonly bootId = randomUUID();
  readonly startedAt = Date.now();
  private readonly now: () => number;
  private instances = new Map<string, Instance>();
  private ports = new Map<string, Port>();
  private track = new Map<string, TrackState>();
  private notify = new Map<string, NotifyQueue>();
  private unwatch: (() => void) | undefined;
  private journal!: Journal;
  private loop: IntervalHistogram;
  private listeners: EventListener[] = [];
  private changeListeners: (() => void)[] = [];
  private stopping = false;

  constructor(private opts: DaemonOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.loop = monitorEventLoopDelay({ resolution: 5 });
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

  private emit(e: DaemonEvent): void {
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

  /** Load the config, clean up after a crashed run, and start every instance. */
  start(): void {
    if (this.opts.config) this.config = this.opts.config;
    else {
      const r = loadConfig(this.opts.configFile);
      for (const w of r.warnings) this.log.warn({ issue: formatIssue(w) }, 'config warning');
      if (!r.ok) throw new ConfigRejected(r.errors.map(formatIssue));
      this.config = r.config;
    }
    this.loop.enable();
    this.journal = new Journal(this.config.stateDir);
    const left = this.journal.leftovers();
    if (left) {
      const errors = Journal.undo(left, this.undoer());
      this.log.warn({ left, errors }, 'cleaned up what a previous run left behind');
    }
    this.journal.clear();
    this.unwatch = this.driver.watch((ev) => this.onNetEvent(ev));
    for (const c of this.config.instances) this.addInstance(c);
    this.recomputeAll();
    this.log.info({ node: this.config.node, version: VERSION, instances: this.config.instances.length }, 'started');
  }

  private undoer() {
    return {
      setMac: (i: string, m: string) => this.driver.setMac(i, m, { cycleLink: true }),
      removeAddress: (i: string, c: string) => this.driver.removeAddress(i, c),
      deleteLink: (n: string) => this.driver.deleteLink(n),
      writeSysctl: (p: string, v: string) => writeFileSync(p, v),
    };
  }

  private port(ifname: string): Port {
    let p = this.ports.get(ifname);
    if (!p) {
      const channel = this.driver.openChannel(ifname, { vrrp: true });
      p = { ifname, channel, byKey: new Map(), drops: {} };
      const port = p;
      channel.onFrame((f) => this.onFrame(port, f));
      this.ports.set(ifname, p);
    }
    return p;
  }

  private primaryIp(c: InstanceConfig): string {
    if (c.sourceAddress) return c.sourceAddress;
    const vips = new Set(this.config.instances.flatMap((i) => i.addresses.map((a) => a.address)));
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
    const port = this.port(c.interface);
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
        },
      },
      link.index,
    );
    port.byKey.set(`${c.family}:${c.vrid}`, inst);
    this.instances.set(c.name, inst);
    this.setNotify(c);
    const t: TrackState = {
      ownCarrier: link.carrier && link.up,
      trackedDown: new Set(),
      weightLoss: 0,
      scriptFault: 0,
      scripts: [],
      maintenance: false,
      groupHold: false,
      faulted: false,
      lastPriority: c.priority,
    };
    this.track.set(c.name, t);
    for (const ti of c.track.interfaces) {
      try {
        const l = this.driver.link(ti.name);
        if (!(l.up && l.carrier)) this.trackedInterface(c.name, ti.name, false);
      } catch {
        this.trackedInterface(c.name, ti.name, false);
      }
    }
    for (const s of c.track.scripts) {
      const ts = new TrackScript(s, (ok) => {
        this.log.info({ instance: c.name, script: s.run, ok }, 'track script changed');
        this.emit({ instance: c.name, reason: ok ? 'track-script-ok' : 'track-script-failed', script: s.run });
        this.recompute(c.name);
      });
      t.scripts.push(ts);
      ts.start();
    }
    inst.start();
    return inst;
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
   *  weak host model would): arp_ignore=1, arp_announce=2, as FRR needs too. Restored at exit. */
  private prepareVirtualMacParent(c: InstanceConfig): void {
    if (this.driver.os !== 'linux' || c.family !== 4) return;
    for (const [key, value] of [
      ['arp_ignore', '1'],
      ['arp_announce', '2'],
    ] as const) {
      const path = `/proc/sys/net/ipv4/conf/${c.interface}/${key}`;
      try {
        const old = readFileSync(path, 'utf8').trim();
        if (old === value) continue;
        this.journal.recordSysctl(path, old);
        writeFileSync(path, value);
      } catch (e) {
        this.log.warn({ path, err: (e as Error).message }, 'could not set sysctl');
      }
    }
  }

  private onFrame(port: Port, frame: Uint8Array): void {
    const d = decodeFrame(frame);
    if (!d.ok) {
      port.drops[d.reason] = (port.drops[d.reason] ?? 0) + 1;
      return;
    }
    if (d.kind !== 'vrrp') return;
    const inst = port.byKey.get(`${d.family}:${d.advert.vrid}`);
    if (!inst) {
      port.drops['unknown-vrid'] = (port.drops['unknown-vrid'] ?? 0) + 1;
      return;
    }
    if (d.src === inst.primaryIp) {
      // Unicast adverts leave through the kernel, and the capture sees their outgoing copies:
      // expected, not a drop. (Frames we inject for multicast are never captured back.)
      if (!inst.cfg.unicastPeers.length) inst.drop('own-packet');
      return;
    }
    if (d.advert.version !== inst.cfg.version) {
      inst.drop('bad-version');
      return;
    }
    if (inst.cfg.version === 2 && !authMatches(inst.cfg, d.advert.authType, d.advert.authData)) {
      inst.drop('bad-auth');
      return;
    }
    inst.receive(d.src, d.advert, d.checksumForm);
  }

  private onNetEvent(ev: NetEvent): void {
    if (ev.type === 'link') {
      for (const inst of this.instances.values()) {
        const t = this.track.get(inst.name)!;
        if (inst.cfg.interface === ev.ifname) {
          const ok = ev.up && ev.carrier;
          if (ok !== t.ownCarrier) {
            t.ownCarrier = ok;
            this.log.info({ instance: inst.name, interface: ev.ifname, carrier: ok }, 'interface link changed');
            this.emit({ instance: inst.name, reason: ok ? 'carrier-up' : 'carrier-down', interface: ev.ifname });
            this.recompute(inst.name);
          }
        }
        if (inst.cfg.track.interfaces.some((x) => x.name === ev.ifname))
          this.trackedInterface(inst.name, ev.ifname, ev.up && ev.carrier);
      }
    } else if (ev.type === 'address-removed') {
      for (const inst of this.instances.values()) inst.addressRemoved(ev.ifname, ev.address);
    }
  }

  private trackedInterface(name: string, ifname: string, up: boolean): void {
    const t = this.track.get(name);
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
    const t = this.track.get(name);
    if (!inst || !t || this.stopping) return;
    const c = inst.cfg;
    let weightLoss = 0,
      hardFault = !t.ownCarrier;
    for (const ti of c.track.interfaces) {
      if (!t.trackedDown.has(ti.name)) continue;
      if (ti.weight === undefined) hardFault = true;
      else weightLoss += ti.weight;
    }
    for (const s of t.scripts) {
      if (s.ok) continue;
      if (s.spec.weight === undefined) hardFault = true;
      else weightLoss += s.spec.weight;
    }
    // The address owner's priority is fixed at 255 (RFC 5798 5.2.4); only a fault moves it.
    let prio = c.priority === 255 ? 255 : Math.min(254, Math.max(1, (t.priorityOverride ?? c.priority) + weightLoss));
    if (t.maintenance || t.groupHold) prio = 0;
    if (hardFault !== t.faulted) {
      t.faulted = hardFault;
      inst.feed({ type: hardFault ? 'interface-down' : 'interface-up' });
      this.syncGroupsOf(name);
    }
    if (prio !== t.lastPriority) {
      t.lastPriority = prio;
      inst.feed({ type: 'priority', priority: prio });
      this.changed();
    }
  }

  private recomputeAll(): void {
    for (const n of this.instances.keys()) this.recompute(n);
  }

  /** Sync groups fail over together: while any member is in fault, the others hand over
   *  (effective priority 0, make-before-break) and stay backup. */
  private syncGroupsOf(name: string): void {
    for (const g of this.config.syncGroups) {
      if (!g.instances.includes(name)) continue;
      const anyFault = g.instances.some((n) => this.track.get(n)?.faulted);
      for (const n of g.instances) {
        const t = this.track.get(n);
        if (!t) continue;
        const hold = anyFault && !t.faulted;
        if (hold !== t.groupHold) {
          t.groupHold = hold;
          this.recompute(n);
        }
      }
    }
  }

  private transitioned(inst: Instance, from: VrrpStateName, to: VrrpStateName, reason: TransitionReason): void {
    this.notify.get(inst.name)?.push([inst.cfg.notify!, inst.name, to]);
    this.emit({ instance: inst.name, from, to, reason });
  }

  // ---- commands (control socket, MQTT) ----

  instanceNames(): string[] {
    return [...this.instances.keys()];
  }

  setPriority(name: string, value: number | null): void {
    const t = this.track.get(name);
    if (!t) throw new CommandError('unknown-instance', `no instance named '${name}'`);
    if (value !== null && !(Number.isInteger(value) && value >= 1 && value <= 254)) {
      throw new CommandError('bad-argument', 'priority must be an integer 1..254 (null restores the configured one)');
    }
    t.priorityOverride = value ?? undefined;
    this.recompute(name);
  }

  /** Maintenance: hand mastership over with priority 0 (make-before-break) and stay backup. */
  maintenance(on: boolean, name?: string): string[] {
    const names = name ? [name] : [...this.instances.keys()];
    for (const n of names) {
      const t = this.track.get(n);
      if (!t) throw new CommandError('unknown-instance', `no instance named '${n}'`);
      t.maintenance = on;
      this.recompute(n);
    }
    return names;
  }

  /** Re-read the config: unchanged instances keep running untouched; changed ones restart. */
  async reload(): Promise<{
    ok: boolean;
    errors: string[];
    kept: string[];
    restarted: string[];
    added: string[];
    removed: string[];
  }> {
    const r = loadConfig(this.opts.configFile);
    if (!r.ok) {
      const errors = r.errors.map(formatIssue);
      this.log.error({ errors }, 'reload rejected: keeping the running configuration');
      this.emit({ reason: 'reload-rejected', errors });
      return { ok: false, errors, kept: [], restarted: [], added: [], removed: [] };
    }
    const next = r.config;
    const kept: string[] = [],
      restarted: string[] = [],
      added: string[] = [],
      removed: string[] = [];
    const nextByName = new Map(next.instances.map((c) => [c.name, c]));
    const stop: Instance[] = [];
    const soft: [Instance, InstanceConfig][] = [];
    for (const [name, inst] of this.instances) {
      const n = nextByName.get(name);
      if (!n) {
        removed.push(name);
        stop.push(inst);
      } else if (sameInstance(inst.cfg, n)) kept.push(name);
      else if (softChange(inst.cfg, n)) {
        kept.push(name);
        soft.push([inst, n]);
      } else {
        restarted.push(name);
        stop.push(inst);
      }
    }
    for (const [inst, n] of soft) this.reconfigureInPlace(inst, n);
    await this.stopInstances(stop);
    const old = this.config;
    this.config = { ...next, instances: next.instances };
    for (const c of next.instances) {
      if (this.instances.has(c.name)) continue;
      if (!old.instances.some((o) => o.name === c.name)) added.push(c.name);
      try {
        this.addInstance(c);
      } catch (e) {
        this.log.error({ instance: c.name, err: (e as Error).message }, 'could not start instance');
      }
    }
    this.recomputeAll();
    this.log.info({ kept, restarted, added, removed }, 'reloaded');
    this.emit({ reason: 'reloaded', kept, restarted, added, removed });
    return { ok: true, errors: [], kept, restarted, added, removed };
  }

  /** Priority, preempt, tracking, notify or announcement settings changed: no restart. */
  private reconfigureInPlace(inst: Instance, c: InstanceConfig): void {
    const t = this.track.get(inst.name)!;
    if (JSON.stringify(inst.cfg.track.scripts) !== JSON.stringify(c.track.scripts)) {
      for (const s of t.scripts) s.stop();
      t.scripts = c.track.scripts.map((spec) => {
        const ts = new TrackScript(spec, (ok) => {
          this.emit({ instance: c.name, reason: ok ? 'track-script-ok' : 'track-script-failed', script: spec.run });
          this.recompute(c.name);
        });
        ts.start();
        return ts;
      });
    }
    for (const name of [...t.trackedDown])
      if (!c.track.interfaces.some((x) => x.name === name)) t.trackedDown.delete(name);
    this.setNotify(c);
    inst.reconfigure(c);
    t.lastPriority = inst.state.effectivePriority;
    this.recompute(c.name);
    this.log.info({ instance: c.name }, 'reconfigured in place');
  }

  private async stopInstances(list: Instance[]): Promise<void> {
    if (!list.length) return;
    for (const i of list) i.feed({ type: 'shutdown' });
    const worst = Math.max(...list.map((i) => i.state.masterDownIntervalCs * 10));
    const deadline = this.now() + worst + 500;
    while (list.some((i) => !i.stopped) && this.now() < deadline) await sleep(5);
    for (const i of list) {
      i.dispose();
      this.instances.delete(i.name);
      this.track.get(i.name)?.scripts.forEach((s) => s.stop());
      this.track.delete(i.name);
      this.notify.delete(i.name);
      const port = this.ports.get(i.cfg.interface);
      port?.byKey.delete(`${i.cfg.family}:${i.cfg.vrid}`);
      if (port && port.byKey.size === 0) {
        port.channel.close();
        this.ports.delete(port.ifname);
      }
    }
  }

  /** Graceful stop: priority-0 handover, keep answering until the new master speaks, then undo. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.stopInstances([...this.instances.values()]);
    this.unwatch?.();
    const errors = Journal.undo(this.journal.current(), this.undoer());
    if (errors.length) this.log.warn({ errors }, 'some changes could not be undone');
    this.journal.clear();
    for (const p of this.ports.values()) p.channel.close();
    this.ports.clear();
    this.loop.disable();
    this.log.info('stopped');
  }

  status() {
    const now = this.now();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    return {
      node: this.config.node,
      version: VERSION,
      pid: process.pid,
      bootId: this.bootId,
      uptimeMs: Date.now() - this.startedAt,
      loopDelay: { p50: ms(this.loop.percentile(50)), p99: ms(this.loop.percentile(99)), max: ms(this.loop.max) },
      instances: [...this.instances.values()].map((i) => {
        const t = this.track.get(i.name)!;
        return {
          ...i.status(now),
          maintenance: t.maintenance,
          trackedDown: [...t.trackedDown],
          failedScripts: t.scripts.filter((s) => !s.ok).map((s) => s.spec.run),
        };
      }),
      interfaces: [...this.ports.values()].map((p) => ({
        name: p.ifname,
        drops: { ...p.drops },
        captureDropped: p.channel.dropped(),
      })),
    };
  }
}

export class ConfigRejected extends Error {
  constructor(readonly issues: string[]) {
    super(`configuration rejected:\n${issues.join('\n')}`);
  }
}

export { CommandError };

/** Keys whose change the running machine absorbs (RFC 5798 state is kept). */
const SOFT_KEYS = new Set<keyof InstanceConfig>([
  'priority',
  'preempt',
  'preemptDelayMs',
  'acceptMode',
  'garp',
  'track',
  'notify',
  'notifyTimeoutMs',
  'line',
]);

function softChange(a: InstanceConfig, b: InstanceConfig): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof InstanceConfig)[]);
  for (const k of keys) if (!SOFT_KEYS.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])) return false;
  return true;
}

function sameInstance(a: InstanceConfig, b: InstanceConfig): boolean {
  const strip = (c: InstanceConfig) => JSON.stringify({ ...c, line: 0 });
  return strip(a) === strip(b);
}

function authMatches(c: InstanceConfig, type: number | undefined, data: Uint8Array | undefined): boolean {
  // RFC 3768 dropped authentication; RFC 2338 peers may still send simple text (type 1).
  if (c.auth.type === 'none') return type === 0 || type === undefined;
  if (type !== 1 || !data) return false;
  const want = new Uint8Array(8);
  want.set(new TextEncoder().encode(c.auth.password).subarray(0, 8));
  return want.every((b, i) => b === data[i]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
