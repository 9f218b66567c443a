// Spoofed adverts from a host on the LAN (issue #12), on the fake driver: without accept_from a
// single priority-255 advert takes the master's place (what VRRP itself allows, RFC 5798 section 9);
// with accept_from, a flood of spoofed adverts (priority 0, 255, the other checksum form, a listed
// address from the wrong MAC, 802.1Q-tagged copies) changes no state, each is counted under its
// reason, and the CPU spent per frame stays bounded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver, FakeLan } from '../../drivers/fake.ts';
import { loadConfig, parseConfig } from '../../firmware/config/index.ts';
import { encodeVrrpFrame } from '../../firmware/core/packet/index.ts';
import type { InstanceStatus } from '../../firmware/core/status.ts';
import { refuseSource } from '../../firmware/engine/accept-from.ts';
import { Engine } from '../../firmware/engine/engine.ts';
import { createLogger } from '../../firmware/runtime/log.ts';

const VIP = '192.0.2.254';
const R1 = '192.0.2.11',
  R2 = '192.0.2.12',
  ATTACKER = '192.0.2.13';
const VMAC = '00:00:5e:00:01:33'; // VRID 51: tandem sends its adverts from the virtual MAC
const ATTACKER_MAC = '02:00:00:00:00:63';

test('refuseSource: no list accepts all; a listed address passes; a pinned MAC must match', () => {
  assert.is(refuseSource(undefined, ATTACKER, ATTACKER_MAC), undefined);
  const list = [{ address: R1, mac: VMAC }, { address: R2 }];
  assert.is(refuseSource(list, R2, ATTACKER_MAC), undefined);
  assert.is(refuseSource(list, R1, '00:00:5E:00:01:33'), undefined, 'MACs compare case-insensitively');
  assert.is(refuseSource(list, R1, ATTACKER_MAC), 'source-mac-mismatch');
  assert.is(refuseSource(list, ATTACKER, ATTACKER_MAC), 'source-not-accepted');
});

test('config: accept_from takes addresses or { address, mac }; wrong family, duplicates, bad MACs and CARP are errors', () => {
  const inst = (extra: string, proto = '') =>
    `instances:\n  - name: a\n    interface: eth0\n${proto || '    vrid: 1\n'}    addresses: [192.0.2.10]\n${extra}`;
  const OPTS = { hostname: 'h', platform: 'linux', probe: () => 'ok' as const };
  const good = parseConfig(
    inst('    accept_from: [192.0.2.11, { address: 192.0.2.12, mac: "02:AA:bb:cc:dd:ee" }]\n'),
    'a.yaml',
    OPTS,
  );
  assert.ok(good.ok);
  if (good.ok)
    assert.equal(good.config.instances[0].acceptFrom, [
      { address: '192.0.2.11' },
      { address: '192.0.2.12', mac: '02:aa:bb:cc:dd:ee' },
    ]);
  const none = parseConfig(inst(''), 'a.yaml', OPTS);
  assert.ok(none.ok && none.config.instances[0].acceptFrom === undefined, 'absent: from anyone');
  const bad = parseConfig(
    inst(
      '    accept_from:\n      - 2001:db8::1\n      - 192.0.2.11\n      - 192.0.2.11\n      - { address: 192.0.2.12, mac: nope }\n      - { mac: "02:00:00:00:00:01" }\n',
    ),
    'a.yaml',
    OPTS,
  );
  assert.ok(!bad.ok);
  if (!bad.ok)
    assert.equal(
      bad.errors.map((e) => `${e.line} ${e.path}: ${e.reason.split(' (')[0]}`),
      [
        "7 instances[0].accept_from[0]: 2001:db8::1 is IPv6, the instance's addresses are IPv4",
        '9 instances[0].accept_from[2]: 192.0.2.11 is listed twice',
        '10 instances[0].accept_from[3].mac: "nope" is not a MAC address',
        '11 instances[0].accept_from[4].address: missing',
      ],
    );
  const carp = parseConfig(
    inst('    accept_from: [192.0.2.11]\n', '    protocol: carp\n    vhid: 1\n'),
    'a.yaml',
    OPTS,
  );
  assert.ok(!carp.ok && carp.errors[0].reason.startsWith('accept_from is a VRRP key'));
});

