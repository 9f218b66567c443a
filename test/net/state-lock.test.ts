// One daemon per state directory (drivers/state-lock.ts): two daemons started at the same moment
// with one state_dir (two routers in namespaces on one host share the filesystem) -> exactly one
// runs and the other exits at once naming the holder's pid and the state_dir key; a SIGKILLed
// holder leaves no lock behind; two daemons with two directories both run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCommand } from '../../firmware/runtime/node-flags.ts';
import { request } from '../../firmware/supervisor/control-socket.ts';
import type { Lab, LabHost } from '../kit/lab.ts';
import { sleep, withLab } from '../kit/lab.ts';
import { instanceYaml, spawnCollecting, TANDEM_BIN } from '../kit/tandem.ts';

interface Daemon {
  proc: ChildProcess;
  socket: string;
  out: () => string;
  exited: Promise<number | null>;
}

function start(lab: Lab, host: LabHost, dir: string, stateDir: string, vrid: number): Daemon {
  const socket = join(dir, `${host.ns}.sock`);
  const configFile = join(dir, `${host.ns}.yaml`);
  const inst = instanceYaml({ ifname: host.ifname, vrid, priority: 100, addresses: [`192.0.2.${200 + vrid}/24`] });
  writeFileSync(
    configFile,
    `node: ${host.ns}\nstate_dir: ${stateDir}\ncontrol: { socket: ${socket} }\ninstances:\n${inst}\n`,
  );
  const { proc, output, exited } = spawnCollecting(lab, host, [
    ...nodeCommand(TANDEM_BIN, []),
    'run',
    '--config',
    configFile,
  ]);
  return { proc, socket, out: output, exited };
}

/** Whether the daemon answers on its control socket within `ms`. */
async function answers(d: Daemon, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && d.proc.exitCode === null) {
    try {
      if ((await request(d.socket, { cmd: 'status' }, 1000)).ok) return true;
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  return false;
}

async function stop(ds: Daemon[]): Promise<void> {
  for (const d of ds) {
    if (d.proc.exitCode !== null || d.proc.signalCode !== null) continue;
    d.proc.kill('SIGTERM');
    const t = setTimeout(() => d.proc.kill('SIGKILL'), 10_000);
    await d.exited;
    clearTimeout(t);
  }
}

test('two daemons started together with one state_dir: exactly one runs, the other names the holder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-lock-'));
  const stateDir = join(dir, 'state');
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const ds = [start(lab, lab.routers[0], dir, stateDir, 11), start(lab, lab.routers[1], dir, stateDir, 12)];
    try {
      const loser = await Promise.race(ds.map((d, i) => d.exited.then(() => i)));
      const winner = ds[1 - loser];
      assert.ok(await answers(winner, 10_000), `the other daemon did not run:\n${winner.out()}`);
      assert.is(ds[loser].proc.exitCode, 1);
      const holder = Number(readFileSync(join(stateDir, 'tandem.lock'), 'utf8'));
      assert.is(holder, winner.proc.pid, 'the lock file names the running daemon');
      assert.match(ds[loser].out(), `another tandem (pid ${holder}) holds ${join(stateDir, 'tandem.lock')}`);
      assert.match(ds[loser].out(), 'give this daemon its own state_dir');
    } finally {
      await stop(ds);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('a SIGKILLed holder leaves no lock: the next daemon takes it and cleans up its VIP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-lock-'));
  const stateDir = join(dir, 'state');
  await withLab({ routers: 1, clients: 0 }, async (lab) => {
    const r = lab.routers[0];
    const ds: Daemon[] = [];
    try {
      ds.push(start(lab, r, dir, stateDir, 13));
      assert.ok(await answers(ds[0], 10_000), ds[0].out());
      // Alone on the segment it becomes master and installs the VIP (after Master_Down_Interval).
      const hasVip = async () =>
        (await lab.exec(r.ns, ['ip', '-o', 'addr', 'show', 'dev', r.ifname])).stdout.includes('192.0.2.213/');
      const t0 = Date.now();
      while (!(await hasVip()) && Date.now() - t0 < 10_000) await sleep(50);
      assert.ok(await hasVip(), 'the first daemon never took the VIP');
      ds[0].proc.kill('SIGKILL');
      await ds[0].exited;
      ds.push(start(lab, r, dir, stateDir, 13));
      assert.ok(await answers(ds[1], 10_000), `the next daemon did not start:\n${ds[1].out()}`);
      assert.match(ds[1].out(), 'cleaned up what a previous run left behind');
      assert.is(Number(readFileSync(join(stateDir, 'tandem.lock'), 'utf8')), ds[1].proc.pid);
    } finally {
      await stop(ds);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('two daemons with two state directories both run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-lock-'));
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const ds = [
      start(lab, lab.routers[0], dir, join(dir, 'a'), 14),
      start(lab, lab.routers[1], dir, join(dir, 'b'), 15),
    ];
    try {
      assert.ok(await answers(ds[0], 10_000), ds[0].out());
      assert.ok(await answers(ds[1], 10_000), ds[1].out());
    } finally {
      await stop(ds);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test.run();
