// Interop peers for the lab: keepalived, FRR vrrpd (with zebra), ucarp (CARP), mosquitto, and a tshark
// capture with a checker for VRRP adverts on the wire. Each peer gets a private temp dir for its
// config, pid files, sockets and log, removed when it stops.
import {
  mkdtempSync,
  writeFileSync,
  readFileSync,
  rmSync,
  chmodSync,
  chownSync,
  createWriteStream,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';
import { spawn as spawnChild, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netns.ts';
import { LabError, waitFor } from './netns.ts';

export type PeerState = 'MASTER' | 'BACKUP' | 'FAULT' | 'INIT' | 'unknown';

export interface PeerHandle {
  /** Private directory: config, pid files, log. */
  readonly dir: string;
  /** Graceful stop (SIGTERM by default: a VRRPv3 master then sends priority 0). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Crash: SIGKILL to the whole process group (addresses stay where they were). */
  kill(): Promise<void>;
  state(): Promise<PeerState>;
  /** The peer's log so far (for failure messages). */
  log(): string;
}

export interface VrrpPeerOptions {
  ifname: string;
  vrid: number;
  /** 1..255; 255 only for the address owner. */
  priority: number;
  version: 2 | 3;
  advertIntervalMs: number;
  /** Virtual addresses, without prefix length (the lab's /24 or /64 is used). */
  addresses: readonly string[];
  /** Default true, as in RFC 5798 6.1 (Preempt_Mode). */
  preempt?: boolean;
  family?: 'ipv4' | 'ipv6';
  /** keepalived only: send adverts by unicast to these peers (`unicast_peer { ... }`) instead of
   *  the multicast group; `unicastSrc` sets `unicast_src_ip`. */
  unicastPeers?: readonly string[];
  unicastSrc?: string;
}

const STOP_GRACE_MS = 3_000;

// Private dirs not yet removed by stop()/kill(). A peer often ends with its lab (destroy() kills
// the process, not the handle), so whatever is left goes when this process exits.
const liveDirs = new Set<string>();
let dirHook = false;

export function privateDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tandem-lab-${tag}-`));
  liveDirs.add(dir);
  if (!dirHook) {
    dirHook = true;
    process.on('exit', () => {
      for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

function exitedPromise(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
  });
}

/** Signal the child's process group, wait for it, SIGKILL it if it does not go. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = STOP_GRACE_MS): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const done = exitedPromise(child);
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* gone */
  }
  const timer = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), graceMs).unref());
  if ((await Promise.race([done, timer])) === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await Promise.race([done, new Promise((res) => setTimeout(res, 1000).unref())]);
  }
}

/** Collect a child's stdout+stderr into a log file and an in-memory tail. */
export function collectLog(child: ChildProcess, file: string): () => string {
  const out = createWriteStream(file, { flags: 'a' });
  let text = '';
  const add = (d: Buffer) => {
    out.write(d);
    text += d.toString();
    if (text.length > 256_000) text = text.slice(-128_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  child.once('exit', () => out.end());
  return () => text;
}

function prefixLen(addr: string): number {
  return addr.includes(':') ? 64 : 24;
}

// ---------------------------------------------------------------------------------------------
// keepalived

/**
 * The keepalived.conf the lab runs for `o` (also what `tandem import` is tested on): one
 * vrrp_instance, its state reported through `notify` (called as notify TYPE NAME STATE PRIORITY).
 */
export function keepalivedConf(o: VrrpPeerOptions, c: { routerId: string; notify: string }): string {
  // v2 advert_int is whole seconds; v3 takes hundredths.
  const advertS =
    o.version === 3
      ? (o.advertIntervalMs / 1000).toFixed(2)
      : String(Math.max(1, Math.round(o.advertIntervalMs / 1000)));
  return `global_defs {
  router_id ${c.routerId}
  script_user root
  enable_script_security
  vrrp_version ${o.version}
  vrrp_garp_master_refresh 0
}
vrrp_instance VI_${o.vrid} {
  state BACKUP
  interface ${o.ifname}
  virtual_router_id ${o.vrid}
  priority ${o.priority}
  advert_int ${advertS}
${o.preempt === false ? '  nopreempt\n' : ''}  notify ${c.notify}
${o.unicastSrc ? `  unicast_src_ip ${o.unicastSrc}\n` : ''}${o.unicastPeers?.length ? `  unicast_peer {\n${o.unicastPeers.map((p) => `    ${p}\n`).join('')}  }\n` : ''}  virtual_ipaddress {
${o.addresses.map((a) => `    ${a}/${prefixLen(a)} dev ${o.ifname}`).join('\n')}
  }
}
`;
}

/**
 * keepalived 2.2.7 in namespace `ns`, in the foreground (`-n -l -D`) with private pid files so
 * several instances on one host do not collide. Its state comes from a notify script that
 * writes the state to a file in the private dir.
 */

/** keepalived in the foreground (-n), logging to the console (-l) in detail (-D), with its pid
 *  files in `dir` so that several can run on one host. */
export function keepalivedArgv(confFile: string, dir: string): string[] {
  return [
    'keepalived',
    '-n',
    '-l',
    '-D',
    '-f',
    confFile,
    '-p',
    join(dir, 'keepalived.pid'),
    '-r',
    join(dir, 'vrrp.pid'),
    '-c',
    join(dir, 'checkers.pid'),
  ];
}

export async function startKeepalived(lab: Lab, ns: string, o: VrrpPeerOptions): Promise<PeerHandle> {
  const dir = privateDir('ka');
  const family = o.family ?? (o.addresses[0]?.includes(':') ? 'ipv6' : 'ipv4');
  if (family === 'ipv6' && o.version !== 3) throw new LabError('VRRP over IPv6 needs version 3');
  const stateFile = join(dir, 'state');
  const notify = join(dir, 'notify.sh');
  // keepalived calls: notify TYPE NAME STATE PRIORITY
  writeFileSync(notify, `#!/bin/sh\necho "$3" > ${stateFile}.tmp && mv ${stateFile}.tmp ${stateFile}\n`, {
    mode: 0o700,
  });
  const conf = keepalivedConf(o, { routerId: ns, notify });
  const confFile = join(dir, 'keepalived.conf');
  writeFileSync(confFile, conf);
  const child = lab.spawn(ns, keepalivedArgv(confFile, dir));
  const log = collectLog(child, join(dir, 'keepalived.log'));
  const handle: PeerHandle = {
    dir,
    log,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await stopChild(child, signal);
      removeDir(dir);
    },
    async kill() {
      await stopChild(child, 'SIGKILL');
      removeDir(dir);
    },
    async state() {
      if (child.exitCode !== null || child.signalCode !== null) return 'unknown';
      // keepalived runs notify scripts asynchronously, so two quick transitions (BACKUP, MASTER,
      // BACKUP at start) can land in the state file out of order and leave it saying MASTER.
      // Its own log says "(VI_n) Entering X STATE" in order: that is the authority.
      const entered = [...log().matchAll(/Entering (MASTER|BACKUP|FAULT) STATE/g)];
      if (entered.length) return entered[entered.length - 1][1] as PeerState;
      try {
        return parseState(readFileSync(stateFile, 'utf8'));
      } catch {
        return 'unknown';
      }
    },
  };
  // Started = the VRRP child wrote its pid file (config parsed, sockets open).
  const ok = await waitFor(() => existsSync(join(dir, 'vrrp.pid')) || child.exitCode !== null, 10_000);
  if (!ok || child.exitCode !== null) {
    await handle.kill();
    throw new LabError(`keepalived in ${ns} did not start: ${log().slice(-2000)}`);
  }
  return handle;
}

