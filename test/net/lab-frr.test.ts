// FRR 8.4 vrrpd (with zebra) as a lab peer: alone it becomes MASTER and answers for the VIP
// through its macvlan; against a higher-priority keepalived it stays BACKUP.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, startFrr, startKeepalived, startProber, waitFor, frrStateFromJson } from '../kit/lab.ts';

const VIP = '192.0.2.1';

test('frrStateFromJson reads one VRID and family out of show vrrp json (fixed text)', () => {
  const json = JSON.stringify([
    { vrid: 3, v4: { status: 'Backup' }, v6: { status: 'Initialize' } },
    { vrid: 9, v4: { status: 'Master' }, v6: { status: 'Initialize' } },
  ]);
  assert.is(frrStateFromJson(json, 9, 'ipv4'), 'MASTER');
  assert.is(frrStateFromJson(json, 3, 'ipv4'), 'BACKUP');
  assert.is(frrStateFromJson(json, 3, 'ipv6'), 'INIT');
  assert.is(frrStateFromJson(json, 4, 'ipv4'), 'unknown');
  assert.is(frrStateFromJson('% Unknown command', 3, 'ipv4'), 'unknown');
});

test('FRR vrrpd alone becomes MASTER (v3, IPv4) and the client reaches the VIP at the virtual MAC', async () => {
  await withLab({ routers: 1, clients: 1 }, async (lab) => {
    const frr = await startFrr(lab, lab.routers[0].ns, {
      ifname: 'eth0',
      vrid: 9,
      priority: 100,
      version: 3,
      advertIntervalMs: 100,
      addresses: [VIP],
    });
    try {
      assert.ok(await waitFor(async () => (await frr.state()) === 'MASTER', 10_000, 100), frr.log().slice(-2000));
      const p = startProber(lab, lab.clients[0].ns, VIP);
      await p.ready;
      assert.ok(await waitFor(() => p.received() >= 50, 5000), 'no replies from the VIP');
      await p.stop();
      // RFC 5798 7.3: the master answers ARP for the VIP with 00-00-5E-00-01-{VRID}.
      const neigh = JSON.parse((await lab.exec(lab.clients[0].ns, ['ip', '-j', 'neigh', 'show', VIP])).stdout);
      assert.is(neigh[0]?.lladdr, '00:00:5e:00:01:09');
    } finally {
      await frr.stop();
    }
    // stop() removed the macvlan it made.
    const links = (await lab.exec(lab.routers[0].ns, ['ip', '-br', 'link'])).stdout;
    assert.not.match(links, /vrrp4-9/);
  });
});

test('FRR vrrpd (priority 100) stays BACKUP against a keepalived MASTER (priority 200)', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const common = { ifname: 'eth0', vrid: 9, version: 3, advertIntervalMs: 100, addresses: [VIP] } as const;
    const ka = await startKeepalived(lab, lab.routers[0].ns, { ...common, priority: 200 });
    const frr = await startFrr(lab, lab.routers[1].ns, { ...common, priority: 100 });
    assert.ok(await waitFor(async () => (await ka.state()) === 'MASTER', 10_000, 100), 'keepalived not MASTER');
    // FRR starts in Initialize, goes Backup, and must stay there while adverts arrive.
    assert.ok(
      await waitFor(async () => (await frr.state()) === 'BACKUP', 10_000, 100),
      `FRR ${await frr.state()}\n${frr.log().slice(-2000)}`,
    );
    await new Promise((r) => setTimeout(r, 1000)); // > Master_Down_Interval (~0.36 s)
    assert.is(await frr.state(), 'BACKUP');
    assert.is(await ka.state(), 'MASTER');
    const stats = JSON.parse(await frr.vtysh('show vrrp json'))[0].v4.stats;
    assert.ok(stats.adverRx > 5, `FRR received ${stats.adverRx} adverts from keepalived`);
    // Then keepalived dies: FRR takes over (RFC 5798 6.4.2 Master_Down_Timer).
    await ka.kill();
    assert.ok(await waitFor(async () => (await frr.state()) === 'MASTER', 5000, 20), 'FRR did not take over');
    await frr.stop();
  });
});

test.run();
