// tandem as an unprivileged user holding only the capabilities docs/operations.md lists, every
// other one dropped with setpriv(1) (also from the bounding set): election, silent failure of the
// master and its return, each mac_mode, the control socket (status, reload), a clean restore at
// SIGTERM; SCHED_RR with CAP_SYS_NICE (and a logged, non-fatal refusal without it); MQTT telemetry
// and the systemd notifications (READY, RELOADING/READY, STOPPING) from the unprivileged process.
// Needs root (to build the lab and drop to another user) and dist/tandem.js (./build.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { withLab, startMosquitto, waitFor } from '../kit/lab.ts';
import type { Lab, LabHost } from '../kit/lab.ts';
import { startTandem, instanceYaml, stopAll, waitForStatus, stateOf } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const NOBODY = { uid: 65534, gid: 65534 };
const NET = ['net_admin', 'net_raw'];
// linux/capability.h: CAP_NET_ADMIN 12, CAP_NET_RAW 13, CAP_SYS_NICE 23.
const CAP_NET = (1n << 12n) | (1n << 13n);
const CAP_SYS_NICE = 1n << 23n;
const VIP = '192.0.2.254';
// RFC 5798 6.1: Master_Down_Interval at 100 ms adverts is under 400 ms; wide bounds for a loaded
// machine (the timing itself is checked by daemon-election.test.ts).
const TAKEOVER_MS = 5_000;

function procField(pid: number, name: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return (line ?? '').slice(name.length + 1).trim();
}

/** Threads of `pid` whose scheduling policy is SCHED_RR (2): field 41 of /proc/PID/task/TID/stat. */
function rrThreads(pid: number): number {
  let n = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    if (fields[41 - 3] === '2') n++;
  }
  return n;
}

function assertUnprivileged(t: TandemHandle, caps: bigint): void {
  const pid = t.proc.pid!;
  assert.is(procField(pid, 'Uid').split(/\s+/)[0], String(NOBODY.uid), 'runs as nobody');
  assert.is(BigInt(`0x${procField(pid, 'CapEff')}`), caps, 'effective capabilities');
  assert.is(BigInt(`0x${procField(pid, 'CapBnd')}`), caps, 'bounding set');
}

async function vipHolder(lab: Lab, h: LabHost): Promise<string | undefined> {
  const links = JSON.parse((await lab.exec(h.ns, ['ip', '-j', 'addr', 'show'])).stdout) as {
    ifname: string;
    addr_info: { local: string }[];
  }[];
  return links.find((l) => l.addr_info.some((a) => a.local === VIP))?.ifname;
}

const linkMac = async (lab: Lab, h: LabHost) =>
  JSON.parse((await lab.exec(h.ns, ['ip', '-j', 'link', 'show', 'dev', h.ifname])).stdout)[0].address as string;

const problems = (t: TandemHandle) => t.logs().filter((l) => l.level === 'warn' || l.level === 'error');

