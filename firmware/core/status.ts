// What the engine reports about itself: one shape across the worker boundary, the control socket
// (`tandem status --json`) and MQTT (`state`). Types only.
import type { DropReason } from './packet/types.ts';
import type { TransitionReason, VrrpDropReason, VrrpStateName } from './vrrp/types.ts';

/** Every reason a received frame is counted and dropped, by the decoder or the state machine. */
export type CountedDrop = DropReason | VrrpDropReason;
export type DropCounts = Partial<Record<CountedDrop, number>>;

export interface InstanceCounters {
  advertsSent: number;
  advertsReceived: number;
  transitions: number;
  becameMaster: number;
  announcements: number; // gratuitous ARP / unsolicited NA frames sent
  addressesRestored: number; // VIPs put back after other software removed them (keepalived #836)
  sendErrors: number;
  lateTimers: number; // timers that fired over a quarter interval late (keepalived #2066)
  drops: DropCounts;
}

export interface InstanceStatus {
  name: string;
  interface: string;
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
