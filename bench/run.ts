// tandem's benchmarks against keepalived 2.2.7 and FRR 8.4 vrrpd on the namespace lab.
//   ./build.sh bench [--quick] [--runs N] [--soak 60s] [--impl tandem,keepalived,frr]
//                    [--phases outage,graceful,jitter,soak,cpu,profile,cluster] [--cpu-window 60s] [--name NAME]
//                    [--bfd 3ms] [--intervals 1000,100] [--cpu-advert 10ms]
// --bfd gives every tandem instance a BFD session (x 3) to the other router (docs/bfd.md);
// --intervals replaces the advert intervals of the outage phases; --cpu-advert the cpu phase's.
// Writes bench/results/<date>.json, .md and .svg. Prints numbers; never fails on timing.
// Needs root (namespaces) and a built dist/tandem.js.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { createLab, type Lab, type LabHost } from '../lab/netns.ts';
import { startProber } from '../lab/prober.ts';
import { startVrrpCapture, type VrrpRow } from '../lab/wire.ts';
import { TANDEM_BIN } from '../test/kit/tandem.ts';
import { startImpl, type ImplName, type Running, type StateName, type VrSpec } from './impl.ts';
import { measureTrees, type TreeUsage } from './procs.ts';
import { clusterBench } from './cluster.ts';
import {
  advertJitter,
  masterDownIntervalMs,
  parseCyclictestHistogram,
  round,
  topFunctions,
  type CpuProfile,
  type Summary,
  type WakeupLatency,
} from './stats.ts';
import {
  renderMarkdown,
  renderSvg,
  type BenchResults,
  type OutageRun,
  type JitterResult,
  type SoakResult,
  type CpuResult,
  type ProfileResult,
  type FloorResult,
} from './report.ts';
import { NODE_FLAGS } from '../firmware/runtime/node-flags.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (...a: unknown[]) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

const MASTER_PRIO = 200;
const BACKUP_PRIO = 100; // Skew_Time = 156/256 of the interval: 61 ms at 100 ms
const VIP = '192.0.2.1';
const VRID = 51;

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`bad duration ${s}`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000;
}

interface Opts {
  runs: number;
  intervals: number[];
  soakMs: number;
  cpuWindowMs: number;
  /** CPU/RSS sets: K instances of a family ("255v6" = 255 IPv6 instances). */
  cpuSets: { k: number; family: 4 | 6 }[];
  impls: ImplName[];
  phases: Set<string>;
  quick: boolean;
  name: string;
}

function options(argv: string[]): Opts {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      soak: { type: 'string' },
      'cpu-window': { type: 'string' },
      'cpu-sets': { type: 'string', default: '1,16,251,255v6' },
      impl: { type: 'string', default: 'tandem,keepalived,frr' },
      phases: { type: 'string', default: 'outage,graceful,jitter,soak,cpu,profile,cluster' },
      name: { type: 'string' },
      render: { type: 'string' },
      bfd: { type: 'string' },
      intervals: { type: 'string' },
      'cpu-advert': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: ./build.sh bench [--quick] [--runs N] [--soak DUR] [--cpu-window DUR] [--impl a,b] [--phases p,q] [--name NAME] | --render NAME',
    );
    process.exit(0);
  }
  if (values.render) {
    // Re-render the markdown and SVG of an earlier run from its JSON (no lab, no root).
    const stem = join(new URL('./results/', import.meta.url).pathname, values.render);
    const r = JSON.parse(readFileSync(`${stem}.json`, 'utf8')) as BenchResults;
    writeFileSync(`${stem}.md`, renderMarkdown(r, `${values.render}.svg`, notesOf(stem)));
    writeFileSync(`${stem}.svg`, renderSvg(r));
    console.log(`rendered ${stem}.{md,svg}`);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  if (values.bfd) process.env.TANDEM_BENCH_BFD = `${parseDuration(values.bfd)}ms`;
  if (values['cpu-advert']) process.env.TANDEM_BENCH_CPU_ADVERT = String(parseDuration(values['cpu-advert']));
  const impls = (values.impl ?? '').split(',').filter(Boolean) as ImplName[];
  for (const i of impls)
    if (!['tandem', 'keepalived', 'frr'].includes(i)) throw new Error(`unknown implementation ${i}`);
  return {
    quick,
    runs: values.runs ? Number(values.runs) : quick ? 3 : 10,
    intervals: values.intervals
      ? values.intervals.split(',').map((x) => parseDuration(x.includes('s') ? x : `${x}ms`))
      : quick
        ? [100, 10]
        : [1000, 100, 10],
    // A 10-minute soak per implementation is the real test; --quick shortens it to a minute.
    soakMs: values.soak ? parseDuration(values.soak) : quick ? 60_000 : 600_000,
    cpuWindowMs: values['cpu-window'] ? parseDuration(values['cpu-window']) : quick ? 15_000 : 60_000,
    cpuSets: (values['cpu-sets'] ?? '')
      .split(',')
      .filter(Boolean)
      .map((x) => ({ k: Number.parseInt(x, 10), family: x.endsWith('v6') ? (6 as const) : (4 as const) })),
    impls,
    phases: new Set((values.phases ?? '').split(',').filter(Boolean)),
    name: values.name ?? new Date().toISOString().slice(0, 10),
  };
}

