// The HSRP machine's public types (RFC 2281 section 6), the same shape as the CARP and VRRP
// machines so the engine drives all three alike. Pure data; times are absolute ms on the
// injected clock.
import type { HsrpOp, HsrpStateName } from '../packet/hsrp.ts';

export type { HsrpOp, HsrpStateName };

export interface HsrpConfig {
  group: number; // v1 0..255, v2 0..4095
  version: 1 | 2;
  family: 4 | 6; // v1 is IPv4 only
  priority: number; // 0..255, higher wins; equal: higher IP address wins (RFC 2281 5.1)
  preempt: boolean; // coup a lower-priority active router (RFC 2281 5.1, Op Code Coup)
  hellotimeMs: number;
  holdtimeMs: number;
  /** Timers set by the operator: then never learnt from the active router (RFC 2281 5.1). */
  timersConfigured: boolean;
  /** The virtual IP; undefined: learn it from the active router's Hello (Learn state). */
  virtualIp: string | undefined;
  primaryIp: string; // our own address on the interface (tie-break, source)
}

/** A received HSRP message with the fields the election reads, v1 or v2 alike. Authentication
 *  has been checked by the shell. */
export interface HsrpMessage {
  op: HsrpOp;
  state: HsrpStateName;
  priority: number;
  hellotimeMs: number;
  holdtimeMs: number;
  /** undefined when the sender sent 0.0.0.0 / :: (it has not learnt it). */
  virtualIp: string | undefined;
}

export type HsrpEvent =
  | { type: 'startup' } // RFC 2281 6.3 event a
  | { type: 'shutdown' } // event b
  | { type: 'timer' } // events c, d, e (whichever deadlines have passed)
  | { type: 'message'; src: string; message: HsrpMessage } // events f..l
  | { type: 'priority'; priority: number } // tracking changed our priority
  | { type: 'interface-down' } // event b
  | { type: 'interface-up' }; // event a

export type HsrpTransitionReason =
  | 'startup' // a
  | 'shutdown' // b
  | 'interface-down' // b
  | 'interface-up' // a
  | 'learnt-virtual-ip' // Learn -> Listen on a Hello from the active router (E)
  | 'active-timer' // c
  | 'standby-timer' // d
  | 'higher-speaker' // f
  | 'higher-active' // g
  | 'resign' // i
  | 'coup' // j (we were couped)
  | 'preempt' // we couped a lower-priority active router
  | 'higher-standby'; // k

/** What the shell does. `send` carries every field of the message to build (RFC 2281 6.4 F/G/H). */
export type HsrpAction =
  | {
      type: 'send';
      op: HsrpOp;
      state: HsrpStateName;
      priority: number;
      hellotimeMs: number;
      holdtimeMs: number;
      virtualIp: string | undefined;
    }
  | { type: 'announce' } // I: gratuitous ARP (unsolicited NA over IPv6)
  | { type: 'take-addresses'; virtualIp: string }
  | { type: 'release-addresses' }
  | { type: 'transition'; from: HsrpStateName; to: HsrpStateName; reason: HsrpTransitionReason }
  | { type: 'drop'; reason: 'ignored'; detail?: string };

export interface HsrpState {
  readonly name: HsrpStateName;
  readonly config: HsrpConfig;
  /** Priority in use (tracking may lower it below the configured one). */
  readonly priority: number;
  readonly since: number;
  readonly started: boolean;
  readonly linkUp: boolean;
  /** Configured, or learnt from the active router (E). */
  readonly virtualIp: string | undefined;
  /** Timers in use: configured, or learnt from the active router (E). */
  readonly hellotimeMs: number;
  readonly holdtimeMs: number;
  /** The active and standby routers as last heard (ours when we hold the role). */
  readonly activeIp: string | undefined;
  readonly standbyIp: string | undefined;
  /** RFC 2281 6.2: absolute deadlines; undefined = stopped. */
  readonly activeTimerMs: number | undefined;
  readonly standbyTimerMs: number | undefined;
  readonly helloTimerMs: number | undefined;
}

export interface HsrpStepResult {
  state: HsrpState;
  actions: HsrpAction[];
}
