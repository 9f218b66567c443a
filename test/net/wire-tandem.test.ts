// tandem's adverts as Wireshark (tshark 4.0) sees them: VRRPv2, VRRPv3 over IPv4 in both checksum
// forms, VRRPv3 over IPv6, none malformed, every checksum right, TTL / Hop Limit 255. tshark checks
// v3 IPv4 checksums one way at a time (preference vrrp.v3_checksum_as_in_v2), so the vrrp-only
// form is checked by a second capture with that preference on, and each capture must also flag
// the other form (or the preference did nothing). Then the `checksum: auto` negotiation: a tandem
// in auto follows a vrrp-only peer, and agrees with keepalived on the pseudo-header form.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, startKeepalived, startVrrpCapture, checkVrrpCapture, waitFor, sleep } from '../kit/lab.ts';
import type { Lab, VrrpCapture, VrrpRow, PeerHandle } from '../kit/lab.ts';
import { startTandem, instanceYaml, stopAll, stateOf } from '../kit/tandem.ts';
import type { TandemHandle, TandemStatus } from '../kit/tandem.ts';

/**
 * The lab's capture helper, with tshark checking v3 IPv4 checksums over the VRRP message only
 * (RFC 9568 reading) when `vrrpOnly`. tshark reads preferences from WIRESHARK_CONFIG_DIR; the
 * helper spawns with this process's environment, so it is set just around the (synchronous) spawn.
 */
function capture(lab: Lab, ns: string, ifname: string, vrrpOnly: boolean): { cap: VrrpCapture; cleanup: () => void } {
  if (!vrrpOnly) return { cap: startVrrpCapture(lab, ns, ifname), cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'tandem-wsprefs-'));
  writeFileSync(join(dir, 'preferences'), 'vrrp.v3_checksum_as_in_v2: TRUE\n');
  const saved = process.env.WIRESHARK_CONFIG_DIR;
  process.env.WIRESHARK_CONFIG_DIR = dir;
  try {
    return { cap: startVrrpCapture(lab, ns, ifname), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    if (saved === undefined) delete process.env.WIRESHARK_CONFIG_DIR;
    else process.env.WIRESHARK_CONFIG_DIR = saved;
  }
}

const rowsOf = (rows: (VrrpRow | null)[], vrid: number) =>
  rows.filter((r): r is VrrpRow => r !== null && r.vrid === vrid);
const inst = (s: TandemStatus, name: string) => s.instances.find((i) => i.name === name)!;
const summary = (rows: VrrpRow[]) => [
  ...new Set(
    rows.map(
      (r) => `v${r.version}/${r.family}/${r.adverIntervalMs}ms/prio ${r.priority}/${r.src}/${r.addresses.join(',')}`,
    ),
  ),
];

