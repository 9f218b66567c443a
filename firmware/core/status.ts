// What the engine reports about itself: one shape across the worker boundary, the control socket
// (`tandem status --json`) and MQTT (`state`).
import type { DropReason } from './packet/types.ts';
import type { CarpTransitionReason } from './carp/types.ts';
import type { TransitionReason, VrrpDropReason, VrrpStateName } from './vrrp/types.ts';

/** Why a router became master (or left it), VRRP's reasons and CARP's. */
export type MasterReason = TransitionReason | CarpTransitionReason;

/** Every reason a received frame is counted and dropped, by the decoder or the state machine. */
export type CountedDrop = DropReason | VrrpDropReason;
export type DropCounts = Partial<Record<CountedDrop, number>>;

export interface InstanceCounters {
  advertsSent: number;
  advertsReceived: number;
  transitions: number;
  becameMaster: number;
  /** becameMaster by the reason of each transition (RFC 6527 vrrpv3StatisticsNewMasterReason). */
  becameMasterBy: Partial<Record<MasterReason, number>>;
  announcements: number; // gratuitous ARP / unsolicited NA frames sent
  addressesRestored: number; // VIPs put back after other software removed them (keepalived #836)
  sendErrors: number;
  lateTimers: number; // timers that fired over a quarter interval late (keepalived #2066)
  drops: DropCounts;
}

/** All counters at zero, for a new instance. */
export function zeroCounters(): InstanceCounters {
  return {
    advertsSent: 0,
    advertsReceived: 0,
    transitions: 0,
    becameMaster: 0,
    becameMasterBy: {},
    announcements: 0,
    addressesRestored: 0,
    sendErrors: 0,
    lateTimers: 0,
    drops: {},
  };
}

export interface InstanceStatus {
  name: string;
  interface: string;
  ifIndex: number; // the interface's index (RFC 2863 ifIndex; the VRRPv3-MIB's first index)
  primaryIp: string; // the address adverts are sent from (RFC 5798 5.2.9 IPvX Address)
  virtualMac: string; // RFC 5798 7.3: 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID (IPv6)
  advertIntervalMs: number; // configured
  preempt: boolean;
  acceptMode: boolean;
  protocol: 'vrrp' | 'carp';
  vrid: number; // the VHID for CARP
  version: 2 | 3;
  family: 4 | 6;
  addresses: string[]; // "addr/prefix"
  macMode: 'none' | 'virtual' | 'move';
  state: VrrpStateName;
  priority: number; // configured
  effectivePriority: number; // after tracking, overrides and maintenance
  masterIp: string | null;
  masterAdverIntervalMs: number;
  timeInStateMs: number;
  lastTransitionUnixMs: number | null; // wall clock of the last state change; null before the first
  masterReason: MasterReason | null; // why the current mastership began; null when not master
  checksumForm?: 'pseudo-header' | 'vrrp-only'; // VRRPv3 over IPv4 only
  counters: InstanceCounters;
  maintenance: boolean;
  trackedDown: string[]; // tracked interfaces that are down
  failedScripts: string[]; // track scripts whose last verdict was failure
}

/** Frames dropped on an interface before they reached an instance (decode errors, unknown VRID). */
export interface PortStatus {
  name: string;
  drops: DropCounts;
  captureDropped: number; // dropped by the kernel before we read them (pcap_stats)
}

/** Event-loop delay of the engine thread, in ms (5 ms resolution). */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

export interface EngineStatus {
  node: string;
  version: string;
  pid: number;
  bootId: string;
  uptimeMs: number;
  loopDelay: LoopDelay;
  instances: InstanceStatus[];
  interfaces: PortStatus[];
  /** Configured instances that could not start (a missing interface), retried every 2 s. */
  unstarted?: { name: string; interface: string; error: string }[];
}

/** The answer to a reload: what happened to each instance, or why nothing did. */
export interface ReloadResult {
  ok: boolean;
  errors: string[];
  kept: string[];
  restarted: string[];
  added: string[];
  removed: string[];
}

/** A state transition or a notable fault, as published on telemetry's `events` topic. */
export interface EngineEvent {
  instance?: string;
  from?: VrrpStateName;
  to?: VrrpStateName;
  reason: TransitionReason | string;
  [k: string]: unknown;
}
