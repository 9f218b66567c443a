// tandem's CARP against ucarp 1.5.2 (Debian) on the wire, IPv4, advbase 1 s: election, silent
// failure of the master (bridge port disabled) and its return (preemption), in both roles; a
// graceful stop in both roles; a wrong passphrase refused on both sides; a VRRP instance on the
// same segment counting CARP adverts under their own reason; and tshark's CARP dissector finding
// no malformed frame or bad checksum in anything either side sent.
//
// Timing bounds (ip_carp.c carp_setrun): a backup declares the master down 3 x advbase +
// advskew/256 s (its own advskew) after the last advert it heard. The last advert came at most one
// master interval before the link went down, so a takeover measured from linkDown lies in
// [down - masterInterval, down] plus the reader's latency: tandem polls status every 20 ms; ucarp
// only looks at its timer when poll() returns, which can be one of its own intervals late.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, startUcarp, waitFor, sleep } from '../kit/lab.ts';
import type { Lab, LabHost, PeerHandle } from '../kit/lab.ts';
import { startTandem, stopAll, instanceYaml } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';
import { type InteropRouter, waitStates } from '../kit/interop.ts';

const VIP = '192.0.2.1';
const VHID = 42;
const PASS = 'tandem-carp';
const ADVBASE = 1;
const HI_SKEW = 0; // the preferred router: advertises every 1 s
const LO_SKEW = 100; // every 1 + 100/256 s
const MARGIN_MS = 1000; // a loaded 2-core machine, and the 20 ms status poll
const SETTLE_MS = 12_000;

const intervalMs = (skew: number) => ADVBASE * 1000 + (skew * 1000) / 256;
const masterDownMs = (skew: number) => 3 * ADVBASE * 1000 + (skew * 1000) / 256;

function carpYaml(h: LabHost, advskew: number, passphrase = PASS): string {
  return [
    '  - name: lan',
    '    protocol: carp',
    `    interface: ${h.ifname}`,
    `    vhid: ${VHID}`,
    `    advbase: ${ADVBASE}`,
    `    advskew: ${advskew}`,
    `    passphrase: ${passphrase}`,
    '    preempt: true',
    `    addresses: [${VIP}/24]`,
  ].join('\n');
}

interface Side extends InteropRouter {
  kind: 'tandem' | 'ucarp';
}

async function tandemSide(
  lab: Lab,
  h: LabHost,
  advskew: number,
  passphrase = PASS,
): Promise<Side & { t: TandemHandle }> {
  const t = await startTandem(lab, h, carpYaml(h, advskew, passphrase));
  return {
    kind: 'tandem',
    host: h,
    t,
    state: async () => {
      try {
        const s = (await t.status()).instances[0].state.toUpperCase();
        return s === 'MASTER' || s === 'BACKUP' || s === 'INIT' || s === 'FAULT' ? s : 'unknown';
      } catch {
        return 'unknown';
      }
    },
    describe: async () => {
      try {
        const s = await t.status();
        return `tandem ${JSON.stringify(s.instances[0])} ports ${JSON.stringify(s.interfaces)}`;
      } catch (e) {
        return `tandem: ${(e as Error).message}\n${t.output().slice(-2000)}`;
      }
    },
    stop: () => stopAll([t]),
  };
}

async function ucarpSide(lab: Lab, h: LabHost, advskew: number, passphrase = PASS): Promise<Side & { u: PeerHandle }> {
  const u = await startUcarp(lab, h.ns, {
    ifname: h.ifname,
    srcIp: h.ipv4,
    vhid: VHID,
    passphrase,
    address: VIP,
    advbase: ADVBASE,
    advskew,
  });
  return {
    kind: 'ucarp',
    host: h,
    u,
    state: () => u.state(),
    describe: async () => `ucarp ${await u.state()}\n${u.log().slice(-1500)}`,
    stop: () => u.stop(),
  };
}

