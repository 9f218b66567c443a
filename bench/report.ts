// Results: the JSON shape, the markdown report and the SVG chart. Pure (no I/O).
import type { ImplName } from './impl.ts';
import type { TreeUsage } from './procs.ts';
import type { HotFunction, WakeupLatency } from './stats.ts';
import { compareMedians, masterDownIntervalMs, ratio, round, summarize } from './stats.ts';
import { boxPlotSvg, type BoxPanel } from './svg.ts';
import { renderClusterMarkdown, type ClusterBenchResult } from './cluster-report.ts';

export interface OutageRun {
  impl: ImplName;
  advertMs: number;
  kind: 'failure' | 'graceful';
  run: number;
  /** Client-observed: last echo reply before the event to the first one after it (0: none lost). */
  outageMs: number;
  tookOver: boolean;
  /** All outages the prober saw during the run (1 expected). */
  outages: number;
  /** Echo requests per second the prober achieved (its resolution). */
  probeRate: number;
  /** Process start to Backup on router 2. */
  backupStartMs: number;
  error?: string;
}

export interface JitterResult {
  impl: ImplName;
  advertMs: number;
  load: string;
  gaps: number;
  /** Inter-advert gap minus the interval, at the sender (capture on its own interface). */
  deviationMs: { p50: number; p99: number; max: number; min: number };
  error?: string;
}

export interface SoakResult {
  impl: ImplName;
  advertMs: number;
  durationMs: number;
  load: string;
  heapChurn: boolean;
  backupTransitions: number;
  masterTransitions: number;
  finalStates: string;
  jitter: { gaps: number; p50: number; p99: number; max: number; min: number };
  masterExtra?: Record<string, unknown>;
  backupExtra?: Record<string, unknown>;
  /** cyclictest on the host during the soak (absent in results written before it was measured). */
  hostWakeup?: WakeupLatency;
  error?: string;
}

export interface CpuResult {
  impl: ImplName;
  instances: number;
  /** 4 unless the set was IPv6 (absent in results written before IPv6 sets existed). */
  family?: 4 | 6;
  advertMs: number;
  windowMs: number;
  master?: TreeUsage;
  backup?: TreeUsage;
  stable: boolean;
  masterTransitions: number;
  backupTransitions: number;
  /** Process start to every instance in Backup, router 2. */
  backupStartMs: number;
  jitter?: { gaps: number; p50: number; p99: number; max: number; min: number };
  masterExtra?: Record<string, unknown>;
  backupExtra?: Record<string, unknown>;
  pids?: { master: number; backup: number };
  /** Instances not in the expected state at the end ("r1 VRID:state"). */
  unexpectedStates?: string[];
  error?: string;
}

/** bench/node-floor.mjs: a Node.js process that only sends one datagram per advert interval. */
export interface FloorResult {
  variant: 'idle' | 'main-koffi' | 'worker-koffi';
  advertMs: number;
  windowMs: number;
  usage: TreeUsage;
}

export interface ProfileResult {
  instances: number;
  advertMs: number;
  windowMs: number;
  cpu: { master: number; backup: number };
  profiles: { role: string; totalMs: number; idlePct: number; gcPct: number; top: HotFunction[] }[];
  masterExtra?: Record<string, unknown>;
  backupExtra?: Record<string, unknown>;
}

export interface BenchResults {
  name: string;
  startedAt: string;
  durationS: number;
  quick: boolean;
  host: Record<string, string | number>;
  settings: {
    runs: number;
    intervalsMs: number[];
    soakMs: number;
    cpuWindowMs: number;
    masterPriority: number;
    backupPriority: number;
    impls: ImplName[];
  };
  outage: OutageRun[];
  jitter: JitterResult[];
  soak: SoakResult[];
  cpu: CpuResult[];
  profile: ProfileResult[];
  /** Phase `cpu` with a 1-instance IPv4 set (absent in results written before it was measured). */
  floor?: FloorResult[];
  /** Phase `cluster` (bench/cluster.ts). */
  cluster?: ClusterBenchResult;
}

// Numbers from the issue, to compare against.
export const TARGETS = {
  // issue #15: one instance at 100 ms
  tandem1CpuSecPerMinMax: 0.15,
  tandem1RssMbMax: 48,
  keepalivedOutage100MedianMs: 300,
  keepalived251CpuSecPerMin: 4.8,
  keepalived251RssMb: 13.8,
  tandem251RssMaxMb: 64,
  tandemCpuRatioMax: 1.5,
  boundSlack10Ms: 5,
};