async function waitStates(r: Running, want: StateName, timeoutMs: number, count?: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const s = await r.states();
      const n = count ?? s.size;
      if ([...s.values()].filter((x) => x === want).length >= n && s.size > 0) return true;
    } catch {
      /* not up yet */
    }
    await sleep(50);
  }
  return false;
}

async function cleanupRouters(lab: Lab): Promise<void> {
  for (const r of lab.routers) {
    await lab.exec(r.ns, ['ip', 'addr', 'del', `${VIP}/24`, 'dev', r.ifname], { allowFail: true });
    await lab.exec(r.ns, ['ip', 'addr', 'flush', 'dev', r.ifname, 'to', '198.51.100.0/24'], { allowFail: true });
  }
  for (const c of lab.clients) await lab.exec(c.ns, ['ip', 'neigh', 'flush', 'all'], { allowFail: true });
}

/** Start a master (router 1) and a backup (router 2); null (with the reason logged) if they do not settle. */
async function startPair(
  lab: Lab,
  impl: ImplName,
  advertMs: number,
  instances: VrSpec[],
  tandemExtra: { nodeOptions?: string[]; env?: Record<string, string> } = {},
  tolerant = false,
): Promise<{ m: Running; b: Running; backupStartMs: number | undefined } | null> {
  const [r1, r2] = lab.routers;
  const mdi = masterDownIntervalMs(advertMs, MASTER_PRIO);
  let m: Running | undefined, b: Running | undefined;
  try {
    m = await startImpl(lab, r1, impl, { priority: MASTER_PRIO, advertMs, instances, ...tandemExtra });
    // tolerant (the profile): carry on unsettled, since an unsettled daemon is what to look at.
    if (!(await waitStates(m, 'master', mdi + 15_000)) && !tolerant)
      throw new Error(`${impl} on r1 did not become master`);
    b = await startImpl(lab, r2, impl, { priority: BACKUP_PRIO, advertMs, instances, ...tandemExtra });
    if (!(await waitStates(b, 'backup', 15_000)) && !tolerant)
      throw new Error(`${impl} on r2 did not settle in backup`);
    const polledAt = Date.now();
    const at = (await b.settledAt()) ?? polledAt;
    return { m, b, backupStartMs: at - b.spawnedAt };
  } catch (e) {
    log(`  ${impl}: ${(e as Error).message}`);
    await b?.stop('SIGKILL').catch(() => {});
    await m?.stop('SIGKILL').catch(() => {});
    await cleanupRouters(lab);
    return null;
  }
}

/** Stops both routers (backup first, so the master is not made to hand over) and tidies the lab. */
async function stopPair(lab: Lab, m: Running, b: Running): Promise<void> {
  await b.stop().catch(() => {});
  await m.stop().catch(() => {});
  await cleanupRouters(lab);
}

// ---- outage ----

