// The state-sync lab: a client network, a stateful NAT firewall pair (two tandem appliances, the
// client's VRRP gateway on the LAN and the NAT address on the WAN, one sync group) and a server,
// with long-lived TCP connections and a UDP stream through the master. Used by
// test/net/state-sync.test.ts and `tandem lab --state-sync`. Lab code: it may run iproute2/nft.
//
//   client c1 192.0.2.101 --br0-- fw r1 eth0 192.0.2.11 / r2 .12, VIP 192.0.2.1 (vrid 51)
//   server c2 203.0.113.100 --br1-- fw r1 wan 203.0.113.11 / r2 .12, VIP 203.0.113.1 (vrid 52)
//   r1 sync0 198.51.100.1 <-- veth --> r2 sync0 198.51.100.2 (conntrackd FTFW, UDP 3780)
//            2001:db8:5::1                   2001:db8:5::2 (the same link over IPv6)
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineStatus } from '../firmware/core/status.ts';
import { request } from '../firmware/supervisor/control-socket.ts';
import { tandemCommand } from './appliance.ts';
import { bridgeCommand, createLab, type Lab, type LabHost } from './netns.ts';

export const LAN_VIP = '192.0.2.1';
export const WAN_VIP = '203.0.113.1';
export const SERVER_IP = '203.0.113.100';
export const FLOW_PORT = 5001;
export const ADVERT_MS = 100;
const FLOWS_PY = fileURLToPath(new URL('./py/flows.py', import.meta.url));

/** Stateful forwarding: the server side (wan) only gets established flows. */
export const STATEFUL_FORWARD = `chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "eth0" oifname "wan" ct state new accept
  }`;

/** STATEFUL_FORWARD and source NAT to the WAN VIP. Not `masquerade`: it takes each firewall's own
 *  WAN address, so the translated flows would differ between the two and could not survive a
 *  failover, replicated or not. */
const RULESET = `
table inet sfw {
  ${STATEFUL_FORWARD}
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname "wan" snat ip to ${WAN_VIP}
  }
}
`;

export interface FirewallLab {
  lab: Lab;
  client: LabHost;
  server: LabHost;
  fw: [LabHost, LabHost];
  /** Bridge ports of each firewall's WAN side (in the switch namespace). */
  wanPorts: [string, string];
  destroy(): Promise<void>;
}

