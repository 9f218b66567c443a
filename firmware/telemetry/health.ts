// Process health for the `health` topic: CPU from process.cpuUsage deltas and event-loop delay
// percentiles from perf_hooks, both covering only the time since the previous sample.
import type { IntervalHistogram } from 'node:perf_hooks';
import { loopDelayHistogram, loopDelaySummary } from '../runtime/loop-delay.ts';
import type { HealthSample } from './payloads.ts';

const round2 = (x: number) => Math.round(x * 100) / 100;

export class HealthSampler {
  private hist: IntervalHistogram;
  private lastCpu: NodeJS.CpuUsage;
  private lastAtMs: number;

  constructor(private readonly nowMs: () => number) {
    this.hist = loopDelayHistogram();
    this.hist.enable();
    this.lastCpu = process.cpuUsage();
    this.lastAtMs = nowMs();
  }

  /** Reads and resets: each sample covers the interval since the previous one. */
  sample(): HealthSample {
    const now = this.nowMs();
    const cpu = process.cpuUsage(this.lastCpu); // microseconds since lastCpu
    const wallUs = Math.max(1, (now - this.lastAtMs) * 1000);
    const loopDelayMs = loopDelaySummary(this.hist);
    this.hist.reset();
    this.lastCpu = process.cpuUsage();
    this.lastAtMs = now;
    return {
      uptimeS: Math.round(process.uptime()),
      rssBytes: process.memoryUsage.rss(),
      cpuUserPct: round2((cpu.user / wallUs) * 100),
      cpuSystemPct: round2((cpu.system / wallUs) * 100),
      loopDelayMs,
    };
  }

  stop(): void {
    this.hist.disable();
  }
}
