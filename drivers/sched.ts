// The daemon's CPU priority. VRRP timers must fire on time whatever else the appliance runs:
// a master that sends late, or a backup that reads late, causes a false takeover at short
// intervals. `nice` works everywhere (setpriority); SCHED_RR (Linux, sched_setscheduler through
// koffi) makes the main thread preempt any normal process, like keepalived's vrrp_rt_priority.
// Both apply to the calling (main) thread, which runs every protocol timer.
import { setPriority } from 'node:os';
import koffi from 'koffi';
import { linuxErrnoName } from './linux/errno.ts';

export const SCHED_RR = 2;

export interface SchedulingResult {
  nice: number | null;
  realtime: number | null;
  errors: string[];
}

export function applyScheduling(
  o: { nice: number; realtimePriority: number },
  platform = process.platform,
): SchedulingResult {
  const r: SchedulingResult = { nice: null, realtime: null, errors: [] };
  if (o.nice !== 0) {
    try {
      setPriority(0, o.nice);
      r.nice = o.nice;
    } catch (e) {
      r.errors.push(
        `nice ${o.nice}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (raising priority needs root or CAP_SYS_NICE)`,
      );
    }
  }
  if (o.realtimePriority > 0) {
    if (platform !== 'linux') {
      r.errors.push(`realtime_priority: SCHED_RR is only set on Linux; ${platform} keeps nice ${o.nice}`);
    } else {
      const lib = koffi.load('libc.so.6');
      const sched = lib.func('int sched_setscheduler(int pid, int policy, void *param)');
      const param = new Int32Array([o.realtimePriority]); // struct sched_param { int sched_priority; }
      if (sched(0, SCHED_RR, param) === 0) r.realtime = o.realtimePriority;
      else
        r.errors.push(
          `realtime_priority ${o.realtimePriority}: ${linuxErrnoName(koffi.errno())} (needs root or CAP_SYS_NICE)`,
        );
    }
  }
  return r;
}