test('tandem adverts: v2, v3 IPv4 pseudo-header, v3 IPv4 vrrp-only, v3 IPv6 pass tshark (right checksum form each, TTL 255)', async () => {
  await withLab({ routers: 1, clients: 1 }, async (lab) => {
    const r = lab.routers[0];
    let t: TandemHandle | undefined;
    const cleanups: (() => void)[] = [];
    try {
      t = await startTandem(
        lab,
        r,
        [
          instanceYaml({
            name: 'v3p',
            ifname: 'eth0',
            vrid: 11,
            priority: 150,
            addresses: ['192.0.2.1/24'],
            extra: ['checksum: pseudo-header'],
          }),
          instanceYaml({
            name: 'v3o',
            ifname: 'eth0',
            vrid: 12,
            priority: 160,
            addresses: ['192.0.2.2/24'],
            extra: ['checksum: vrrp-only'],
          }),
          instanceYaml({
            name: 'v2',
            ifname: 'eth0',
            vrid: 13,
            priority: 170,
            version: 2,
            advert: '1s',
            addresses: ['192.0.2.3/24', '192.0.2.4/24'],
          }),
          instanceYaml({ name: 'v6', ifname: 'eth0', vrid: 14, priority: 180, addresses: ['2001:db8::1/64'] }),
        ].join('\n'),
      );
      const th = t;
      // Alone, each becomes master after Master_Down_Interval (v2: ~3.3 s).
      const all = await waitFor(
        async () => (await th.status()).instances.every((i) => i.state === 'master'),
        15_000,
        50,
      );
      assert.ok(all, JSON.stringify((await th.status()).instances.map((i) => [i.name, i.state])));
      const a = capture(lab, lab.clients[0].ns, 'eth0', false);
      const b = capture(lab, lab.clients[0].ns, 'eth0', true);
      cleanups.push(a.cleanup, b.cleanup);
      await Promise.all([a.cap.ready, b.cap.ready]);
      await sleep(3000);
      const [asIn5798, asIn9568] = await Promise.all([a.cap.stop(), b.cap.stop()]);

      const lines = [11, 12, 13, 14].map(
        (v) => `vrid ${v}: ${rowsOf(asIn5798, v).length}/${rowsOf(asIn9568, v).length} ${summary(rowsOf(asIn5798, v))}`,
      );
      console.log(`  captured (default / vrrp-only preference):\n    ${lines.join('\n    ')}`);
      assert.equal(asIn5798.filter((x) => x === null).length, 0, 'tshark lines that did not decode');
      // ~3 s at 100 ms (v3) and 1 s (v2): generous lower bounds for a busy machine.
      for (const rows of [asIn5798, asIn9568]) {
        assert.ok(rowsOf(rows, 11).length >= 15 && rowsOf(rows, 12).length >= 15 && rowsOf(rows, 14).length >= 15);
        assert.ok(rowsOf(rows, 13).length >= 2);
      }
      // The fields as tshark decoded them match the configuration.
      assert.equal(summary(rowsOf(asIn5798, 11)), [`v3/ipv4/100ms/prio 150/${r.ipv4}/192.0.2.1`]);
      assert.equal(summary(rowsOf(asIn5798, 12)), [`v3/ipv4/100ms/prio 160/${r.ipv4}/192.0.2.2`]);
      assert.equal(summary(rowsOf(asIn5798, 13)), [`v2/ipv4/1000ms/prio 170/${r.ipv4}/192.0.2.3,192.0.2.4`]);
      const v6 = rowsOf(asIn5798, 14);
      assert.equal(
        [...new Set(v6.map((x) => `v${x.version}/${x.family}/${x.adverIntervalMs}/${x.addresses}`))],
        ['v3/ipv6/100/2001:db8::1'],
      );
      assert.ok(
        v6.every((x) => x.src.startsWith('fe80:')),
        'RFC 5798 5.1.2.2: IPv6 adverts come from the link-local address',
      );

      // Default preference (RFC 5798 5.2.8, pseudo-header): v3p, v2 and v6 are clean...
      const def = checkVrrpCapture([11, 13, 14].flatMap((v) => rowsOf(asIn5798, v)));
      assert.ok(def.ok, JSON.stringify(def.problems.slice(0, 5)));
      assert.ok(def.packets >= 32);
      // ...and the vrrp-only form is flagged, every one, for its checksum only (not TTL, not malformed).
      const only = checkVrrpCapture(rowsOf(asIn5798, 12));
      assert.is(only.counts['bad-checksum'], only.packets);
      assert.is(only.problems.length, only.packets);

      // vrrp-only preference (RFC 9568 reading): v3o, v2 and v6 are clean, v3p is flagged.
      const alt = checkVrrpCapture([12, 13, 14].flatMap((v) => rowsOf(asIn9568, v)));
      assert.ok(alt.ok, JSON.stringify(alt.problems.slice(0, 5)));
      const pseudo = checkVrrpCapture(rowsOf(asIn9568, 11));
      assert.is(pseudo.counts['bad-checksum'], pseudo.packets);
      assert.is(pseudo.problems.length, pseudo.packets);

      // tandem itself reports the forms it sends (v3 over IPv4 only).
      const st = await th.status();
      assert.equal(
        st.instances.map((i) => [i.name, i.checksumForm ?? null]),
        [
          ['v3p', 'pseudo-header'],
          ['v3o', 'vrrp-only'],
          ['v2', null],
          ['v6', null],
        ],
      );
    } finally {
      await stopAll([t]);
      for (const c of cleanups) c();
    }
  });
});

test('checksum auto follows a vrrp-only tandem peer; its adverts then pass tshark with the vrrp-only preference', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const [r1, r2] = lab.routers;
    let fixed: TandemHandle | undefined;
    let auto: TandemHandle | undefined;
    const cleanups: (() => void)[] = [];
    try {
      fixed = await startTandem(
        lab,
        r1,
        instanceYaml({
          ifname: 'eth0',
          vrid: 21,
          priority: 100,
          addresses: ['192.0.2.1/24'],
          extra: ['checksum: vrrp-only'],
        }),
      );
      const f = fixed;
      assert.ok(await waitFor(async () => stateOf(await f.status()) === 'master', 10_000, 25));
      const { cap, cleanup } = capture(lab, lab.clients[0].ns, 'eth0', true);
      cleanups.push(cleanup);
      await cap.ready;
      // The auto peer starts as backup, hears vrrp-only adverts, switches, then preempts (200 > 100).
      auto = await startTandem(
        lab,
        r2,
        instanceYaml({ ifname: 'eth0', vrid: 21, priority: 200, addresses: ['192.0.2.1/24'] }),
      );
      const a = auto;
      assert.ok(
        await waitFor(
          async () => stateOf(await a.status()) === 'master' && stateOf(await f.status()) === 'backup',
          10_000,
          25,
        ),
        `states: auto ${stateOf(await a.status())}, fixed ${stateOf(await f.status())}`,
      );
      await sleep(1500);
      const rows = await cap.stop();
      const fromAuto = rows.filter((x): x is VrrpRow => x !== null && x.src === r2.ipv4);
      const fromFixed = rows.filter((x): x is VrrpRow => x !== null && x.src === r1.ipv4);
      console.log(`  auto peer: ${fromAuto.length} adverts, fixed vrrp-only peer: ${fromFixed.length}`);
      assert.ok(fromAuto.length >= 10, `auto sent ${fromAuto.length}`);
      assert.ok(fromFixed.length >= 3, `fixed sent ${fromFixed.length}`);
      // Every advert, from the first the auto peer sent, is in the vrrp-only form.
      const check = checkVrrpCapture([...fromFixed, ...fromAuto]);
      assert.ok(check.ok, JSON.stringify(check.problems.slice(0, 5)));
      const sa = inst(await a.status(), 'lan');
      const sf = inst(await f.status(), 'lan');
      assert.is(sa.checksumForm, 'vrrp-only');
      assert.is(sf.checksumForm, 'vrrp-only');
      assert.ok(sf.counters.advertsReceived >= 10, `the fixed peer heard ${sf.counters.advertsReceived}`);
      assert.equal(sf.counters.drops, {});
      assert.equal(sa.counters.drops, {});
      assert.ok(
        a.logs().some((l) => l.msg === "following the peer's VRRPv3 IPv4 checksum form" && l.to === 'vrrp-only'),
        'no log line for the switch',
      );
    } finally {
      await stopAll([auto, fixed]);
      for (const c of cleanups) c();
    }
  });
});

