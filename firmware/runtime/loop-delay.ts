// Event-loop delay, one meaning everywhere tandem reports it (engine status, MQTT health,
// metrics): how late the thread's timers ran beyond the sampling timer's own resolution, in ms.
// perf_hooks' histogram records whole sampling intervals, so the resolution is subtracted.
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export const LOOP_DELAY_RESOLUTION_MS = 5;

export interface LoopDelaySummary {
  p50: number;
  p99: number;
  max: number;
}

export function loopDelayHistogram(): IntervalHistogram {
  return monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
}

export function loopDelaySummary(h: IntervalHistogram): LoopDelaySummary {
  const beyond = (ns: number) =>
    h.count === 0 ? 0 : Math.round(Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) * 100) / 100;
  return { p50: beyond(h.percentile(50)), p99: beyond(h.percentile(99)), max: beyond(h.max) };
}
