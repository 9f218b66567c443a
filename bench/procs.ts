// CPU and RSS of a process tree from /proc (proc(5)): utime+stime(+children's reaped times)
// summed over the root and its descendants, VmRSS summed the same way.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { descendants, parseProcStat, parseVmRssKb, cpuSecondsPerMinute, type ProcStat } from './stats.ts';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = parseProcStat(readFileSync(`/proc/${d}/stat`, 'utf8'));
      if (s) out.push(s);
    } catch {
      /* exited */
    }
  }
  return out;
}

export interface TreeSample {
  pids: number[];
  comms: string[];
  ticks: number;
  rssKb: number;
}

export function sampleTree(root: number): TreeSample {
  const stats = allStats();
  const pids = descendants(root, stats).filter((p) => stats.some((s) => s.pid === p));
  let ticks = 0,
    rssKb = 0;
  const comms: string[] = [];
  for (const p of pids) {
    const s = stats.find((x) => x.pid === p)!;
    ticks += s.ticks;
    comms.push(s.comm);
    try {
      const r = parseVmRssKb(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (Number.isFinite(r)) rssKb += r;
    } catch {
      /* exited */
    }
  }
  return { pids, comms, ticks, rssKb };
}

export interface TreeUsage {
  cpuSecPerMin: number;
  rssMb: number; // at the end of the window
  rssMaxMb: number; // largest sample in the window
  processes: string[];
}

/** Sample several trees every `stepMs` for `windowMs`; CPU from the tick delta over the window. */
export async function measureTrees(
  roots: Record<string, number>,
  windowMs: number,
  stepMs = 1000,
): Promise<Record<string, TreeUsage>> {
  const first: Record<string, TreeSample> = {};
  const maxRss: Record<string, number> = {};
  for (const [k, pid] of Object.entries(roots)) {
    first[k] = sampleTree(pid);
    maxRss[k] = first[k].rssKb;
  }
  const t0 = performance.now();
  let last: Record<string, TreeSample> = first;
  while (performance.now() - t0 < windowMs) {
    await new Promise((r) => setTimeout(r, Math.min(stepMs, Math.max(1, windowMs - (performance.now() - t0)))));
    last = {};
    for (const [k, pid] of Object.entries(roots)) {
      last[k] = sampleTree(pid);
      maxRss[k] = Math.max(maxRss[k], last[k].rssKb);
    }
  }
  const elapsed = performance.now() - t0;
  const out: Record<string, TreeUsage> = {};
  for (const k of Object.keys(roots)) {
    out[k] = {
      cpuSecPerMin: cpuSecondsPerMinute(last[k].ticks - first[k].ticks, CLK_TCK, elapsed),
      rssMb: last[k].rssKb / 1024,
      rssMaxMb: maxRss[k] / 1024,
      processes: last[k].comms,
    };
  }
  return out;
}
