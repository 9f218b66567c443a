// `checksum: auto` follows the master's VRRPv3 IPv4 checksum form, never a stray advert's
// (issue #12): firmware/core/vrrp/checksum-follow.ts, then the engine on a fake LAN with one
// spoofed priority-1 advert in the other form.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver, FakeLan } from '../../drivers/fake.ts';
import { loadConfig } from '../../firmware/config/index.ts';
import { decodeFrame, encodeVrrpFrame } from '../../firmware/core/packet/index.ts';
import type { VrrpAdvert } from '../../firmware/core/packet/types.ts';
import { FOLLOW_AFTER, observeChecksumForm, type FormFollow } from '../../firmware/core/vrrp/checksum-follow.ts';
import { initialState, step } from '../../firmware/core/vrrp/machine.ts';
import type { VrrpConfig, VrrpState } from '../../firmware/core/vrrp/types.ts';
import { Engine } from '../../firmware/engine/engine.ts';
import { createLogger } from '../../firmware/runtime/log.ts';

const T0 = 1_000_000;
const OWN = '192.0.2.10';
const MASTER = '192.0.2.20';
const SPOOF = '192.0.2.99';
const VIP = ['192.0.2.100'];
const cfg: VrrpConfig = {
  vrid: 7,
  version: 3,
  family: 4,
  priority: 100,
  advertIntervalCs: 100,
  preempt: true,
  preemptDelayMs: 0,
  acceptMode: false,
  addresses: VIP,
  primaryIp: OWN,
};
const adv = (priority: number, over: Partial<VrrpAdvert> = {}): VrrpAdvert => ({
  version: 3,
  vrid: 7,
  priority,
  maxAdverIntervalCs: 100,
  addresses: VIP,
  ...over,
});
const backup = (): VrrpState => step(initialState(cfg, T0), { type: 'startup' }, T0).state;
/** A backup that follows MASTER (priority 200), heard at T0. */
const following = (): VrrpState => step(backup(), { type: 'advert', src: MASTER, advert: adv(200) }, T0).state;
const master = (): VrrpState => {
  const b = backup();
  return step(b, { type: 'timer' }, b.masterDownTimerMs!).state;
};

test('a master never follows: a lower advert in the other form changes nothing', () => {
  const s = master();
  const v = observeChecksumForm(s, 'pseudo-header', 'vrrp-only', SPOOF, adv(1), undefined, T0 + 5000);
  assert.equal([v.follow, v.why], [false, 'in master']);
});

test(`a backup follows the master it follows only after ${FOLLOW_AFTER} adverts in a row in the other form`, () => {
  const s = following();
  assert.is(s.masterIp, MASTER);
  let f: FormFollow | undefined;
  for (let i = 1; i < FOLLOW_AFTER; i++) {
    const v = observeChecksumForm(s, 'pseudo-header', 'vrrp-only', MASTER, adv(200), f, T0 + i * 100);
    assert.not.ok(v.follow, `advert ${i}`);
    f = v.next;
  }
  const v = observeChecksumForm(s, 'pseudo-header', 'vrrp-only', MASTER, adv(200), f, T0 + 300);
  assert.ok(v.follow);
});

test('one advert in our form from the master starts the count again (spoofs interleaved with real adverts)', () => {
  const s = following();
  let f: FormFollow | undefined;
  for (let i = 0; i < 10; i++) {
    const form = i % 2 ? 'pseudo-header' : 'vrrp-only';
    const v = observeChecksumForm(s, 'pseudo-header', form, MASTER, adv(200), f, T0 + i * 10);
    assert.not.ok(v.follow, `advert ${i}`);
    f = v.next;
  }
});

