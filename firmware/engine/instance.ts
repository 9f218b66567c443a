// One virtual router at run time: the imperative shell around the pure state machine.
// receive -> step -> perform actions -> re-arm one timer. Nothing here blocks: sends are one
// pcap_inject each, address changes one netlink round trip, notify scripts are queued elsewhere.
import type { InstanceConfig } from '../config/types.ts';
import type { Driver, PacketChannel, RawVrrpSocket } from '../../drivers/types.ts';
import type { ChecksumForm, VrrpAdvert } from '../core/packet/types.ts';
import type {
  TransitionReason,
  VrrpAction,
  VrrpConfig,
  VrrpEvent,
  VrrpState,
  VrrpStateName,
} from '../core/vrrp/types.ts';
import type { CarpAction, CarpEvent, CarpState, CarpTransitionReason } from '../core/carp/types.ts';
import { carpInitialState, carpIsStopped, carpNextDeadline, carpReconfigure, carpStep } from '../core/carp/index.ts';
import type { CarpAdvert } from '../core/packet/types.ts';
import type { CarpAuth } from '../core/packet/index.ts';
import {
  carpKey,
  carpVirtualMac,
  encodeCarpFrame,
  verifyCarp,
  encodeAdvert,
  encodeGratuitousArp,
  encodeNeighborAdvert,
  encodeVrrpFrame,
  simplePasswordAuthData,
  VRRP_V2_AUTH_LEN,
  virtualMac,
} from '../core/packet/index.ts';
import {
  type CountedDrop,
  type InstanceCounters,
  type InstanceStatus,
  type MasterReason,
  zeroCounters,
} from '../core/status.ts';
import {
  csToMs,
  initialState,
  isPlainRefresh,
  isStopped,
  nextDeadline,
  reconfigure,
  refreshOnRepeat,
  step,
} from '../core/vrrp/index.ts';
import { AdvertFrameCache } from './advert-frame.ts';
import { observeChecksumForm, type FormFollow } from '../core/vrrp/checksum-follow.ts';
import type { Journal } from './journal.ts';
import { BfdRunner } from './bfd-session.ts';
import type { HsrpAction, HsrpEvent, HsrpState, HsrpStateName, HsrpTransitionReason } from '../core/hsrp/types.ts';
import { hsrpInitialState, hsrpIsStopped, hsrpNextDeadline, hsrpReconfigure, hsrpStep } from '../core/hsrp/index.ts';
import {
  encodeHsrpSend,
  hsrpMessageOf,
  hsrpRejects,
  hsrpVirtualMacOf,
  type ReceivedHsrp,
  toHsrpConfig,
  vrrpViewOf,
  vrrpViewOfName,
} from './hsrp.ts';
import { AcceptFilter, vipFilterName } from './accept-filter.ts';
import type { Logger } from '../runtime/log.ts';

export interface InstanceHooks {
  onTransition(
    inst: Instance,
    from: VrrpStateName,
    to: VrrpStateName,
    reason: TransitionReason | CarpTransitionReason | HsrpTransitionReason,
  ): void;
  onEvent?(e: { instance: string; reason: string; [k: string]: unknown }): void;
  /** The shell could not do what the machine asked (install the VIPs or the MAC, or send adverts
   *  many times in a row): the engine faults the instance, so the peer takes over. */
  onActionFailed?(inst: Instance, reason: ActionFailure): void;
  /** The protocol timer ran `lateMs` after the moment it was armed for (the engine's loop delay). */
  onTimerRan?(lateMs: number): void;
  /** About to change the NIC's own MAC (mac_mode move): many drivers re-initialise and flap the
   *  carrier, which the engine must not take for a fault (NetBSD sys/net/link_proto.c 1.40). */
  onOwnMacChange?(ifname: string): void;
  /** About to install the VIPs: a promise makes them (and the announcement after them) wait for
   *  it; the state sync commits the peer's connections first (docs/state-sync.md). */
  beforeTakeAddresses?(inst: Instance): Promise<void> | undefined;
}

/** What the shell can fail at, as the fault and event reason say it. */
export type ActionFailure = 'address-install-failed' | 'send-errors';

/** Consecutive failed sends that fault an instance (OpenBSD ip_carp.c demotes after
 *  CARP_SENDAD_MAX_ERRORS = 10 and undoes it after CARP_SENDAD_MIN_SUCCESS = 3). */
export const SEND_ERRORS_BEFORE_FAULT = 10;

