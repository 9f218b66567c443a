// One appliance of the demo: a tandem daemon (the running bundle, `run --config`) or an interop
// peer (keepalived, FRR vrrpd) inside a router namespace, behind one small interface the
// scenario and the display use: start, stop, restart, and a view of its VRRP state.
import { fileURLToPath } from 'node:url';
import { nodeCommand } from '../firmware/runtime/node-flags.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab, LabHost } from './netns.ts';
import { LabError, waitFor } from './netns.ts';
import { startKeepalived, startFrr, startUcarp } from './peers.ts';
import type { PeerHandle } from './peers.ts';
import { request } from '../firmware/supervisor/control-socket.ts';

export type ApplianceKind = 'tandem' | 'keepalived' | 'frr' | 'ucarp';
/** Lower case, as tandem reports it; 'down' = no process running. */
export type ApplianceState = 'init' | 'backup' | 'master' | 'fault' | 'down' | 'unknown';

export interface ApplianceView {
  state: ApplianceState;
  /** Configured priority. */
  priority: number;
  /** What it advertises now (tandem only; peers: the configured priority). */
  effectivePriority: number | null;
  /** The master's address as this appliance last heard it (tandem only). */
  masterIp: string | null;
}

export interface VrrpSetup {
  vrid: number;
  advertMs: number;
  /** Run CARP instead of VRRP (--peer ucarp): VHID = vrid, advbase = advertMs / 1000, and the
   *  priority becomes advskew = 255 - priority (the higher priority advertises more often). */
  carp?: { passphrase: string };
  /** The VIP without prefix; the lab's /24 is used. */
  vip: string;
}

export interface TelemetrySetup {
  url: string;
  protocolVersion: 4 | 5;
  topicPrefix: string;
}

export interface Appliance {
  /** r1, r2, ...: the MQTT node name too. */
  readonly name: string;
  readonly host: LabHost;
  readonly kind: ApplianceKind;
  readonly priority: number;
  running(): boolean;
  start(): Promise<void>;
  /** Graceful stop: SIGTERM, so a master hands over with a priority-0 advert (RFC 5798 6.4.3). */
  stop(): Promise<void>;
  view(): Promise<ApplianceView>;
  /** The process output so far, for error messages. */
  log(): string;
}

/** The appliance bundle the lab runs (./build.sh lab builds it first). */
export const TANDEM_BUNDLE = fileURLToPath(new URL('../dist/tandem.js', import.meta.url));

/** The argv that runs tandem's built bundle with its runtime flags. The lab itself runs from
 *  source (lab/cli.ts), so its own argv says nothing about where tandem is. */