function parseState(s: string): PeerState {
  const t = s.trim().toUpperCase();
  if (t.includes('MASTER')) return 'MASTER';
  if (t.includes('BACKUP')) return 'BACKUP';
  if (t.includes('FAULT')) return 'FAULT';
  if (t.includes('INIT') || t.includes('INITIALIZE')) return 'INIT';
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------
// ucarp (Debian's ucarp 1.5.2: CARP in user space, IPv4 only)

export interface UcarpOptions {
  ifname: string;
  /** This host's own address on the interface (ucarp's --srcip). */
  srcIp: string;
  vhid: number;
  passphrase: string;
  /** The one virtual address: ucarp's HMAC covers exactly one (docs/carp.md). */
  address: string;
  advbase: number;
  advskew: number;
  /** ucarp's --preempt (default true here, as tandem's CARP default). */
  preempt?: boolean;
}

/** Starts ucarp in the foreground; its up/down scripts add and remove the address, and its state
 *  is the last "Switching to state:" line it logged. SIGTERM makes it run the down script and exit
 *  (--shutdown) without a last advert. */
export async function startUcarp(lab: Lab, ns: string, o: UcarpOptions): Promise<PeerHandle> {
  const dir = privateDir('ucarp');
  const up = join(dir, 'up.sh'),
    down = join(dir, 'down.sh');
  // ucarp calls: SCRIPT INTERFACE ADDRESS
  writeFileSync(
    up,
    `#!/bin/sh
ip addr add "$2/${prefixLen(o.address)}" dev "$1" 2>/dev/null
exit 0
`,
    { mode: 0o700 },
  );
  writeFileSync(
    down,
    `#!/bin/sh
ip addr del "$2/${prefixLen(o.address)}" dev "$1" 2>/dev/null
exit 0
`,
    { mode: 0o700 },
  );
  const argv = [
    'ucarp',
    `--interface=${o.ifname}`,
    `--srcip=${o.srcIp}`,
    `--vhid=${o.vhid}`,
    `--pass=${o.passphrase}`,
    `--addr=${o.address}`,
    `--advbase=${o.advbase}`,
    `--advskew=${o.advskew}`,
    `--upscript=${up}`,
    `--downscript=${down}`,
    '--shutdown',
    ...(o.preempt === false ? [] : ['--preempt']),
  ];
  const child = lab.spawn(ns, argv);
  const log = collectLog(child, join(dir, 'ucarp.log'));
  const handle: PeerHandle = {
    dir,
    log,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await stopChild(child, signal);
      removeDir(dir);
    },
    async kill() {
      await stopChild(child, 'SIGKILL');
      removeDir(dir);
    },
    async state() {
      if (child.exitCode !== null || child.signalCode !== null) return 'unknown';
      const seen = [...log().matchAll(/Switching to state: (MASTER|BACKUP|INIT)/g)];
      return seen.length ? (seen[seen.length - 1][1] as PeerState) : 'INIT';
    },
  };
  const ok = await waitFor(() => /Switching to state/.test(log()) || child.exitCode !== null, 10_000);
  if (!ok || child.exitCode !== null) {
    await handle.kill();
    throw new LabError(`ucarp in ${ns} did not start: ${log().slice(-2000)}`);
  }
  return handle;
}