export interface InstanceEnv {
  driver: Driver;
  channel: PacketChannel;
  /** With unicast_peers: the raw socket adverts go out on, one sendto per peer (the kernel routes
   *  and resolves them). Closed by dispose(). Without it adverts are multicast frames on `channel`. */
  raw?: RawVrrpSocket;
  journal: Journal;
  log: Logger;
  now: () => number; // monotonic ms
  /** This router's own address on the interface (IPv4 primary, or IPv6 link-local). */
  primaryIp: string;
  /** The NIC's own MAC (before any mac_mode move). */
  nicMac: string;
  hooks: InstanceHooks;
}

/** Name of the macvlan carrying the virtual MAC in mac_mode virtual: "vr<4|6>.<ifindex>.<vrid>"
 *  ("cp<4|6>..." for CARP, whose VHIDs are numbered apart from VRIDs), cut to 15 characters
 *  (IFNAMSIZ less the NUL). */
export function macvlanName(
  ifindex: number,
  family: 4 | 6,
  vrid: number,
  protocol: 'vrrp' | 'carp' | 'hsrp' = 'vrrp',
): string {
  const p = protocol === 'carp' ? 'cp' : protocol === 'hsrp' ? 'hs' : 'vr';
  return `${p}${family}.${ifindex}.${vrid}`.slice(0, 15);
}

export function toVrrpConfig(c: InstanceConfig, primaryIp: string, checksumForm: ChecksumForm): VrrpConfig {
  return {
    vrid: c.vrid,
    version: c.version,
    family: c.family,
    priority: c.priority,
    advertIntervalCs: Math.round(c.advertIntervalMs / 10),
    preempt: c.preempt,
    preemptDelayMs: c.preemptDelayMs,
    acceptMode: c.acceptMode,
    addresses: c.addresses.map((a) => a.address),
    primaryIp,
    checksumForm,
  };
}

function toCarpConfig(c: InstanceConfig, primaryIp: string) {
  const k = c.carp!;
  return {
    vhid: c.vrid,
    family: c.family,
    advbase: k.advbase,
    advskew: k.advskew,
    preempt: c.preempt,
    addresses: c.addresses.map((a) => a.address),
    primaryIp,
  };
}

/** A CARP instance's machine state and what its adverts need (OpenBSD ip_carp.c). */
interface CarpSide {
  state: CarpState;
  auth: CarpAuth;
  /** ip_carp.c starts the 64-bit counter at random and adds one per advert. */
  counter: bigint;
}

function randomCounter(): bigint {
  const b = new Uint32Array(2);
  crypto.getRandomValues(b);
  return (BigInt(b[0]) << 32n) | BigInt(b[1]);
}

/** At most one "following the peer's checksum form" line per this many ms. */
const FORM_LOG_MS = 10_000;

export class Instance {
  /** The VRRP machine (for a CARP instance: the initial state only, never stepped). */
  state: VrrpState;
  /** Set for protocol: carp; then this machine runs instead of the VRRP one. */
  private carp: CarpSide | undefined;
  /** Set for protocol: hsrp (RFC 2281); then this machine runs instead of the VRRP one. */
  private hsrp: { state: HsrpState } | undefined;
  readonly counters: InstanceCounters = zeroCounters();
  readonly vmac: string;
  /** Where the VIPs live: the NIC itself, or the macvlan in mac_mode virtual. */
  readonly addrIfname: string;
  checksumForm: ChecksumForm;
  private formFollow: FormFollow | undefined; // checksum: auto, adverts in the other form from the master
  private formSwitches = 0;
  private formLoggedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private armedFor = 0;
  private garpTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private owning = false; // VIPs currently held
  /** A takeover whose addresses wait for beforeTakeAddresses; `announce` when one was asked meanwhile. */
  private pendingTake: { announce: boolean } | undefined;
  private lastSendErrorLogAt = 0; // send errors are logged at most every 5 s
  private sendErrorStreak = 0; // failed sends since the last good one
  private lastTransitionUnixMs: number | null = null;
  private masterReason: MasterReason | null = null;
  /** state_sync holds preemption until a full resync (engine/state-sync.ts); cfg keeps the configured value. */
  private preemptHeld = false;
  /** With a `bfd` block: the session to the peer that may be master (docs/bfd.md). */
  private bfd: BfdRunner | undefined;
  /** HSRP learn mode: the virtual IP learnt from the active router when we took it over. */
  private learntVip: string | undefined;
  private readonly acceptFilter: AcceptFilter; // RFC 5798 6.1 Accept_Mode false
  private readonly advertFrame = new AdvertFrameCache();
  private fedAt = 0; // clock of the last step