test('checksum auto and keepalived agree on the pseudo-header form: each accepts the other (default tshark check clean)', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const [r1, r2] = lab.routers;
    let ka: PeerHandle | undefined;
    let t: TandemHandle | undefined;
    try {
      ka = await startKeepalived(lab, r1.ns, {
        ifname: 'eth0',
        vrid: 22,
        priority: 100,
        version: 3,
        advertIntervalMs: 100,
        addresses: ['192.0.2.1'],
      });
      const k = ka;
      assert.ok(await waitFor(async () => (await k.state()) === 'MASTER', 10_000, 25));
      const cap = startVrrpCapture(lab, lab.clients[0].ns, 'eth0');
      await cap.ready;
      // tandem hears keepalived first (must accept its form), then preempts (keepalived must accept tandem's).
      t = await startTandem(
        lab,
        r2,
        instanceYaml({ ifname: 'eth0', vrid: 22, priority: 200, addresses: ['192.0.2.1/24'] }),
      );
      const th = t;
      assert.ok(
        await waitFor(
          async () => stateOf(await th.status()) === 'master' && (await k.state()) === 'BACKUP',
          10_000,
          25,
        ),
        `tandem ${stateOf(await th.status())}, keepalived ${await k.state()}`,
      );
      await sleep(1500);
      assert.is(await k.state(), 'BACKUP', "keepalived accepted tandem's adverts");
      const rows = await cap.stop();
      const check = checkVrrpCapture(rows);
      const fromTandem = rows.filter((x) => x?.src === r2.ipv4).length;
      const fromKa = rows.filter((x) => x?.src === r1.ipv4).length;
      console.log(`  keepalived sent ${fromKa}, tandem ${fromTandem}; problems ${check.problems.length}`);
      assert.ok(check.ok, JSON.stringify(check.problems.slice(0, 5)));
      assert.ok(fromTandem >= 10 && fromKa >= 1);
      const s = inst(await th.status(), 'lan');
      assert.is(s.checksumForm, 'pseudo-header');
      assert.ok(s.counters.advertsReceived >= 1);
      assert.equal(s.counters.drops, {});
      assert.not.match(k.log(), /checksum/i);
    } finally {
      await stopAll([t]);
      await ka?.stop().catch(() => {});
    }
  });
});

// The reason auto exists: keepalived 2.2.7 does not accept the vrrp-only form, so a tandem fixed
// at it is invisible to keepalived and both end up master (documented in docs/interop.md).
test('a tandem fixed at checksum vrrp-only is not heard by keepalived: both master (the limit auto avoids)', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const [r1, r2] = lab.routers;
    let ka: PeerHandle | undefined;
    let t: TandemHandle | undefined;
    try {
      t = await startTandem(
        lab,
        r1,
        instanceYaml({
          ifname: 'eth0',
          vrid: 23,
          priority: 200,
          addresses: ['192.0.2.1/24'],
          extra: ['checksum: vrrp-only'],
        }),
      );
      const th = t;
      assert.ok(await waitFor(async () => stateOf(await th.status()) === 'master', 10_000, 25));
      ka = await startKeepalived(lab, r2.ns, {
        ifname: 'eth0',
        vrid: 23,
        priority: 100,
        version: 3,
        advertIntervalMs: 100,
        addresses: ['192.0.2.1'],
      });
      const k = ka;
      // keepalived drops every tandem advert, so its Master_Down_Timer runs out although tandem is higher.
      assert.ok(await waitFor(async () => (await k.state()) === 'MASTER', 10_000, 25), 'keepalived stayed backup');
      await sleep(1000);
      assert.is(stateOf(await th.status()), 'master');
      assert.is(await k.state(), 'MASTER');
      // keepalived says why (it checks the pseudo-header form only).
      assert.match(k.log(), /Invalid VRRPv3 checksum/);
    } finally {
      await stopAll([t]);
      await ka?.stop().catch(() => {});
    }
  });
});

test.run();
