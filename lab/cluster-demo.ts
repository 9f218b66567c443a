// `tandem lab --cluster N`: an active-active cluster in namespaces. N tandem nodes share one
// address (a cluster, no VRRP instance) and serve a small HTTP responder on it; one client
// namespace fetches from many source addresses. The scenario: the spread, a node failing
// silently (its buckets spread over the survivors), its return (planned: draining), a graceful
// stop of another node and its restart; each step measured from the clients' side and printed as
// a table (clients affected, outage, resets). Everything is removed at the end and on Ctrl-C.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { request } from '../firmware/supervisor/control-socket.ts';
import { tandemCommand } from './appliance.ts';
import type { Lab, LabHost } from './netns.ts';
import { createLab, LabError, waitFor } from './netns.ts';
import { newLabName, removeRecord, writeRecord } from './registry.ts';

export const CLUSTER_VIP = '192.0.2.80';
export const CLUSTER_ID = 7;
export const CLUSTER_BUCKETS = 64;
export const CLUSTER_MAX_NODES = 5;

const RESPONDER = fileURLToPath(new URL('./cluster-responder.ts', import.meta.url));
const TRAFFIC = fileURLToPath(new URL('./cluster-traffic.ts', import.meta.url));

export interface ClusterDemoOptions {
  nodes: number;
  advertMs: number;
  /** Client source addresses (192.0.2.150 and up). */
  clients: number;
  /** drain_timeout of every node; longer than a client connection lives (2 s here). */
  drainMs: number;
  /** UDP probe interval per client (the outage clock). */
  udpMs: number;
  /** A run of unanswered probes longer than this is an outage. */
  gapMs: number;
  json: boolean;
  progress: NodeJS.WritableStream;
  out: NodeJS.WritableStream;
}

/** gapMs 30: any run of unanswered probes counts (consecutive answered probes are 20 ms apart,
 *  and a stall of the client sends nothing, so it loses nothing). */
export const CLUSTER_DEMO_DEFAULTS = { clients: 32, drainMs: 5000, udpMs: 20, gapMs: 30 };

export interface ClusterStep {
  step: 'spread' | 'failure' | 'return' | 'stop' | 'restart';
  planned: boolean;
  action: string;
  /** From the action until the expected ownership was reported by the nodes (20 ms polling). */
  tookMs: number | null;
  /** Sources that saw any UDP gap (over gapMs) or any HTTP error in the step. */
  clientsAffected: number;
  clients: number;
  /** Sources whose buckets the step moved (their serving node changed, or it died). */
  clientsMoved: number;
  /** Sources the failed or stopped node served before the step (0 for the other steps). */
  clientsOfNode: number;
  /** Longest UDP gap of an affected source; null: none. */
  maxOutageMs: number | null;
  /** Each affected source's longest gap (for the bench's distribution). */
  outagesMs: number[];
  /** Connections reset (ECONNRESET, EPIPE) and other HTTP failures (timeouts). */
  resets: number;
  httpErrors: number;
  errorCodes: Record<string, number>;
  /** Planned steps: from the action until no node drains any more. */
  drainedMs: number | null;
  /** Buckets each node owns at the end of the step. */
  buckets: Record<string, number>;
  /** Sources each node served at the end of the step. */
  served: Record<string, number>;
  ok: boolean;
  expected: string;
}

export interface ClusterDemoSummary {
  lab: string;
  vip: string;
  nodes: string[];
  advertMs: number;
  /** RFC 5798-style bound the engine is held to for a silent failure: 3 x interval + interval/4. */
  failoverBoundMs: number;
  steps: ClusterStep[];
  ok: boolean;
}

interface ClusterStatus {
  owned: number[];
  draining: number[];
}

interface SourceStats {
  gaps: { startMs: number; lengthMs: number }[];
  duplicates: number;
  served: Record<string, number>;
  lastNode: string | null;
  httpOk: number;
  httpErrors: { atMs: number; code: string }[];
}

/** One node: its tandem daemon (cluster config, no instance) and its responder. */
class ClusterNode {
  proc: ChildProcess | null = null;
  readonly socket: string;
  readonly config: string;
  constructor(
    readonly lab: Lab,
    readonly host: LabHost,
    readonly name: string,
    readonly dir: string,
    o: ClusterDemoOptions,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.socket = join(dir, 'tandem.sock');
    this.config = join(dir, 'tandem.yaml');
    writeFileSync(
      this.config,
      [
        `# tandem lab: cluster node ${name} in namespace ${host.ns}`,
        `node: ${name}`,
        `state_dir: ${join(dir, 'state')}`,
        `control: { socket: ${this.socket} }`,
        'log: { level: info }',
        'clusters:',
        '  - name: web',
        `    interface: ${host.ifname}`,
        `    id: ${CLUSTER_ID}`,
        `    addresses: [${CLUSTER_VIP}/32]`,
        `    buckets: ${CLUSTER_BUCKETS}`,
        `    advert_interval: ${o.advertMs}ms`,
        `    drain_timeout: ${o.drainMs}ms`,
        '',
      ].join('\n'),
    );
  }