async function hasVip(lab: Lab, h: LabHost): Promise<boolean> {
  const r = await lab.exec(h.ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', h.ifname]);
  return r.stdout.includes(` ${VIP}/`);
}

/** Exactly one side holds the VIP: the master. */
async function assertVipOn(lab: Lab, master: Side, backup: Side, step: string) {
  // ucarp's up/down scripts run asynchronously: give them a moment.
  await waitFor(async () => (await hasVip(lab, master.host)) && !(await hasVip(lab, backup.host)), 3000, 50);
  assert.ok(await hasVip(lab, master.host), `${step}: ${master.kind} master holds ${VIP}`);
  assert.not.ok(await hasVip(lab, backup.host), `${step}: ${backup.kind} backup does not hold ${VIP}`);
}

/** The takeover delay lies within the protocol's window (see the top of the file). */
function assertTakeover(ms: number, backup: Side, backupSkew: number, masterSkew: number, step: string) {
  const lo = masterDownMs(backupSkew) - intervalMs(masterSkew) - 200;
  const pollLate = backup.kind === 'ucarp' ? intervalMs(backupSkew) : 0;
  const hi = masterDownMs(backupSkew) + pollLate + MARGIN_MS;
  assert.ok(
    ms >= lo && ms <= hi,
    `${step}: ${backup.kind} took over after ${ms} ms, want ${Math.round(lo)}..${Math.round(hi)} ms`,
  );
}

/** hi (advskew 0) wins; its silent failure makes lo master within the window; when it returns
 *  the two masters hear each other and lo yields (ip_carp.c MASTER case: a more frequent master). */
async function failoverSequence(lab: Lab, hi: Side, lo: Side, label: string) {
  await waitStates(hi, 'MASTER', lo, 'BACKUP', SETTLE_MS, `${label} election`);
  await sleep(2500); // stable across two adverts, not a passing moment
  assert.is(await hi.state(), 'MASTER', `${label}: still master`);
  assert.is(await lo.state(), 'BACKUP', `${label}: still backup`);
  await assertVipOn(lab, hi, lo, `${label} election`);

  await lab.linkDown(hi.host);
  const took = await waitStates(
    lo,
    'MASTER',
    hi,
    'MASTER',
    masterDownMs(LO_SKEW) + intervalMs(LO_SKEW) + 5000,
    `${label} linkDown`,
  );
  assertTakeover(took, lo, LO_SKEW, HI_SKEW, `${label} silent failure`);

  await lab.linkUp(hi.host);
  await waitStates(hi, 'MASTER', lo, 'BACKUP', SETTLE_MS, `${label} linkUp (preemption)`);
  await assertVipOn(lab, hi, lo, `${label} after linkUp`);
}

test('tandem (advskew 0) master, ucarp (advskew 100) backup; silent failure -> ucarp; return -> tandem; no malformed frame', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-carp-'));
    const pcap = join(dir, 'carp.pcap');
    const sides: Side[] = [];
    // Captured in the switch namespace, on the bridge: every advert from either side.
    const cap = lab.spawn(lab.switchNs, ['tcpdump', '-U', '-n', '-i', lab.bridge, '-w', pcap, 'ip proto 112']);
    try {
      await sleep(500);
      const t = await tandemSide(lab, lab.routers[0], HI_SKEW);
      sides.push(t);
      const u = await ucarpSide(lab, lab.routers[1], LO_SKEW);
      sides.push(u);
      await failoverSequence(lab, t, u, 'tandem>ucarp');
      const s = await t.t.status();
      assert.ok(s.instances[0].counters.advertsReceived > 0, 'tandem heard ucarp');
      assert.is(s.instances[0].counters.drops['bad-auth'] ?? 0, 0, 'tandem accepted every ucarp HMAC');
      assert.not.match(u.u.log(), /Bad digest/, 'ucarp accepted every tandem HMAC');
      await sleep(1500);
    } finally {
      for (const s of sides.reverse()) await s.stop();
      cap.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
    }
    const r = await lab.exec(null, [
      'tshark',
      '-n',
      '-r',
      pcap,
      '-d',
      'ip.proto==112,carp',
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-e',
      'ip.src',
      '-e',
      'carp.vhid',
      '-e',
      'carp.version',
      '-e',
      'carp.type',
      '-e',
      'carp.authlen',
      '-e',
      'carp.checksum.status',
      '-e',
      'ip.ttl',
      '-e',
      '_ws.malformed',
      '-e',
      '_ws.expert.severity',
    ]);
    rmSync(dir, { recursive: true, force: true });
    const rows = r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    const from = (ip: string) => rows.filter((x) => x[0] === ip);
    assert.ok(
      from(lab.routers[0].ipv4).length >= 5,
      `tshark saw tandem's adverts (${from(lab.routers[0].ipv4).length})`,
    );
    assert.ok(
      from(lab.routers[1].ipv4).length >= 2,
      `tshark saw ucarp's adverts (${from(lab.routers[1].ipv4).length})`,
    );
    for (const x of rows) {
      // checksum status 1 = Good (Wireshark's PROTO_CHECKSUM_E_GOOD).
      assert.equal(x.slice(1, 7), [String(VHID), '2', '1', '7', '1', '255'], `frame from ${x[0]}: ${x.join(' ')}`);
      assert.is(x[7] ?? '', '', `malformed frame from ${x[0]}`);
      assert.is(x[8] ?? '', '', `expert info on a frame from ${x[0]}: ${x.join(' ')}`);
    }
  });
});

