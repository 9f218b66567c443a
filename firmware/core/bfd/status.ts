// What `status`, metrics and MQTT show of one instance's BFD session.
import type { BfdDropReason, BfdStateName } from '../packet/bfd.ts';
import type { BfdSessionDropReason } from './session.ts';

/** Why a datagram on the BFD port was dropped: the codec's reasons, the session's, and GTSM. */
export type BfdCountedDrop = BfdDropReason | BfdSessionDropReason | 'bfd-ttl';

export interface BfdCounters {
  packetsSent: number;
  packetsReceived: number; // accepted by the session
  sendErrors: number;
  up: number; // transitions to Up
  down: number; // transitions from Init/Up to Down
  /** Downs that signalled a silent peer (our Detection Time expired, not damped). */
  peerSilent: number;
  /** Downs from Up inside the damping hold: no takeover triggered. */
  damped: number;
  /** Takeovers the session started (master-down-detected accepted by the VRRP machine). */
  takeovers: number;
  drops: Partial<Record<BfdCountedDrop, number>>;
}

export interface BfdStatus {
  peer: string;
  state: BfdStateName;
  remoteState: BfdStateName;
  localDiscr: number;
  remoteDiscr: number;
  configuredIntervalMs: number;
  multiplier: number;
  /** The negotiated transmit interval (RFC 5880 6.8.2), ms; 0 when the peer wants none. */
  txIntervalMs: number;
  /** The Detection Time (6.8.4), ms; 0 before the first packet from the peer. */
  detectionTimeMs: number;
  remoteMinRxMs: number;
  remoteDetectMult: number;
  polling: boolean;
  everUp: boolean;
  timeInStateMs: number;
  /** RFC 5880 4.1 diagnostic of the last Down from Init/Up, in words; null before any. */
  lastDownDiag: string | null;
  /** ms until a Down may trigger a takeover again (flap damping); 0 when it may now. */
  takeoverHoldMs: number;
  counters: BfdCounters;
}
