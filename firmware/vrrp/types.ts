// The VRRP state machine's public types (RFC 5798 / RFC 9568 section 6). Pure data: the machine
// is `step(state, event, nowMs) -> { state, actions }`, deadlines are absolute milliseconds on the
// injected clock, and the shell arms one timer for `nextDeadline(state)`.
import type { ChecksumForm, Family, VrrpAdvert, VrrpVersion } from '../packet/types.ts';

/** 'fault' is tandem's: the interface is down or a tracked object forces it (not in the RFC). */
export type VrrpStateName = 'init' | 'backup' | 'master' | 'fault';

/** What one virtual router is configured with (already validated). */
export interface VrrpConfig {
  vrid: number;                 // 1..255
  version: VrrpVersion;
  family: Family;
  priority: number;             // configured priority 1..255; 255 = address owner
  advertIntervalCs: number;     // Advertisement_Interval, centiseconds (v2: multiple of 100)
  preempt: boolean;             // Preempt_Mode
  preemptDelayMs: number;       // extra wait before preempting (keepalived's preempt_delay)
  acceptMode: boolean;          // Accept_Mode (v3)
  addresses: string[];          // the virtual addresses (IPvX), first is primary
  primaryIp: string;            // this router's own address on the interface (tie-break, source)
  checksumForm?: ChecksumForm;  // v3 over IPv4 only; default 'pseudo-header'
}

/** The events the shell feeds in. */
export type VrrpEvent =
  | { type: 'startup' }
  | { type: 'shutdown' }                          // clean stop: priority-0 advert if master
  | { type: 'timer' }                             // a deadline passed: the machine checks which
  | { type: 'advert'; src: string; advert: VrrpAdvert }   // a decoded advert for our VRID
  | { type: 'priority'; priority: number }        // new effective priority (tracking, commands)
  | { type: 'interface-down' }                    // carrier lost or tracked object failed hard
  | { type: 'interface-up' };

export type TransitionReason =
  | 'startup' | 'shutdown' | 'master-down-timer' | 'higher-priority-advert' | 'priority-zero-advert'
  | 'preempt' | 'owner' | 'interface-down' | 'interface-up' | 'priority-change' | 'lower-priority-master';

/** Side effects the shell performs, in order. */
export type VrrpAction =
  | { type: 'send-advert'; priority: number; maxAdverIntervalCs: number }
  | { type: 'announce' }                 // gratuitous ARP / unsolicited NA for every VIP
  | { type: 'take-addresses' }           // start owning the VIPs (addresses, MAC per mac_mode)
  | { type: 'release-addresses' }
  | { type: 'transition'; from: VrrpStateName; to: VrrpStateName; reason: TransitionReason }
  | { type: 'drop'; reason: 'interval-mismatch' | 'address-mismatch' | 'own-packet' | 'ignored' ; detail?: string };
