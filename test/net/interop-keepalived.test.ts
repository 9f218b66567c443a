// tandem against keepalived 2.2.7 on the wire, VRRPv3 at 100 ms adverts: election, silent failure
// of the master (bridge port disabled), its return, in both roles, over IPv4 and IPv6; equal
// priorities resolved by the higher primary address (RFC 5798 6.4.3) both ways; and a SIGTERM
// handover that keepalived picks up after Skew_Time rather than Master_Down_Interval (6.4.2).
// Each step is checked from both sides and by a client reaching the VIP at the master's MAC.
import { fileURLToPath } from 'node:url';
import { type InteropRouter, peerState, waitStates } from '../kit/interop.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, startKeepalived, waitFor, sleep } from '../kit/lab.ts';
import type { Lab, LabHost, PeerHandle } from '../kit/lab.ts';
import { startTandem, instanceYaml, stopAll, stateOf } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const VIP4 = '192.0.2.1';
const VIP6 = '2001:db8::1';
const VRID = 42;
const ADVERT_MS = 100;
// RFC 5798 6.1: Master_Down_Interval = 3 x 100 ms + skew < 400 ms; allow a busy 2-core machine plenty.
const TAKEOVER_TIMEOUT_MS = 5_000;
const SETTLE_TIMEOUT_MS = 10_000;

interface Router extends InteropRouter {
  kind: 'tandem' | 'keepalived';
  /** The MAC a client should resolve the VIP to while this router is master. */
  mac: string;
}

async function nicMac(lab: Lab, h: LabHost): Promise<string> {
  return JSON.parse((await lab.exec(h.ns, ['ip', '-j', 'link', 'show', 'dev', h.ifname])).stdout)[0].address;
}

async function tandemRouter(
  lab: Lab,
  h: LabHost,
  o: { priority: number; family: 'ipv4' | 'ipv6'; version?: 2 | 3; advert?: string },
): Promise<Router & { t: TandemHandle }> {
  const vip = o.family === 'ipv6' ? `${VIP6}/64` : `${VIP4}/24`;
  const t = await startTandem(
    lab,
    h,
    instanceYaml({
      ifname: h.ifname,
      vrid: VRID,
      priority: o.priority,
      version: o.version ?? 3,
      advert: o.advert ?? `${ADVERT_MS}ms`,
      addresses: [vip],
    }),
  );
  return {
    kind: 'tandem',
    host: h,
    t,
    mac: await nicMac(lab, h),
    state: async () => {
      try {
        return peerState(stateOf(await t.status()));
      } catch {
        return 'unknown';
      }
    },
    stop: () => stopAll([t]),
    describe: async () => {
      try {
        const i = (await t.status()).instances[0];
        return `tandem ${i.state} prio ${i.effectivePriority} master ${i.masterIp} ${JSON.stringify(i.counters)}`;
      } catch (e) {
        return `tandem: ${(e as Error).message}\n${t.output().slice(-2000)}`;
      }
    },
  };
}

async function keepalivedRouter(
  lab: Lab,
  h: LabHost,
  o: { priority: number; family: 'ipv4' | 'ipv6'; version?: 2 | 3; advertIntervalMs?: number },
): Promise<Router & { k: PeerHandle }> {
  const k = await startKeepalived(lab, h.ns, {
    ifname: h.ifname,
    vrid: VRID,
    priority: o.priority,
    version: o.version ?? 3,
    advertIntervalMs: o.advertIntervalMs ?? ADVERT_MS,
    addresses: [o.family === 'ipv6' ? VIP6 : VIP4],
    family: o.family,
  });
  return {
    kind: 'keepalived',
    host: h,
    k,
    mac: await nicMac(lab, h),
    state: () => k.state(),
    stop: () => k.stop(),
    describe: async () => `keepalived ${await k.state()}\n${k.log().slice(-1500)}`,
  };
}