async function outageRun(
  lab: Lab,
  impl: ImplName,
  advertMs: number,
  kind: 'failure' | 'graceful',
  run: number,
): Promise<OutageRun> {
  const base: OutageRun = {
    impl,
    advertMs,
    kind,
    run,
    outageMs: NaN,
    tookOver: false,
    outages: 0,
    probeRate: NaN,
    backupStartMs: NaN,
  };
  const pair = await startPair(lab, impl, advertMs, [{ vrid: VRID, addresses: [`${VIP}/24`] }]);
  if (!pair) return { ...base, error: 'did not settle' };
  const { m, b } = pair;
  base.backupStartMs = pair.backupStartMs ?? NaN;
  const r1 = lab.routers[0];
  const mdi = masterDownIntervalMs(advertMs, BACKUP_PRIO);
  let stopping: Promise<void> | undefined;
  try {
    await sleep(Math.max(300, 3 * advertMs));
    const prober = startProber(lab, lab.clients[0].ns, VIP);
    await prober.ready;
    const t0 = Date.now();
    while (prober.received() < 100 && Date.now() - t0 < 5_000) await sleep(20);
    if (prober.received() < 100) {
      await prober.stop();
      return { ...base, error: 'VIP not reachable before the event' };
    }
    await sleep(100 + Math.random() * advertMs); // a random phase against the advert schedule
    const tEvent = Date.now();
    if (kind === 'failure') await lab.linkDown(r1);
    else stopping = m.stop('SIGTERM');
    base.tookOver = await waitStates(b, 'master', mdi + 5_000);
    // Let the client's traffic come back (gratuitous ARP) before stopping the prober.
    const seen = prober.received();
    const t1 = Date.now();
    while (prober.received() < seen + 200 && Date.now() - t1 < 3_000) await sleep(20);
    const rep = await prober.stop();
    const around = rep.outages.filter((o) => o.startMs + o.lengthMs >= tEvent - 5 && o.startMs <= tEvent + mdi + 3_000);
    base.outages = rep.outages.length;
    base.outageMs = around.length ? round(Math.max(...around.map((o) => o.lengthMs)), 1) : 0;
    base.probeRate = round(rep.sent / (rep.durationMs / 1000), 0);
    return base;
  } catch (e) {
    return { ...base, error: (e as Error).message };
  } finally {
    if (kind === 'failure') await m.stop('SIGKILL').catch(() => {});
    await stopping?.catch(() => {});
    await b.stop('SIGTERM').catch(() => {});
    if (kind === 'failure') await lab.linkUp(r1);
    await cleanupRouters(lab);
  }
}

// ---- jitter ----

function jitterOf(
  rows: (VrrpRow | null)[],
  src: string,
  vrid: number,
  advertMs: number,
): JitterResult['deviationMs'] & { gaps: number } {
  const times = rows
    .filter((r): r is VrrpRow => r !== null && r.src === src && r.vrid === vrid && r.priority > 0)
    .map((r) => r.timeMs);
  const j = advertJitter(times, advertMs);
  return {
    gaps: j.gaps,
    p50: round(j.deviation.median, 2),
    p99: round(j.deviation.p99, 2),
    max: round(j.deviation.max, 2),
    min: round(j.deviation.min, 2),
  };
}

async function jitterRun(lab: Lab, impl: ImplName, advertMs: number, windowMs: number): Promise<JitterResult> {
  const base: JitterResult = {
    impl,
    advertMs,
    load: 'idle',
    gaps: 0,
    deviationMs: { p50: NaN, p99: NaN, max: NaN, min: NaN },
  };
  const pair = await startPair(lab, impl, advertMs, [{ vrid: VRID, addresses: [`${VIP}/24`] }]);
  if (!pair) return { ...base, error: 'did not settle' };
  try {
    await sleep(500);
    const cap = startVrrpCapture(lab, lab.routers[0].ns, lab.routers[0].ifname);
    await cap.ready;
    await sleep(windowMs);
    const j = jitterOf(await cap.stop(), lab.routers[0].ipv4, VRID, advertMs);
    return { ...base, gaps: j.gaps, deviationMs: { p50: j.p50, p99: j.p99, max: j.max, min: j.min } };
  } finally {
    await pair.b.stop().catch(() => {});
    await pair.m.stop().catch(() => {});
    await cleanupRouters(lab);
  }
}

// ---- soak ----

const CHURN = new URL('./churn.mjs', import.meta.url).pathname;
const CPUPROF = new URL('./cpuprof.mjs', import.meta.url).pathname;