  running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(): Promise<void> {
    const p = this.lab.spawn(this.host.ns, [...tandemCommand(), 'run', '--config', this.config]);
    this.proc = p;
    let out = '';
    p.stdout?.on('data', (d) => {
      out = (out + d.toString()).slice(-20_000);
    });
    p.stderr?.on('data', (d) => {
      out = (out + d.toString()).slice(-20_000);
    });
    const up = await waitFor(async () => !this.running() || (await this.status()) !== null, 10_000, 50);
    if (!up || !this.running()) throw new LabError(`tandem ${this.name} did not start:\n${out.slice(-3000)}`);
  }

  /** SIGTERM: a planned stop (the node drains, then exits). Resolves when it has exited. */
  async stop(timeoutMs: number): Promise<void> {
    const p = this.proc;
    if (!p || !this.running()) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    process.kill(-p.pid!, 'SIGTERM');
    const t = setTimeout(() => {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    await exited;
    clearTimeout(t);
  }

  async status(): Promise<ClusterStatus | null> {
    try {
      const r = await request(this.socket, { cmd: 'status' }, 1000);
      const c = (r.result as { clusters?: (ClusterStatus & { name: string })[] } | undefined)?.clusters?.find(
        (x) => x.name === 'web',
      );
      return r.ok && c ? { owned: c.owned, draining: c.draining } : null;
    } catch {
      return null;
    }
  }
}

/** Every bucket owned by exactly one of `nodes` (and each of them owns at least one). */
function coverage(statuses: (ClusterStatus | null)[]): boolean {
  const seen = new Set<number>();
  for (const s of statuses) {
    if (!s || s.owned.length === 0) return false;
    for (const b of s.owned) {
      if (seen.has(b)) return false;
      seen.add(b);
    }
  }
  return seen.size === CLUSTER_BUCKETS;
}

/** The step's effect on the clients from their cumulative stats, in the window [from, to]. */
export function measureWindow(
  sources: Record<string, SourceStats>,
  before: Record<string, string | null>,
  from: number,
  to: number,
  leaving: string | null,
): Pick<
  ClusterStep,
  | 'clientsAffected'
  | 'clientsMoved'
  | 'clientsOfNode'
  | 'maxOutageMs'
  | 'outagesMs'
  | 'resets'
  | 'httpErrors'
  | 'errorCodes'
  | 'served'
> {
  let affected = 0,
    moved = 0,
    resets = 0,
    errors = 0;
  let maxOutage: number | null = null;
  let ofNode = 0;
  const outages: number[] = [];
  const served: Record<string, number> = {};
  const codes: Record<string, number> = {};
  for (const [src, s] of Object.entries(sources)) {
    const gaps = s.gaps.filter((g) => g.startMs + g.lengthMs > from && g.startMs < to);
    const errs = s.httpErrors.filter((e) => e.atMs > from && e.atMs < to);
    if (gaps.length || errs.length) affected++;
    for (const g of gaps) maxOutage = Math.max(maxOutage ?? 0, g.lengthMs);
    if (gaps.length) outages.push(Math.max(...gaps.map((g) => g.lengthMs)));
    for (const e of errs) {
      codes[e.code] = (codes[e.code] ?? 0) + 1;
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') resets++;
      else errors++;
    }
    if (s.lastNode !== before[src]) moved++;
    if (leaving !== null && before[src] === leaving) ofNode++;
    if (s.lastNode) served[s.lastNode] = (served[s.lastNode] ?? 0) + 1;
  }
  return {
    clientsAffected: affected,
    clientsMoved: moved,
    clientsOfNode: ofNode,
    maxOutageMs: maxOutage,
    outagesMs: outages,
    resets,
    httpErrors: errors,
    errorCodes: codes,
    served,
  };
}

export function renderClusterTable(s: ClusterDemoSummary): string[] {
  const head = [
    'step',
    'planned',
    'took',
    'drained',
    'its clients',
    'moved',
    'affected',
    'outage',
    'resets',
    'errors',
    'buckets',
    'ok',
  ];
  const rows = s.steps.map((x) => [
    x.step,
    x.planned ? 'yes' : 'no',
    x.tookMs === null ? '-' : `${Math.round(x.tookMs)} ms`,
    x.drainedMs === null ? '-' : `${(x.drainedMs / 1000).toFixed(1)} s`,
    x.step === 'failure' || x.step === 'stop' ? String(x.clientsOfNode) : '-',
    `${x.clientsMoved}/${x.clients}`,
    `${x.clientsAffected}/${x.clients}`,
    x.maxOutageMs === null ? '0' : `${Math.round(x.maxOutageMs)} ms`,
    String(x.resets),
    String(x.httpErrors),
    Object.entries(x.buckets)
      .map(([n, b]) => `${n}:${b}`)
      .join(' '),
    x.ok ? 'ok' : 'FAIL',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runClusterDemo(o: ClusterDemoOptions): Promise<number> {
  const summary = await runClusterScenario(o, (s) => o.progress.write(`${s}\n`));
  if (o.json) o.out.write(`${JSON.stringify(summary)}\n`);
  else o.out.write(`\n${renderClusterTable(summary).join('\n')}\n`);
  return summary.ok ? 0 : 1;
}

/** The scenario, for the demo and the bench. */
export async function runClusterScenario(o: ClusterDemoOptions, say: (s: string) => void): Promise<ClusterDemoSummary> {
  const name = newLabName();
  const dir = mkdtempSync(join(tmpdir(), `tandem-lab-${name}-`));
  let lab: Lab | undefined;
  let traffic: ChildProcess | undefined;
  const onExit = () => {
    rmSync(dir, { recursive: true, force: true });
    removeRecord(name);
  };
  process.on('exit', onExit);
  const onSignal = () => {
    void (lab?.destroy() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    writeRecord({ name, pid: process.pid, dir, startedAt: new Date().toISOString() });
    say(`building lab ${name}: switch, ${o.nodes} cluster nodes, 1 client with ${o.clients} addresses`);
    lab = await createLab({ routers: o.nodes, clients: 1, prefix: name, ipv6: false });
    const client = lab.clients[0];
    const sources = Array.from({ length: o.clients }, (_, i) => `192.0.2.${150 + i}`);
    for (const a of sources) await lab.exec(client.ns, ['ip', 'addr', 'add', `${a}/24`, 'dev', client.ifname]);
    const nodes = lab.routers.map((h, i) => new ClusterNode(lab!, h, `n${i + 1}`, join(dir, `n${i + 1}`), o));
    for (const n of nodes) {
      await lab.exec(n.host.ns, ['sysctl', '-qw', 'net.ipv4.ip_nonlocal_bind=1']);
      lab.spawn(n.host.ns, [process.execPath, '--import', 'tsx', RESPONDER, n.name, CLUSTER_VIP]);
    }
    say(
      `starting ${nodes.map((n) => n.name).join(', ')}: cluster web, id ${CLUSTER_ID}, ${CLUSTER_VIP}, ${CLUSTER_BUCKETS} buckets, advert ${o.advertMs} ms`,
    );
    await Promise.all(nodes.map((n) => n.start()));

    const statuses = () => Promise.all(nodes.map((n) => (n.running() ? n.status() : Promise.resolve(null))));
    const bucketCounts = async (live: ClusterNode[]) => {
      const st = await Promise.all(live.map((n) => n.status()));
      return Object.fromEntries(live.map((n, i) => [n.name, st[i]?.owned.length ?? 0]));
    };
    const waitOwners = async (live: ClusterNode[], timeoutMs: number, alsoIdle = false): Promise<number | null> => {
      const t0 = performance.now();
      const ok = await waitFor(
        async () => {
          const st = await Promise.all(live.map((n) => n.status()));
          return coverage(st) && (!alsoIdle || st.every((s) => s!.draining.length === 0));
        },
        timeoutMs,
        20,
      );
      return ok ? performance.now() - t0 : null;
    };

    const tookSpread = await waitOwners(nodes, 10_000);
    if (tookSpread === null)
      throw new LabError(`the nodes did not split the buckets: ${JSON.stringify(await statuses())}`);

    // ---- clients ----
    traffic = lab.spawn(
      client.ns,
      [
        process.execPath,
        '--import',
        'tsx',
        TRAFFIC,
        JSON.stringify({
          sources,
          vip: CLUSTER_VIP,
          udpMs: o.udpMs,
          gapMs: o.gapMs,
          httpMs: 200,
          requestsPerConnection: 10,
        }),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const lines = createInterface({ input: traffic.stdout! });
    const waiting: ((o: Record<string, unknown>) => void)[] = [];
    lines.on('line', (l) => {
      try {
        waiting.shift()?.(JSON.parse(l));
      } catch {
        /* not ours */
      }
    });
    const next = () => new Promise<Record<string, unknown>>((r) => waiting.push(r));
    await next();
    const snapshot = async () => {
      const p = next();
      traffic!.stdin!.write('snapshot\n');
      return (await p) as { atMs: number; sources: Record<string, SourceStats> };
    };
    await sleep(1500);

    const steps: ClusterStep[] = [];
    const now = () => performance.timeOrigin + performance.now();
    const bound = 3 * o.advertMs + o.advertMs / 4;
    const run = async (
      step: ClusterStep['step'],
      planned: boolean,
      action: string,
      act: () => Promise<void>,
      live: () => ClusterNode[],
      settleMs: number,
      expected: string,
      judge: (s: ClusterStep) => boolean,
      leaving: ClusterNode | null = null,
    ) => {
      const before = Object.fromEntries(Object.entries((await snapshot()).sources).map(([k, v]) => [k, v.lastNode]));
      say(`${step}: ${action}`);
      const t0 = now();
      await act();
      const took = await waitOwners(live(), 15_000);
      const drained = planned ? await waitOwners(live(), o.drainMs + 10_000, true) : null;
      await sleep(settleMs);
      const snap = await snapshot();
      const m = measureWindow(snap.sources, before, t0, snap.atMs, leaving?.name ?? null);
      const s: ClusterStep = {
        step,
        planned,
        action,
        tookMs: took,
        drainedMs: drained === null ? null : now() - t0 - settleMs,
        clients: sources.length,
        ...m,
        buckets: await bucketCounts(live()),
        ok: false,
        expected,
      };
      s.ok = took !== null && judge(s);
      steps.push(s);
      say(
        `  ${s.ok ? 'ok' : 'FAIL'}: buckets ${JSON.stringify(s.buckets)}, clients served ${JSON.stringify(s.served)}, ` +
          `${s.clientsMoved} moved, ${s.clientsAffected} affected, outage ${s.maxOutageMs === null ? 0 : Math.round(s.maxOutageMs)} ms, ${s.resets} resets` +
          (s.httpErrors ? `, HTTP errors ${JSON.stringify(s.errorCodes)}` : ''),
      );
    };

    const all = () => nodes.filter((n) => n.running() && !down.has(n));
    const down = new Set<ClusterNode>();
    const victim = nodes[nodes.length - 1];
    const stopper = nodes[0];
    const share = CLUSTER_BUCKETS / o.nodes;

    await run(
      'spread',
      false,
      `${o.nodes} nodes share the buckets`,
      async () => {},
      all,
      1500,
      `every bucket one owner, about ${Math.round(share)} each`,
      (s) => Object.values(s.buckets).every((b) => Math.abs(b - share) <= 1.5),
    );
    await run(
      'failure',
      false,
      `${victim.name} fails silently (its switch port stops forwarding)`,
      async () => {
        down.add(victim);
        await lab!.linkDown(victim.host);
      },
      all,
      2000,
      `its buckets spread over the ${o.nodes - 1} survivors within ${bound} ms (+ margin); only its clients affected`,
      (s) =>
        s.clientsAffected <= s.clientsOfNode &&
        (s.maxOutageMs ?? 0) <= bound + 150 &&
        Object.values(s.buckets).every((b) => Math.abs(b - CLUSTER_BUCKETS / (o.nodes - 1)) <= 1.5),
      victim,
    );
    await run(
      'return',
      true,
      `${victim.name} comes back (link up): planned, with draining`,
      async () => {
        await lab!.linkUp(victim.host);
        down.delete(victim);
      },
      all,
      1500,
      'its share back; no client affected, no reset',
      (s) => s.clientsAffected === 0 && s.resets === 0,
    );
    await run(
      'stop',
      true,
      `${stopper.name} stops gracefully (SIGTERM: drains ${o.drainMs} ms, then exits)`,
      async () => {
        await stopper.stop(o.drainMs + 10_000);
      },
      all,
      1500,
      'its buckets to the others; no client affected, no reset',
      (s) => s.clientsAffected === 0 && s.resets === 0,
      stopper,
    );
    await run(
      'restart',
      true,
      `${stopper.name} starts again: planned join`,
      async () => {
        await stopper.start();
      },
      all,
      1500,
      'its share back; no client affected, no reset',
      (s) => s.clientsAffected === 0 && s.resets === 0,
    );
    traffic.stdin!.write('stop\n');
    return {
      lab: name,
      vip: CLUSTER_VIP,
      nodes: nodes.map((n) => n.name),
      advertMs: o.advertMs,
      failoverBoundMs: bound,
      steps,
      ok: steps.every((s) => s.ok),
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    await lab?.destroy().catch(() => undefined);
    onExit();
    process.removeListener('exit', onExit);
  }
}