test('ucarp (advskew 0) master, tandem (advskew 100) backup; silent failure -> tandem; return -> ucarp', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const sides: Side[] = [];
    try {
      const u = await ucarpSide(lab, lab.routers[0], HI_SKEW);
      sides.push(u);
      const t = await tandemSide(lab, lab.routers[1], LO_SKEW);
      sides.push(t);
      await failoverSequence(lab, u, t, 'ucarp>tandem');
    } finally {
      for (const s of sides.reverse()) await s.stop();
    }
  });
});

test('graceful stop: a stopping tandem master hands over to ucarp at once (advbase/advskew 255), not after 3 s', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const sides: Side[] = [];
    try {
      const t = await tandemSide(lab, lab.routers[0], HI_SKEW);
      sides.push(t);
      const u = await ucarpSide(lab, lab.routers[1], LO_SKEW);
      sides.push(u);
      await waitStates(t, 'MASTER', u, 'BACKUP', SETTLE_MS, 'election');
      await sleep(1500);
      const t0 = Date.now();
      const stopped = t.t.stop('SIGTERM');
      const ok = await waitFor(async () => (await u.state()) === 'MASTER', 5000, 20);
      const ms = Date.now() - t0;
      await stopped;
      assert.ok(ok, `ucarp took over: ${await u.describe()}`);
      // Without the last advert ucarp would wait out its master-down interval, at least
      // masterDown(100) - interval(0) = 2.39 s after SIGTERM.
      const bound = masterDownMs(LO_SKEW) - intervalMs(HI_SKEW);
      assert.ok(ms < bound, `ucarp took over ${ms} ms after SIGTERM, want < ${Math.round(bound)} ms`);
      assert.not.ok(await hasVip(lab, t.host), 'the stopped tandem released the VIP');
    } finally {
      for (const s of sides.reverse()) await s.stop();
    }
  });
});

test('graceful stop: ucarp sends no last advert; tandem takes over after its master-down interval', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const sides: Side[] = [];
    try {
      const u = await ucarpSide(lab, lab.routers[0], HI_SKEW);
      sides.push(u);
      const t = await tandemSide(lab, lab.routers[1], LO_SKEW);
      sides.push(t);
      await waitStates(u, 'MASTER', t, 'BACKUP', SETTLE_MS, 'election');
      await sleep(1500);
      const t0 = Date.now();
      await u.u.stop('SIGTERM');
      const ok = await waitFor(async () => (await t.state()) === 'MASTER', masterDownMs(LO_SKEW) + 5000, 20);
      const ms = Date.now() - t0;
      assert.ok(ok, `tandem took over: ${await t.describe()}`);
      assertTakeover(ms, t, LO_SKEW, HI_SKEW, 'ucarp stop');
      await assertVipOn(lab, t, u, 'after ucarp stop');
    } finally {
      for (const s of sides.reverse()) await s.stop();
    }
  });
});

