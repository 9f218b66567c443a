// What the engine reports about itself: one shape across the worker boundary, the control socket
// (`tandem status --json`) and MQTT (`state`).
import type { DropReason } from './packet/types.ts';
import type { BfdStatus } from './bfd/status.ts';
import type { ClusterDropReason } from './packet/cluster.ts';
import type { CarpTransitionReason } from './carp/types.ts';
import type { HsrpStateName, HsrpTransitionReason } from './hsrp/types.ts';
import type { TransitionReason, VrrpDropReason, VrrpStateName } from './vrrp/types.ts';

/** Why a router became master (or left it), VRRP's reasons, CARP's and HSRP's. */
export type MasterReason = TransitionReason | CarpTransitionReason | HsrpTransitionReason;

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
  protocol: 'vrrp' | 'carp' | 'hsrp';
  vrid: number; // the VHID for CARP, the group for HSRP
  version: 2 | 3;
  family: 4 | 6;
  addresses: string[]; // "addr/prefix"
  macMode: 'none' | 'virtual' | 'move';
  state: VrrpStateName; // HSRP: active is master, initial is init, the others backup
  /** HSRP only: the RFC 2281 state (initial, learn, listen, speak, standby, active). */
  hsrpState?: HsrpStateName;
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
  bfd?: BfdStatus; // with a `bfd` block: the session to the peer (docs/bfd.md)
}

/** Frames dropped on an interface before they reached an instance (decode errors, unknown VRID). */
export interface PortStatus {
  name: string;
  drops: DropCounts;
  captureDropped: number; // dropped by the kernel before we read them (pcap_stats)
}

/** One node of an active-active cluster as this node sees it (itself included). */
export interface ClusterMemberStatus {
  node: string; // node name
  nodeId: number; // its id on the wire (from the name)
  self: boolean;
  weight: number; // effective weight it advertises
  buckets: number; // buckets it owns
  draining: number; // buckets it drains
  joining: boolean; // still listening: not counted yet
  viewAgrees: boolean; // it counts the same members and weights as we do (view hash)
}

/** An active-active cluster (issue #13, docs/cluster.md). */
export interface ClusterStatus {
  name: string;
  interface: string;
  id: number;
  mac: string;
  macMode: 'multicast' | 'igmp' | 'unicast';
  addresses: string[]; // "addr/prefix"
  bucketCount: number;
  configuredWeight: number;
  weight: number; // after tracking and maintenance
  state: 'joining' | 'serving' | 'leaving' | 'failed';
  error?: string; // why state is failed (data path could not be installed)
  owned: number[];
  draining: number[];
  members: ClusterMemberStatus[];
  maintenance: boolean;
  counters: {
    advertsSent: number;
    advertsReceived: number;
    sendErrors: number;
    dataPathErrors: number;
    bucketsGained: number;
    bucketsLost: number; // given up (moved to draining)
    failovers: number; // buckets taken from a failed member
    memberDowns: number;
    drainsEnded: number; // draining buckets released early: connection tracking had none left
  };
  drops: Partial<Record<ClusterDropReason, number>>;
  dataPath?: { table: string; mac: string; addresses: string[]; sysctls: Record<string, string> };
  mode: 'local' | 'forward';
  /** forward clusters with state_sync: the conntrackd among the nodes (`conntrackd -s`). */
  stateSync?: ClusterSyncStatus;
}

export interface ClusterSyncStatus {
  conntrackdPid: number | null;
  reachable: boolean; // conntrackd answered the last `-s`
  internalCache: number | null; // this node's flows
  externalCache: number | null; // the other nodes' flows, ready to commit
  commits: number; // `conntrackd -c` runs (a member died)
  commitFailures: number;
  lastCommit: { ok: boolean; ms: number; atUnixMs: number; error?: string } | null;
  restarts: number;
  lastError: string | null;
}

/** Event-loop delay of the engine thread, in ms: how late its protocol timers ran. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** Connection-state replication through conntrackd (state_sync; docs/state-sync.md). Cache
 *  sizes and message counts are conntrackd's own (`conntrackd -s`), null until it answered. */
export interface StateSyncStatus {
  follows: string; // the instance or sync group that drives it
  mode: 'child' | 'socket'; // tandem runs conntrackd, or drives an operator's through its socket
  role: 'master' | 'backup' | 'fault' | 'stop' | null;
  conntrackdPid: number | null;
  reachable: boolean; // conntrackd answered the last `-s`
  connected: boolean; // the peer was heard within stall_after
  stalled: boolean;
  preemptHeld: boolean; // the followed instances wait for a full resync before preempting
  internalCache: number | null;
  externalCache: number | null;
  messagesLost: number | null;
  malformedMessages: number | null;
  lastResyncReceivedUnixMs: number | null; // a full resync from the peer ended the hold
  lastBulkSentUnixMs: number | null; // this node sent its table in bulk (as new master)
  lastSequence: { role: string; failed: string[]; atUnixMs: number } | null;
  lastError: string | null;
  restarts: number; // conntrackd children restarted after dying
  controlFailures: number;
  stalls: number;
  stepsCoalesced: number; // transitions replaced by a later one before they ran
  stepsDropped: number; // steps of an overtaken sequence that never ran
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
  stateSync?: StateSyncStatus;
  /** Present when the configuration has clusters (issue #13). */
  clusters?: ClusterStatus[];
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