function config(name: string, stateDir: string, priority: number, acceptFrom: string) {
  const yaml = `node: ${name}\nstate_dir: ${stateDir}\ninstances:\n  - name: lan\n    interface: eth0\n    vrid: 51\n    priority: ${priority}\n    advert_interval: 300ms\n    addresses: [${VIP}/24]\n${acceptFrom}`;
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

async function withPair(
  acceptFrom: string,
  fn: (o: { inst: (k: number) => InstanceStatus; spoof: (f: Uint8Array) => void; engines: Engine[] }) => Promise<void>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-spoof-'));
  const lan = new FakeLan('sync');
  const drivers = [R1, R2, ATTACKER].map((ip) => {
    const d = new FakeDriver({ links: { eth0: {} } });
    d.addAddress('eth0', `${ip}/24`);
    lan.attach(d, 'eth0');
    return d;
  });
  const engines = [200, 100].map(
    (p, i) =>
      new Engine({
        driver: drivers[i],
        log: createLogger('silent'),
        config: config(`r${i + 1}`, join(dir, `r${i + 1}`), p, acceptFrom),
      }),
  );
  const attacker = drivers[2].openChannel('eth0');
  const inst = (k: number) => engines[k].status().instances[0];
  try {
    for (const e of engines) e.start();
    await until('r1 master, r2 backup', () => inst(0).state === 'master' && inst(1).state === 'backup', 3000);
    await fn({ inst, spoof: (f) => attacker.send(f), engines });
  } finally {
    for (const e of engines) await e.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const advert = (
  src: string,
  priority: number,
  o: { mac?: string; form?: 'pseudo-header' | 'vrrp-only'; vlan?: number } = {},
) =>
  encodeVrrpFrame({
    srcMac: o.mac ?? ATTACKER_MAC,
    family: 4,
    src,
    advert: { version: 3, vrid: 51, priority, maxAdverIntervalCs: 10, addresses: [VIP] },
    checksumForm: o.form ?? 'pseudo-header',
    ...(o.vlan !== undefined ? { vlan: o.vlan } : {}),
  });

test('without accept_from, one spoofed priority-255 advert takes mastership (VRRP has no authentication)', async () => {
  await withPair('', async ({ inst, spoof }) => {
    spoof(advert(ATTACKER, 255));
    await until('r1 gives up', () => inst(0).state === 'backup', 1000);
    assert.is(inst(0).masterIp, ATTACKER);
  });
});

test('with accept_from, a flood of spoofed adverts changes no master; drops counted per reason; CPU bounded', async () => {
  const acceptFrom = `    accept_from:\n      - { address: ${R1}, mac: "${VMAC}" }\n      - { address: ${R2}, mac: "${VMAC}" }\n`;
  await withPair(acceptFrom, async ({ inst, spoof, engines }) => {
    const before = [inst(0), inst(1)];
    const kinds: [string, () => Uint8Array, 'instance' | 'port', string][] = [
      ['priority 255 from the attacker', () => advert(ATTACKER, 255), 'instance', 'source-not-accepted'],
      ['priority 0 from the attacker', () => advert(ATTACKER, 0), 'instance', 'source-not-accepted'],
      ['the other checksum form', () => advert(ATTACKER, 1, { form: 'vrrp-only' }), 'instance', 'source-not-accepted'],
      ["priority 0 as the master's address", () => advert(R1, 0), 'instance', 'source-mac-mismatch'],
      ["priority 255 as the backup's address", () => advert(R2, 255), 'instance', 'source-mac-mismatch'],
      ['tagged, from a listed address and MAC', () => advert(R2, 255, { mac: VMAC, vlan: 7 }), 'port', 'vlan-tagged'],
    ];
    const PER = 2000;
    // Both engines share this one thread (in the daemon each has its own): send in bursts of 120
    // and let timers run in between, as the kernel's capture ring would.
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < PER; i++) {
      for (const [, make] of kinds) spoof(make());
      if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    const cpu = process.cpuUsage(cpu0);
    const usPerFrame = (cpu.user + cpu.system) / (PER * kinds.length);
    await new Promise((r) => setTimeout(r, 300));
    for (const k of [0, 1]) {
      const now = inst(k);
      assert.is(now.state, before[k].state, `r${k + 1} state`);
      assert.is(now.counters.transitions, before[k].counters.transitions, `r${k + 1} transitions`);
      assert.is(now.masterIp, before[k].masterIp, `r${k + 1} master`);
      for (const [what, , where, reason] of kinds) {
        const counts =
          where === 'port' ? engines[k].status().interfaces[0]?.drops : (now.counters.drops as Record<string, number>);
        assert.ok(((counts as Record<string, number>)?.[reason] ?? 0) >= PER, `r${k + 1} ${what}: ${reason}`);
      }
    }
    // Each frame is decoded twice (two engines) and sent once; the bound is loose for a loaded box.
    console.log(`  ${PER * kinds.length} spoofed frames, ${usPerFrame.toFixed(1)} us CPU each (two receivers)`);
    assert.ok(usPerFrame < 500, `${usPerFrame} us per frame`);
    // The real adverts still count: the backup keeps hearing the master.
    const heard = inst(1).counters.advertsReceived;
    await new Promise((r) => setTimeout(r, 800));
    assert.ok(inst(1).counters.advertsReceived >= heard + 2);
  });
});

test.run();
