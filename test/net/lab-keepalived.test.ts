// Two keepalived 2.2.7 routers in the lab: one MASTER, the client reaches the VIP, and a silent
// failure of the master moves the VIP with an outage the 1 ms prober can measure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, startKeepalived, startProber, waitFor, sleep } from '../kit/lab.ts';
import type { Lab, PeerHandle } from '../kit/lab.ts';

const VIP = '192.0.2.1';
const ADVERT_MS = 100;

async function pair(lab: Lab, version: 2 | 3, advertIntervalMs: number): Promise<[PeerHandle, PeerHandle]> {
  const opts = { ifname: 'eth0', vrid: 7, version, advertIntervalMs, addresses: [VIP] } as const;
  const high = await startKeepalived(lab, lab.routers[0].ns, { ...opts, priority: 200 });
  const low = await startKeepalived(lab, lab.routers[1].ns, { ...opts, priority: 100 });
  return [high, low];
}

test('two keepalived routers elect exactly one MASTER (the higher priority) and the client reaches the VIP', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const [high, low] = await pair(lab, 3, ADVERT_MS);
    const settled = await waitFor(
      async () => (await high.state()) === 'MASTER' && (await low.state()) === 'BACKUP',
      10_000,
    );
    assert.ok(settled, `states ${await high.state()} / ${await low.state()}\n${low.log().slice(-1500)}`);
    // RFC 5798 6.4.3: the VIP sits on the master only.
    const has = async (ns: string) =>
      (await lab.exec(ns, ['ip', '-br', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(`${VIP}/`);
    assert.ok(await has(lab.routers[0].ns));
    assert.not.ok(await has(lab.routers[1].ns));
    const p = startProber(lab, lab.clients[0].ns, VIP);
    await p.ready;
    assert.ok(await waitFor(() => p.received() >= 100, 5000), 'no replies from the VIP');
    const rep = await p.stop();
    assert.ok(
      rep.received >= 100 && rep.lost <= rep.sent / 10,
      JSON.stringify({ ...rep, outages: rep.outages.length }),
    );
    // The reply came from the master's MAC: its neighbour entry for the VIP is router 1's NIC.
    const mac1 = JSON.parse((await lab.exec(lab.routers[0].ns, ['ip', '-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0]
      .address;
    const neigh = JSON.parse((await lab.exec(lab.clients[0].ns, ['ip', '-j', 'neigh', 'show', VIP])).stdout);
    assert.is(neigh[0]?.lladdr, mac1);
  });
});

test('linkDown of the master makes the backup MASTER; the outage is between 1 and 10 advert intervals', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const [high, low] = await pair(lab, 3, ADVERT_MS);
    assert.ok(await waitFor(async () => (await high.state()) === 'MASTER' && (await low.state()) === 'BACKUP', 10_000));
    const p = startProber(lab, lab.clients[0].ns, VIP);
    await p.ready;
    assert.ok(await waitFor(() => p.received() >= 200, 5000), 'no steady replies before the failure');
    const t0 = Date.now();
    await lab.linkDown(lab.routers[0]);
    assert.ok(
      await waitFor(async () => (await low.state()) === 'MASTER', 10 * ADVERT_MS + 2000, 10),
      'backup never took over',
    );
    const tookOverMs = Date.now() - t0;
    await sleep(500);
    const stoppedAt = Date.now();
    const rep = await p.stop();
    console.log(
      `  keepalived v3 @${ADVERT_MS} ms: backup MASTER after ~${tookOverMs} ms; prober sent ${rep.sent}, lost ${rep.lost}, ` +
        `outages ${rep.outages.map((o) => `${o.lengthMs.toFixed(1)} ms/${o.lostPackets} pkts`).join(', ')}`,
    );
    assert.ok(rep.outages.length >= 1, 'the prober saw no outage');
    // RFC 5798 6.1: Master_Down_Interval = 3 x Master_Adver_Interval + Skew_time (~3.6 intervals here).
    assert.ok(
      rep.longestOutageMs >= ADVERT_MS && rep.longestOutageMs <= 10 * ADVERT_MS,
      `outage ${rep.longestOutageMs} ms`,
    );
    // The VIP answered again well before the prober stopped (the outage is not the tail).
    const longest = rep.outages.find((o) => o.lengthMs === rep.longestOutageMs)!;
    assert.ok(longest.startMs + longest.lengthMs < stoppedAt - 300, 'no replies after the takeover');
  });
});

test('VRRPv2 keepalived pair elects a MASTER too (1 s adverts)', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const [high, low] = await pair(lab, 2, 1000);
    const settled = await waitFor(
      async () => (await high.state()) === 'MASTER' && (await low.state()) === 'BACKUP',
      10_000,
      100,
    );
    assert.ok(settled, `states ${await high.state()} / ${await low.state()}`);
  });
});

test('stop() of the master (priority 0 advert, RFC 5798 6.4.3) hands over to the backup quickly', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const [high, low] = await pair(lab, 3, 1000);
    assert.ok(
      await waitFor(async () => (await high.state()) === 'MASTER' && (await low.state()) === 'BACKUP', 10_000, 50),
    );
    const t0 = Date.now();
    await high.stop();
    assert.ok(await waitFor(async () => (await low.state()) === 'MASTER', 3000, 10), 'no takeover');
    const ms = Date.now() - t0;
    console.log(`  takeover after a graceful stop at 1 s adverts: ${ms} ms`);
    // With priority 0 the backup waits Skew_Time (~0.6 s), far less than Master_Down_Interval (3.6 s).
    assert.ok(ms < 3000, `${ms} ms`);
    assert.is(await high.state(), 'unknown');
  });
});

test.run();