for (const macMode of ['none', 'virtual', 'move'] as const) {
  test(`mac_mode ${macMode}: two routers with only CAP_NET_ADMIN and CAP_NET_RAW elect, fail over, reload and restore`, async () => {
    await withLab({ routers: 2, clients: 0 }, async (lab) => {
      const [r1, r2] = lab.routers;
      const macs = [await linkMac(lab, r1), await linkMac(lab, r2)];
      const ts: TandemHandle[] = [];
      try {
        const one = (h: LabHost, priority: number) =>
          startTandem(
            lab,
            h,
            // The minimum: no realtime scheduling, so CAP_SYS_NICE is not needed (see the next test).
            `scheduling: { realtime_priority: 0, nice: 0 }\ninstances:\n${instanceYaml({ ifname: h.ifname, vrid: 33, priority, macMode, addresses: [`${VIP}/24`] })}`,
            { user: { ...NOBODY, caps: NET } },
          );
        ts.push(await one(r1, 200));
        ts.push(await one(r2, 100));
        for (const t of ts) assertUnprivileged(t, CAP_NET);
        await waitForStatus(ts[0], (s) => stateOf(s) === 'master', TAKEOVER_MS);
        await waitForStatus(ts[1], (s) => stateOf(s) === 'backup', TAKEOVER_MS);
        const where = await vipHolder(lab, r1);
        assert.ok(where, 'the master holds the VIP');
        if (macMode === 'virtual') assert.is.not(where, r1.ifname, 'on the macvlan');
        if (macMode === 'move')
          assert.is(await linkMac(lab, r1), '00:00:5e:00:01:21', 'the NIC carries the virtual MAC');

        await lab.linkDown(r1);
        await waitForStatus(ts[1], (s) => stateOf(s) === 'master', TAKEOVER_MS);
        assert.ok(await vipHolder(lab, r2), 'the backup took the VIP');
        await lab.linkUp(r1);
        await waitForStatus(ts[1], (s) => stateOf(s) === 'backup', TAKEOVER_MS);
        await waitForStatus(ts[0], (s) => stateOf(s) === 'master', TAKEOVER_MS);

        const reload = await ts[0].cmd({ cmd: 'reload' });
        assert.ok(reload.ok, `reload over the control socket: ${JSON.stringify(reload)}`);
        assert.equal((reload.result as { kept: string[] }).kept, ['lan']);

        assert.is(await ts[0].stop('SIGTERM'), 0, 'clean exit');
        await waitForStatus(ts[1], (s) => stateOf(s) === 'master', TAKEOVER_MS);
        assert.is(await vipHolder(lab, r1), undefined, 'r1 removed the VIP');
        assert.is(await linkMac(lab, r1), macs[0], "r1's MAC is its own again");
        const links = JSON.parse((await lab.exec(r1.ns, ['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[];
        assert.equal(links.map((l) => l.ifname).sort(), ['eth0', 'lo'], 'no macvlan left behind');
        for (const t of ts) assert.equal(problems(t), [], 'nothing was refused for want of a privilege');
      } finally {
        await stopAll(ts);
      }
    });
  });
}

test('realtime scheduling: SCHED_RR with CAP_SYS_NICE; without it a warning and the protocol still runs', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const [r1, r2] = lab.routers;
    const ts: TandemHandle[] = [];
    try {
      const body = (h: LabHost, priority: number) =>
        instanceYaml({ ifname: h.ifname, vrid: 34, priority, addresses: [`${VIP}/24`] }); // default scheduling: SCHED_RR 10, nice -10
      ts.push(await startTandem(lab, r1, body(r1, 200), { user: { ...NOBODY, caps: [...NET, 'sys_nice'] } }));
      ts.push(await startTandem(lab, r2, body(r2, 100), { user: { ...NOBODY, caps: NET } }));
      assertUnprivileged(ts[0], CAP_NET | CAP_SYS_NICE);
      await waitForStatus(ts[0], (s) => stateOf(s) === 'master', TAKEOVER_MS);
      await waitForStatus(ts[1], (s) => stateOf(s) === 'backup', TAKEOVER_MS);
      assert.ok(rrThreads(ts[0].proc.pid!) >= 1, 'the engine thread runs SCHED_RR');
      assert.equal(problems(ts[0]), []);
      assert.is(rrThreads(ts[1].proc.pid!), 0);
      const warned = problems(ts[1]).map((l) => String(l.msg));
      assert.equal(warned, ['could not raise the CPU priority']);
    } finally {
      await stopAll(ts);
    }
  });
});

const RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
print('listening', flush=True)
while True:
    print(s.recv(4096).decode().replace('\\n', '|'), flush=True)
`;

test('MQTT telemetry and systemd notifications (READY, RELOADING/READY, STOPPING) from the unprivileged daemon', async () => {
  const broker = await startMosquitto();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-notify-'));
  chmodSync(dir, 0o755);
  // The broker's private dir and socket are root's: open them to the daemon's user.
  chmodSync(broker.dir, 0o755);
  chmodSync(broker.socketPath, 0o777);
  const notifySocket = join(dir, 'notify');
  const receiver = spawn('python3', ['-c', RECEIVER, notifySocket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let notices = '';
  receiver.stdout.setEncoding('utf8').on('data', (d: string) => {
    notices += d;
  });
  const prefix = `tandem-lp-${process.pid}`;
  const sub = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 200 });
  const states: string[] = [];
  sub.on('message', (topic, payload) => {
    if (topic === `${prefix}/r1/state`) states.push(JSON.parse(payload.toString()).instances?.[0]?.state);
  });
  await new Promise<void>((res, rej) => {
    sub.once('connect', () => sub.subscribe(`${prefix}/#`, { qos: 1 }, (e) => (e ? rej(e) : res())));
    sub.once('error', rej);
  });
  try {
    assert.ok(await waitFor(() => notices.includes('listening'), 5000, 20), 'notify receiver up');
    await withLab({ routers: 1, clients: 0 }, async (lab) => {
      const [r1] = lab.routers;
      const t = await startTandem(
        lab,
        r1,
        `telemetry:\n  mqtt:\n    url: mqtt+unix://${broker.socketPath}\n    topic_prefix: ${prefix}\n` +
          `scheduling: { realtime_priority: 0, nice: 0 }\ninstances:\n${instanceYaml({ ifname: r1.ifname, vrid: 35, priority: 150, addresses: [`${VIP}/24`] })}`,
        {
          node: 'r1',
          user: { ...NOBODY, caps: NET },
          env: { ...process.env, NOTIFY_SOCKET: notifySocket } as Record<string, string>,
        },
      );
      try {
        assertUnprivileged(t, CAP_NET);
        await waitForStatus(t, (s) => stateOf(s) === 'master', TAKEOVER_MS);
        assert.ok(await waitFor(() => states.includes('master'), 10_000, 25), `MQTT state: ${states}`);
        const lines = () => notices.split('\n').filter((l) => l && l !== 'listening');
        assert.ok(await waitFor(() => lines().length >= 1, 5000, 20));
        assert.match(lines()[0], /^READY=1\|STATUS=1 (backup|master)$/, 'READY after the first election state');
        t.proc.kill('SIGHUP');
        assert.ok(await waitFor(() => lines().length >= 3, 5000, 20), `notices: ${lines()}`);
        assert.match(lines()[1], /^RELOADING=1\|MONOTONIC_USEC=\d+$/);
        assert.match(lines()[2], /^READY=1\|STATUS=1 master$/);
        assert.is(await t.stop('SIGTERM'), 0);
        assert.is(lines()[3], 'STOPPING=1');
        assert.equal(problems(t), []);
      } finally {
        await stopAll([t]);
      }
    });
  } finally {
    sub.end(true);
    receiver.kill();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
