// The daemon's loud failures and planned handovers, and the three mac_modes, in a lab of two
// routers and a client at 100 ms adverts: carrier loss (fault), SIGTERM make-before-break measured
// by the 1 ms prober, mac_mode virtual (macvlan) and move (the NIC's MAC). Needs root and
// dist/tandem.js (./build.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, startProber, sleep } from '../kit/lab.ts';
import type { Lab } from '../kit/lab.ts';
import { startTandem, instanceYaml, waitForStatus, stateOf, stopAll } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const VIP = '192.0.2.1';
const VRID = 51;
const VMAC = '00:00:5e:00:01:33'; // RFC 5798 7.3: 00-00-5E-00-01-{VRID}, 51 = 0x33
const ADVERT_MS = 100;
/** RFC 5798 6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256. */
const skewMs = (prio: number) => ((256 - prio) * ADVERT_MS) / 256;

const yaml = (priority: number, extra: Partial<Parameters<typeof instanceYaml>[0]> = {}) =>
  instanceYaml({ ifname: 'eth0', vrid: VRID, priority, addresses: [`${VIP}/24`], ...extra });

interface IpLink {
  ifname: string;
  ifindex: number;
  address: string;
  flags: string[];
  operstate: string;
}

async function links(lab: Lab, ns: string): Promise<IpLink[]> {
  return JSON.parse((await lab.exec(ns, ['ip', '-j', 'link', 'show'])).stdout);
}
async function link(lab: Lab, ns: string, dev: string): Promise<IpLink | undefined> {
  return (await links(lab, ns)).find((l) => l.ifname === dev);
}
/** Every address in the namespace, as "dev addr/len". */
async function addrs(lab: Lab, ns: string): Promise<string[]> {
  const j = JSON.parse((await lab.exec(ns, ['ip', '-j', 'addr', 'show'])).stdout);
  return j.flatMap((l: { ifname: string; addr_info: { local: string; prefixlen: number }[] }) =>
    l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`),
  );
}
const holdsVip = async (lab: Lab, ns: string) =>
  (await addrs(lab, ns)).some((a) => a.split(' ')[1].startsWith(`${VIP}/`));

async function neighMac(lab: Lab): Promise<string | undefined> {
  const j = JSON.parse((await lab.exec(lab.clients[0].ns, ['ip', '-j', 'neigh', 'show', VIP])).stdout);
  return j[0]?.lladdr;
}

async function reachable(lab: Lab): Promise<boolean> {
  const p = startProber(lab, lab.clients[0].ns, VIP, { intervalMs: 5 });
  await p.ready;
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && p.received() < 20) await sleep(20);
  return (await p.stop()).received >= 20;
}

async function pair(lab: Lab, extra: Partial<Parameters<typeof instanceYaml>[0]> = {}): Promise<TandemHandle[]> {
  const hs = [await startTandem(lab, lab.routers[0], yaml(200, extra))];
  hs.push(await startTandem(lab, lab.routers[1], yaml(100, extra)));
  await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
  await waitForStatus(hs[1], (s) => stateOf(s) === 'backup' && s.instances[0].masterIp === lab.routers[0].ipv4, 5000);
  return hs;
}

test('carrier loss on the master: fault, VIP released, backup takes over; carrier back: clean return to master', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    let hs: TandemHandle[] = [];
    try {
      hs = await pair(lab);
      assert.ok(await holdsVip(lab, lab.routers[0].ns));
      await lab.carrierDown(lab.routers[0]);
      await waitForStatus(hs[0], (s) => stateOf(s) === 'fault', 2000);
      // Linux keeps IPv4 addresses on a down link: tandem must have removed the VIP itself.
      assert.not.ok(await holdsVip(lab, lab.routers[0].ns), 'VIP still on the faulted router');
      await waitForStatus(hs[1], (s) => stateOf(s) === 'master', 3 * ADVERT_MS + skewMs(100) + 1500);
      assert.ok(await reachable(lab));
      // Stays in fault while the carrier is down (FRR 8.4 stays master here; tandem must not).
      await sleep(500);
      const f = await hs[0].status();
      assert.is(stateOf(f), 'fault');
      assert.not.ok(await holdsVip(lab, lab.routers[0].ns));
      await lab.carrierUp(lab.routers[0]);
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 3000);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', 3000);
      assert.ok(await holdsVip(lab, lab.routers[0].ns));
      assert.not.ok(await holdsVip(lab, lab.routers[1].ns));
      // Exactly one copy of the VIP on r1 (no duplicate from fault/return).
      assert.is((await addrs(lab, lab.routers[0].ns)).filter((a) => a.includes(`${VIP}/`)).length, 1);
      assert.ok(await reachable(lab));
      const log = hs[0]
        .logs()
        .filter((l) => l.msg === 'transition')
        .map((l) => `${l.from}>${l.to}`);
      assert.ok(log.includes('master>fault'), log.join(' '));
    } finally {
      await stopAll(hs);
    }
  });
});

test('SIGTERM handover: backup master within Skew_Time + margin, the old master exits 0 without the VIP; prober outage small', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    let hs: TandemHandle[] = [];
    try {
      hs = await pair(lab);
      const p = startProber(lab, lab.clients[0].ns, VIP);
      await p.ready;
      const warm = Date.now() + 5000;
      while (Date.now() < warm && p.received() < 300) await sleep(20);
      const t0 = Date.now();
      const exited = hs[0].stop('SIGTERM');
      // RFC 5798 6.4.2: on a priority-0 advert the backup's Master_Down_Timer becomes Skew_Time.
      await waitForStatus(hs[1], (s) => stateOf(s) === 'master', 3000);
      const took = Date.now() - t0;
      const code = await exited;
      await sleep(300);
      const rep = await p.stop();
      const lostInOutages = rep.outages.reduce((n, o) => n + o.lostPackets, 0);
      console.log(
        `  SIGTERM handover: backup master after ${took} ms (Skew_Time ${skewMs(100).toFixed(0)} ms); ` +
          `prober sent ${rep.sent} (${((rep.sent / rep.durationMs) * 1000).toFixed(0)}/s), lost ${rep.lost} (${lostInOutages} in outages), ` +
          `longest outage ${rep.longestOutageMs.toFixed(1)} ms`,
      );
      assert.is(code, 0);
      assert.ok(took <= skewMs(100) + 700, `handover took ${took} ms`);
      assert.not.ok(await holdsVip(lab, lab.routers[0].ns));
      assert.ok(await holdsVip(lab, lab.routers[1].ns));
      assert.ok(rep.received > 300, `only ${rep.received} replies`);
      // Make-before-break: the old master answers until the new one speaks.
      assert.ok(rep.longestOutageMs <= 20, `outage ${rep.longestOutageMs} ms`);
    } finally {
      await stopAll(hs);
    }
  });
});

test('mac_mode virtual: macvlan vr4.<ifindex>.<vrid> with the virtual MAC, up on the master only; the client keeps one MAC across failover', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    let hs: TandemHandle[] = [];
    try {
      hs = await pair(lab, { macMode: 'virtual' });
      const names: string[] = [];
      for (const r of lab.routers) names.push(`vr4.${(await link(lab, r.ns, 'eth0'))!.ifindex}.${VRID}`);
      const m = await link(lab, lab.routers[0].ns, names[0]);
      const b = await link(lab, lab.routers[1].ns, names[1]);
      assert.ok(m && b, `macvlans ${names.join(', ')} missing`);
      assert.is(m!.address, VMAC);
      assert.is(b!.address, VMAC);
      assert.ok(m!.flags.includes('UP'), 'master macvlan down');
      assert.not.ok(b!.flags.includes('UP'), 'backup macvlan up');
      assert.ok((await addrs(lab, lab.routers[0].ns)).includes(`${names[0]} ${VIP}/24`));
      assert.ok(await reachable(lab));
      assert.is(await neighMac(lab), VMAC);
      await lab.linkDown(lab.routers[0]);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'master', 3000);
      assert.ok((await link(lab, lab.routers[1].ns, names[1]))!.flags.includes('UP'));
      assert.ok(await reachable(lab));
      assert.is(await neighMac(lab), VMAC, 'the client saw another MAC');
      // At exit the macvlan is deleted.
      await hs[1].stop();
      assert.is(await link(lab, lab.routers[1].ns, names[1]), undefined);
    } finally {
      await stopAll(hs);
    }
  });
});

test("mac_mode move: the master's eth0 takes the virtual MAC, restored on release (maintenance) and at exit", async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    let hs: TandemHandle[] = [];
    try {
      const orig = await Promise.all(lab.routers.map(async (r) => (await link(lab, r.ns, 'eth0'))!.address));
      hs = await pair(lab, { macMode: 'move' });
      assert.is((await link(lab, lab.routers[0].ns, 'eth0'))!.address, VMAC);
      assert.is((await link(lab, lab.routers[1].ns, 'eth0'))!.address, orig[1]);
      assert.ok(await reachable(lab));
      assert.is(await neighMac(lab), VMAC);
      // Maintenance: r1 hands over and releases: MAC back to the NIC's own, r2 carries the virtual one.
      const r = await hs[0].cmd({ cmd: 'maintenance', on: true });
      assert.ok(r.ok, JSON.stringify(r));
      await waitForStatus(hs[1], (s) => stateOf(s) === 'master', 3000);
      await waitForStatus(hs[0], (s) => stateOf(s) === 'backup', 3000);
      assert.is((await link(lab, lab.routers[0].ns, 'eth0'))!.address, orig[0]);
      assert.is((await link(lab, lab.routers[1].ns, 'eth0'))!.address, VMAC);
      assert.ok(await reachable(lab));
      assert.is(await neighMac(lab), VMAC);
      // r2 exits (r1 in maintenance stays backup at priority 0... so take it out first).
      await hs[0].cmd({ cmd: 'maintenance', on: false });
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 3000);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', 3000);
      assert.is((await link(lab, lab.routers[1].ns, 'eth0'))!.address, orig[1]);
      assert.is(await hs[0].stop(), 0);
      assert.is((await link(lab, lab.routers[0].ns, 'eth0'))!.address, orig[0], 'MAC not restored at exit');
      assert.not.ok(await holdsVip(lab, lab.routers[0].ns));
    } finally {
      await stopAll(hs);
    }
  });
});

test.run();
