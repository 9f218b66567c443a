// The implementations under test, behind one small interface: tandem (dist/tandem.js),
// keepalived 2.2.7 and FRR 8.4 vrrpd, each started in a lab router namespace with K virtual
// routers. Lab code: it may run iproute2 and the peers' own tools.
import { keepalivedArgv } from '../lab/peers.ts';
import { stopProcessGroup } from '../lab/process-group.ts';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab, LabHost } from '../lab/netns.ts';
import { waitFor } from '../lab/netns.ts';
import { startFrr } from '../lab/peers.ts';
import { startTandem, instanceYaml, type TandemHandle } from '../test/kit/tandem.ts';

export type ImplName = 'tandem' | 'keepalived' | 'frr';

export interface VrSpec {
  vrid: number;
  /** With prefix length, e.g. 192.0.2.1/24. */
  addresses: string[];
}

export interface RouterOptions {
  priority: number;
  advertMs: number;
  instances: VrSpec[];
  /** tandem only: extra NODE_OPTIONS (e.g. --cpu-prof, the heap churn preload). */
  nodeOptions?: string[];
  /** tandem only: extra environment (e.g. TANDEM_BENCH_PROF_DIR). */
  env?: Record<string, string>;
}

export type StateName = 'init' | 'backup' | 'master' | 'fault' | 'unknown';

export interface Running {
  impl: ImplName;
  ns: string;
  /** Epoch ms just before the process was spawned. */
  spawnedAt: number;
  /** The top process (its descendants belong to it too); undefined when not tracked. */
  pid(): number | undefined;
  /** State per VRID. */
  states(): Promise<Map<number, StateName>>;
  /** State changes so far (startup's init -> backup included). */
  transitions(): Promise<number>;
  /** Epoch ms when every instance had first reached backup (or master), if known precisely. */
  settledAt(): Promise<number | undefined>;
  /** tandem only: event-loop delay from `status`. */
  extra(): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function normState(s: string | undefined): StateName {
  const t = (s ?? '').toLowerCase();
  if (t.includes('master')) return 'master';
  if (t.includes('backup')) return 'backup';
  if (t.includes('fault')) return 'fault';
  if (t.includes('init')) return 'init';
  return 'unknown';
}

export async function startImpl(lab: Lab, host: LabHost, impl: ImplName, o: RouterOptions): Promise<Running> {
  if (impl === 'tandem') return startTandemImpl(lab, host, o);
  if (impl === 'keepalived') return startKeepalivedImpl(lab, host, o);
  return startFrrImpl(lab, host, o);
}

// ---- tandem ----

async function startTandemImpl(lab: Lab, host: LabHost, o: RouterOptions): Promise<Running> {
  const bfdPeer = process.env.TANDEM_BENCH_BFD ? lab.routers.find((r) => r !== host)?.ipv4 : undefined;
  const instances = o.instances
    .map((v) =>
      instanceYaml({
        name: `vr${v.vrid}`,
        ifname: host.ifname,
        vrid: v.vrid,
        priority: o.priority,
        advert: `${o.advertMs}ms`,
        addresses: v.addresses,
        // --bfd DUR (run.ts sets TANDEM_BENCH_BFD): a BFD session to the other router of the pair.
        extra: bfdPeer ? [`bfd: { peer: ${bfdPeer}, interval: ${process.env.TANDEM_BENCH_BFD}, multiplier: 3 }`] : [],
      }),
    )
    .join('\n');
  // --tandem-rt N: run tandem with scheduling.realtime_priority N (keepalived runs at its defaults).
  const rt = Number(process.env.TANDEM_BENCH_RT ?? 0);
  const body = rt > 0 ? `scheduling: { realtime_priority: ${rt} }\ninstances:\n${instances}` : instances;
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...o.env };
  if (o.nodeOptions?.length) env.NODE_OPTIONS = [env.NODE_OPTIONS ?? '', ...o.nodeOptions].join(' ').trim();
  const spawnedAt = Date.now();
  const h: TandemHandle = await startTandem(lab, host, body, { env, logLevel: 'info' });
  const n = o.instances.length;
  return {
    impl: 'tandem',
    ns: host.ns,
    spawnedAt,
    pid: () => h.proc.pid,
    async states() {
      const s = await h.status();
      return new Map(s.instances.map((i) => [i.vrid, normState(i.state)]));
    },
    async transitions() {
      const s = await h.status();
      return s.instances.reduce((a, i) => a + i.counters.transitions, 0);
    },
    async settledAt() {
      const first = new Map<string, number>();
      for (const l of h.logs()) {
        if (l.msg !== 'transition' || (l.to !== 'backup' && l.to !== 'master')) continue;
        const name = String(l.instance);
        if (!first.has(name)) first.set(name, Date.parse(String(l.time)));
      }
      return first.size >= n ? Math.max(...first.values()) : undefined;
    },
    async extra() {
      const s = await h.status();
      type Bfd = { state: string; counters: { down: number; takeovers: number; damped: number } };
      const bfd = s.instances.flatMap((i) => (i.bfd ? [i.bfd as Bfd] : []));
      return {
        loopDelay: s.loopDelay,
        lateTimers: s.instances.reduce((a, i) => a + Number(i.counters.lateTimers ?? 0), 0),
        // --bfd: every session's Downs (from Up or Init), takeovers it started, and its state now.
        ...(bfd.length
          ? {
              bfd: {
                states: bfd.map((b) => b.state).join('/'),
                down: bfd.reduce((a, b) => a + b.counters.down, 0),
                takeovers: bfd.reduce((a, b) => a + b.counters.takeovers, 0),
                damped: bfd.reduce((a, b) => a + b.counters.damped, 0),
              },
            }
          : {}),
      };
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await h.stop(signal, 10_000).catch(() => {});
      rmSync(h.dir, { recursive: true, force: true });
    },
  };
}