async function soakRun(lab: Lab, impl: ImplName, soakMs: number): Promise<SoakResult> {
  const advertMs = 10;
  const churn = impl === 'tandem';
  const base: SoakResult = {
    impl,
    advertMs,
    durationMs: soakMs,
    load: 'stress-ng --cpu 2',
    heapChurn: churn,
    backupTransitions: NaN,
    masterTransitions: NaN,
    finalStates: '',
    jitter: { gaps: 0, p50: NaN, p99: NaN, max: NaN, min: NaN },
  };
  const pair = await startPair(
    lab,
    impl,
    advertMs,
    [{ vrid: VRID, addresses: [`${VIP}/24`] }],
    churn ? { nodeOptions: [`--import=${CHURN}`] } : {},
  );
  if (!pair) return { ...base, error: 'did not settle' };
  const { m, b } = pair;
  try {
    await sleep(1000);
    const m0 = await m.transitions(),
      b0 = await b.transitions();
    const stress = lab.spawn(null, [
      'stress-ng',
      '--cpu',
      '2',
      '--timeout',
      `${Math.ceil(soakMs / 1000) + 5}s`,
      '--quiet',
    ]);
    const host = startWakeupLatency(lab, soakMs);
    const cap = startVrrpCapture(lab, lab.routers[0].ns, lab.routers[0].ifname);
    await cap.ready;
    const t0 = Date.now();
    while (Date.now() - t0 < soakMs) {
      await sleep(Math.min(10_000, soakMs - (Date.now() - t0)));
      log(
        `  soak ${impl}: ${Math.round((Date.now() - t0) / 1000)} s, backup transitions ${(await b.transitions()) - b0}`,
      );
    }
    const rows = await cap.stop();
    try {
      process.kill(-stress.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    base.masterTransitions = (await m.transitions()) - m0;
    base.backupTransitions = (await b.transitions()) - b0;
    base.finalStates = `${[...(await m.states()).values()].join('/')} + ${[...(await b.states()).values()].join('/')}`;
    base.jitter = jitterOf(rows, lab.routers[0].ipv4, VRID, advertMs);
    base.hostWakeup = (await host) ?? undefined;
    if (impl === 'tandem') {
      base.masterExtra = await m.extra();
      base.backupExtra = await b.extra();
    }
    return base;
  } finally {
    await stopPair(lab, m, b);
  }
}

/** The host's own wake-up latency under the soak's load: cyclictest (rt-tests), one C thread per
 *  CPU at tandem's default engine priority (SCHED_RR 10, scheduling.realtime_priority), woken
 *  every 1 ms. What no implementation on this host can do better than. `--laptop` leaves
 *  /dev/cpu_dma_latency alone, so the run does not change the host it measures. */
function startWakeupLatency(lab: Lab, soakMs: number): Promise<WakeupLatency | null> {
  const seconds = Math.max(1, Math.floor(soakMs / 1000) - 1);
  const argv = `cyclictest --policy=rr -p 10 -t ${cpus().length} -a -i 1000 -h 40000 -D ${seconds}s -q --laptop`;
  const child = lab.spawn(null, argv.split(' '));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), soakMs + 20_000);
    child.on('error', () => resolve(null));
    child.on('close', () => {
      clearTimeout(timer);
      resolve(parseCyclictestHistogram(out, WAKEUP_THRESHOLDS_US));
    });
  });
}

/** 1 ms; 9 ms (BFD 3 ms x 3); 15 ms (5 ms x 3); 36 ms (Master_Down_Interval at 10 ms adverts, priority 100). */
const WAKEUP_THRESHOLDS_US = [1000, 9000, 15_000, 36_000];

// ---- CPU / RSS with K instances ----

function manyInstances(k: number, family: 4 | 6 = 4): VrSpec[] {
  // IPv6 (RFC 5798 5.2.9): a link-local VIP first, then a global one from 2001:db8::/32.
  if (family === 6) {
    return Array.from({ length: k }, (_, i) => ({
      vrid: i + 1,
      addresses: [`fe80::5e:${(i + 1).toString(16)}/64`, `2001:db8:5e::${(i + 1).toString(16)}/128`],
    }));
  }
  // K = 1 reuses the outage VIP; more use 198.51.100.VRID/32 (RFC 5737 TEST-NET-2).
  if (k === 1) return [{ vrid: VRID, addresses: [`${VIP}/24`] }];
  return Array.from({ length: k }, (_, i) => ({ vrid: i + 1, addresses: [`198.51.100.${i + 1}/32`] }));
}