const n = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '-' : String(round(x, d)));
const label = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

export function outageSummaries(r: BenchResults) {
  const keys = new Map<string, { kind: 'failure' | 'graceful'; advertMs: number; impl: ImplName }>();
  for (const o of r.outage)
    keys.set(`${o.kind}|${o.advertMs}|${o.impl}`, { kind: o.kind, advertMs: o.advertMs, impl: o.impl });
  return [...keys.values()].map((k) => {
    const runs = r.outage.filter((o) => o.kind === k.kind && o.advertMs === k.advertMs && o.impl === k.impl);
    const ok = runs.filter((o) => !o.error && o.tookOver);
    return {
      ...k,
      runs: runs.length,
      failed: runs.length - ok.length,
      stats: summarize(ok.map((o) => o.outageMs)),
      startup: summarize(runs.map((o) => o.backupStartMs)),
      probeRate: summarize(ok.map((o) => o.probeRate)).median,
    };
  });
}

/** The outage of every successful run of one setting, ms. */
function outages(r: BenchResults, kind: 'failure' | 'graceful', advertMs: number, impl: ImplName): number[] {
  return r.outage
    .filter((o) => o.kind === kind && o.advertMs === advertMs && o.impl === impl && !o.error && o.tookOver)
    .map((o) => o.outageMs);
}

/** tandem against keepalived for one setting: the bootstrap verdict on the difference of medians. */
function versusKeepalived(r: BenchResults, kind: 'failure' | 'graceful', advertMs: number): string {
  const d = compareMedians(outages(r, kind, advertMs, 'tandem'), outages(r, kind, advertMs, 'keepalived'));
  if (d.verdict === 'too few runs') return `${n(d.diff)} ms (too few runs for a claim)`;
  return `${n(d.diff)} ms [${n(d.lo)}, ${n(d.hi)}]: ${d.verdict === 'equal within noise' ? d.verdict : `tandem ${d.verdict}`}`;
}

function median(r: BenchResults, kind: 'failure' | 'graceful', advertMs: number, impl: ImplName): number {
  return (
    outageSummaries(r).find((s) => s.kind === kind && s.advertMs === advertMs && s.impl === impl)?.stats.median ?? NaN
  );
}