  constructor(
    public cfg: InstanceConfig,
    private env: InstanceEnv,
    readonly ifindex: number,
  ) {
    this.vmac =
      cfg.protocol === 'carp'
        ? carpVirtualMac(cfg.vrid)
        : cfg.protocol === 'hsrp'
          ? hsrpVirtualMacOf(cfg)
          : virtualMac(cfg.vrid, cfg.family);
    this.addrIfname =
      cfg.macMode === 'virtual' ? macvlanName(ifindex, cfg.family, cfg.vrid, cfg.protocol) : cfg.interface;
    this.checksumForm = cfg.checksum === 'vrrp-only' ? 'vrrp-only' : 'pseudo-header';
    this.acceptFilter = new AcceptFilter(vipFilterName(cfg, ifindex), env.driver, env.journal);
    this.state = initialState(toVrrpConfig(cfg, env.primaryIp, this.checksumForm), env.now());
    if (cfg.protocol === 'carp') {
      this.carp = {
        state: carpInitialState(toCarpConfig(cfg, env.primaryIp), env.now()),
        auth: carpAuth(cfg),
        counter: randomCounter(),
      };
    }
    if (cfg.protocol === 'hsrp') this.hsrp = { state: hsrpInitialState(toHsrpConfig(cfg, env.primaryIp), env.now()) };
  }

  get protocol(): 'vrrp' | 'carp' | 'hsrp' {
    return this.carp ? 'carp' : this.hsrp ? 'hsrp' : 'vrrp';
  }

  /** The state name, whichever machine runs (HSRP's seen as VRRP's: active is master). */
  get stateName(): VrrpStateName {
    if (this.hsrp) return vrrpViewOf(this.hsrp.state);
    return this.carp ? this.carp.state.name : this.state.name;
  }

  /** Priority after tracking; for CARP the base priority less the demotion. */
  get effectivePriority(): number {
    if (this.hsrp) return this.hsrp.state.priority;
    return this.carp ? this.cfg.priority - this.carp.state.demote : this.state.effectivePriority;
  }

  /** How long a stopping instance may take to hand over, in ms. */
  get masterDownMs(): number {
    if (this.hsrp) return this.hsrp.state.holdtimeMs;
    return csToMs(this.carp ? this.carp.state.masterDownIntervalCs : this.state.masterDownIntervalCs);
  }

  get name(): string {
    return this.cfg.name;
  }
  get primaryIp(): string {
    return this.env.primaryIp;
  }
  get stopped(): boolean {
    if (this.hsrp) return hsrpIsStopped(this.hsrp.state);
    return this.carp ? carpIsStopped(this.carp.state) : isStopped(this.state);
  }

  /** Prepare the interface side (macvlan for mac_mode virtual), then Startup. */
  start(): void {
    if (this.cfg.macMode === 'virtual') this.prepareMacvlan();
    this.feed({ type: 'startup' });
    this.syncBfd();
  }

  /** Starts, re-times or replaces the BFD session to match `cfg.bfd` (a failure to open the
   *  socket is logged: the instance runs on VRRP timing alone, as without BFD). */
  private syncBfd(): void {
    const want = this.carp ? undefined : this.cfg.bfd;
    if (this.bfd && (!want || want.peer !== this.bfd.peer)) {
      this.bfd.stop();
      this.bfd = undefined;
    }
    if (!want) return;
    if (this.bfd) {
      this.bfd.reconfigure(want);
      return;
    }
    const bfd = new BfdRunner(want, {
      driver: this.env.driver,
      log: this.env.log,
      now: this.env.now,
      random: Math.random,
      instance: this.name,
      family: this.cfg.family,
      src: this.env.primaryIp,
      ifname: this.cfg.interface,
      onPeerSilent: (peer) => this.feed({ type: 'master-down-detected', masterIp: peer }),
      onChange: (e) => this.env.hooks.onEvent?.({ instance: this.name, reason: `bfd-${e.to.toLowerCase()}`, ...e }),
    });
    try {
      bfd.start();
      this.bfd = bfd;
    } catch (e) {
      this.env.log.error({ instance: this.name, err: (e as Error).message }, 'could not start the BFD session');
    }
  }

  feed(ev: VrrpEvent): void {
    if (this.hsrp) {
      if (ev.type === 'advert') this.drop('vrrp-advert');
      else if (ev.type !== 'master-down-detected') this.feedHsrp(ev); // BFD drives VRRP only
      return;
    }
    if (this.carp) {
      // Tracking lowers the priority; CARP has none and demotes instead (ip_carp.c carp_demote).
      if (ev.type === 'priority') this.feedCarp({ type: 'demote', demote: this.cfg.priority - ev.priority });
      else if (ev.type === 'advert') this.drop('vrrp-advert');
      else if (ev.type === 'master-down-detected')
        return; // BFD drives VRRP only (config refuses it)
      else this.feedCarp(ev);
      return;
    }
    const now = this.env.now();
    this.fedAt = now;
    const { state, actions } = step(this.state, ev, now);
    this.state = state;
    for (const a of actions) this.perform(a);
    this.arm();
  }

