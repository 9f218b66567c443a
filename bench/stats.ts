// Pure helpers for the benchmarks: summaries, jitter, /proc parsing, CPU profile digest.
// No I/O here, so test/unit/bench-stats.test.ts can check them with fixed vectors.

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Percentile by linear interpolation between closest ranks (R's type 7, numpy's default):
 * position (n - 1) * p / 100 in the sorted values. NaN for an empty list.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (p <= 0) return sorted[0];
  if (p >= 100) return sorted[sorted.length - 1];
  const pos = (sorted.length - 1) * (p / 100);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0, min: NaN, median: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  return {
    n: v.length,
    min: v[0],
    median: percentile(v, 50),
    p90: percentile(v, 90),
    p99: percentile(v, 99),
    max: v[v.length - 1],
    mean: v.reduce((a, b) => a + b, 0) / v.length,
  };
}

/** Round for reports: 0.1 ms resolution is plenty for a 1-1.5 ms prober. */
export function round(x: number, digits = 1): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** a / b, or NaN when either side is missing or b is 0. */
export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN;
}

/**
 * Sender jitter: consecutive gaps between one sender's adverts minus the configured interval.
 * `timesMs` in capture order (sorted here to be safe). Positive = late.
 */
export function advertJitter(
  timesMs: readonly number[],
  intervalMs: number,
): { gaps: number; deviation: Summary; absDeviation: Summary } {
  const t = [...timesMs].sort((a, b) => a - b);
  const dev: number[] = [];
  for (let i = 1; i < t.length; i++) dev.push(t[i] - t[i - 1] - intervalMs);
  return { gaps: dev.length, deviation: summarize(dev), absDeviation: summarize(dev.map(Math.abs)) };
}

/**
 * Master_Down_Interval of RFC 5798 6.1 for a backup: 3 x Master_Adver_Interval + Skew_Time,
 * Skew_Time = ((256 - Priority) x Master_Adver_Interval) / 256. Milliseconds.
 */
export function masterDownIntervalMs(advertIntervalMs: number, backupPriority: number): number {
  return 3 * advertIntervalMs + ((256 - backupPriority) * advertIntervalMs) / 256;
}

// ---- /proc ----

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

/**
 * Parse /proc/PID/stat (proc(5)). comm is in parentheses and may itself contain spaces or
 * parentheses, so split at the last ')'. Fields after it are 1-based from field 3 (state).
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] = field 3 (state); field N is rest[N - 3].
  const f = (n: number) => Number(rest[n - 3]);
  const ppid = f(4);
  const ticks = f(14) + f(15) + f(16) + f(17);
  if (!Number.isInteger(pid) || !Number.isFinite(ticks)) return null;
  return { pid, comm: text.slice(open + 1, close), ppid, ticks };
}

/** VmRSS from /proc/PID/status, in kB; NaN when absent (a zombie has none). */
export function parseVmRssKb(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return m ? Number(m[1]) : NaN;
}

/** pid and all its descendants, from a list of (pid, ppid). */
export function descendants(root: number, procs: readonly { pid: number; ppid: number }[]): number[] {
  const kids = new Map<number, number[]>();
  for (const p of procs) {
    const l = kids.get(p.ppid) ?? [];
    l.push(p.pid);
    kids.set(p.ppid, l);
  }
  const out: number[] = [];
  const seen = new Set<number>();
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
    for (const k of kids.get(p) ?? []) todo.push(k);
  }
  return out;
}

/** CPU seconds per minute from a tick delta over a wall-clock window. */
export function cpuSecondsPerMinute(tickDelta: number, clockTicksPerSecond: number, windowMs: number): number {
  if (windowMs <= 0) return NaN;
  return tickDelta / clockTicksPerSecond / (windowMs / 60_000);
}

// ---- V8 .cpuprofile ----

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number; // microseconds
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  /** file:line, shortened to the last two path parts. */
  where: string;
  selfMs: number;
  /** Share of the busy (non-idle) time; for "(idle)" itself, share of all time. */
  selfPct: number;
}

/**
 * Self time per function from a .cpuprofile: each sample is charged to the node it hit, weighted
 * by the time delta that followed it (V8 records the delta before each sample; we use the next
 * one, the usual approximation). Nodes with the same name and place are merged. The top list
 * leaves out "(idle)" (reported as idlePct) and ranks the rest by self time; "(program)" and
 * "(garbage collector)" stay in, as they say where busy time went.
 */
