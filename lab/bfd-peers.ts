// BFD peers for interop tests: FRR's bfdd (with zebra) and keepalived's BFD child, each in a lab
// namespace with private sockets, pid files and logs, reporting the session state.
import { chmodSync, chownSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netns.ts';
import { LabError, waitFor } from './netns.ts';
import { collectLog, keepalivedArgv, privateDir, removeDir, stopChild } from './peers.ts';

const FRR_BIN = '/usr/lib/frr';

export type BfdPeerState = 'up' | 'down' | 'init' | 'unknown';

export interface BfdPeerOptions {
  peer: string; // tandem's address
  local: string; // this peer's own address
  intervalMs: number; // transmit and receive interval
  multiplier: number;
}

export interface BfdPeerHandle {
  state(): Promise<BfdPeerState>;
  log(): string;
  stop(): Promise<void>;
}

/** FRR 8.4 bfdd beside zebra (bfdd asks zebra about interfaces), run as frr with private sockets. */
export async function startFrrBfd(
  lab: Lab,
  ns: string,
  o: BfdPeerOptions,
): Promise<BfdPeerHandle & { vtysh(c: string): Promise<string> }> {
  const dir = privateDir('bfdd');
  const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o755);
  const zebraConf = join(dir, 'zebra.conf');
  const bfddConf = join(dir, 'bfdd.conf');
  writeFileSync(zebraConf, `hostname ${ns}\nlog stdout\n`);
  writeFileSync(
    bfddConf,
    `frr defaults traditional
hostname ${ns}
log stdout informational
!
bfd
 peer ${o.peer} local-address ${o.local}
  detect-multiplier ${o.multiplier}
  receive-interval ${o.intervalMs}
  transmit-interval ${o.intervalMs}
 !
!
`,
  );
  for (const f of [zebraConf, bfddConf]) chownSync(f, uid, gid);
  const zserv = join(dir, 'zserv.api');
  const common = ['-u', 'frr', '-g', 'frr', '-z', zserv, '--vty_socket', dir, '-P', '0'];
  const zebra = lab.spawn(ns, [join(FRR_BIN, 'zebra'), ...common, '-i', join(dir, 'zebra.pid'), '-f', zebraConf]);
  const zlog = collectLog(zebra, join(dir, 'zebra.log'));
  let bfdd: ChildProcess | undefined;
  let blog: () => string = () => '';
  const log = () => `--- zebra\n${zlog()}\n--- bfdd\n${blog()}`;
  const stop = async () => {
    if (bfdd) await stopChild(bfdd, 'SIGTERM');
    await stopChild(zebra, 'SIGTERM');
    removeDir(dir);
  };
  const vtysh = async (c: string) =>
    (await lab.exec(ns, ['vtysh', '--vty_socket', dir, '-c', c], { timeoutMs: 10_000 })).stdout;
  try {
    if (!(await waitFor(() => existsSync(zserv) || zebra.exitCode !== null, 10_000)) || zebra.exitCode !== null)
      throw new LabError(`zebra in ${ns} did not start`);
    bfdd = lab.spawn(ns, [
      join(FRR_BIN, 'bfdd'),
      ...common,
      '-i',
      join(dir, 'bfdd.pid'),
      '--bfdctl',
      join(dir, 'bfdd.sock'),
      '-f',
      bfddConf,
    ]);
    blog = collectLog(bfdd, join(dir, 'bfdd.log'));
    const b = bfdd;
    if (!(await waitFor(() => existsSync(join(dir, 'bfdd.vty')) || b.exitCode !== null, 10_000)) || b.exitCode !== null)
      throw new LabError(`bfdd in ${ns} did not start`);
  } catch (e) {
    const text = log();
    await stop();
    throw new LabError(`${(e as Error).message}: ${text.slice(-3000)}`);
  }
  return {
    log,
    stop,
    vtysh,
    async state() {
      try {
        const peers = JSON.parse(await vtysh('show bfd peers json')) as Array<{ peer?: string; status?: string }>;
        const p = peers.find((x) => x.peer === o.peer);
        const s = p?.status ?? '';
        return s === 'up' || s === 'down' || s === 'init' ? s : 'unknown';
      } catch {
        return 'unknown';
      }
    },
  };
}

/** keepalived 2.2.7 with one bfd_instance (its BFD child process), state from its log. */
export async function startKeepalivedBfd(lab: Lab, ns: string, o: BfdPeerOptions): Promise<BfdPeerHandle> {
  const dir = privateDir('kabfd');
  const confFile = join(dir, 'keepalived.conf');
  writeFileSync(
    confFile,
    `global_defs {
  router_id ${ns}
}
bfd_instance tandem {
  neighbor_ip ${o.peer}
  source_ip ${o.local}
  min_rx ${o.intervalMs}
  min_tx ${o.intervalMs}
  multiplier ${o.multiplier}
}
`,
  );
  const child = lab.spawn(ns, [...keepalivedArgv(confFile, dir), '-b', join(dir, 'bfd.pid')]);
  const log = collectLog(child, join(dir, 'keepalived.log'));
  const stop = async () => {
    await stopChild(child, 'SIGTERM');
    removeDir(dir);
  };
  const ok = await waitFor(() => existsSync(join(dir, 'bfd.pid')) || child.exitCode !== null, 10_000);
  if (!ok || child.exitCode !== null) {
    const text = log();
    await stop();
    throw new LabError(`keepalived (BFD) in ${ns} did not start: ${text.slice(-2000)}`);
  }
  return {
    log,
    stop,
    async state() {
      // keepalived's BFD child logs "(NAME) Entering Up state" (and Down, Init).
      const all = [...log().matchAll(/\(tandem\) Entering (\w+) state/gi)];
      const last = all.length ? all[all.length - 1][1].toLowerCase() : '';
      return last === 'up' || last === 'down' || last === 'init' ? last : 'unknown';
    },
  };
}