  /** Hold preemption (the machine runs with preempt off) or give it back, without a restart. */
  holdPreempt(held: boolean): void {
    if (held === this.preemptHeld) return;
    this.preemptHeld = held;
    this.reconfigure(this.cfg);
  }

  /** Apply a config that differs only in what can change in place (priority, preempt, timing
   *  of announcements, ...): the machine keeps its state, so a master stays master. */
  reconfigure(given: InstanceConfig): void {
    this.cfg = given;
    if (this.owning) this.applyAcceptFilter(true); // accept_mode or priority 255 may have changed
    if (this.hsrp) {
      const r = hsrpReconfigure(this.hsrp.state, toHsrpConfig(given, this.env.primaryIp), this.env.now());
      this.hsrp.state = r.state;
      for (const a of r.actions) this.performHsrp(a);
      this.arm();
      return;
    }
    const cfg = this.preemptHeld ? { ...given, preempt: false } : given;
    if (this.carp) {
      this.carp.auth = carpAuth(cfg);
      const r = carpReconfigure(this.carp.state, toCarpConfig(cfg, this.env.primaryIp), this.env.now());
      this.carp.state = r.state;
      for (const a of r.actions) this.performCarp(a);
      this.arm();
      return;
    }
    const { state, actions } = reconfigure(
      this.state,
      toVrrpConfig(cfg, this.env.primaryIp, this.checksumForm),
      this.env.now(),
    );
    this.state = state;
    for (const a of actions) this.perform(a);
    this.arm();
    this.syncBfd();
  }

  /** A decoded advertisement for our VRID (already checked for version and auth). Returns the
   *  new state when the advert was a plain Master_Down_Timer reset an exact repeat may redo
   *  (heardRepeat), else undefined. */
  receive(src: string, advert: VrrpAdvert, form: ChecksumForm): VrrpState | undefined {
    this.counters.advertsReceived++;
    if (this.cfg.checksum === 'auto' && this.cfg.family === 4 && this.cfg.version === 3 && !this.carp) {
      // Follow the master's checksum form (RFC 5798 vs RFC 9568 split), never a stray advert's:
      // core/vrrp/checksum-follow.ts says when.
      const v = observeChecksumForm(this.state, this.checksumForm, form, src, advert, this.formFollow, this.env.now());
      this.formFollow = v.next;
      if (v.follow) this.followForm(form, src);
    }
    this.feed({ type: 'advert', src, advert });
    return isPlainRefresh(this.state, src, this.fedAt) ? this.state : undefined;
  }

  /** Fast path (engine/repeat-advert.ts): an exact repeat of the advert that left the machine in
   *  `expected` restarts the Master_Down_Timer without a decode or a step. */
  heardRepeat(expected: VrrpState): VrrpState | undefined {
    if (this.carp || this.state !== expected) return undefined;
    this.counters.advertsReceived++;
    this.state = refreshOnRepeat(this.state, this.env.now());
    this.arm();
    return this.state;
  }

  /** Switches the checksum form we send; logged at most once per FORM_LOG_MS (alternating forms
   *  must not become a log line per packet on the engine thread). */
  private followForm(form: ChecksumForm, src: string): void {
    const from = this.checksumForm;
    this.checksumForm = form;
    this.formSwitches++;
    const now = this.env.now();
    if (now - this.formLoggedAt < FORM_LOG_MS) return;
    this.formLoggedAt = now;
    this.env.log.info(
      { instance: this.name, from, to: form, peer: src, switches: this.formSwitches },
      "following the peer's VRRPv3 IPv4 checksum form",
    );
  }

  /** One CARP machine step; a VRRP-only event (an advert) never reaches here. */
  private feedCarp(ev: CarpEvent): void {
    const c = this.carp!;
    const { state, actions } = carpStep(c.state, ev, this.env.now());
    c.state = state;
    for (const a of actions) this.performCarp(a);
    this.arm();
  }

  /** A decoded CARP advert for our VHID: the HMAC decides whether it counts (ip_carp.c). */
  receiveCarp(src: string, advert: CarpAdvert): void {
    const c = this.carp;
    if (!c) {
      this.drop('carp-advert');
      return;
    }
    if (!verifyCarp(advert, c.auth)) {
      this.drop('bad-auth');
      return;
    }
    this.counters.advertsReceived++;
    this.feedCarp({ type: 'advert', src, advert });
  }