async function cpuRun(
  lab: Lab,
  impl: ImplName,
  k: number,
  windowMs: number,
  profileDir?: string,
  family: 4 | 6 = 4,
): Promise<CpuResult> {
  const advertMs = Number(process.env.TANDEM_BENCH_CPU_ADVERT ?? 100);
  const base: CpuResult = {
    impl,
    instances: k,
    family,
    advertMs,
    windowMs,
    stable: false,
    masterTransitions: NaN,
    backupTransitions: NaN,
    backupStartMs: NaN,
  };
  // The equivalent of node --cpu-prof (refused in NODE_OPTIONS): bench/cpuprof.mjs preloaded.
  const extra = profileDir ? { nodeOptions: [`--import=${CPUPROF}`], env: { TANDEM_BENCH_PROF_DIR: profileDir } } : {};
  const pair = await startPair(lab, impl, advertMs, manyInstances(k, family), extra, profileDir !== undefined);
  if (!pair) return { ...base, error: 'did not settle' };
  const { m, b } = pair;
  base.backupStartMs = pair.backupStartMs ?? NaN;
  base.pids = { master: m.pid() ?? 0, backup: b.pid() ?? 0 };
  try {
    await sleep(2000);
    const m0 = await m.transitions(),
      b0 = await b.transitions();
    const cap =
      k === 1 && family === 4 && !profileDir
        ? startVrrpCapture(lab, lab.routers[0].ns, lab.routers[0].ifname)
        : undefined;
    await cap?.ready;
    const use: Record<string, TreeUsage> = await measureTrees({ master: m.pid()!, backup: b.pid()! }, windowMs);
    if (cap) {
      const j = jitterOf(await cap.stop(), lab.routers[0].ipv4, VRID, advertMs);
      base.jitter = j;
    }
    base.master = use.master;
    base.backup = use.backup;
    base.masterTransitions = (await m.transitions()) - m0;
    base.backupTransitions = (await b.transitions()) - b0;
    const ms = await m.states(),
      bs = await b.states();
    const odd = (m: Map<number, StateName>, want: StateName) =>
      [...m.entries()].filter(([, s]) => s !== want).map(([v, s]) => `${v}:${s}`);
    base.unexpectedStates = [...odd(ms, 'master').map((x) => `r1 ${x}`), ...odd(bs, 'backup').map((x) => `r2 ${x}`)];
    base.stable = base.masterTransitions === 0 && base.backupTransitions === 0 && base.unexpectedStates.length === 0;
    if (impl === 'tandem') {
      base.masterExtra = await m.extra();
      base.backupExtra = await b.extra();
    }
    return base;
  } finally {
    await stopPair(lab, m, b);
  }
}

// ---- the Node.js floor ----

const NODE_FLOOR = new URL('./node-floor.mjs', import.meta.url).pathname;
const FLOOR_VARIANTS = ['idle', 'main-koffi', 'worker-koffi'] as const;

/** bench/node-floor.mjs in each variant, with tandem's Node flags, side by side over one window:
 *  what a Node.js process costs that only sends one small datagram per advert interval. */
async function floorRun(lab: Lab, advertMs: number, windowMs: number): Promise<FloorResult[]> {
  const kids = FLOOR_VARIANTS.map((variant) => ({
    variant,
    child: lab.spawn(null, [process.execPath, ...NODE_FLAGS, NODE_FLOOR, variant, String(advertMs)]),
  }));
  try {
    await sleep(3000); // past start-up, as the daemons are
    const use = await measureTrees(Object.fromEntries(kids.map((k) => [k.variant, k.child.pid!])), windowMs);
    return kids.map((k) => ({ variant: k.variant, advertMs, windowMs, usage: use[k.variant] }));
  } finally {
    for (const k of kids) k.child.kill('SIGKILL');
  }
}

function readProfiles(dir: string): { pid: number; profile: CpuProfile }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({
      pid: Number(/(\d+)\.cpuprofile$/.exec(f)?.[1]),
      profile: JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile,
    }));
}

