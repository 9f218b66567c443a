// Runs the built tandem (dist/tandem.js) as a daemon inside a lab namespace, with its own config,
// state directory and control socket in a temp dir (namespaces share one filesystem).
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab, LabHost } from '../../lab/netns.ts';
import { request } from '../../firmware/supervisor/control-socket.ts';
import { nodeCommand } from '../../firmware/runtime/node-flags.ts';

export const TANDEM_BIN = new URL('../../dist/tandem.js', import.meta.url).pathname;

export interface TandemHandle {
  dir: string;
  configFile: string;
  socket: string;
  proc: ChildProcess;
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  status(): Promise<TandemStatus>;
  cmd(
    req: Record<string, unknown>,
  ): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }>;
  /** Sends a signal and waits for exit (bounded). Returns the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface TandemStatus {
  node: string;
  version: string;
  instances: {
    name: string;
    state: string;
    priority: number;
    effectivePriority: number;
    masterIp: string | null;
    vrid: number;
    counters: {
      advertsSent: number;
      advertsReceived: number;
      transitions: number;
      drops: Record<string, number>;
      [k: string]: unknown;
    };
    [k: string]: unknown;
  }[];
  interfaces: { name: string; drops: Record<string, number>; captureDropped: number }[];
  [k: string]: unknown;
}

/** YAML for one instance; `extra` lines are appended inside the instance mapping. */
export function instanceYaml(o: {
  name?: string;
  ifname: string;
  vrid: number;
  priority: number;
  version?: 2 | 3;
  advert?: string;
  addresses: string[];
  preempt?: boolean;
  macMode?: 'none' | 'virtual' | 'move';
  extra?: string[];
}): string {
  return [
    `  - name: ${o.name ?? 'lan'}`,
    `    interface: ${o.ifname}`,
    `    vrid: ${o.vrid}`,
    `    version: ${o.version ?? 3}`,
    `    priority: ${o.priority}`,
    `    advert_interval: ${o.advert ?? '100ms'}`,
    `    preempt: ${o.preempt ?? true}`,
    `    mac_mode: ${o.macMode ?? 'none'}`,
    `    addresses: [${o.addresses.join(', ')}]`,
    ...(o.extra ?? []).map((l) => `    ${l}`),
  ].join('\n');
}

export async function startTandem(
  lab: Lab,
  host: LabHost,
  body: string,
  opts: {
    node?: string;
    logLevel?: string;
    env?: Record<string, string>;
    /** Run as this uid/gid holding only these capabilities (setpriv(1); names as `net_admin`). */
    user?: { uid: number; gid: number; caps: string[] };
  } = {},
): Promise<TandemHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-t-'));
  const socket = join(dir, 'tandem.sock');
  const configFile = join(dir, 'tandem.yaml');
  writeFileSync(
    configFile,
    [
      `node: ${opts.node ?? host.ns}`,
      `state_dir: ${join(dir, 'state')}`,
      `control: { socket: ${socket} }`,
      `log: { level: ${opts.logLevel ?? 'info'} }`,
      /(^|\n)(instances|clusters):/.test(body) ? body : `instances:\n${body}`,
      '',
    ].join('\n'),
  );
  return runTandem(lab, host, { dir, configFile, socket }, opts.env, opts.user);
}

/** Runs dist/tandem.js with a config already written (a first start, or a restart with the same
 *  state_dir and socket) and waits until its control socket answers. With `user`, it runs as that
 *  uid/gid holding only `caps` (setpriv). */
export async function runTandem(
  lab: Lab,
  host: LabHost,
  files: { dir: string; configFile: string; socket: string },
  env?: Record<string, string>,
  user?: { uid: number; gid: number; caps: string[] },
): Promise<TandemHandle> {
  const { dir, configFile, socket } = files;
  const argv = [...nodeCommand(TANDEM_BIN, []), 'run', '--config', configFile];
  if (user) {
    const { uid, gid, caps } = user;
    for (const f of [dir, configFile]) chownSync(f, uid, gid);
    const set = ['-all', ...caps.map((c) => `+${c}`)].join(',');
    // Every other capability leaves the bounding set too, so nothing can be regained by exec.
    argv.unshift(
      'setpriv',
      `--reuid=${uid}`,
      `--regid=${gid}`,
      '--clear-groups',
      `--inh-caps=${set}`,
      `--ambient-caps=${set}`,
      `--bounding-set=${set}`,
      '--',
    );
  }
  const { proc, output, exited } = spawnCollecting(lab, host, argv, env);
  const cmd = (req: Record<string, unknown>) => request(socket, req, 3000);
  const handle: TandemHandle = {
    dir,
    configFile,
    socket,
    proc,
    exited,
    cmd,
    output,
    logs: () =>
      output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return {};
          }
        }),
    status: async () => {
      const r = await cmd({ cmd: 'status' });
      if (!r.ok) throw new Error(`status failed: ${r.error?.message}`);
      return r.result as TandemStatus;
    },
    stop: async (signal = 'SIGTERM', timeoutMs = 10_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  // Wait until the control socket answers (the daemon is up) or the process dies.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    try {
      await handle.status();
      return handle;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await handle.stop('SIGKILL');
  throw new Error(`tandem did not start in ${host.ns}:\n${output()}`);
}

/** Stops every handle (SIGKILL after a grace period) and removes their temp dirs. */
export async function stopAll(handles: (TandemHandle | undefined)[]): Promise<void> {
  await Promise.all(
    handles.map(async (h) => {
      if (!h) return;
      await h.stop('SIGTERM', 5000).catch(() => {});
      rmSync(h.dir, { recursive: true, force: true });
    }),
  );
}

/** Polls until `pred(status)` holds for the handle, or the time runs out. Returns the last status. */
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
    `condition not reached in ${timeoutMs} ms; last status: ${JSON.stringify(last?.instances?.map((i) => [i.name, i.state, i.effectivePriority]))}\n--- log ---\n${h.output().slice(-3000)}`,
  );
}

export const stateOf = (s: TandemStatus, name = 'lan') => s.instances.find((i) => i.name === name)?.state;

/** Spawns `argv` in `host`'s namespace, collecting stdout and stderr as one text. */
export function spawnCollecting(
  lab: Lab,
  host: LabHost,
  argv: string[],
  env?: Record<string, string>,
): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = lab.spawn(host.ns, argv, { env });
  let out = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}