export function tandemCommand(): string[] {
  return nodeCommand(TANDEM_BUNDLE, []);
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

export interface TandemApplianceOptions extends VrrpSetup {
  name: string;
  priority: number;
  /** Private directory: config, state_dir, control socket. */
  dir: string;
  telemetry?: TelemetrySetup;
  /** argv prefix that runs tandem (default tandemCommand()). */
  command?: string[];
  /** garp.refresh: periodic re-announcement while master (ms). */
  garpRefreshMs?: number;
}

/** The CARP advskew that stands for a lab priority: 200 -> 55, 150 -> 105. */
export const carpAdvskew = (priority: number) => 255 - priority;

export function tandemConfigYaml(o: TandemApplianceOptions, host: LabHost): string {
  const protocolLines = o.carp
    ? [
        '    protocol: carp',
        `    vhid: ${o.vrid}`,
        `    advbase: ${Math.round(o.advertMs / 1000)}`,
        `    advskew: ${carpAdvskew(o.priority)}`,
        `    passphrase: "${o.carp.passphrase}"`,
      ]
    : [`    vrid: ${o.vrid}`, '    version: 3', `    priority: ${o.priority}`, `    advert_interval: ${o.advertMs}ms`];
  const lines = [
    `# tandem lab: appliance ${o.name} in namespace ${host.ns}`,
    `node: ${o.name}`,
    `state_dir: ${join(o.dir, 'state')}`,
    `control: { socket: ${join(o.dir, 'tandem.sock')} }`,
    'log: { level: info }',
    'instances:',
    '  - name: lan',
    `    interface: ${host.ifname}`,
    ...protocolLines,
    '    preempt: true',
    `    addresses: [${o.vip}/${host.ipv4PrefixLen}]`,
    ...(o.garpRefreshMs ? [`    garp: { refresh: ${o.garpRefreshMs}ms }`] : []),
  ];
  if (o.telemetry) {
    lines.push(
      'telemetry:',
      '  mqtt:',
      `    url: "${o.telemetry.url}"`,
      `    protocol_version: ${o.telemetry.protocolVersion}`,
      `    topic_prefix: ${o.telemetry.topicPrefix}`,
      `    client_id: tandem-lab-${o.name}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function tandemAppliance(lab: Lab, host: LabHost, o: TandemApplianceOptions): Appliance {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const configFile = join(o.dir, 'tandem.yaml');
  const socket = join(o.dir, 'tandem.sock');
  writeFileSync(configFile, tandemConfigYaml(o, host));
  let proc: ChildProcess | undefined;
  let out = '';
  const alive = () => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  return {
    name: o.name,
    host,
    kind: 'tandem',
    priority: o.priority,
    running: alive,
    log: () => out,
    async start() {
      if (alive()) return;
      out = '';
      const p = lab.spawn(host.ns, [...(o.command ?? tandemCommand()), 'run', '--config', configFile]);
      proc = p;
      const add = (d: Buffer) => {
        out += d.toString();
        if (out.length > 200_000) out = out.slice(-100_000);
      };
      p.stdout?.on('data', add);
      p.stderr?.on('data', add);
      const up = await waitFor(
        async () => {
          if (p.exitCode !== null || p.signalCode !== null) return true;
          try {
            return (await request(socket, { cmd: 'status' }, 1000)).ok;
          } catch {
            return false;
          }
        },
        START_TIMEOUT_MS,
        50,
      );
      if (!up || p.exitCode !== null || p.signalCode !== null) {
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
        throw new LabError(`tandem ${o.name} did not start in ${host.ns}:\n${out.slice(-3000)}`);
      }
    },
    async stop() {
      const p = proc;
      if (!p || !alive()) return;
      const exited = new Promise<void>((res) => p.once('exit', () => res()));
      try {
        process.kill(-p.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
      const t = setTimeout(() => {
        try {
          process.kill(-p.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(t);
    },
    async view() {
      if (!alive()) return { state: 'down', priority: o.priority, effectivePriority: null, masterIp: null };
      try {
        const r = await request(socket, { cmd: 'status' }, 1000);
        const inst = (
          r.result as
            | { instances?: { name: string; state: string; effectivePriority: number; masterIp: string | null }[] }
            | undefined
        )?.instances?.find((i) => i.name === 'lan');
        if (!r.ok || !inst) return { state: 'unknown', priority: o.priority, effectivePriority: null, masterIp: null };
        return {
          state: normState(inst.state),
          priority: o.priority,
          effectivePriority: inst.effectivePriority,
          masterIp: inst.masterIp,
        };
      } catch {
        return { state: 'unknown', priority: o.priority, effectivePriority: null, masterIp: null };
      }
    },
  };
}

function normState(s: string): ApplianceState {
  const t = s.toLowerCase();
  if (t === 'master' || t === 'backup' || t === 'fault' || t === 'init') return t;
  if (t === 'initialize') return 'init';
  return 'unknown';
}

/** keepalived 2.2.7, FRR 8.4 vrrpd or ucarp 1.5.2 (CARP) as the appliance, through the peer
 *  runners in peers.ts. */
export function peerAppliance(
  lab: Lab,
  host: LabHost,
  kind: 'keepalived' | 'frr' | 'ucarp',
  o: VrrpSetup & { name: string; priority: number },
): Appliance {
  let peer: PeerHandle | undefined;
  let running = false;
  return {
    name: o.name,
    host,
    kind,
    priority: o.priority,
    running: () => running,
    log: () => peer?.log() ?? '',
    async start() {
      if (running) return;
      const opts = {
        ifname: host.ifname,
        vrid: o.vrid,
        priority: o.priority,
        version: 3 as const,
        advertIntervalMs: o.advertMs,
        addresses: [o.vip],
      };
      peer =
        kind === 'ucarp'
          ? await startUcarp(lab, host.ns, {
              ifname: host.ifname,
              srcIp: host.ipv4,
              vhid: o.vrid,
              passphrase: o.carp?.passphrase ?? '',
              address: o.vip,
              advbase: Math.round(o.advertMs / 1000),
              advskew: carpAdvskew(o.priority),
            })
          : kind === 'frr'
            ? await startFrr(lab, host.ns, opts)
            : await startKeepalived(lab, host.ns, opts);
      running = true;
    },
    async stop() {
      if (!peer || !running) return;
      running = false;
      await peer.stop('SIGTERM');
    },
    async view() {
      if (!peer || !running) return { state: 'down', priority: o.priority, effectivePriority: null, masterIp: null };
      const s = await peer.state();
      const state: ApplianceState = s === 'unknown' ? 'unknown' : normState(s);
      return { state, priority: o.priority, effectivePriority: o.priority, masterIp: null };
    },
  };
}