// ---------------------------------------------------------------------------------------------
// FRR vrrpd

export interface FrrHandle extends PeerHandle {
  /** Run vtysh commands against this instance's private vty sockets. */
  vtysh(...commands: string[]): Promise<string>;
  /** The macvlan this helper created for the VRID. */
  readonly macvlan: string;
}

const FRR_BIN = '/usr/lib/frr';

/**
 * FRR 8.4 zebra + vrrpd in namespace `ns`. vrrpd needs one macvlan per VRID with the virtual
 * MAC (RFC 5798 7.3: 00-00-5E-00-01-{VRID}) carrying the VIPs; it toggles protodown on it.
 * FRR 8.4 refuses to run as root, so both daemons drop to frr:frr and the private dir is theirs.
 */
export async function startFrr(lab: Lab, ns: string, o: VrrpPeerOptions): Promise<FrrHandle> {
  const family = o.family ?? (o.addresses[0]?.includes(':') ? 'ipv6' : 'ipv4');
  const dir = privateDir('frr');
  const frrUid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
  const frrGid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
  chownSync(dir, frrUid, frrGid);
  chmodSync(dir, 0o755);
  const vridHex = o.vrid.toString(16).padStart(2, '0');
  const mac = family === 'ipv6' ? `00:00:5e:00:02:${vridHex}` : `00:00:5e:00:01:${vridHex}`;
  const macvlan = `vrrp${family === 'ipv6' ? 6 : 4}-${o.vrid}`;
  const sh = (argv: string[]) => lab.exec(null, argv);
  await sh([
    'ip',
    '-n',
    ns,
    'link',
    'add',
    'link',
    o.ifname,
    'name',
    macvlan,
    'address',
    mac,
    'type',
    'macvlan',
    'mode',
    'bridge',
  ]);
  // A random link-local, not EUI-64 of the shared virtual MAC (every router would have the same).
  // addrgenmode cannot be given at creation with iproute2 6.1 on newer kernels: set it after.
  await sh(['ip', '-n', ns, 'link', 'set', 'dev', macvlan, 'addrgenmode', 'random']);
  for (const a of o.addresses) {
    await sh([
      'ip',
      '-n',
      ns,
      'addr',
      'add',
      `${a}/${prefixLen(a)}`,
      'dev',
      macvlan,
      ...(a.includes(':') ? ['nodad'] : []),
    ]);
  }
  await lab.exec(ns, [
    'sh',
    '-c',
    [
      `echo 1 > /proc/sys/net/ipv4/conf/${o.ifname}/arp_ignore`,
      `echo 2 > /proc/sys/net/ipv4/conf/${o.ifname}/arp_announce`,
      `echo 0 > /proc/sys/net/ipv6/conf/${macvlan}/accept_dad`,
    ].join(' && '),
  ]);
  await sh(['ip', '-n', ns, 'link', 'set', 'dev', macvlan, 'up']);

  const intervalMs = Math.max(10, Math.round(o.advertIntervalMs / 10) * 10); // FRR: multiples of 10 ms
  const conf = `frr defaults traditional
hostname ${ns}
log stdout informational
!
interface ${o.ifname}
 vrrp ${o.vrid} version ${o.version}
 vrrp ${o.vrid} priority ${o.priority}
 vrrp ${o.vrid} advertisement-interval ${intervalMs}
${o.preempt === false ? ` no vrrp ${o.vrid} preempt\n` : ''}${o.addresses.map((a) => ` vrrp ${o.vrid} ${a.includes(':') ? 'ipv6' : 'ip'} ${a}`).join('\n')}
!
`;
  const zebraConf = join(dir, 'zebra.conf');
  const vrrpdConf = join(dir, 'vrrpd.conf');
  writeFileSync(zebraConf, `hostname ${ns}\nlog stdout\n`);
  writeFileSync(vrrpdConf, conf);
  for (const f of [zebraConf, vrrpdConf]) chownSync(f, frrUid, frrGid);
  const zserv = join(dir, 'zserv.api');
  const common = ['-u', 'frr', '-g', 'frr', '-z', zserv, '--vty_socket', dir, '-P', '0'];
  const zebra = lab.spawn(ns, [join(FRR_BIN, 'zebra'), ...common, '-i', join(dir, 'zebra.pid'), '-f', zebraConf]);
  const zlog = collectLog(zebra, join(dir, 'zebra.log'));
  const cleanupLinks = async () => {
    await lab.exec(null, ['ip', '-n', ns, 'link', 'del', macvlan], { allowFail: true });
  };
  let vrrpd: ChildProcess | undefined;
  let vlog: () => string = () => '';
  const stopAll = async (signal: NodeJS.Signals) => {
    if (vrrpd) await stopChild(vrrpd, signal);
    await stopChild(zebra, signal);
    await cleanupLinks();
    removeDir(dir);
  };
  const log = () => `--- zebra\n${zlog()}\n--- vrrpd\n${vlog()}`;
  const vtysh = async (...commands: string[]) => {
    const argv = ['vtysh', '--vty_socket', dir];
    for (const c of commands) argv.push('-c', c);
    return (await lab.exec(ns, argv, { timeoutMs: 10_000 })).stdout;
  };
  try {
    if (!(await waitFor(() => existsSync(zserv) || zebra.exitCode !== null, 10_000)) || zebra.exitCode !== null) {
      throw new LabError(`zebra in ${ns} did not start`);
    }
    vrrpd = lab.spawn(ns, [join(FRR_BIN, 'vrrpd'), ...common, '-i', join(dir, 'vrrpd.pid'), '-f', vrrpdConf]);
    vlog = collectLog(vrrpd, join(dir, 'vrrpd.log'));
    const started = await waitFor(() => existsSync(join(dir, 'vrrpd.vty')) || vrrpd!.exitCode !== null, 10_000);
    if (!started || vrrpd.exitCode !== null) throw new LabError(`vrrpd in ${ns} did not start`);
  } catch (err) {
    const text = log();
    await stopAll('SIGKILL');
    throw new LabError(`${(err as Error).message}: ${text.slice(-3000)}`);
  }
  const v = vrrpd;
  return {
    dir,
    macvlan,
    log,
    vtysh,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => stopAll(signal),
    kill: () => stopAll('SIGKILL'),
    async state() {
      if (v.exitCode !== null || v.signalCode !== null) return 'unknown';
      try {
        return frrStateFromJson(await vtysh('show vrrp json'), o.vrid, family);
      } catch {
        return 'unknown';
      }
    },
  };
}