export async function createFirewallLab(prefix?: string): Promise<FirewallLab> {
  const lab = await createLab({ routers: 2, clients: 2, ipv6: false, ...(prefix ? { prefix } : {}) });
  try {
    const [r1, r2] = lab.routers;
    const [client, server] = lab.clients;
    const sw = lab.switchNs;
    const x = (ns: string | null, argv: string[]) => lab.exec(ns, argv);
    // The WAN: a second bridge; the server's port moves onto it.
    await x(null, bridgeCommand(sw, 'br1'));
    await x(null, ['ip', '-n', sw, 'link', 'set', 'br1', 'up']);
    await x(null, ['ip', '-n', sw, 'link', 'set', server.bridgePort, 'master', 'br1']);
    await x(null, ['ip', '-n', server.ns, 'addr', 'flush', 'dev', 'eth0']);
    await x(null, ['ip', '-n', server.ns, 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'eth0']);
    const wanPorts: [string, string] = [`${lab.name}w1`, `${lab.name}w2`];
    for (const [i, r] of [r1, r2].entries()) {
      await x(null, ['ip', '-n', sw, 'link', 'add', wanPorts[i], 'type', 'veth', 'peer', 'name', 'wan', 'netns', r.ns]);
      await x(null, ['ip', '-n', sw, 'link', 'set', wanPorts[i], 'master', 'br1', 'up']);
      await x(null, ['ip', '-n', r.ns, 'addr', 'add', `203.0.113.${11 + i}/24`, 'dev', 'wan']);
      await x(null, ['ip', '-n', r.ns, 'link', 'set', 'wan', 'up']);
    }
    // The sync link: a direct veth between the firewalls.
    await x(null, ['ip', '-n', r1.ns, 'link', 'add', 'sync0', 'type', 'veth', 'peer', 'name', 'sync0', 'netns', r2.ns]);
    for (const [i, r] of [r1, r2].entries()) {
      await x(null, ['ip', '-n', r.ns, 'addr', 'add', `198.51.100.${1 + i}/24`, 'dev', 'sync0']);
      // Also IPv6 (the lab's hosts have it off): a sync link of either family (SyncOptions.family).
      await x(r.ns, ['sysctl', '-qw', 'net.ipv6.conf.sync0.disable_ipv6=0']);
      await x(null, ['ip', '-n', r.ns, 'addr', 'add', `${SYNC6}${1 + i}/64`, 'dev', 'sync0', 'nodad']);
      await x(null, ['ip', '-n', r.ns, 'link', 'set', 'sync0', 'up']);
      await lab.exec(r.ns, ['nft', '-f', '-'], { input: RULESET });
      // Forwarding on; no mid-stream pickup: a firewall without a flow's state drops its packets
      // (INVALID) instead of adopting them, as a stateful firewall should.
      await x(r.ns, [
        'sh',
        '-c',
        'echo 1 > /proc/sys/net/ipv4/ip_forward && echo 0 > /proc/sys/net/netfilter/nf_conntrack_tcp_loose',
      ]);
    }
    await x(null, ['ip', '-n', client.ns, 'route', 'add', 'default', 'via', LAN_VIP]);
    return { lab, client, server, fw: [r1, r2], wanPorts, destroy: () => lab.destroy() };
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

/** The sync link's IPv6 prefix (2001:db8::/32, documentation). */
const SYNC6 = '2001:db8:5::';

export interface SyncOptions {
  /** The sync link's address family (default 4). */
  family?: 4 | 6;
  stallAfter?: string;
  resyncTimeout?: string;
  stallPenalty?: number;
}

/** A firewall's tandem config: lan + wan in one sync group, state_sync following it (or not). */
export function firewallYaml(index: 0 | 1, sync: SyncOptions | null): string {
  const prio = index === 0 ? 200 : 100;
  const inst = (name: string, ifname: string, vrid: number, vip: string) =>
    [
      `  - name: ${name}`,
      `    interface: ${ifname}`,
      `    vrid: ${vrid}`,
      `    priority: ${prio}`,
      `    advert_interval: ${ADVERT_MS}ms`,
      '    preempt: true',
      `    addresses: [${vip}/24]`,
    ].join('\n');
  const lines = [
    'instances:',
    inst('lan', 'eth0', 51, LAN_VIP),
    inst('wan', 'wan', 52, WAN_VIP),
    'sync_groups:',
    '  - { name: fw, instances: [lan, wan] }',
  ];
  if (sync)
    lines.push(
      'state_sync:',
      '  follows: fw',
      '  interface: sync0',
      `  local: ${sync.family === 6 ? SYNC6 : '198.51.100.'}${1 + index}`,
      `  peer: ${sync.family === 6 ? SYNC6 : '198.51.100.'}${2 - index}`,
      `  stall_after: ${sync.stallAfter ?? '2s'}`,
      `  resync_timeout: ${sync.resyncTimeout ?? '15s'}`,
      ...(sync.stallPenalty ? [`  stall_penalty: ${sync.stallPenalty}`] : []),
    );
  return lines.join('\n');
}

export type TandemStatus = EngineStatus;

/** One firewall's tandem daemon: its files in a temp dir, its output, its control socket. */
export interface TandemHandle {
  dir: string;
  proc: ChildProcess;
  output(): string;
  status(): Promise<TandemStatus>;
  /** Signal it and wait for the exit (SIGKILL after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** Start it again with the same files (state_dir, socket, config). */
  restart(): Promise<TandemHandle>;
}

export async function startFirewall(
  f: FirewallLab,
  index: 0 | 1,
  sync: SyncOptions | null,
  dir = mkdtempSync(join(tmpdir(), 'tandem-sync-')),
): Promise<TandemHandle> {
  const socket = join(dir, 'tandem.sock');
  const configFile = join(dir, 'tandem.yaml');
  writeFileSync(
    configFile,
    [
      `node: fw${index + 1}`,
      `state_dir: ${join(dir, 'state')}`,
      `control: { socket: ${socket} }`,
      'log: { level: info }',
      firewallYaml(index, sync),
      '',
    ].join('\n'),
  );
  const proc = f.lab.spawn(f.fw[index].ns, [...tandemCommand(), 'run', '--config', configFile]);
  let out = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const h: TandemHandle = {
    dir,
    proc,
    output: () => out,
    async status() {
      const r = await request(socket, { cmd: 'status' }, 3_000);
      if (!r.ok) throw new Error(`status: ${r.error?.message}`);
      return r.result as TandemStatus;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(t);
    },
    restart: () => startFirewall(f, index, sync, dir),
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && proc.exitCode === null) {
    try {
      await h.status();
      return h;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await h.stop('SIGKILL');
  throw new Error(`tandem did not start in ${f.fw[index].ns}:\n${out.slice(-3000)}`);
}

/** Stop every daemon (SIGTERM, SIGKILL after 5 s) and remove its files. */
export async function stopFirewalls(handles: TandemHandle[]): Promise<void> {
  await Promise.all(
    handles.map(async (h) => {
      await h.stop('SIGTERM', 5_000).catch(() => {});
      rmSync(h.dir, { recursive: true, force: true });
    }),
  );
}

/** Poll until `pred` holds; throws with the last status and the daemon's log tail. */
export async function waitForStatus(
  h: TandemHandle,
  pred: (s: TandemStatus) => boolean,
  timeoutMs: number,
): Promise<TandemStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: TandemStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await h.status();
      if (pred(last)) return last;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `condition not reached in ${timeoutMs} ms; last: ${JSON.stringify(last?.instances.map((i) => [i.name, i.state]))} ${JSON.stringify(last?.stateSync)}\n--- log ---\n${h.output().slice(-3000)}`,
  );
}

export const groupState = (s: TandemStatus): string => {
  const st = s.instances.map((i) => i.state);
  return st.every((x) => x === st[0]) ? st[0] : st.join('/');
};

export const syncOf = (s: TandemStatus) => s.stateSync;

/** The silent failure: the firewall's LAN and WAN bridge ports stop forwarding; carrier stays up. */
export async function failSilently(f: FirewallLab, index: 0 | 1, down = true): Promise<void> {
  const r = f.fw[index];
  await (down ? f.lab.linkDown(r) : f.lab.linkUp(r));
  await f.lab.exec(null, [
    'bridge',
    '-n',
    f.lab.switchNs,
    'link',
    'set',
    'dev',
    f.wanPorts[index],
    'state',
    down ? '0' : '3',
  ]);
}

export interface FlowReport {
  tcp: { src: string; error: string | null; maxGapMs: number; sinceLastMs: number | null; echoes: number }[];
  udp: { received: number; maxGapMs: number; sinceLastMs: number | null };
}

export interface Flows {
  proc: ChildProcess;
  /** Stop the client and return what each flow saw. */
  report(): Promise<FlowReport>;
}

/** Start the server (once per lab) and the client's flows; resolves when every flow is up.
 *  `sources`: the client's addresses the TCP connections leave from, in turn. */
export async function startFlows(
  f: Pick<FirewallLab, 'lab' | 'client' | 'server'>,
  tcp = 20,
  timeoutMs = 10_000,
  opts: { serverIp?: string; sources?: string[] } = {},
): Promise<Flows> {
  if (!(f as { serverProc?: ChildProcess }).serverProc) {
    const sp = f.lab.spawn(f.server.ns, ['python3', FLOWS_PY, 'server', '--port', String(FLOW_PORT)]);
    (f as { serverProc?: ChildProcess }).serverProc = sp;
    await lineFrom(sp, 'listening', 5_000);
  }
  const argv = ['client', '--server', opts.serverIp ?? SERVER_IP, '--port', String(FLOW_PORT), '--tcp', String(tcp)];
  if (opts.sources?.length) argv.push('--sources', opts.sources.join(','));
  const proc = f.lab.spawn(f.client.ns, ['python3', FLOWS_PY, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  await lineFrom(proc, 'ready', timeoutMs);
  return {
    proc,
    async report() {
      const p = lineFrom(proc, '{', 10_000);
      proc.stdin?.end('stop\n');
      return JSON.parse(await p) as FlowReport;
    },
  };
}

/** Resolve with the first stdout line starting with `start`. */
function lineFrom(proc: ChildProcess, start: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const t = setTimeout(
      () => done(new Error(`no "${start}" line within ${timeoutMs} ms: ${err.slice(-500)}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      const hit = lines.find((l) => l.startsWith(start));
      if (hit !== undefined) done(undefined, hit);
    };
    const onErr = (d: Buffer) => {
      err += d.toString();
    };
    const onExit = () => done(new Error(`exited before "${start}": ${err.slice(-500)}`));
    const done = (e?: Error, line?: string) => {
      clearTimeout(t);
      proc.stdout?.off('data', onData);
      proc.stderr?.off('data', onErr);
      proc.off('exit', onExit);
      if (e) reject(e);
      else resolve(line!);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onErr);
    proc.once('exit', onExit);
  });
}

/** A flow survived: no error, still moving at the end, and no gap longer than the bound. */
export function survivors(r: FlowReport, boundMs: number): { tcp: number; udp: boolean; worstGapMs: number } {
  const alive = (x: { maxGapMs: number; sinceLastMs: number | null }) =>
    x.sinceLastMs !== null && x.sinceLastMs < 1_000 && x.maxGapMs <= boundMs;
  return {
    tcp: r.tcp.filter((c) => c.error === null && alive(c)).length,
    udp: alive(r.udp),
    worstGapMs: Math.max(r.udp.maxGapMs, ...r.tcp.map((c) => ((c.sinceLastMs ?? 0) > 1_000 ? Infinity : c.maxGapMs))),
  };
}

/** Both firewalls up and elected: fw1 master, fw2 backup (and, with sync, fw2 reaching conntrackd). */
export async function electPair(f: FirewallLab, sync: SyncOptions | null): Promise<[TandemHandle, TandemHandle]> {
  // fw1 first: started together, fw2 could be master first, and with state sync fw1 would then
  // (rightly) hold its preemption until resynced, seconds later.
  const h1 = await startFirewall(f, 0, sync);
  const h2 = await startFirewall(f, 1, sync);
  await waitForStatus(h1, (s) => groupState(s) === 'master', 5_000);
  await waitForStatus(h2, (s) => groupState(s) === 'backup' && (!sync || syncOf(s)?.reachable === true), 8_000);
  return [h1, h2];
}

/** Until the backup's external cache holds at least `n` flows (the master replicated them). */
export function waitReplicated(h: TandemHandle, n: number, timeoutMs = 10_000): Promise<TandemStatus> {
  return waitForStatus(h, (s) => (syncOf(s)?.externalCache ?? 0) >= n, timeoutMs);
}

/** Flush a firewall's kernel connection table (between runs). */
export async function flushConntrack(f: FirewallLab): Promise<void> {
  for (const r of f.fw) await f.lab.exec(r.ns, ['conntrack', '-F'], { allowFail: true });
}

// ---- `tandem lab --state-sync` ----

export interface StateSyncRun {
  sync: boolean;
  failoverMs: number; // silent failure -> fw2 master (both instances)
  tcpKept: number;
  tcpTotal: number;
  udpKept: boolean;
  worstGapMs: number;
}

export interface StateSyncDemoOptions {
  json: boolean;
  progress: NodeJS.WritableStream;
  out: NodeJS.WritableStream;
  tcp?: number;
}

/** Build the lab, run the flows, fail the master silently without and then with state sync, and
 *  say how many flows each run kept. Exit code 1 when the synced run lost any. */
export async function runStateSyncDemo(o: StateSyncDemoOptions): Promise<number> {
  const tcp = o.tcp ?? 20;
  const say = (s: string) => o.progress.write(`${s}\n`);
  /** As in test/net/state-sync.test.ts: Master_Down_Interval (priority 100) + 300 ms, and one
   *  retransmission after it. */
  const failoverBound = 3 * ADVERT_MS + ((256 - 100) * ADVERT_MS) / 256 + 300;
  const gapBound = 2 * failoverBound + 200;
  say('building: client 192.0.2.101, firewalls fw1/fw2 (VIPs 192.0.2.1, 203.0.113.1), server 203.0.113.100');
  const f = await createFirewallLab();
  let handles: TandemHandle[] = [];
  const runs: StateSyncRun[] = [];
  try {
    for (const sync of [null, {}] as (SyncOptions | null)[]) {
      const label = sync ? 'with state sync' : 'without state sync';
      say(`\n${label}: starting fw1 (priority 200) and fw2 (100)`);
      handles = await electPair(f, sync);
      const [, h2] = handles;
      const flows = await startFlows(f, tcp);
      say(`  ${tcp} TCP connections and a UDP stream through fw1`);
      if (sync) {
        const s = await waitReplicated(h2, tcp + 1);
        say(`  fw2's external cache holds ${syncOf(s)?.externalCache} flows from fw1`);
      } else await new Promise((r) => setTimeout(r, 500));
      say('  fw1 fails silently (its LAN and WAN ports stop forwarding)');
      const t0 = performance.now();
      await failSilently(f, 0);
      await waitForStatus(h2, (s) => groupState(s) === 'master', 5_000);
      const failoverMs = Math.round(performance.now() - t0);
      say(`  fw2 master after ${failoverMs} ms; watching the flows for 2.5 s`);
      await new Promise((r) => setTimeout(r, 2_500));
      const r = survivors(await flows.report(), gapBound);
      runs.push({ sync: !!sync, failoverMs, tcpKept: r.tcp, tcpTotal: tcp, udpKept: r.udp, worstGapMs: r.worstGapMs });
      say(`  kept ${r.tcp}/${tcp} TCP connections, UDP stream ${r.udp ? 'kept' : 'lost'}`);
      await stopFirewalls(handles);
      handles = [];
      await failSilently(f, 0, false);
      await flushConntrack(f);
    }
  } finally {
    await stopFirewalls(handles);
    await f.destroy();
  }
  const synced = runs.find((x) => x.sync)!;
  const ok = synced.tcpKept === synced.tcpTotal && synced.udpKept;
  if (o.json) o.out.write(`${JSON.stringify({ ok, gapBoundMs: gapBound, runs })}\n`);
  else {
    o.out.write('\nsummary (a flow is kept when it never stalled longer than failover + one retransmission):\n');
    for (const x of runs)
      o.out.write(
        `  ${x.sync ? 'state sync on ' : 'state sync off'}  failover ${x.failoverMs} ms  TCP kept ${x.tcpKept}/${x.tcpTotal}  UDP ${x.udpKept ? 'kept' : 'lost'}\n`,
      );
    o.out.write(ok ? 'every synced connection survived\n' : 'FAILED: a synced connection was lost\n');
  }
  return ok ? 0 : 1;
}
