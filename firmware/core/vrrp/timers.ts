// VRRP timer formulas (RFC 5798 / RFC 9568 section 6.1, RFC 3768 section 6.1), in centiseconds.
//
// Rounding: every division is truncated (floor) to whole centiseconds, the unit of the v3 Max
// Adver Int field. FRR vrrpd and keepalived truncate too, so our Master_Down_Timer agrees with
// theirs; and a truncated Skew_Time never exceeds the exact one and is non-increasing in
// priority, so a higher-priority backup never waits longer than a lower-priority one.
import type { VrrpVersion } from '../packet/types.ts';

/**
 * Skew_Time in centiseconds.
 * v3 (RFC 5798/9568 6.1): Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256 cs.
 * v2 (RFC 3768 6.1):      Skew_Time = (256 - Priority) / 256 s, whatever the interval.
 */
export function skewTimeCs(priority: number, masterAdverIntervalCs: number, version: VrrpVersion = 3): number {
  const p = clampPriority(priority);
  if (version === 2) return Math.floor(((256 - p) * 100) / 256);
  return Math.floor(((256 - p) * masterAdverIntervalCs) / 256);
}

/**
 * Master_Down_Interval in centiseconds: 3 * Master_Adver_Interval + Skew_Time (RFC 5798 6.1;
 * RFC 3768 6.1 with Advertisement_Interval, which a v2 backup never learns from the master).
 */
export function masterDownIntervalCs(
  priority: number,
  masterAdverIntervalCs: number,
  version: VrrpVersion = 3,
): number {
  return 3 * masterAdverIntervalCs + skewTimeCs(priority, masterAdverIntervalCs, version);
}

/** Centiseconds to milliseconds, for deadlines on the shell's millisecond clock. */
export function csToMs(cs: number): number {
  return cs * 10;
}

/** A priority as the 8-bit field carries it (RFC 5798 5.2.4): whole, 0..255; anything that is
 *  not a finite number counts as 0 ("stop being master"). */
export function clampPriority(p: number): number {
  if (!Number.isFinite(p)) return 0;
  return Math.min(255, Math.max(0, Math.trunc(p)));
}