  private performCarp(a: CarpAction): void {
    if (a.type === 'send-advert') {
      const c = this.carp!;
      c.counter = BigInt.asUintN(64, c.counter + 1n);
      const frame = encodeCarpFrame({
        srcMac: this.vmac,
        family: this.cfg.family,
        src: this.env.primaryIp,
        advert: { vhid: this.cfg.vrid, advbase: a.advbase, advskew: a.advskew, demote: a.demote, counter: c.counter },
        auth: c.auth,
      });
      if (this.send(frame, 'advert')) this.counters.advertsSent++;
      return;
    }
    if (a.type === 'drop') {
      this.drop(a.reason);
      return;
    }
    if (a.type === 'transition') {
      this.transitioned(a.from, a.to, a.reason);
      return;
    }
    // announce, take-addresses, release-addresses mean the same for both protocols.
    this.perform(a);
  }

  /** One HSRP machine step. */
  private feedHsrp(ev: HsrpEvent): void {
    const h = this.hsrp!;
    const before = h.state;
    const { state, actions } = hsrpStep(h.state, ev, this.env.now());
    h.state = state;
    for (const a of actions) this.performHsrp(a, before);
    this.arm();
  }

  /** A decoded HSRP message for our group: version, family and authentication decide whether it
   *  counts (RFC 2281 5.1: text; or the MD5 TLV). */
  receiveHsrp(d: ReceivedHsrp): void {
    if (!this.hsrp) {
      this.drop('hsrp-message');
      return;
    }
    const why = hsrpRejects(this.cfg, d);
    if (why) {
      this.drop(why);
      return;
    }
    this.counters.advertsReceived++;
    this.feedHsrp({ type: 'message', src: d.src, message: hsrpMessageOf(d) });
  }

  private performHsrp(a: HsrpAction, before?: HsrpState): void {
    switch (a.type) {
      case 'send': {
        const frame = encodeHsrpSend(this.cfg, a, {
          primaryIp: this.env.primaryIp,
          nicMac: this.env.nicMac,
          vmac: this.vmac,
        });
        if (this.send(frame, a.op)) this.counters.advertsSent++;
        return;
      }
      case 'transition':
        this.hsrpTransitioned(a.from, a.to, a.reason, before ?? this.hsrp!.state);
        return;
      case 'take-addresses':
        this.learntVip = this.cfg.hsrp?.learn ? a.virtualIp : undefined;
        this.takeAddressesWhenReady();
        return;
      case 'announce':
      case 'release-addresses':
      case 'drop':
        this.perform(a);
        return;
      default: {
        const never: never = a;
        this.env.log.warn({ action: never }, 'unknown HSRP action');
      }
    }
  }

  /** An HSRP state change: logged and counted in RFC 2281's names; the engine hears it in VRRP's
   *  (active = master) when that view changes. */
  private hsrpTransitioned(from: HsrpStateName, to: HsrpStateName, reason: HsrpTransitionReason, before: HsrpState) {
    const vFrom = vrrpViewOfName(from, before);
    const vTo = vrrpViewOfName(to, this.hsrp!.state);
    if (vFrom !== vTo) {
      this.transitioned(vFrom, vTo, reason, { hsrpFrom: from, hsrpTo: to });
      return;
    }
    this.counters.transitions++;
    this.lastTransitionUnixMs = Date.now();
    this.env.log.info({ instance: this.name, from, to, reason }, 'HSRP transition');
  }