// A one-shot ICMP / ICMPv6 echo from a client (test/kit/py/echo.py).
const PING_PY = fileURLToPath(new URL('../kit/py/echo.py', import.meta.url));

/** The client reaches the VIP, and its neighbour entry for the VIP is `master`'s MAC. */
async function assertClientReaches(lab: Lab, master: Router, vip: string, step: string): Promise<number> {
  const client = lab.clients[0];
  const t0 = Date.now();
  // Normally well under a second: gratuitous ARP / unsolicited NA fix the client's cache. But a
  // master that wins back without a transition sends none; if it never heard the other master
  // (which yielded silently), the client only recovers through neighbour unreachability
  // detection, 5 s DELAY plus 3 unicast probes (~8 s). See docs/interop.md. Hence 15 s.
  const deadline = Date.now() + 15_000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await lab.exec(client.ns, ['python3', PING_PY, vip, '5', '2'], {
      allowFail: true,
      timeoutMs: 10_000,
    });
    const neigh = JSON.parse((await lab.exec(client.ns, ['ip', '-j', 'neigh', 'show', vip])).stdout || '[]');
    last = `ping ${r.code} (${r.stdout.trim()}), neighbour ${neigh[0]?.lladdr} ${neigh[0]?.state}`;
    if (r.code === 0 && neigh[0]?.lladdr === master.mac) return Date.now() - t0;
    await sleep(200);
  }
  assert.unreachable(`${step}: the client does not reach ${vip} at ${master.kind}'s MAC ${master.mac}: ${last}`);
  return NaN;
}

/**
 * The sequence run for every pairing: `hi` (higher priority) wins; its silent failure makes `lo`
 * master; when it comes back the two masters hear each other and `lo` yields (RFC 5798 6.4.3).
 */
async function failoverSequence(
  lab: Lab,
  hi: Router,
  lo: Router,
  vip: string,
  label: string,
  advertMs = ADVERT_MS,
): Promise<void> {
  const takeoverMs = Math.max(TAKEOVER_TIMEOUT_MS, 10 * advertMs + 3000);
  await waitStates(hi, 'MASTER', lo, 'BACKUP', SETTLE_TIMEOUT_MS, `${label} election`);
  await assertClientReaches(lab, hi, vip, `${label} election`);
  await sleep(500); // stable, not a passing moment
  assert.is(await hi.state(), 'MASTER');
  assert.is(await lo.state(), 'BACKUP');

  await lab.linkDown(hi.host);
  const tookOver = await waitStates(lo, 'MASTER', hi, 'MASTER', takeoverMs, `${label} linkDown`);
  const reach1 = await assertClientReaches(lab, lo, vip, `${label} after linkDown`);

  await lab.linkUp(hi.host);
  const back = await waitStates(hi, 'MASTER', lo, 'BACKUP', takeoverMs, `${label} linkUp`);
  const reach2 = await assertClientReaches(lab, hi, vip, `${label} after linkUp`);
  console.log(
    `  ${label}: ${lo.kind} took over ${tookOver} ms after linkDown (client through ${reach1} ms later), ` +
      `${hi.kind} master again ${back} ms after linkUp (client through ${reach2} ms later)`,
  );
  // tandem dropped none of keepalived's adverts (checksum, version, addresses), and for v3 over
  // IPv4 it kept keepalived's checksum form, the pseudo-header one (RFC 5798 5.2.8).
  for (const r of [hi, lo]) {
    if (r.kind !== 'tandem') continue;
    const st = await (r as Router & { t: TandemHandle }).t.status();
    const inst = st.instances[0];
    assert.equal(inst.counters.drops, {}, `${label}: tandem drops`);
    assert.equal(st.interfaces[0]?.drops, {}, `${label}: tandem interface drops`);
    if (inst.version === 3 && inst.family === 4) assert.is(inst.checksumForm, 'pseudo-header');
  }
}