// ---- keepalived (several instances; the lab helper runs one) ----

interface KaEvent {
  t: number;
  name: string;
  state: StateName;
}

function readKaEvents(file: string): KaEvent[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [t, name, state] = l.trim().split(/\s+/);
      return { t: Number(t) * 1000, name, state: normState(state) };
    });
}

async function startKeepalivedImpl(lab: Lab, host: LabHost, o: RouterOptions): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-ka-'));
  const events = join(dir, 'events');
  const notify = join(dir, 'notify.sh');
  // keepalived calls: notify TYPE NAME STATE PRIORITY. One line per change, with the time.
  writeFileSync(notify, `#!/bin/sh\necho "$(date +%s.%N) $2 $3" >> ${events}\n`, { mode: 0o700 });
  const advertS = (o.advertMs / 1000).toFixed(2);
  const conf = `${[
    `global_defs {
  router_id ${host.ns}
  script_user root
  enable_script_security
  vrrp_version 3
  vrrp_garp_master_refresh 0
}`,
    ...o.instances.map(
      (v) => `vrrp_instance VI_${v.vrid} {
  state BACKUP
  interface ${host.ifname}
  virtual_router_id ${v.vrid}
  priority ${o.priority}
  advert_int ${advertS}
  notify ${notify}
  virtual_ipaddress {
${v.addresses.map((a) => `    ${a} dev ${host.ifname}`).join('\n')}
  }
}`,
    ),
  ].join('\n')}\n`;
  const confFile = join(dir, 'keepalived.conf');
  writeFileSync(confFile, conf);
  const spawnedAt = Date.now();
  const child: ChildProcess = lab.spawn(host.ns, keepalivedArgv(confFile, dir));
  let log = '';
  // keepalived's own log is in order ("(VI_n) Entering X STATE"); its notify scripts run
  // asynchronously and can land out of order, so state entries are counted from the log, line by
  // line as it arrives (the kept text is capped, the count is not).
  let partial = '';
  let logTransitions = 0;
  const onLog = (d: Buffer) => {
    const text = d.toString();
    log = (log + text).slice(-4_000_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (/\(VI_\d+\) Entering (MASTER|BACKUP|FAULT) STATE/.test(l)) logTransitions++;
  };
  child.stdout?.on('data', onLog);
  child.stderr?.on('data', onLog);
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const ok = await waitFor(() => existsSync(join(dir, 'vrrp.pid')) || child.exitCode !== null, 10_000);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    await stopProcessGroup(child, exited, signal);
    rmSync(dir, { recursive: true, force: true });
  };
  if (!ok || child.exitCode !== null) {
    await stop('SIGKILL');
    throw new Error(`keepalived in ${host.ns} did not start: ${log.slice(-2000)}`);
  }
  const names = new Map(o.instances.map((v) => [`VI_${v.vrid}`, v.vrid]));
  return {
    impl: 'keepalived',
    ns: host.ns,
    spawnedAt,
    pid: () => child.pid,
    async states() {
      const m = new Map<number, StateName>(o.instances.map((v) => [v.vrid, 'init']));
      for (const e of log.matchAll(/\((VI_\d+)\) Entering (MASTER|BACKUP|FAULT) STATE/g)) {
        const v = names.get(e[1]);
        if (v !== undefined) m.set(v, e[2].toLowerCase() as StateName);
      }
      return m;
    },
    async transitions() {
      return logTransitions;
    },
    async settledAt() {
      const first = new Map<string, number>();
      for (const e of readKaEvents(events))
        if ((e.state === 'backup' || e.state === 'master') && !first.has(e.name)) first.set(e.name, e.t);
      return first.size >= o.instances.length ? Math.max(...first.values()) : undefined;
    },
    async extra() {
      return {};
    },
    stop,
  };
}

// ---- FRR vrrpd (one instance: the lab helper) ----

async function startFrrImpl(lab: Lab, host: LabHost, o: RouterOptions): Promise<Running> {
  if (o.instances.length !== 1) throw new Error('bench: FRR runs one instance here');
  const v = o.instances[0];
  const spawnedAt = Date.now();
  const f = await startFrr(lab, host.ns, {
    ifname: host.ifname,
    vrid: v.vrid,
    priority: o.priority,
    version: 3,
    advertIntervalMs: o.advertMs,
    addresses: v.addresses.map((a) => a.split('/')[0]),
  });
  let transitions = 0;
  let last: StateName = 'init';
  const poll = async () => {
    const s = normState(await f.state());
    if (s !== last && s !== 'unknown') {
      transitions++;
      last = s;
    }
    return s;
  };
  return {
    impl: 'frr',
    ns: host.ns,
    spawnedAt,
    pid: () => undefined,
    async states() {
      return new Map([[v.vrid, await poll()]]);
    },
    async transitions() {
      await poll();
      return transitions;
    },
    async settledAt() {
      return undefined;
    },
    async extra() {
      return {};
    },
    stop: (signal: NodeJS.Signals = 'SIGTERM') => f.stop(signal),
  };
}