/** Target verdicts: [what, met (true/false/undefined = not measured), detail]. */
export function verdicts(r: BenchResults): { what: string; met: boolean | undefined; detail: string }[] {
  const out: { what: string; met: boolean | undefined; detail: string }[] = [];
  for (const ms of r.settings.intervalsMs) {
    const t = median(r, 'failure', ms, 'tandem'),
      k = median(r, 'failure', ms, 'keepalived');
    const d = compareMedians(outages(r, 'failure', ms, 'tandem'), outages(r, 'failure', ms, 'keepalived'));
    out.push({
      what: `outage on failure at ${label(ms)}: tandem not slower than keepalived (bootstrap 95 % interval of the median difference)`,
      met: d.verdict === 'too few runs' || !Number.isFinite(d.diff) ? undefined : d.verdict !== 'higher',
      detail: `tandem ${n(t)} ms, keepalived ${n(k)} ms; ${versusKeepalived(r, 'failure', ms)}`,
    });
  }
  const t10 = median(r, 'failure', 10, 'tandem');
  const bound10 = masterDownIntervalMs(10, r.settings.backupPriority);
  out.push({
    what: `outage at 10 ms within ${TARGETS.boundSlack10Ms} ms of the protocol bound (${n(bound10)} ms)`,
    met: Number.isFinite(t10) ? t10 <= bound10 + TARGETS.boundSlack10Ms : undefined,
    detail: `tandem median ${n(t10)} ms`,
  });
  const one = r.cpu.find((x) => x.impl === 'tandem' && x.instances === 1 && x.family !== 6);
  const floorOf = (v: FloorResult['variant']) => r.floor?.find((f) => f.variant === v)?.usage;
  const shape = floorOf('worker-koffi');
  const floorNote = shape
    ? `; the Node.js floor in tandem's shape (a worker sending one datagram per interval): ${n(shape.cpuSecPerMin, 2)} CPU-s/min, ${n(shape.rssMaxMb)} MB`
    : '';
  for (const side of ['master', 'backup'] as const) {
    const cpu = one?.[side]?.cpuSecPerMin ?? NaN;
    out.push({
      what: `1 instance at ${label(one?.advertMs ?? 100)}, ${side}: tandem CPU <= ${TARGETS.tandem1CpuSecPerMinMax} CPU-s/min`,
      met: Number.isFinite(cpu) ? cpu <= TARGETS.tandem1CpuSecPerMinMax : undefined,
      detail: `${n(cpu, 2)} CPU-s/min${floorNote}`,
    });
  }
  const rss1 = one ? Math.max(one.master?.rssMaxMb ?? NaN, one.backup?.rssMaxMb ?? NaN) : NaN;
  out.push({
    what: `1 instance: tandem RSS <= ${TARGETS.tandem1RssMbMax} MB (peak)`,
    met: Number.isFinite(rss1) ? rss1 <= TARGETS.tandem1RssMbMax : undefined,
    detail: `largest ${n(rss1)} MB${floorNote}`,
  });
  const c = (impl: ImplName) => r.cpu.find((x) => x.impl === impl && x.instances === 251);
  const t = c('tandem'),
    k = c('keepalived');
  out.push({
    what: '251 instances at 100 ms stable (no transitions after settling)',
    met: t ? t.stable : undefined,
    detail: t
      ? `master ${t.masterTransitions}, backup ${t.backupTransitions} transitions${t.error ? `, ${t.error}` : ''}`
      : '',
  });
  const rss = t ? Math.max(t.master?.rssMaxMb ?? NaN, t.backup?.rssMaxMb ?? NaN) : NaN;
  out.push({
    what: `251 instances: tandem RSS <= ${TARGETS.tandem251RssMaxMb} MB`,
    met: Number.isFinite(rss) ? rss <= TARGETS.tandem251RssMaxMb : undefined,
    detail: `largest ${n(rss)} MB`,
  });
  for (const side of ['master', 'backup'] as const) {
    const q = ratio(t?.[side]?.cpuSecPerMin ?? NaN, k?.[side]?.cpuSecPerMin ?? NaN);
    out.push({
      what: `251 instances, ${side}: tandem CPU <= ${TARGETS.tandemCpuRatioMax} x keepalived`,
      met: Number.isFinite(q) ? q <= TARGETS.tandemCpuRatioMax : undefined,
      detail: `${n(t?.[side]?.cpuSecPerMin, 2)} vs ${n(k?.[side]?.cpuSecPerMin, 2)} CPU-s/min, ratio ${n(q, 2)}`,
    });
  }
  const s = r.soak.find((x) => x.impl === 'tandem');
  out.push({
    what: 'zero false failovers in the soak (10 ms adverts, CPU load, heap churn)',
    met: s && !s.error ? s.backupTransitions === 0 && s.masterTransitions === 0 : undefined,
    detail: s
      ? `backup ${s.backupTransitions}, master ${s.masterTransitions} transitions in ${n(s.durationMs / 1000, 0)} s`
      : '',
  });
  return out;
}