for (const family of ['ipv4', 'ipv6'] as const) {
  const vip = family === 'ipv6' ? VIP6 : VIP4;
  test(`v3 ${family}: tandem (200) master, keepalived (100) backup; linkDown -> keepalived; linkUp -> tandem`, async () => {
    await withLab({ routers: 2, clients: 1 }, async (lab) => {
      const rs: Router[] = [];
      try {
        rs.push(await tandemRouter(lab, lab.routers[0], { priority: 200, family }));
        rs.push(await keepalivedRouter(lab, lab.routers[1], { priority: 100, family }));
        await failoverSequence(lab, rs[0], rs[1], vip, `v3 ${family} tandem>keepalived`);
      } finally {
        for (const r of rs) await r.stop().catch(() => {});
      }
    });
  });

  test(`v3 ${family}: keepalived (200) master, tandem (100) backup; linkDown -> tandem; linkUp -> keepalived`, async () => {
    await withLab({ routers: 2, clients: 1 }, async (lab) => {
      const rs: Router[] = [];
      try {
        rs.push(await keepalivedRouter(lab, lab.routers[0], { priority: 200, family }));
        rs.push(await tandemRouter(lab, lab.routers[1], { priority: 100, family }));
        await failoverSequence(lab, rs[0], rs[1], vip, `v3 ${family} keepalived>tandem`);
      } finally {
        for (const r of rs) await r.stop().catch(() => {});
      }
    });
  });
}

// VRRPv2 (RFC 3768) over IPv4 at 1 s adverts, no authentication, both roles.
for (const tandemHigh of [true, false]) {
  test(`v2 ipv4 at 1 s: ${tandemHigh ? 'tandem (200) master, keepalived (100)' : 'keepalived (200) master, tandem (100)'} backup; linkDown; linkUp`, async () => {
    await withLab({ routers: 2, clients: 1 }, async (lab) => {
      const rs: Router[] = [];
      try {
        const mk = (kind: 'tandem' | 'keepalived', h: LabHost, priority: number) =>
          kind === 'tandem'
            ? tandemRouter(lab, h, { priority, family: 'ipv4', version: 2, advert: '1s' })
            : keepalivedRouter(lab, h, { priority, family: 'ipv4', version: 2, advertIntervalMs: 1000 });
        rs.push(await mk(tandemHigh ? 'tandem' : 'keepalived', lab.routers[0], 200));
        rs.push(await mk(tandemHigh ? 'keepalived' : 'tandem', lab.routers[1], 100));
        await failoverSequence(lab, rs[0], rs[1], VIP4, `v2 ipv4 ${rs[0].kind}>${rs[1].kind}`, 1000);
        const t = rs.find((r) => r.kind === 'tandem') as Router & { t: TandemHandle };
        const st = (await t.t.status()).instances[0];
        // keepalived's v2 adverts were accepted: none dropped for version, auth or addresses. As
        // backup tandem heard the master all along; as master it may hear none (keepalived yields
        // to tandem's first advert after linkUp before it sends one of its own).
        if (!tandemHigh)
          assert.ok(st.counters.advertsReceived >= 2, `tandem heard ${st.counters.advertsReceived} adverts`);
        assert.equal(st.counters.drops, {});
      } finally {
        for (const r of rs) await r.stop().catch(() => {});
      }
    });
  });
}

