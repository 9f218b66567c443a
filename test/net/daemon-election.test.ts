// The daemon in a lab of 2-3 routers and a client, 100 ms adverts: election, failover on a silent
// link failure, preemption, preempt: false, preempt_delay, tie-break by address, three routers.
// Needs root and dist/tandem.js (./build.sh).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, startProber, sleep } from '../kit/lab.ts';
import type { Lab } from '../kit/lab.ts';
import { startTandem, instanceYaml, waitForStatus, stateOf, stopAll } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const VIP = '192.0.2.1';
const ADVERT_MS = 100;
/** RFC 5798 6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256. */
const skewMs = (prio: number) => ((256 - prio) * ADVERT_MS) / 256;
/** Generous: a noisy 2-core machine, plus the 25 ms status poll. */
const MARGIN_MS = 700;

const yaml = (priority: number, extra: Partial<Parameters<typeof instanceYaml>[0]> = {}) =>
  instanceYaml({ ifname: 'eth0', vrid: 51, priority, addresses: [`${VIP}/24`], ...extra });

async function hasVip(lab: Lab, ns: string, vip = VIP): Promise<boolean> {
  const j = JSON.parse((await lab.exec(ns, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])).stdout);
  return j[0].addr_info.some((a: { local: string }) => a.local === vip);
}

async function nicMac(lab: Lab, ns: string): Promise<string> {
  return JSON.parse((await lab.exec(ns, ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0].address;
}

/** The client reaches `vip`: at least 20 ICMP replies within 3 s. */
async function reachable(lab: Lab, vip = VIP): Promise<boolean> {
  const p = startProber(lab, lab.clients[0].ns, vip, { intervalMs: 5 });
  await p.ready;
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && p.received() < 20) await sleep(20);
  return (await p.stop()).received >= 20;
}

async function neighMac(lab: Lab, vip = VIP): Promise<string | undefined> {
  const j = JSON.parse((await lab.exec(lab.clients[0].ns, ['ip', '-j', 'neigh', 'show', vip])).stdout);
  return j[0]?.lladdr;
}

const masterOf = async (hs: TandemHandle[]) => {
  const st = await Promise.all(hs.map((h) => h.status()));
  return st.map((s) => stateOf(s));
};

test('election: the higher priority is master and alone holds the VIP; the client reaches it at the NIC MAC (mac_mode none)', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      hs.push(await startTandem(lab, lab.routers[0], yaml(200)));
      hs.push(await startTandem(lab, lab.routers[1], yaml(100)));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      const b = await waitForStatus(
        hs[1],
        (s) => stateOf(s) === 'backup' && s.instances[0].masterIp === '192.0.2.11',
        5000,
      );
      assert.is(b.instances[0].counters.advertsReceived > 0, true);
      assert.ok(await hasVip(lab, lab.routers[0].ns));
      assert.not.ok(await hasVip(lab, lab.routers[1].ns));
      assert.ok(await reachable(lab), 'client cannot reach the VIP');
      // mac_mode none: the master answers ARP for the VIP with its own NIC MAC.
      assert.is(await neighMac(lab), await nicMac(lab, lab.routers[0].ns));
      const m = await hs[0].status();
      assert.ok(m.instances[0].counters.advertsSent >= 5, `advertsSent ${m.instances[0].counters.advertsSent}`);
      assert.is(m.instances[0].counters.becameMaster, 1);
    } finally {
      await stopAll(hs);
    }
  });
});

test('failover: silent failure of the master (bridge port down) -> backup master within 3 x interval + Skew_Time + margin; back on link up', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      hs.push(await startTandem(lab, lab.routers[0], yaml(200)));
      hs.push(await startTandem(lab, lab.routers[1], yaml(100)));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', 5000);
      const t0 = Date.now();
      await lab.linkDown(lab.routers[0]);
      const bound = 3 * ADVERT_MS + skewMs(100) + MARGIN_MS;
      await waitForStatus(hs[1], (s) => stateOf(s) === 'master', bound + 2000);
      const took = Date.now() - t0;
      console.log(
        `  failover after a silent failure: backup master ${took} ms after linkDown (bound ${bound.toFixed(0)} ms)`,
      );
      assert.ok(took <= bound, `took ${took} ms > ${bound} ms`);
      assert.ok(await hasVip(lab, lab.routers[1].ns));
      assert.ok(await reachable(lab), 'VIP unreachable after failover');
      // The partition heals: r2 hears the higher priority and yields (RFC 5798 6.4.3), one holder left.
      await lab.linkUp(lab.routers[0]);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'backup', 3000);
      assert.equal(await masterOf(hs), ['master', 'backup']);
      assert.ok(await hasVip(lab, lab.routers[0].ns));
      assert.not.ok(await hasVip(lab, lab.routers[1].ns));
      assert.ok(await reachable(lab), 'VIP unreachable after the link came back');
    } finally {
      await stopAll(hs);
    }
  });
});

test('preemption: a restarted higher-priority router takes mastership back (preempt: true)', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const hs: (TandemHandle | undefined)[] = [];
    try {
      hs[0] = await startTandem(lab, lab.routers[0], yaml(200));
      hs[1] = await startTandem(lab, lab.routers[1], yaml(100));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      assert.is(await hs[0].stop(), 0);
      await waitForStatus(hs[1]!, (s) => stateOf(s) === 'master', 3000);
      hs[0] = await startTandem(lab, lab.routers[0], yaml(200));
      // It starts as backup, hears priority 100 < 200 and preempts (RFC 5798 6.4.2).
      const t0 = Date.now();
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      await waitForStatus(hs[1]!, (s) => stateOf(s) === 'backup', 3000);
      console.log(`  preempted back ${Date.now() - t0} ms after restart`);
      assert.ok(await hasVip(lab, lab.routers[0].ns));
      assert.not.ok(await hasVip(lab, lab.routers[1].ns));
      assert.ok(await reachable(lab));
    } finally {
      await stopAll(hs);
    }
  });
});