export function topFunctions(
  p: CpuProfile,
  limit = 10,
): { totalMs: number; idlePct: number; gcPct: number; top: HotFunction[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  if (samples.length > 0) {
    for (let i = 0; i < samples.length; i++) {
      const d = deltas[i + 1] ?? deltas[i] ?? 0;
      selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, d));
    }
  } else {
    // No sample list: fall back to hit counts spread evenly over the profile.
    const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    for (const n of p.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) / hits) * (p.endTime - p.startTime));
  }
  const merged = new Map<string, HotFunction>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    const file = cf.url ? cf.url.split('/').slice(-2).join('/') : '';
    const where = file ? `${file}:${cf.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const h = merged.get(key) ?? { name, where, selfMs: 0, selfPct: 0 };
    h.selfMs += us / 1000;
    merged.set(key, h);
  }
  const list = [...merged.values()];
  const idleUs = list.filter((h) => h.name === '(idle)').reduce((a, h) => a + h.selfMs * 1000, 0);
  const busyUs = totalUs - idleUs;
  for (const h of list) {
    const of = h.name === '(idle)' ? totalUs : busyUs;
    h.selfPct = round(of > 0 ? (h.selfMs * 1000 * 100) / of : 0, 1);
    h.selfMs = round(h.selfMs, 1);
  }
  const pct = (name: string) => list.filter((h) => h.name === name).reduce((a, h) => a + h.selfPct, 0);
  const top = list
    .filter((h) => h.name !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, limit);
  return {
    totalMs: round(totalUs / 1000, 1),
    idlePct: round(pct('(idle)'), 1),
    gcPct: round(pct('(garbage collector)'), 1),
    top,
  };
}

/** A small seeded PRNG (mulberry32), so a report's resampling is the same every time it is rendered. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MedianDifference {
  diff: number; // median(a) - median(b)
  lo: number; // bootstrap percentile interval, `level` coverage
  hi: number;
  verdict: 'lower' | 'higher' | 'equal within noise' | 'too few runs';
}

/**
 * Is median(a) really below or above median(b)? A percentile bootstrap of the difference of
 * medians (each sample resampled with replacement, `iterations` times). "lower" only when the
 * whole interval is below zero; with fewer than `minRuns` values on a side no claim is made.
 */
export function compareMedians(
  a: readonly number[],
  b: readonly number[],
  { iterations = 10_000, level = 0.95, seed = 1, minRuns = 5 } = {},
): MedianDifference {
  const fa = a.filter(Number.isFinite);
  const fb = b.filter(Number.isFinite);
  const med = (v: readonly number[]) =>
    percentile(
      [...v].sort((x, y) => x - y),
      50,
    );
  const diff = med(fa) - med(fb);
  if (fa.length < minRuns || fb.length < minRuns) return { diff, lo: NaN, hi: NaN, verdict: 'too few runs' };
  const rnd = seededRandom(seed);
  const resample = (v: readonly number[]) => med(v.map(() => v[Math.floor(rnd() * v.length)]));
  const diffs: number[] = [];
  for (let i = 0; i < iterations; i++) diffs.push(resample(fa) - resample(fb));
  diffs.sort((x, y) => x - y);
  const lo = percentile(diffs, ((1 - level) / 2) * 100);
  const hi = percentile(diffs, (1 - (1 - level) / 2) * 100);
  const verdict = hi < 0 ? 'lower' : lo > 0 ? 'higher' : 'equal within noise';
  return { diff, lo, hi, verdict };
}

/** One cyclictest (rt-tests) run, from its `-h N -q` output: per measuring thread, the samples,
 *  the largest wake-up latency and how many wake-ups were at least each threshold late. */
export interface WakeupLatency {
  threads: number;
  samples: number[];
  maxUs: number[];
  /** Threshold in us -> wake-ups at or above it, per thread (histogram overflows count as above). */
  atLeast: Record<number, number[]>;
}

export function parseCyclictestHistogram(text: string, thresholdsUs: readonly number[]): WakeupLatency | null {
  const rows: number[][] = [];
  let maxUs: number[] = [],
    overflows: number[] = [],
    total: number[] = [];
  const nums = (line: string) => (line.split(':')[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  for (const line of text.split('\n')) {
    if (line.startsWith('# Max Latencies:')) maxUs = nums(line);
    else if (line.startsWith('# Histogram Overflows:')) overflows = nums(line);
    else if (line.startsWith('# Total:')) total = nums(line);
    else if (/^\d+\s/.test(line)) rows.push(line.trim().split(/\s+/).map(Number));
  }
  const threads = maxUs.length;
  if (!threads || rows.some((r) => r.length !== threads + 1)) return null;
  const atLeast: Record<number, number[]> = {};
  for (const t of thresholdsUs) {
    atLeast[t] = Array.from(
      { length: threads },
      (_, i) => rows.filter((r) => r[0] >= t).reduce((s, r) => s + r[i + 1], 0) + (overflows[i] ?? 0),
    );
  }
  return { threads, samples: total.length === threads ? total : [], maxUs, atLeast };
}
