// The VRRP state machine's public types (RFC 5798 / RFC 9568 section 6). Pure data: the machine
// is `step(state, event, nowMs) -> { state, actions }`, deadlines are absolute milliseconds on the
// injected clock, and the shell arms one timer for `nextDeadline(state)`.
import type { ChecksumForm, Family, VrrpAdvert, VrrpVersion } from '../packet/types.ts';

/** 'fault' is tandem's: the interface is down or a tracked object forces it (not in the RFC). */
export type VrrpStateName = 'init' | 'backup' | 'master' | 'fault';

/** What one virtual router is configured with (already validated). */
export interface VrrpConfig {
  vrid: number; // 1..255
  version: VrrpVersion;
  family: Family;
  priority: number; // configured priority 1..255; 255 = address owner
  advertIntervalCs: number; // Advertisement_Interval, centiseconds (v2: multiple of 100)
  preempt: boolean; // Preempt_Mode
  preemptDelayMs: number; // extra wait before preempting (keepalived's preempt_delay)
  acceptMode: boolean; // Accept_Mode (v3)
  addresses: string[]; // the virtual addresses (IPvX), first is primary
  primaryIp: string; // this router's own address on the interface (tie-break, source)
  checksumForm?: ChecksumForm; // v3 over IPv4 only; default 'pseudo-header'
}

/** The events the shell feeds in. */
export type VrrpEvent =
  | { type: 'startup' }
  | { type: 'shutdown' } // clean stop: priority-0 advert if master
  | { type: 'timer' } // a deadline passed: the machine checks which
  | { type: 'advert'; src: string; advert: VrrpAdvert } // a decoded advert for our VRID
  | { type: 'priority'; priority: number } // new effective priority (tracking, commands)
  | { type: 'interface-down' } // carrier lost or tracked object failed hard
  | { type: 'interface-up' }
  // A faster detector (BFD to the master, RFC 5880) saw the master go silent: act as if the
  // Master_Down_Timer had fired (tandem's; the RFC has only the timer).
  | { type: 'master-down-detected'; masterIp: string };

export type TransitionReason =
  | 'startup'
  | 'shutdown'
  | 'master-down-timer'
  | 'higher-priority-advert'
  | 'priority-zero-advert'
  | 'preempt'
  | 'owner'
  | 'interface-down'
  | 'interface-up'
  | 'priority-change'
  | 'lower-priority-master'
  | 'master-down-detected';

/** Side effects the shell performs, in order. */
export type VrrpAction =
  | { type: 'send-advert'; priority: number; maxAdverIntervalCs: number }
  | { type: 'announce' } // gratuitous ARP / unsolicited NA for every VIP
  | { type: 'take-addresses' } // start owning the VIPs (addresses, MAC per mac_mode)
  | { type: 'release-addresses' }
  | { type: 'transition'; from: VrrpStateName; to: VrrpStateName; reason: TransitionReason }
  | { type: 'drop'; reason: 'interval-mismatch' | 'address-mismatch' | 'own-packet' | 'ignored'; detail?: string };

/** Why a `drop` action was emitted; the shell counts each reason. */
export type VrrpDropReason = Extract<VrrpAction, { type: 'drop' }>['reason'];

/**
 * Make-before-break handover (tandem's, not in the RFC): a master that stops (Shutdown) or whose
 * effective priority fell to 0 has sent a priority-0 advert but keeps the addresses until another
 * router is heard with priority > 0 or `untilMs` passes; then it releases them and enters `endsIn`.
 */
export interface VrrpHandover {
  readonly endsIn: 'init' | 'backup';
  readonly untilMs: number; // absolute ms: Master_Down_Interval after the priority-0 advert
}

/**
 * One virtual router's whole state. Plain data, never mutated by the machine: `step` returns a new
 * object. Deadlines are absolute milliseconds on the injected clock, undefined when not running.
 */
export interface VrrpState {
  readonly name: VrrpStateName;
  readonly config: VrrpConfig;
  /** Priority used on the wire and in elections: config priority adjusted by tracking (0..255). */
  readonly effectivePriority: number;
  /** Master_Adver_Interval (cs): the master's advertised interval as learned in v3 backup, else ours. */
  readonly masterAdverIntervalCs: number;
  /** Skew_Time (cs) for effectivePriority and masterAdverIntervalCs (RFC 5798 6.1). */
  readonly skewTimeCs: number;
  /** Master_Down_Interval (cs) = 3 * Master_Adver_Interval + Skew_Time (RFC 5798 6.1). */
  readonly masterDownIntervalCs: number;
  /** The current master's address when known; our primaryIp while we are master. */
  readonly masterIp: string | undefined;
  /** The priority the current master last advertised (ours while master). */
  readonly masterPriority: number | undefined;
  /** When the master we follow was last heard (backup); it is fresh for Master_Down_Interval. */
  readonly masterHeardMs: number | undefined;
  /** ms of the last state transition (or of initialState). */
  readonly since: number;
  /** Startup received and no Shutdown since (fault remembers whether to start again on link up). */
  readonly started: boolean;
  /** Carrier as last reported by interface-down / interface-up. */
  readonly linkUp: boolean;
  /** Master_Down_Timer deadline (backup). */
  readonly masterDownTimerMs: number | undefined;
  /** Why the Master_Down_Timer was last armed: a priority-0 advert shortens it to Skew_Time. */
  readonly masterDownCause: 'master-down-timer' | 'priority-zero-advert';
  /** Adver_Timer deadline (master, not handing over). */
  readonly adverTimerMs: number | undefined;
  /** Preempt delay deadline (backup that heard a lower-priority master, preemptDelayMs > 0). */
  readonly preemptTimerMs: number | undefined;
  /** Answers this master gave to lower masters (split brain) in the window from sinceMs. */
  readonly lowerMasterAnswers: { readonly sinceMs: number; readonly count: number } | undefined;
  /** Set while a master hands over make-before-break. */
  readonly handover: VrrpHandover | undefined;
}

/** What `step` and `reconfigure` return: the next state and the side effects, in order. */
export interface VrrpStepResult {
  state: VrrpState;
  actions: VrrpAction[];
}