test('preempt: false: the returning higher-priority router stays backup and the new master keeps the VIP', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const hs: (TandemHandle | undefined)[] = [];
    try {
      hs[0] = await startTandem(lab, lab.routers[0], yaml(200, { preempt: false }));
      hs[1] = await startTandem(lab, lab.routers[1], yaml(100, { preempt: false }));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      await hs[0].stop();
      await waitForStatus(hs[1]!, (s) => stateOf(s) === 'master', 3000);
      hs[0] = await startTandem(lab, lab.routers[0], yaml(200, { preempt: false }));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'backup' && s.instances[0].masterIp === '192.0.2.12', 3000);
      // Many Master_Down_Intervals later, nothing moved.
      await sleep(1500);
      const [a, b] = [await hs[0].status(), await hs[1]!.status()];
      assert.is(stateOf(a), 'backup');
      assert.is(stateOf(b), 'master');
      assert.is(a.instances[0].counters.becameMaster, 0);
      assert.ok(await hasVip(lab, lab.routers[1].ns));
      assert.not.ok(await hasVip(lab, lab.routers[0].ns));
    } finally {
      await stopAll(hs);
    }
  });
});

test('preempt_delay: the returning router waits about preempt_delay before taking over', async () => {
  const DELAY_MS = 1500;
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const hs: (TandemHandle | undefined)[] = [];
    const cfg = yaml(200, { extra: [`preempt_delay: ${DELAY_MS}ms`] });
    try {
      hs[0] = await startTandem(lab, lab.routers[0], cfg);
      hs[1] = await startTandem(lab, lab.routers[1], yaml(100));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      await hs[0].stop();
      await waitForStatus(hs[1]!, (s) => stateOf(s) === 'master', 3000);
      const t0 = Date.now();
      hs[0] = await startTandem(lab, lab.routers[0], cfg);
      await waitForStatus(hs[0], (s) => stateOf(s) === 'backup', 3000);
      // Well inside the delay it is still backup (and r2 still master).
      await sleep(DELAY_MS / 2);
      assert.is(stateOf(await hs[0].status()), 'backup');
      assert.is(stateOf(await hs[1]!.status()), 'master');
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', DELAY_MS + 3000);
      const took = Date.now() - t0;
      console.log(`  preempt_delay ${DELAY_MS} ms: master ${took} ms after start`);
      assert.ok(took >= DELAY_MS - 50, `took over after only ${took} ms`);
      await waitForStatus(hs[1]!, (s) => stateOf(s) === 'backup', 2000);
    } finally {
      await stopAll(hs);
    }
  });
});

test('equal priorities: of two masters, the one with the lower primary address yields (RFC 5798 6.4.3)', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      // A backup never preempts an equal priority (6.4.2), so the tie-break only applies when both
      // are master: partition r2 so each elects itself, then heal.
      await lab.linkDown(lab.routers[1]);
      hs.push(await startTandem(lab, lab.routers[0], yaml(100)));
      hs.push(await startTandem(lab, lab.routers[1], yaml(100)));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'master', 5000);
      await lab.linkUp(lab.routers[1]);
      // 192.0.2.12 > 192.0.2.11: r1 yields, r2 stays.
      await waitForStatus(hs[0], (s) => stateOf(s) === 'backup' && s.instances[0].masterIp === '192.0.2.12', 3000);
      await sleep(500);
      assert.equal(await masterOf(hs), ['backup', 'master']);
      assert.is((await hs[1].status()).instances[0].counters.becameMaster, 1);
      assert.ok(await hasVip(lab, lab.routers[1].ns));
      assert.not.ok(await hasVip(lab, lab.routers[0].ns));
    } finally {
      await stopAll(hs);
    }
  });
});

test('three routers with distinct priorities end with the highest as master, whatever the start order', async () => {
  await withLab({ routers: 3, clients: 1 }, async (lab) => {
    const hs: TandemHandle[] = [];
    try {
      // Lowest first, highest last: each newcomer preempts.
      hs.push(await startTandem(lab, lab.routers[2], yaml(50)));
      await waitForStatus(hs[0], (s) => stateOf(s) === 'master', 5000);
      hs.push(await startTandem(lab, lab.routers[0], yaml(150)));
      hs.push(await startTandem(lab, lab.routers[1], yaml(250)));
      await waitForStatus(hs[2], (s) => stateOf(s) === 'master', 5000);
      await waitForStatus(hs[0], (s) => stateOf(s) === 'backup' && s.instances[0].masterIp === '192.0.2.12', 3000);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'backup' && s.instances[0].masterIp === '192.0.2.12', 3000);
      await sleep(500);
      assert.equal(await masterOf(hs), ['backup', 'backup', 'master']);
      const holders = [];
      for (const r of lab.routers) if (await hasVip(lab, r.ns)) holders.push(r.ns);
      assert.equal(holders, [lab.routers[1].ns]);
      // The master dies silently: the next highest (150, r1) wins, not the lowest.
      await lab.linkDown(lab.routers[1]);
      await waitForStatus(hs[1], (s) => stateOf(s) === 'master', 3000);
      await sleep(3 * ADVERT_MS + skewMs(50) + 300);
      assert.is(stateOf(await hs[0].status()), 'backup');
      assert.ok(await reachable(lab));
      assert.is(await neighMac(lab), await nicMac(lab, lab.routers[0].ns));
    } finally {
      await stopAll(hs);
    }
  });
});

test.run();
