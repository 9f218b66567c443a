// The lab network: a "switch" namespace holding a Linux bridge, N router namespaces and M client
// namespaces, each joined to the bridge by a veth pair. Used by the integration tests, the
// benchmarks and `tandem lab`. Lab code may run iproute2; product code may not.
//
// Layout (prefix p, router i = 1..N, client j = 1..M):
//   namespace p-sw   bridge br0 (mcast_snooping 0, stp off, forward_delay 0), ports p+r<i>, p+c<j>
//   namespace p-r<i> eth0 = 192.0.2.(10+i)/24, 2001:db8::(10+i)/64
//   namespace p-c<j> eth0 = 192.0.2.(100+j)/24, 2001:db8::(100+j)/64
// 192.0.2.0/24 and 2001:db8::/32 are documentation ranges (RFC 5737, RFC 3849): nothing leaves.
import { spawn as spawnChild, execFile, execFileSync } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface LabHost {
  /** Network namespace name. */
  ns: string;
  /** Interface inside the namespace, joined to the bridge. */
  ifname: string;
  ipv4: string;
  ipv6: string;
  /** Prefix lengths of the addresses above. */
  ipv4PrefixLen: number;
  ipv6PrefixLen: number;
  /** The bridge port (inside the switch namespace) that this host's veth plugs into. */
  bridgePort: string;
  /** 1-based index: router 1 has 192.0.2.11. */
  index: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command after this long (default 15 s). */
  timeoutMs?: number;
  /** Resolve with the non-zero exit code instead of rejecting. */
  allowFail?: boolean;
  /** Text written to the command's standard input. */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export interface SpawnOptions {
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Lab {
  /** The per-run prefix every namespace and link name starts with. */
  readonly name: string;
  /** Namespace holding the bridge. */
  readonly switchNs: string;
  readonly bridge: string;
  readonly routers: readonly LabHost[];
  readonly clients: readonly LabHost[];
  /** Run argv inside namespace `ns` (null: the root namespace) and wait for it. */
  exec(ns: string | null, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Start argv inside `ns`; the process (group) is killed at destroy(). */
  spawn(ns: string | null, argv: string[], opts?: SpawnOptions): ChildProcess;
  /** Silent failure: the router's bridge port stops forwarding (STP state disabled), its carrier stays up. */
  linkDown(router: LabHost): Promise<void>;
  linkUp(router: LabHost): Promise<void>;
  /** Loud failure: the router-side veth is set down, so the router sees carrier loss. */
  carrierDown(router: LabHost): Promise<void>;
  carrierUp(router: LabHost): Promise<void>;
  /** Kill tracked processes, then every process left in the lab's namespaces, then the namespaces. Idempotent. */
  destroy(): Promise<void>;
}

/** `ip` argv adding a bridge in the switch namespace: snooping off (or 224.0.0.18 / ff02::12 may
 *  not be flooded to every port), no STP, no forwarding delay. */
export function bridgeCommand(sw: string, name: string): string[] {
  return [
    'ip',
    '-n',
    sw,
    'link',
    'add',
    name,
    'type',
    'bridge',
    'mcast_snooping',
    '0',
    'stp_state',
    '0',
    'forward_delay',
    '0',
  ];
}

export interface CreateLabOptions {
  routers: number;
  clients?: number;
  /** Default: 't' + 4 random hex digits. Lowercase letters, digits; at most 8 characters. */
  prefix?: string;
  /** Give hosts IPv6 addresses too (default true). */
  ipv6?: boolean;
}

export class LabError extends Error {
  constructor(
    message: string,
    readonly result?: ExecResult,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

const DEFAULT_EXEC_TIMEOUT_MS = 15_000;
/** How long a killed process gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 1_500;
const MAX_HOSTS = 80; // keeps 10+i and 100+j inside one /24 without overlap

export function randomPrefix(): string {
  return `t${randomBytes(2).toString('hex')}`;
}

/** Run a command in a namespace (or the root namespace when ns is null). */
export function execIn(ns: string | null, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const full = ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
  return new Promise((resolve, reject) => {
    const child = execFile(
      full[0],
      full.slice(1),
      {
        timeout: opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ?? process.env,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : -1
          : 0;
        const result = { code, stdout, stderr };
        if (code !== 0 && !opts.allowFail) {
          const why = err && (err as { killed?: boolean }).killed ? 'timed out' : `exit ${code}`;
          reject(new LabError(`${ns ?? 'root'}: ${argv.join(' ')}: ${why}: ${stderr.trim() || stdout.trim()}`, result));
        } else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

// ---- registry of live labs, so an exit or a signal still cleans up ----

const liveLabs = new Set<LabImpl>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' handlers must be synchronous: kill and delete with execFileSync.
  process.on('exit', () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      for (const lab of liveLabs) lab.destroySync();
      // Installing a listener disables Node's default exit; restore it unless someone else
      // (a daemon under test, say) also listens and will decide when to exit.
      if (process.listenerCount(sig) === 0) process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.once(sig, onSignal);
  }
}

/** Namespace names created by this module for a prefix. */
function isLabNs(name: string, prefix: string): boolean {
  return name === `${prefix}-sw` || (name.startsWith(prefix) && /^-[rc]\d+$/.test(name.slice(prefix.length)));
}

/** Names of the network namespaces that exist now (`ip netns list`). */
export function listNamespaces(): string[] {
  return listNetns();
}

function listNetns(): string[] {
  let out = '';
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((s) => s.length > 0);
}

function killNsProcessesSync(ns: string): void {
  let pids: number[] = [];
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function deleteNsSync(ns: string): void {
  killNsProcessesSync(ns);
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
}

/**
 * Delete every namespace this module made with `prefix` (and kill what runs inside them). For
 * cleaning up after a crashed run; a live Lab should be torn down with destroy().
 */
export function destroyAllWithPrefix(prefix: string): string[] {
  const gone = listNetns().filter((n) => isLabNs(n, prefix));
  // Clients and routers first, the switch last, so no veth is left dangling meanwhile.
  gone.sort((a, b) => Number(a.endsWith('-sw')) - Number(b.endsWith('-sw')));
  for (const ns of gone) deleteNsSync(ns);
  return gone;
}

// ---- the lab ----

class LabImpl implements Lab {
  readonly switchNs: string;
  readonly bridge = 'br0';
  readonly routers: LabHost[] = [];
  readonly clients: LabHost[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly namespaces: string[] = [];
  private destroyed = false;

  constructor(readonly name: string) {
    this.switchNs = `${name}-sw`;
  }

  exec(ns: string | null, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    return execIn(ns, argv, opts);
  }

  spawn(ns: string | null, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.destroyed) throw new LabError(`lab ${this.name} is destroyed`);
    const full = ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
    // Own process group, so kill(-pid) also reaches the children a daemon forks.
    const child = spawnChild(full[0], full.slice(1), {
      stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      detached: true,
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** STP port state: 0 disabled (drops everything, carrier stays up), 3 forwarding. */
  private async portState(router: LabHost, state: 0 | 3): Promise<void> {
    await this.exec(null, [
      'bridge',
      '-n',
      this.switchNs,
      'link',
      'set',
      'dev',
      router.bridgePort,
      'state',
      String(state),
    ]);
  }

  linkDown(router: LabHost): Promise<void> {
    return this.portState(router, 0);
  }

  linkUp(router: LabHost): Promise<void> {
    return this.portState(router, 3);
  }

  async carrierDown(router: LabHost): Promise<void> {
    await this.exec(null, ['ip', '-n', router.ns, 'link', 'set', 'dev', router.ifname, 'down']);
  }

  async carrierUp(router: LabHost): Promise<void> {
    await this.exec(null, ['ip', '-n', router.ns, 'link', 'set', 'dev', router.ifname, 'up']);
  }

  /** Record a namespace as ours before creating it, so a failure half-way still deletes it. */
  track(ns: string): void {
    this.namespaces.push(ns);
  }

  private async killChildren(): Promise<void> {
    const alive = [...this.children];
    const exited = alive.map(
      (c) =>
        new Promise<void>((res) => {
          if (c.exitCode !== null || c.signalCode !== null) return res();
          c.once('exit', () => res());
        }),
    );
    for (const c of alive) killGroup(c, 'SIGTERM');
    const timer = new Promise<void>((res) => setTimeout(res, KILL_GRACE_MS).unref());
    await Promise.race([Promise.all(exited), timer]);
    for (const c of alive) if (c.exitCode === null && c.signalCode === null) killGroup(c, 'SIGKILL');
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    await this.killChildren();
    const order = [...this.namespaces].reverse(); // hosts before the switch
    for (const ns of order) deleteNsSync(ns);
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    for (const c of this.children) killGroup(c, 'SIGKILL');
    for (const ns of [...this.namespaces].reverse()) deleteNsSync(ns);
  }
}

function killGroup(c: ChildProcess, sig: NodeJS.Signals): void {
  if (c.pid === undefined) return;
  try {
    process.kill(-c.pid, sig);
  } catch {
    try {
      c.kill(sig);
    } catch {
      /* gone */
    }
  }
}

/** Write sysctls inside a namespace in one exec. */
async function sysctls(ns: string, values: Record<string, string | number>): Promise<void> {
  const script = Object.entries(values)
    .map(([k, v]) => `echo ${v} > /proc/sys/${k.replace(/\./g, '/')}`)
    .join(' && ');
  await execIn(ns, ['sh', '-c', script]);
}

/** Build the topology described at the top of this file. On failure everything made so far is removed. */
export async function createLab(opts: CreateLabOptions): Promise<Lab> {
  const nRouters = opts.routers;
  const nClients = opts.clients ?? 0;
  if (!Number.isInteger(nRouters) || nRouters < 0 || nRouters > MAX_HOSTS)
    throw new LabError(`routers must be 0..${MAX_HOSTS}`);
  if (!Number.isInteger(nClients) || nClients < 0 || nClients > MAX_HOSTS)
    throw new LabError(`clients must be 0..${MAX_HOSTS}`);
  const prefix = opts.prefix ?? randomPrefix();
  if (!/^[a-z][a-z0-9]{0,7}$/.test(prefix))
    throw new LabError(`prefix '${prefix}': want 1-8 lowercase letters/digits, starting with a letter`);
  if (process.getuid?.() !== 0) throw new LabError('the lab needs root (network namespaces)');
  const ipv6 = opts.ipv6 ?? true;
  if (listNetns().some((n) => isLabNs(n, prefix))) throw new LabError(`namespaces with prefix ${prefix} already exist`);

  installExitHooks();
  const lab = new LabImpl(prefix);
  liveLabs.add(lab);
  try {
    const sw = lab.switchNs;
    lab.track(sw);
    await execIn(null, ['ip', 'netns', 'add', sw]);
    // The switch carries frames only: no IPv6 of its own (no RS/MLD noise in captures).
    await sysctls(sw, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    await execIn(null, ['ip', '-n', sw, 'link', 'set', 'lo', 'up']);
    // Snooping off, or 224.0.0.18 / ff02::12 may not be flooded to every port.
    await execIn(null, bridgeCommand(sw, lab.bridge));
    await execIn(null, ['ip', '-n', sw, 'link', 'set', lab.bridge, 'up']);

    const addHost = async (kind: 'r' | 'c', index: number): Promise<LabHost> => {
      const ns = `${prefix}-${kind}${index}`;
      const bridgePort = `${prefix}${kind}${index}`;
      const host: LabHost = {
        ns,
        ifname: 'eth0',
        bridgePort,
        index,
        ipv4: `192.0.2.${(kind === 'r' ? 10 : 100) + index}`,
        ipv4PrefixLen: 24,
        ipv6: ipv6 ? `2001:db8::${(kind === 'r' ? 10 : 100) + index}` : '',
        ipv6PrefixLen: 64,
      };
      lab.track(ns);
      await execIn(null, ['ip', 'netns', 'add', ns]);
      await execIn(null, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      // DAD off so addresses (and link-locals, which VRRPv3 over IPv6 sends from) work at once.
      const sys: Record<string, number> = {
        'net.ipv6.conf.all.accept_dad': 0,
        'net.ipv6.conf.default.accept_dad': 0,
        'net.ipv6.conf.all.disable_ipv6': ipv6 ? 0 : 1,
        'net.ipv6.conf.default.disable_ipv6': ipv6 ? 0 : 1,
      };
      if (kind === 'r') {
        // Answer ARP only for addresses on the asking interface, and source ARP from the best
        // local address: a backup must not answer for a VIP that sits on another link (macvlan).
        Object.assign(sys, {
          'net.ipv4.conf.all.arp_ignore': 1,
          'net.ipv4.conf.default.arp_ignore': 1,
          'net.ipv4.conf.all.arp_announce': 2,
          'net.ipv4.conf.default.arp_announce': 2,
        });
      }
      await sysctls(ns, sys);
      await execIn(null, [
        'ip',
        '-n',
        sw,
        'link',
        'add',
        bridgePort,
        'type',
        'veth',
        'peer',
        'name',
        host.ifname,
        'netns',
        ns,
      ]);
      await execIn(null, ['ip', '-n', sw, 'link', 'set', bridgePort, 'master', lab.bridge]);
      await execIn(null, ['ip', '-n', sw, 'link', 'set', bridgePort, 'up']);
      await execIn(null, ['ip', '-n', ns, 'addr', 'add', `${host.ipv4}/${host.ipv4PrefixLen}`, 'dev', host.ifname]);
      if (ipv6) {
        await sysctls(ns, { [`net.ipv6.conf.${host.ifname}.accept_dad`]: 0 });
        await execIn(null, [
          'ip',
          '-n',
          ns,
          'addr',
          'add',
          `${host.ipv6}/${host.ipv6PrefixLen}`,
          'dev',
          host.ifname,
          'nodad',
        ]);
      }
      await execIn(null, ['ip', '-n', ns, 'link', 'set', host.ifname, 'up']);
      return host;
    };

    for (let i = 1; i <= nRouters; i++) lab.routers.push(await addHost('r', i));
    for (let j = 1; j <= nClients; j++) lab.clients.push(await addHost('c', j));
    return lab;
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

/** Wait until `check` resolves true, polling every `stepMs`, for at most `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  stepMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