test('a backup ignores the form of any router but its live master, and of adverts the machine would drop', () => {
  const s = following();
  const rows: [string, string, VrrpAdvert, string][] = [
    ['another router, even a better one', SPOOF, adv(250), 'not the master we follow'],
    ['priority 0', MASTER, adv(0), 'priority 0'],
    ['another address list', MASTER, adv(200, { addresses: ['192.0.2.1'] }), 'address mismatch'],
    ['another VRID', MASTER, adv(200, { vrid: 8 }), 'not this virtual router'],
  ];
  for (const [why, src, a, reason] of rows) {
    let f: FormFollow | undefined;
    for (let i = 0; i < 5; i++) {
      const v = observeChecksumForm(s, 'pseudo-header', 'vrrp-only', src, a, f, T0 + i);
      assert.equal([v.follow, v.why], [false, reason], why);
      f = v.next;
    }
  }
});

test('with no live master known, the first valid advert is followed (the machine may preempt on it)', () => {
  const v = observeChecksumForm(backup(), 'pseudo-header', 'vrrp-only', MASTER, adv(50), undefined, T0);
  assert.ok(v.follow);
  // A master silent for Master_Down_Interval is no longer followed as live.
  const s = following();
  const later = T0 + 10_000;
  assert.ok(observeChecksumForm(s, 'pseudo-header', 'vrrp-only', SPOOF, adv(50), undefined, later).follow);
});

// ---- the engine on a fake LAN ----

const VIP4 = '192.0.2.254';
function config(name: string, stateDir: string, priority: number) {
  const yaml = `node: ${name}\nstate_dir: ${stateDir}\ninstances:\n  - name: lan\n    interface: eth0\n    vrid: 51\n    priority: ${priority}\n    advert_interval: 100ms\n    addresses: [${VIP4}/24]\n`;
  const r = loadConfig(`/virtual/${name}.yaml`, { hostname: name, platform: 'linux', readFile: () => yaml });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

async function until(what: string, pred: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('one spoofed priority-1 advert in the other form does not change the form a master sends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cksum-'));
  const lan = new FakeLan();
  const drivers = [0, 1, 2].map(() => new FakeDriver({ links: { eth0: {} } }));
  drivers.forEach((d, i) => {
    d.addAddress('eth0', `192.0.2.${11 + i}/24`);
    lan.attach(d, 'eth0');
  });
  const lines: string[] = [];
  const log = createLogger('info', { write: (s: string) => lines.push(s) });
  const engines = [200, 100].map(
    (p, i) => new Engine({ driver: drivers[i], log, config: config(`r${i + 1}`, join(dir, `r${i + 1}`), p) }),
  );
  const attacker = drivers[2].openChannel('eth0');
  const spoof = (form: 'vrrp-only' | 'pseudo-header', priority = 1) =>
    attacker.send(
      encodeVrrpFrame({
        srcMac: '02:00:00:00:00:63',
        family: 4,
        src: '192.0.2.99',
        advert: { version: 3, vrid: 51, priority, maxAdverIntervalCs: 10, addresses: [VIP4] },
        checksumForm: form,
      }),
    );
  const inst = (k: number) => engines[k].status().instances[0];
  try {
    for (const e of engines) e.start();
    await until('r1 master, r2 backup', () => inst(0).state === 'master' && inst(1).state === 'backup', 3000);
    spoof('vrrp-only');
    await new Promise((r) => setTimeout(r, 300));
    assert.is(inst(0).checksumForm, 'pseudo-header', 'the master keeps its form');
    assert.is(inst(1).checksumForm, 'pseudo-header', 'the backup keeps its form');
    const adverts = drivers[0]
      .openChannels('eth0')
      .flatMap((c) => c.sent.map((f) => decodeFrame(f)))
      .filter((d) => d.ok && d.kind === 'vrrp');
    assert.ok(adverts.length >= 3);
    assert.ok(adverts.slice(-2).every((d) => d.ok && d.kind === 'vrrp' && d.checksumForm === 'pseudo-header'));
    // Alternating forms at the backup, from a source other than its master: no switch, no log line each.
    for (let i = 0; i < 200; i++) spoof(i % 2 ? 'pseudo-header' : 'vrrp-only');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal([inst(0).state, inst(1).state], ['master', 'backup']);
    assert.is(inst(1).checksumForm, 'pseudo-header');
    assert.ok(lines.filter((l) => l.includes('checksum form')).length <= 1, `${lines.length} lines`);
  } finally {
    for (const e of engines) await e.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
