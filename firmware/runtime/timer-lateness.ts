// The engine's loop delay without a sampling timer of its own. perf_hooks' monitorEventLoopDelay
// wakes the thread every resolution (5 ms: 200 wake-ups a second), which was most of an idle
// engine's CPU (measured: 32 of 38 ms per second with one instance, docs/benchmarks.md). The
// protocol timers wake the thread anyway (a master every advert interval, a backup about every
// Master_Down_Interval), so each one records how late it ran: the same meaning as before (how late
// the thread's timers ran), measured on the timers that matter, at no extra wake-up.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { LoopDelaySummary } from './loop-delay.ts';

const round2 = (x: number) => Math.round(x * 100) / 100;

export class TimerLateness {
  // Microseconds plus one: a histogram records integers >= 1, and an on-time timer is 0 late.
  private readonly h: RecordableHistogram = createHistogram();

  /** A timer due at some moment ran `lateMs` after it (negative: early, counted as 0). */
  record(lateMs: number): void {
    this.h.record(Math.max(0, Math.round(lateMs * 1000)) + 1);
  }

  summary(): LoopDelaySummary {
    if (this.h.count === 0) return { p50: 0, p99: 0, max: 0 };
    const ms = (us: number) => round2(Math.max(0, us - 1) / 1000);
    return { p50: ms(this.h.percentile(50)), p99: ms(this.h.percentile(99)), max: ms(this.h.max) };
  }
}
