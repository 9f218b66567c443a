// The CARP machine's public types: the same shape as firmware/core/vrrp/types.ts, so the engine
// drives both the same way. Pure data; times are absolute ms on the injected clock.
import type { CarpAdvert, Family } from '../packet/types.ts';

/** 'fault' is tandem's (link down or a tracked object forces it); ip_carp.c has INIT instead. */
export type CarpStateName = 'init' | 'backup' | 'master' | 'fault';

export interface CarpConfig {
  vhid: number; // 1..255
  family: Family;
  advbase: number; // seconds, 1..254
  advskew: number; // 1/256 s, 0..254
  preempt: boolean; // OpenBSD's net.inet.carp.preempt, ucarp's --preempt
  addresses: string[]; // the virtual addresses
  primaryIp: string; // our own address on the interface (tie-break, source)
}

export type CarpEvent =
  | { type: 'startup' }
  | { type: 'shutdown' }
  | { type: 'timer' }
  | { type: 'advert'; src: string; advert: CarpAdvert } // HMAC already verified
  | { type: 'demote'; demote: number } // 0..255: tandem's tracking, as OpenBSD's demotion counter
  | { type: 'interface-down' }
  | { type: 'interface-up' };

export type CarpTransitionReason =
  | 'startup'
  | 'shutdown'
  | 'master-down-timer'
  | 'preferred-master' // a master advertising more often, or less demoted (ip_carp.c MASTER case)
  | 'preempt'
  | 'demoted-master'
  | 'master-leaving' // its interval is beyond our master-down interval (or it is stopping)
  | 'interface-down'
  | 'interface-up';

export type CarpAction =
  | { type: 'send-advert'; advbase: number; advskew: number; demote: number }
  | { type: 'announce' }
  | { type: 'take-addresses' }
  | { type: 'release-addresses' }
  | { type: 'transition'; from: CarpStateName; to: CarpStateName; reason: CarpTransitionReason }
  | { type: 'drop'; reason: 'ignored'; detail?: string };

export interface CarpState {
  readonly name: CarpStateName;
  readonly config: CarpConfig;
  readonly demote: number;
  readonly since: number;
  readonly started: boolean;
  readonly linkUp: boolean;
  /** The current master's address when known; ours while master. */
  readonly masterIp: string | undefined;
  readonly masterDownTimerMs: number | undefined;
  readonly adverTimerMs: number | undefined;
  /** Our advert interval (advbase + effective advskew/256) in cs, for status. */
  readonly masterAdverIntervalCs: number;
  /** Our master-down interval (3 x advbase + advskew/256) in cs, for status and stop deadlines. */
  readonly masterDownIntervalCs: number;
}

export interface CarpStepResult {
  state: CarpState;
  actions: CarpAction[];
}
