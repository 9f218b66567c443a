// A backup hears the same advertisement from its master every Advertisement_Interval. When the
// last one was accepted as a plain "reset the Master_Down_Timer" (RFC 5798 6.4.2: Set
// Master_Adver_Interval, Recompute the Master_Down_Interval, Reset the Master_Down_Timer), an exact
// repeat of it does the same again and nothing else: same sender, priority and interval, so the
// same branch of backupRx with the same derived timers. The shell recognises the repeat by its
// bytes (firmware/engine/repeat-advert.ts) and calls `refreshOnRepeat` instead of decoding and
// stepping. test/unit/footprint.test.ts checks it equals `step` for every state it applies to.
import { csToMs } from './timers.ts';
import type { VrrpState } from './types.ts';

/**
 * True when `s` is what accepting an advert from `src` at `nowMs` as the followed master made it:
 * Backup, that master fresh from this very moment, no preempt delay running, no priority-0
 * shortcut, and a master at least as good as us or Preempt_Mode off (so a repeat is accepted again).
 */
export function isPlainRefresh(s: VrrpState, src: string, nowMs: number): boolean {
  if (s.name !== 'backup' || s.masterIp !== src || s.masterHeardMs !== nowMs) return false;
  if (s.preemptTimerMs !== undefined || s.handover !== undefined || s.masterDownCause !== 'master-down-timer')
    return false;
  const p = s.masterPriority;
  if (p === undefined || p === 0) return false;
  const mayPreempt = s.effectivePriority > 0 && (s.config.preempt || s.effectivePriority === 255);
  return !mayPreempt || p >= s.effectivePriority;
}

/** `step(s, advert, nowMs)` for an exact repeat of the advert that made `s` a plain refresh:
 *  the master was heard now, the Master_Down_Timer restarts from now. */
export function refreshOnRepeat(s: VrrpState, nowMs: number): VrrpState {
  return { ...s, masterHeardMs: nowMs, masterDownTimerMs: nowMs + csToMs(s.masterDownIntervalCs) };
}