// ---- main ----

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root (network namespaces)');
    process.exit(2);
  }
  if (!existsSync(TANDEM_BIN)) {
    console.error(`bench: ${TANDEM_BIN} missing: run ./build.sh first`);
    process.exit(2);
  }
  const started = Date.now();
  const results: BenchResults = {
    name: o.name,
    startedAt: new Date(started).toISOString(),
    durationS: 0,
    quick: o.quick,
    host: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      kernel: release(),
      node: process.version,
      keepalived: versionOf(['keepalived', '--version']),
      frr: versionOf(['/usr/lib/frr/vrrpd', '--version']),
    },
    settings: {
      runs: o.runs,
      intervalsMs: o.intervals,
      soakMs: o.soakMs,
      cpuWindowMs: o.cpuWindowMs,
      masterPriority: MASTER_PRIO,
      backupPriority: BACKUP_PRIO,
      impls: o.impls,
    },
    outage: [],
    jitter: [],
    soak: [],
    cpu: [],
    profile: [],
  };
  // IPv6 only when an IPv6 CPU set runs (it needs the routers' link-locals); off keeps the other
  // phases free of ND/RS chatter.
  const lab = await createLab({
    routers: 2,
    clients: 1,
    ipv6: o.phases.has('cpu') && o.cpuSets.some((c) => c.family === 6),
  });
  log(`lab ${lab.name}; impls ${o.impls.join(', ')}; phases ${[...o.phases].join(', ')}`);
  const ifSupported = (impl: ImplName, what: string) =>
    impl !== 'frr' || ['outage', 'graceful', 'jitter'].includes(what);
  try {
    if (o.phases.has('outage')) {
      for (const ms of o.intervals) {
        for (let r = 0; r < o.runs; r++) {
          for (const impl of o.impls) {
            const res = await outageRun(lab, impl, ms, 'failure', r);
            results.outage.push(res);
            log(
              `failure ${ms} ms run ${r + 1}/${o.runs} ${impl}: outage ${res.outageMs} ms${res.tookOver ? '' : ' (no takeover)'}${res.error ? ` ERROR ${res.error}` : ''}`,
            );
          }
        }
      }
    }
    if (o.phases.has('graceful')) {
      for (let r = 0; r < o.runs; r++) {
        for (const impl of o.impls) {
          const res = await outageRun(lab, impl, 100, 'graceful', r);
          results.outage.push(res);
          log(
            `graceful 100 ms run ${r + 1}/${o.runs} ${impl}: outage ${res.outageMs} ms${res.error ? ` ERROR ${res.error}` : ''}`,
          );
        }
      }
    }
    if (o.phases.has('jitter')) {
      for (const impl of o.impls) {
        const res = await jitterRun(lab, impl, 10, o.quick ? 10_000 : 30_000);
        results.jitter.push(res);
        log(
          `jitter 10 ms idle ${impl}: p50 ${res.deviationMs.p50} p99 ${res.deviationMs.p99} max ${res.deviationMs.max} ms over ${res.gaps} gaps`,
        );
      }
    }
    if (o.phases.has('soak')) {
      for (const impl of o.impls.filter((i) => ifSupported(i, 'soak'))) {
        const res = await soakRun(lab, impl, o.soakMs);
        results.soak.push(res);
        results.jitter.push({
          impl,
          advertMs: 10,
          load: 'stress-ng --cpu 2',
          gaps: res.jitter.gaps,
          deviationMs: { p50: res.jitter.p50, p99: res.jitter.p99, max: res.jitter.max, min: res.jitter.min },
        });
        log(
          `soak ${impl}: backup transitions ${res.backupTransitions}, master ${res.masterTransitions}${res.error ? ` ERROR ${res.error}` : ''}`,
        );
      }
    }
    if (o.phases.has('cpu')) {
      for (const { k, family } of o.cpuSets) {
        for (const impl of o.impls.filter((i) => ifSupported(i, 'cpu'))) {
          const res = await cpuRun(lab, impl, k, o.cpuWindowMs, undefined, family);
          results.cpu.push(res);
          if (res.jitter)
            results.jitter.push({
              impl,
              advertMs: 100,
              load: 'idle',
              gaps: res.jitter.gaps,
              deviationMs: { p50: res.jitter.p50, p99: res.jitter.p99, max: res.jitter.max, min: res.jitter.min },
            });
          log(
            `cpu ${k}${family === 6 ? ' IPv6' : ''} x ${res.advertMs} ms ${impl}: master ${fmt(res.master?.cpuSecPerMin)} CPU-s/min ${fmt(res.master?.rssMb)} MB, backup ${fmt(res.backup?.cpuSecPerMin)} CPU-s/min ${fmt(res.backup?.rssMb)} MB, stable ${res.stable}${res.error ? ` ERROR ${res.error}` : ''}`,
          );
        }
      }
    }
    if (o.phases.has('cpu') && o.cpuSets.some((c) => c.k === 1 && c.family === 4)) {
      const advertMs = Number(process.env.TANDEM_BENCH_CPU_ADVERT ?? 100);
      results.floor = await floorRun(lab, advertMs, o.cpuWindowMs);
      for (const f of results.floor)
        log(`floor ${f.variant} x ${advertMs} ms: ${fmt(f.usage.cpuSecPerMin)} CPU-s/min ${fmt(f.usage.rssMb)} MB`);
    }
    if (o.phases.has('profile') && o.impls.includes('tandem')) {
      const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-prof-'));
      try {
        const k = 251;
        const res = await cpuRun(lab, 'tandem', k, o.quick ? 15_000 : 30_000, dir);
        const profiles = readProfiles(dir);
        const p: ProfileResult = {
          instances: k,
          advertMs: 100,
          windowMs: res.windowMs,
          profiles: profiles.map((pr) => ({
            role: pr.pid === res.pids?.master ? 'master' : pr.pid === res.pids?.backup ? 'backup' : `pid ${pr.pid}`,
            ...topFunctions(pr.profile, 12),
          })),
          masterExtra: res.masterExtra,
          backupExtra: res.backupExtra,
          cpu: { master: res.master?.cpuSecPerMin ?? NaN, backup: res.backup?.cpuSecPerMin ?? NaN },
        };
        results.profile.push(p);
        log(
          `profile: ${profiles.length} profiles; top ${p.profiles
            .map((x) =>
              x.top
                .filter((t) => !t.name.startsWith('('))
                .slice(0, 3)
                .map((t) => `${t.name} ${t.selfPct}%`)
                .join(', '),
            )
            .join(' | ')}`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await lab.destroy();
  }
  // The cluster scenario builds its own labs (N nodes and a client with 32 addresses).
  if (o.phases.has('cluster')) {
    results.cluster = await clusterBench(
      { nodes: o.quick ? [3] : [2, 3, 4], intervals: o.quick ? [100] : [100, 10], moves: o.quick ? 50 : 200 },
      log,
    );
    for (const r of results.cluster.runs)
      log(
        `cluster ${r.nodes} nodes ${r.advertMs} ms: failure affected ${r.failure?.affected ?? '-'}/${r.failure?.clients ?? '-'}, max outage ${r.failure?.outagesMs.length ? Math.round(Math.max(...r.failure.outagesMs)) : 0} ms (bound ${r.boundMs}); planned resets ${r.planned.reduce((a, p) => a + p.resets, 0)}${r.error ? ` ERROR ${r.error}` : ''}`,
      );
    if (results.cluster.moveMs)
      log(
        `cluster bucket move: median ${results.cluster.moveMs.p50.toFixed(2)} ms, p90 ${results.cluster.moveMs.p90.toFixed(2)} ms`,
      );
  }
  results.durationS = Math.round((Date.now() - started) / 1000);
  const outDir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, o.name);
  writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${stem}.md`, renderMarkdown(results, `${o.name}.svg`, notesOf(stem)));
  writeFileSync(`${stem}.svg`, renderSvg(results));
  log(`wrote ${stem}.{json,md,svg} in ${results.durationS} s`);
  console.log(readFileSync(`${stem}.md`, 'utf8'));
}

/** The hand-written analysis of a run, if someone wrote one (kept across --render). */
function notesOf(stem: string): string | undefined {
  return existsSync(`${stem}.notes.md`) ? readFileSync(`${stem}.notes.md`, 'utf8') : undefined;
}

function fmt(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '-' : (Math.round(x * 100) / 100).toString();
}

function versionOf(argv: string[]): string {
  // keepalived prints its version on stderr.
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return (
    `${r.stdout ?? ''}\n${r.stderr ?? ''}`
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l) ?? 'unknown'
  );
}

export type { Summary, LabHost };

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