/** `notes`: a hand-written analysis (bench/results/NAME.notes.md) appended after the numbers. */
export function renderMarkdown(r: BenchResults, svgName: string, notes?: string): string {
  const L: string[] = [];
  const impls = r.settings.impls;
  L.push(`# Benchmark ${r.name}${r.quick ? ' (quick)' : ''}`, '');
  L.push(
    `Started ${r.startedAt}, took ${r.durationS} s. Host: ${r.host.cpus} CPUs (${r.host.cpuModel}), kernel ${r.host.kernel}, Node ${r.host.node}; ${r.host.keepalived}; ${r.host.frr}.`,
  );
  L.push(
    `Runs per setting: ${r.settings.runs}, alternating implementations run by run. Master priority ${r.settings.masterPriority}, backup ${r.settings.backupPriority}. Method: docs/benchmarks.md.`,
    '',
  );
  L.push(`![outage box plots](${svgName})`, '');

  L.push('## Targets', '', '| Target | Met | Measured |', '|---|---|---|');
  for (const v of verdicts(r))
    L.push(`| ${v.what} | ${v.met === undefined ? 'not measured' : v.met ? 'yes' : '**NO**'} | ${v.detail} |`);
  L.push('');

  const sums = outageSummaries(r);
  for (const kind of ['failure', 'graceful'] as const) {
    const rows = sums.filter((s) => s.kind === kind);
    if (!rows.length) continue;
    L.push(
      kind === 'failure'
        ? '## Outage on master failure (silent: bridge port disabled)'
        : '## Outage on graceful handoff (SIGTERM of the master)',
      '',
    );
    L.push(
      'Client-observed gap in 1 ms ICMP echo replies to the VIP, ms. Bound: Master_Down_Interval = 3 x interval + Skew_Time (RFC 5798 6.1) of the backup.',
      '',
    );
    L.push(
      '| Interval | Implementation | n | min | median | p90 | max | bound | median / bound | median / keepalived | failed runs | prober req/s |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    const intervals = [...new Set(rows.map((s) => s.advertMs))].sort((a, b) => b - a);
    for (const ms of intervals) {
      const bound = masterDownIntervalMs(ms, r.settings.backupPriority);
      const ka = median(r, kind, ms, 'keepalived');
      for (const impl of impls) {
        const s = rows.find((x) => x.advertMs === ms && x.impl === impl);
        if (!s) continue;
        L.push(
          `| ${label(ms)} | ${impl} | ${s.stats.n} | ${n(s.stats.min)} | ${n(s.stats.median)} | ${n(s.stats.p90)} | ${n(s.stats.max)} | ${kind === 'failure' ? n(bound) : '-'} | ${kind === 'failure' ? n(s.stats.median / bound, 2) : '-'} | ${n(ratio(s.stats.median, ka), 2)} | ${s.failed} | ${n(s.probeRate, 0)} |`,
        );
      }
    }
    if (impls.includes('tandem') && impls.includes('keepalived')) {
      L.push(
        '',
        'tandem minus keepalived, difference of medians with its bootstrap 95 % interval (10,000 resamples, fixed seed); a claim only when the interval excludes zero:',
        '',
      );
      for (const ms of intervals) L.push(`- ${label(ms)}: ${versusKeepalived(r, kind, ms)}`);
    }
    L.push('');
  }

  const su = sums.filter((s) => Number.isFinite(s.startup.median));
  const cpuStart = r.cpu.filter((c) => Number.isFinite(c.backupStartMs));
  if (su.length || cpuStart.length) {
    L.push(
      '## Process start to Backup',
      '',
      'Router 2 (the backup), from spawning the process to every instance in Backup, ms (tandem: its transition log time; keepalived: its notify script; FRR: polled).',
      '',
    );
    L.push('| Instances | Implementation | n | min | median | max |', '|---|---|---|---|---|---|');
    for (const impl of impls) {
      const s = summarize(r.outage.filter((o) => o.impl === impl).map((o) => o.backupStartMs));
      if (s.n) L.push(`| 1 | ${impl} | ${s.n} | ${n(s.min)} | ${n(s.median)} | ${n(s.max)} |`);
    }
    for (const c of cpuStart.filter((x) => x.instances > 1))
      L.push(
        `| ${c.instances} | ${c.impl} | 1 | ${n(c.backupStartMs)} | ${n(c.backupStartMs)} | ${n(c.backupStartMs)} |`,
      );
    L.push('');
  }

  if (r.jitter.length) {
    L.push(
      '## Advertisement interval jitter at the sender',
      '',
      'Gaps between consecutive adverts of the master, captured by tshark on its own interface, minus the interval, ms (positive = late).',
      '',
    );
    L.push('| Interval | Load | Implementation | gaps | p50 | p99 | max | min |', '|---|---|---|---|---|---|---|---|');
    for (const j of r.jitter)
      L.push(
        `| ${label(j.advertMs)} | ${j.load} | ${j.impl} | ${j.gaps} | ${n(j.deviationMs.p50, 2)} | ${n(j.deviationMs.p99, 2)} | ${n(j.deviationMs.max, 2)} | ${n(j.deviationMs.min, 2)} |`,
      );
    L.push('');
  }

  if (r.soak.length) {
    L.push(
      '## Soak: false failovers',
      '',
      'Both routers at 10 ms adverts, the host under `stress-ng --cpu 2`; tandem also with heap churn preloaded (bench/churn.mjs). Transitions counted after settling.',
      '',
    );
    L.push(
      '| Implementation | duration | heap churn | backup transitions | master transitions | final states | loop delay p99 / max (master, backup) |',
      '|---|---|---|---|---|---|---|',
    );
    for (const s of r.soak) {
      L.push(
        `| ${s.impl} | ${n(s.durationMs / 1000, 0)} s | ${s.heapChurn ? 'yes' : 'no'} | ${n(s.backupTransitions, 0)} | ${n(s.masterTransitions, 0)} | ${s.finalStates || s.error || '-'} | ${loopText(s.masterExtra)}; ${loopText(s.backupExtra)} |`,
      );
    }
    L.push('');
    const bfdRows = r.soak.filter((s) => s.masterExtra?.bfd || s.backupExtra?.bfd);
    if (bfdRows.length) {
      L.push(
        'With BFD (`--bfd`): every session Down counted from either end, after settling; a takeover started by BFD is a false one here.',
        '',
        '| Implementation | BFD state (master, backup) | Downs (master, backup) | takeovers by BFD | damped Downs |',
        '|---|---|---|---|---|',
      );
      for (const s of bfdRows) {
        const m = s.masterExtra?.bfd as { states: string; down: number; takeovers: number; damped: number } | undefined;
        const b = s.backupExtra?.bfd as typeof m;
        L.push(
          `| ${s.impl} | ${m?.states ?? '-'}, ${b?.states ?? '-'} | ${m?.down ?? '-'}, ${b?.down ?? '-'} | ${(m?.takeovers ?? 0) + (b?.takeovers ?? 0)} | ${(m?.damped ?? 0) + (b?.damped ?? 0)} |`,
        );
      }
      L.push('');
    }
    const hosts = r.soak.filter((s) => s.hostWakeup);
    if (hosts.length) {
      const th = Object.keys(hosts[0].hostWakeup!.atLeast).map(Number);
      L.push(
        "The host's own wake-up latency during each soak, under the same load: cyclictest, one C thread per CPU at SCHED_RR 10 (tandem's engine thread priority), woken every 1 ms. No implementation's thread wakes sooner than this; a detection time shorter than the host's worst wake-up cannot hold here.",
        '',
        `| During the soak of | wake-ups per CPU | max per CPU (ms) | ${th.map((t) => `>= ${n(t / 1000, 0)} ms`).join(' | ')} |`,
        `|---|---|---|${th.map(() => '---|').join('')}`,
      );
      for (const s of hosts) {
        const h = s.hostWakeup!;
        L.push(
          `| ${s.impl} | ${h.samples.join(', ') || '-'} | ${h.maxUs.map((x) => n(x / 1000, 1)).join(', ')} | ${th.map((t) => (h.atLeast[t] ?? []).join(', ')).join(' | ')} |`,
        );
      }
      L.push('');
    }
  }

  if (r.cpu.length) {
    const adverts = [...new Set(r.cpu.map((c) => c.advertMs))].map(label).join(', ');
    const withBfd = r.cpu.some((c) => c.masterExtra?.bfd || c.backupExtra?.bfd) ? '; tandem with a BFD session' : '';
    L.push(
      `## CPU and memory with K instances (IPv4 unless marked IPv6, ${adverts} adverts${withBfd}, both routers running)`,
      '',
      'CPU seconds per minute and RSS summed over every process of the implementation (keepalived: parent and VRRP child), from /proc/PID/stat and /proc/PID/status.',
      '',
    );
    L.push(
      '| K | Implementation | master CPU-s/min | master RSS MB | backup CPU-s/min | backup RSS MB | CPU ratio m/b | RSS ratio m/b | stable | processes |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    const setOf = (c: CpuResult) => `${c.instances}${c.family === 6 ? ' IPv6' : ''}`;
    for (const k of [...new Set(r.cpu.map(setOf))]) {
      const ka = r.cpu.find((c) => setOf(c) === k && c.impl === 'keepalived');
      for (const c of r.cpu.filter((x) => setOf(x) === k)) {
        const rat =
          c.impl === 'keepalived' || !ka
            ? '-'
            : `${n(ratio(c.master?.cpuSecPerMin ?? NaN, ka.master?.cpuSecPerMin ?? NaN), 2)} / ${n(ratio(c.backup?.cpuSecPerMin ?? NaN, ka.backup?.cpuSecPerMin ?? NaN), 2)}`;
        const rr =
          c.impl === 'keepalived' || !ka
            ? '-'
            : `${n(ratio(c.master?.rssMb ?? NaN, ka.master?.rssMb ?? NaN), 2)} / ${n(ratio(c.backup?.rssMb ?? NaN, ka.backup?.rssMb ?? NaN), 2)}`;
        L.push(
          `| ${k} | ${c.impl} | ${n(c.master?.cpuSecPerMin, 2)} | ${n(c.master?.rssMb)} | ${n(c.backup?.cpuSecPerMin, 2)} | ${n(c.backup?.rssMb)} | ${rat} | ${rr} | ${c.error ? c.error : c.stable ? 'yes' : `**no** (transitions ${c.masterTransitions}/${c.backupTransitions}${c.unexpectedStates?.length ? `; ${c.unexpectedStates.length} not in the expected state, e.g. ${c.unexpectedStates.slice(0, 3).join(', ')}` : ''})`} | ${(c.master?.processes ?? []).length} |`,
        );
      }
    }
    if (r.floor?.length) {
      L.push(
        '',
        `The Node.js floor, same run (bench/node-floor.mjs with tandem's Node flags, ${n(r.floor[0].windowMs / 1000, 0)} s): a process that does nothing but send one 46-byte datagram through libc every ${label(r.floor[0].advertMs)}. tandem runs its engine in a worker: it cannot cost less than \`worker-koffi\`, and a tandem with a single isolate not less than \`main-koffi\`.`,
        '',
        '| Variant | CPU-s/min | RSS MB | peak RSS MB |',
        '|---|---|---|---|',
      );
      for (const f of r.floor)
        L.push(`| ${f.variant} | ${n(f.usage.cpuSecPerMin, 2)} | ${n(f.usage.rssMb)} | ${n(f.usage.rssMaxMb)} |`);
    }
    L.push(
      '',
      `Issue reference for keepalived at 251 instances: ${TARGETS.keepalived251CpuSecPerMin} CPU-s/min, ${TARGETS.keepalived251RssMb} MB; at 100 ms its outage median about ${TARGETS.keepalivedOutage100MedianMs} ms.`,
      '',
    );
  }

  if (r.profile.length) {
    const p = r.profile[0];
    L.push(
      `## Profile: tandem, ${p.instances} instances at ${p.advertMs} ms (node --cpu-prof, ${n(p.windowMs / 1000, 0)} s)`,
      '',
    );
    L.push(
      `CPU with the profiler on: master ${n(p.cpu.master, 2)}, backup ${n(p.cpu.backup, 2)} CPU-s/min. Loop delay: ${loopText(p.masterExtra)} (master); ${loopText(p.backupExtra)} (backup).`,
      '',
    );
    p.profiles.forEach((pr) => {
      L.push(
        `Profile of the ${pr.role}: ${n(pr.totalMs / 1000, 1)} s sampled, idle ${pr.idlePct}%, GC ${pr.gcPct}% of busy time.`,
        '',
        '| Function | Where | self ms | % of busy |',
        '|---|---|---|---|',
      );
      for (const t of pr.top) L.push(`| \`${t.name}\` | ${t.where} | ${t.selfMs} | ${t.selfPct} |`);
      L.push('');
    });
  }

  if (r.cluster) L.push(...renderClusterMarkdown(r.cluster));

  const short = verdicts(r).filter((v) => v.met === false);
  L.push('## Where tandem falls short', '');
  if (!short.length) L.push('Nowhere among the measured targets in this run.');
  for (const v of short) L.push(`- ${v.what}: ${v.detail}.`);
  L.push('');
  if (notes?.trim()) L.push(notes.trim(), '');
  return L.join('\n');
}

function loopText(e: Record<string, unknown> | undefined): string {
  const d = e?.loopDelay as { p50?: number; p99?: number; max?: number } | undefined;
  return d ? `${d.p99} / ${d.max} ms` : '-';
}

export function renderSvg(r: BenchResults): string {
  const panels: BoxPanel[] = [];
  const sums = outageSummaries(r);
  for (const kind of ['failure', 'graceful'] as const) {
    const intervals = [...new Set(sums.filter((s) => s.kind === kind).map((s) => s.advertMs))].sort((a, b) => b - a);
    for (const ms of intervals) {
      panels.push({
        title: `${kind === 'failure' ? 'master failure' : 'graceful (SIGTERM)'}, ${label(ms)}`,
        series: r.settings.impls
          .filter((impl) => r.outage.some((o) => o.kind === kind && o.advertMs === ms && o.impl === impl))
          .map((impl) => ({
            label: impl,
            values: r.outage
              .filter((o) => o.kind === kind && o.advertMs === ms && o.impl === impl && !o.error && o.tookOver)
              .map((o) => o.outageMs),
          })),
        reference:
          kind === 'failure'
            ? { value: masterDownIntervalMs(ms, r.settings.backupPriority), label: 'bound' }
            : undefined,
      });
    }
  }
  return boxPlotSvg(panels, { title: `Client-observed outage, ${r.name}${r.quick ? ' (quick)' : ''}` });
}