test('a wrong passphrase is refused on both sides: each stays master, tandem counts bad-auth, ucarp logs a bad digest', async () => {
  await withLab({ routers: 2, clients: 0 }, async (lab) => {
    const sides: Side[] = [];
    try {
      const t = await tandemSide(lab, lab.routers[0], HI_SKEW, 'right-pass');
      sides.push(t);
      const u = await ucarpSide(lab, lab.routers[1], LO_SKEW, 'wrong-pass');
      sides.push(u);
      await waitStates(t, 'MASTER', u, 'MASTER', SETTLE_MS, 'both masters');
      await sleep(2500);
      assert.is(await t.state(), 'MASTER');
      assert.is(await u.state(), 'MASTER', 'ucarp refused every tandem advert and stayed master');
      const s = await t.t.status();
      assert.ok((s.instances[0].counters.drops['bad-auth'] ?? 0) >= 2, `tandem bad-auth drops: ${await t.describe()}`);
      assert.is(s.instances[0].counters.advertsReceived, 0, 'tandem accepted no ucarp advert');
      assert.match(u.u.log(), /Bad digest/, 'ucarp refused tandem HMAC');
    } finally {
      for (const s of sides.reverse()) await s.stop();
    }
  });
});

test('mixed segment: a VRRP instance counts CARP adverts as carp-advert, a CARP instance counts VRRP as vrrp-advert', async () => {
  await withLab({ routers: 3, clients: 0 }, async (lab) => {
    const sides: Side[] = [];
    let v: TandemHandle | undefined;
    try {
      const t = await tandemSide(lab, lab.routers[0], HI_SKEW);
      sides.push(t);
      const u = await ucarpSide(lab, lab.routers[1], LO_SKEW);
      sides.push(u);
      // A VRRPv2 instance whose VRID is the VHID: the same protocol number, group and first byte.
      v = await startTandem(
        lab,
        lab.routers[2],
        instanceYaml({
          ifname: lab.routers[2].ifname,
          vrid: VHID,
          priority: 100,
          version: 2,
          advert: '1s',
          addresses: ['192.0.2.2/24'],
        }),
      );
      await waitStates(t, 'MASTER', u, 'BACKUP', SETTLE_MS, 'election');
      await sleep(3500);
      const vs = await v.status();
      const vDrops = vs.interfaces[0].drops;
      assert.ok((vDrops['carp-advert'] ?? 0) >= 2, `VRRP side: ${JSON.stringify(vs.interfaces)}`);
      for (const bad of ['bad-checksum', 'bad-length', 'bad-version', 'bad-auth'])
        assert.is(vDrops[bad as 'bad-checksum'] ?? 0, 0, `VRRP side counted ${bad}: ${JSON.stringify(vDrops)}`);
      assert.is(vs.instances[0].state, 'master', 'the VRRP router runs on, alone in its VRID');
      const ts = await t.t.status();
      assert.ok((ts.interfaces[0].drops['vrrp-advert'] ?? 0) >= 2, `CARP side: ${JSON.stringify(ts.interfaces)}`);
      assert.is(ts.interfaces[0].drops['bad-checksum'] ?? 0, 0);
      assert.is(await t.state(), 'MASTER', 'the CARP election is undisturbed');
      assert.is(await u.state(), 'BACKUP');
    } finally {
      await stopAll([v]);
      for (const s of sides.reverse()) await s.stop();
    }
  });
});

test.run();