  drop(reason: CountedDrop): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
  }

  /** Final teardown after the machine stopped: VIPs gone, macvlan deleted, MAC restored. */
  dispose(): void {
    this.pendingTake = undefined;
    this.clearTimers();
    this.bfd?.stop();
    this.bfd = undefined;
    this.env.raw?.close();
    if (this.owning) this.releaseAddresses();
    if (this.cfg.macMode === 'virtual') {
      try {
        this.env.driver.deleteLink(this.addrIfname);
        this.env.journal.forgetLink(this.addrIfname);
      } catch (e) {
        this.env.log.warn({ instance: this.name, err: (e as Error).message }, 'could not delete macvlan');
      }
    }
  }

  /** Someone else removed one of our VIPs while we are master: put it back (keepalived #836). */
  addressRemoved(ifname: string, address: string): void {
    if (!this.owning || ifname !== this.addrIfname) return;
    const vip = this.vips().find((a) => a.address === address);
    if (!vip) return;
    const cidr = `${vip.address}/${vip.prefixLength}`;
    try {
      this.env.driver.addAddress(this.addrIfname, cidr);
      this.counters.addressesRestored++;
      this.env.hooks.onEvent?.({ instance: this.name, reason: 'address-restored', address: cidr });
      this.env.log.warn(
        { instance: this.name, address: cidr },
        'a virtual address was removed by other software: restored',
      );
      this.announce();
    } catch (e) {
      this.env.log.error(
        { instance: this.name, address: cidr, err: (e as Error).message },
        'could not restore a virtual address',
      );
    }
  }

  private perform(a: VrrpAction): void {
    switch (a.type) {
      case 'send-advert':
        this.sendAdvert(a.priority, a.maxAdverIntervalCs);
        return;
      case 'announce':
        if (this.pendingTake) this.pendingTake.announce = true;
        else this.announce();
        return;
      case 'take-addresses':
        this.takeAddressesWhenReady();
        return;
      case 'release-addresses':
        // A takeover still waiting installed nothing: there is nothing to release.
        if (this.pendingTake) this.pendingTake = undefined;
        else this.releaseAddresses();
        return;
      case 'transition':
        this.transitioned(a.from, a.to, a.reason);
        return;
      case 'drop':
        this.drop(a.reason);
        return;
      default: {
        const never: never = a;
        this.env.log.warn({ action: never }, 'unknown action');
      }
    }
  }

  private transitioned(
    from: VrrpStateName,
    to: VrrpStateName,
    reason: TransitionReason | CarpTransitionReason | HsrpTransitionReason,
    hsrp?: { hsrpFrom: HsrpStateName; hsrpTo: HsrpStateName },
  ): void {
    this.counters.transitions++;
    if (to === 'master') {
      this.counters.becameMaster++;
      this.counters.becameMasterBy[reason] = (this.counters.becameMasterBy[reason] ?? 0) + 1;
    }
    if (reason === 'master-down-detected' && this.bfd) this.bfd.counters.takeovers++;
    this.lastTransitionUnixMs = Date.now(); // wall clock, for operators (status, metrics)
    this.masterReason = to === 'master' ? reason : null;
    this.env.log.info({ instance: this.name, from, to, reason, ...hsrp }, 'transition');
    this.env.hooks.onTransition(this, from, to, reason);
  }

  /** Arms one timer for the machine's next deadline. A backup's Master_Down deadline moves later
   *  with every advert heard; re-creating a Node timer each time is most of a busy backup's cost,
   *  so a timer armed for an earlier moment is kept and re-armed when it fires early. */
  private arm(): void {
    const due = this.hsrp
      ? hsrpNextDeadline(this.hsrp.state)
      : this.carp
        ? carpNextDeadline(this.carp.state)
        : nextDeadline(this.state);
    if (due === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    this.timerDue = due;
    if (this.timer && this.armedFor <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = due;
    // Whole ms, rounded up: libuv arms whole ms, and Node re-arms a timer that woke a fraction of a
    // ms early for one more ms (a second wake-up per advert).
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(due - this.env.now())));
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = this.env.now();
    this.env.hooks.onTimerRan?.(now - this.armedFor);
    if (now < this.timerDue - 1) {
      this.arm();
      return;
    } // the deadline moved on: not due yet
    const late = now - this.timerDue;
    if (late > this.cfg.advertIntervalMs / 4) this.counters.lateTimers++;
    // Timers run before I/O in Node's loop: after a stall, adverts that arrived meanwhile are still
    // unread. Defer to the check phase, after the poll phase has read them, so a late timer does
    // not cause a false takeover (keepalived #2066).
    setImmediate(() => this.feed({ type: 'timer' }));
  }

  private sendAdvert(priority: number, maxAdverIntervalCs: number): void {
    const c = this.cfg;
    const advert: VrrpAdvert = {
      version: c.version,
      vrid: c.vrid,
      priority,
      maxAdverIntervalCs,
      addresses: c.addresses.map((x) => x.address),
      ...(c.version === 2 ? v2Auth(c) : {}),
    };
    const raw = this.env.raw;
    if (raw && c.unicastPeers.length) {
      // Unicast (keepalived's unicast_peer): the same advert to each peer; the checksum's
      // pseudo-header (RFC 5798 5.2.8) names the peer as destination. advertsSent counts packets.
      for (const peer of c.unicastPeers) {
        const payload = encodeAdvert(advert, {
          family: c.family,
          src: this.env.primaryIp,
          dst: peer,
          checksumForm: this.checksumForm,
        });
        if (this.trySend(() => raw.send(peer, payload), 'advert')) this.counters.advertsSent++;
      }
      return;
    }
    // The same frame every interval: built again only when one of its inputs changes.
    const frame = this.advertFrame.get(c, priority, maxAdverIntervalCs, this.checksumForm, () =>
      encodeVrrpFrame({
        srcMac: this.vmac,
        family: c.family,
        src: this.env.primaryIp,
        advert,
        checksumForm: this.checksumForm,
      }),
    );
    if (this.send(frame, 'advert')) this.counters.advertsSent++;
  }

  private send(frame: Uint8Array, what: string): boolean {
    return this.trySend(() => this.env.channel.send(frame), what);
  }

  /** Count a failed send and log it at most every 5 s (a dead link would flood the log). */
  private trySend(fn: () => void, what: string): boolean {
    try {
      fn();
      this.sendErrorStreak = 0;
      return true;
    } catch (e) {
      this.counters.sendErrors++;
      if (++this.sendErrorStreak === SEND_ERRORS_BEFORE_FAULT) this.env.hooks.onActionFailed?.(this, 'send-errors');
      const now = this.env.now();
      if (now - this.lastSendErrorLogAt > 5000) {
        this.lastSendErrorLogAt = now;
        this.env.log.error({ instance: this.name, what, err: (e as Error).message }, 'send failed');
      }
      return false;
    }
  }

  /** The virtual addresses to install: the configured ones, or HSRP's learnt one (a host route,
   *  /32 or /128: the prefix is not carried in a Hello). */
  private vips(): InstanceConfig['addresses'] {
    if (this.learntVip === undefined) return this.cfg.addresses;
    return [{ address: this.learntVip, prefixLength: this.cfg.family === 4 ? 32 : 128 }];
  }

  /** The MAC hosts should use for the VIPs in this mode. */
  private ownerMac(): string {
    return this.cfg.macMode === 'none' ? this.env.nicMac : this.vmac;
  }

  /** Gratuitous ARP / unsolicited NA: one burst now, the rest of `garp.count` spaced by its interval. */
  private announce(): void {
    if (this.garpTimer) clearTimeout(this.garpTimer);
    let left = this.cfg.garp.count;
    const burst = () => {
      this.garpTimer = undefined;
      if (!this.owning || left <= 0) return;
      left--;
      this.announceOnce();
      if (left > 0) this.garpTimer = setTimeout(burst, this.cfg.garp.intervalMs);
    };
    burst();
  }

  private announceOnce(): void {
    const mac = this.ownerMac();
    for (const { address } of this.vips()) {
      const frame =
        this.cfg.family === 4
          ? encodeGratuitousArp({ mac, ip: address })
          : encodeNeighborAdvert({
              srcMac: mac,
              src: this.env.primaryIp,
              target: address,
              override: true,
              router: true,
            });
      if (this.send(frame, 'announce')) this.counters.announcements++;
    }
  }

  /** takeAddresses, after whatever the engine makes a takeover wait for. */
  private takeAddressesWhenReady(): void {
    const wait = this.env.hooks.beforeTakeAddresses?.(this);
    if (!wait) {
      this.takeAddresses();
      return;
    }
    const pending = { announce: false };
    this.pendingTake = pending;
    void wait.then(() => {
      if (this.pendingTake !== pending) return; // released or disposed meanwhile
      this.pendingTake = undefined;
      this.takeAddresses();
      if (pending.announce) this.announce();
    });
  }

  private takeAddresses(): void {
    const { driver, journal, log } = this.env;
    const c = this.cfg;
    let failed = false;
    try {
      if (c.macMode === 'move') {
        journal.recordMac(c.interface, this.env.nicMac);
        this.env.hooks.onOwnMacChange?.(c.interface);
        driver.setMac(c.interface, this.vmac, { cycleLink: c.macCycleLink });
      } else if (c.macMode === 'virtual') {
        driver.setUp(this.addrIfname, true);
      }
    } catch (e) {
      log.error({ instance: this.name, err: (e as Error).message }, 'could not put the virtual MAC in place');
      failed = true;
    }
    if (!this.applyAcceptFilter(true)) failed = true; // before the addresses: no window of accepting
    for (const a of this.vips()) {
      const cidr = `${a.address}/${a.prefixLength}`;
      journal.recordAddress(this.addrIfname, cidr);
      try {
        driver.addAddress(this.addrIfname, cidr);
      } catch (e) {
        log.error({ instance: this.name, address: cidr, err: (e as Error).message }, 'could not add a virtual address');
        failed = true;
      }
    }
    this.owning = true;
    // A master without its addresses blackholes the clients: let the peer take over instead.
    if (failed) this.env.hooks.onActionFailed?.(this, 'address-install-failed');
    if (c.garp.refreshMs > 0) {
      if (this.refreshTimer) clearInterval(this.refreshTimer);
      this.refreshTimer = setInterval(() => this.announceOnce(), c.garp.refreshMs);
    }
  }

  private releaseAddresses(): void {
    const { driver, journal, log } = this.env;
    const c = this.cfg;
    this.owning = false;
    if (this.garpTimer) {
      clearTimeout(this.garpTimer);
      this.garpTimer = undefined;
    }
    if (this.refreshTimer) {
      clearInterval(this.refreshTimer);
      this.refreshTimer = undefined;
    }
    for (const a of this.vips()) {
      const cidr = `${a.address}/${a.prefixLength}`;
      try {
        driver.removeAddress(this.addrIfname, cidr);
        journal.forgetAddress(this.addrIfname, cidr);
      } catch (e) {
        log.error(
          { instance: this.name, address: cidr, err: (e as Error).message },
          'could not remove a virtual address',
        );
      }
    }
    this.applyAcceptFilter(false);
    try {
      if (c.macMode === 'move') {
        this.env.hooks.onOwnMacChange?.(c.interface);
        driver.setMac(c.interface, this.env.nicMac, { cycleLink: c.macCycleLink });
        journal.forgetMac(c.interface);
      } else if (c.macMode === 'virtual') {
        driver.setUp(this.addrIfname, false);
      }
    } catch (e) {
      log.error({ instance: this.name, err: (e as Error).message }, 'could not restore the MAC');
    }
  }

  /** Accept_Mode's filter to match the state; false (logged) when the driver failed. */
  private applyAcceptFilter(master: boolean): boolean {
    try {
      this.acceptFilter.apply(this.cfg, master);
      return true;
    } catch (e) {
      this.env.log.error({ instance: this.name, err: (e as Error).message }, 'could not set the accept_mode filter');
      return false;
    }
  }

  private prepareMacvlan(): void {
    const { driver, journal } = this.env;
    journal.recordLink(this.addrIfname);
    driver.deleteLink(this.addrIfname); // a leftover from a crash, if any
    driver.createMacvlan(this.cfg.interface, this.addrIfname, this.vmac);
    if (driver.os === 'linux') {
      // Every router's macvlan has the same MAC: an EUI-64 link-local derived from it would collide
      // (and RFC 9568 7.4 says never to source from it). IPv4 instances need no IPv6 at all.
      // The macvlan is ours and deleted at exit, so these need no undo record.
      const key = this.cfg.family === 4 ? 'disable_ipv6' : 'addr_gen_mode';
      try {
        driver.setInterfaceSetting(this.addrIfname, key, '1');
      } catch (e) {
        this.env.log.warn({ instance: this.name, err: (e as Error).message }, `could not set ${key} on the macvlan`);
      }
    }
    driver.setUp(this.addrIfname, false); // up only while master, so a backup never answers
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.garpTimer) clearTimeout(this.garpTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.timer = this.garpTimer = this.refreshTimer = undefined;
  }

  /** This instance's part of the status (the engine adds tracking and maintenance). */
  status(now: number): Omit<InstanceStatus, 'maintenance' | 'trackedDown' | 'failedScripts'> {
    const h = this.hsrp?.state;
    const s = h
      ? {
          name: vrrpViewOf(h),
          effectivePriority: h.priority,
          masterIp: h.activeIp,
          masterAdverIntervalCs: h.hellotimeMs / 10,
          since: h.since,
        }
      : this.carp
        ? { ...this.carp.state, effectivePriority: this.effectivePriority }
        : this.state;
    return {
      name: this.cfg.name,
      interface: this.cfg.interface,
      ifIndex: this.ifindex,
      primaryIp: this.env.primaryIp,
      virtualMac: this.vmac,
      advertIntervalMs: this.cfg.advertIntervalMs,
      preempt: this.cfg.preempt,
      acceptMode: this.cfg.acceptMode,
      protocol: this.protocol,
      vrid: this.cfg.vrid,
      version: this.cfg.version,
      family: this.cfg.family,
      addresses: this.vips().map((a) => `${a.address}/${a.prefixLength}`),
      macMode: this.cfg.macMode,
      state: s.name,
      ...(h ? { hsrpState: h.name } : {}),
      priority: this.cfg.priority,
      effectivePriority: s.effectivePriority,
      masterIp: s.masterIp ?? null,
      masterAdverIntervalMs: csToMs(s.masterAdverIntervalCs),
      timeInStateMs: Math.max(0, Math.round(now - s.since)),
      lastTransitionUnixMs: this.lastTransitionUnixMs,
      masterReason: this.masterReason,
      checksumForm:
        !this.carp && !this.hsrp && this.cfg.family === 4 && this.cfg.version === 3 ? this.checksumForm : undefined,
      counters: {
        ...this.counters,
        becameMasterBy: { ...this.counters.becameMasterBy },
        drops: { ...this.counters.drops },
      },
      ...(this.bfd ? { bfd: this.bfd.status(now) } : {}),
    };
  }
}

function carpAuth(c: InstanceConfig): CarpAuth {
  return { key: carpKey(c.carp!.passphrase), addresses: c.addresses.map((a) => a.address) };
}

/** RFC 3768 5.3.6: type 1 carries the password (validated to 8 bytes by the config), type 0 zeros. */
function v2Auth(c: InstanceConfig): Pick<VrrpAdvert, 'authType' | 'authData'> {
  if (c.auth.type === 'simple') return { authType: 1, authData: simplePasswordAuthData(c.auth.password) };
  return { authType: 0, authData: new Uint8Array(VRRP_V2_AUTH_LEN) };
}