// Equal priorities: two masters (a partition) that hear each other again keep the one with the
// higher primary address (RFC 5798 6.4.3). Router 2 (192.0.2.12) beats router 1 (.11).
for (const winner of ['tandem', 'keepalived'] as const) {
  test(`v3 ipv4 equal priority: the higher primary address wins after a partition heals (${winner} on .12)`, async () => {
    await withLab({ routers: 2, clients: 1 }, async (lab) => {
      const rs: Router[] = [];
      try {
        const [low, high] = lab.routers;
        const loR =
          winner === 'tandem'
            ? await keepalivedRouter(lab, low, { priority: 150, family: 'ipv4' })
            : await tandemRouter(lab, low, { priority: 150, family: 'ipv4' });
        rs.push(loR);
        // Let .11 become master alone first, so .12 starts as a backup that defers to it.
        await waitFor(async () => (await loR.state()) === 'MASTER', SETTLE_TIMEOUT_MS, 20);
        const hiR =
          winner === 'tandem'
            ? await tandemRouter(lab, high, { priority: 150, family: 'ipv4' })
            : await keepalivedRouter(lab, high, { priority: 150, family: 'ipv4' });
        rs.push(hiR);
        // 6.4.2: a backup hearing an equal-priority master just restarts its timer: .11 stays.
        await sleep(1000);
        await waitStates(loR, 'MASTER', hiR, 'BACKUP', SETTLE_TIMEOUT_MS, 'equal priority, .11 first');
        // Partition: both become master. Heal: .12 must win, whoever sent last.
        await lab.linkDown(high);
        await waitStates(loR, 'MASTER', hiR, 'MASTER', TAKEOVER_TIMEOUT_MS, 'partitioned');
        await lab.linkUp(high);
        await waitStates(hiR, 'MASTER', loR, 'BACKUP', TAKEOVER_TIMEOUT_MS, 'partition healed');
        await sleep(500);
        assert.is(await hiR.state(), 'MASTER');
        assert.is(await loR.state(), 'BACKUP');
        await assertClientReaches(lab, hiR, VIP4, 'partition healed');
        if (hiR.kind === 'tandem') {
          const s = (await (hiR as Router & { t: TandemHandle }).t.status()).instances[0];
          assert.is(s.masterIp, high.ipv4);
        } else {
          const s = (await (loR as Router & { t: TandemHandle }).t.status()).instances[0];
          assert.is(s.masterIp, high.ipv4, 'tandem names the winner as master');
        }
      } finally {
        for (const r of rs) await r.stop().catch(() => {});
      }
    });
  });
}

// RFC 5798 6.4.3 / 6.4.2: a master leaving sends priority 0, and the backup takes over after
// Skew_Time ((256 - 100) / 256 x 1 s = 0.61 s), not Master_Down_Interval (3.61 s).
test('SIGTERM of a tandem master: keepalived takes over after Skew_Time, not Master_Down_Interval (1 s adverts)', async () => {
  await withLab({ routers: 2, clients: 1 }, async (lab) => {
    const rs: Router[] = [];
    try {
      const ta = await tandemRouter(lab, lab.routers[0], { priority: 200, family: 'ipv4', advert: '1s' });
      rs.push(ta);
      const ka = await keepalivedRouter(lab, lab.routers[1], { priority: 100, family: 'ipv4', advertIntervalMs: 1000 });
      rs.push(ka);
      await waitStates(ta, 'MASTER', ka, 'BACKUP', SETTLE_TIMEOUT_MS, 'election at 1 s');
      await sleep(1500);
      const t0 = Date.now();
      const stopping = ta.t.stop('SIGTERM');
      assert.ok(
        await waitFor(async () => (await ka.state()) === 'MASTER', 5000, 10),
        `no takeover: ${await ka.describe()}`,
      );
      const ms = Date.now() - t0;
      const code = await stopping;
      console.log(
        `  SIGTERM handover to keepalived at 1 s adverts: ${ms} ms (Skew_Time 609 ms, Master_Down_Interval 3609 ms); tandem exit ${code}`,
      );
      assert.is(code, 0);
      // Skew_Time plus a generous margin for a busy machine, well short of Master_Down_Interval.
      assert.ok(ms < 609 + 1500, `takeover after ${ms} ms`);
      await assertClientReaches(lab, ka, VIP4, 'after SIGTERM');
      // tandem removed the VIP on its way out.
      const addrs = (await lab.exec(lab.routers[0].ns, ['ip', '-br', 'addr', 'show', 'dev', 'eth0'])).stdout;
      assert.not.match(addrs, `${VIP4}/`);
    } finally {
      for (const r of rs) await r.stop().catch(() => {});
    }
  });
});

test.run();