/** Pick one VRID's state out of `show vrrp json` (an array of virtual routers with v4/v6 halves). */
export function frrStateFromJson(text: string, vrid: number, family: 'ipv4' | 'ipv6'): PeerState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'unknown';
  }
  if (!Array.isArray(parsed)) return 'unknown';
  for (const vr of parsed as Array<Record<string, unknown>>) {
    if (vr.vrid !== vrid) continue;
    const half = vr[family === 'ipv6' ? 'v6' : 'v4'] as Record<string, unknown> | undefined;
    const s = typeof half?.status === 'string' ? half.status : '';
    if (/master/i.test(s)) return 'MASTER';
    if (/backup/i.test(s)) return 'BACKUP';
    if (/init/i.test(s)) return 'INIT';
    return 'unknown';
  }
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------
// mosquitto

export interface MosquittoHandle {
  readonly host: string;
  readonly port: number;
  /** mqtt://127.0.0.1:PORT, for processes in the root namespace. */
  readonly url: string;
  /**
   * A unix-domain socket listener. The filesystem is shared by every network namespace, so
   * daemons inside lab namespaces reach the broker with `mqtt+unix://PATH` and no lab routing.
   */
  readonly socketPath: string;
  readonly unixUrl: string;
  readonly dir: string;
  stop(): Promise<void>;
  log(): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(opts: { port: number; host: string } | { path: string }): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(opts as never);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/** mosquitto 2.0 in the root namespace on 127.0.0.1 and a unix socket, anonymous, no persistence. */
export async function startMosquitto(o: { port?: number; configExtra?: string } = {}): Promise<MosquittoHandle> {
  const dir = privateDir('mqtt');
  const port = o.port ?? (await freePort());
  const socketPath = join(dir, 'mqtt.sock');
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(
    confFile,
    `# tandem lab broker
per_listener_settings false
allow_anonymous true
persistence false
log_dest stdout
log_type error
log_type warning
log_type notice
# Stay root: the private dir is root's (a lab tool, not a deployment).
user root
listener ${port} 127.0.0.1
listener 0 ${socketPath}
${o.configExtra ?? ''}
`,
  );
  const child = spawnChild('mosquitto', ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Not a lab child (root namespace): make sure it does not outlive this process.
  const onExit = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
  const log = collectLog(child, join(dir, 'mosquitto.log'));
  const up = await waitFor(
    async () =>
      child.exitCode !== null ||
      ((await canConnect({ port, host: '127.0.0.1' })) && (await canConnect({ path: socketPath }))),
    10_000,
    50,
  );
  const stop = async () => {
    await stopChild(child, 'SIGTERM');
    removeDir(dir);
  };
  if (!up || child.exitCode !== null) {
    const text = log();
    await stop();
    throw new LabError(`mosquitto did not start: ${text.slice(-2000)}`);
  }
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    socketPath,
    unixUrl: `mqtt+unix://${socketPath}`,
    dir,
    stop,
    log,
  };
}

// tshark capture and checker live in wire.ts; re-exported so peers are one import for tests.
export { captureVrrp, startVrrpCapture, checkVrrpCapture, parseTsharkLine } from './wire.ts';
export type { VrrpRow, VrrpCheck, VrrpProblem, VrrpCapture } from './wire.ts';
