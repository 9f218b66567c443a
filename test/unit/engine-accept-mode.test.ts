// RFC 5798 6.1 Accept_Mode through the engine and the fake driver: which masters install the
// kernel filter, when it goes, what a failure to install it does, and the crash journal's undo;
// plus the nft script the Linux driver sends and the config rule on the BSDs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeDriver } from '../../drivers/fake.ts';
import { vipFilterRemoveScript, vipFilterScript } from '../../drivers/linux/nft.ts';
import { parseConfig } from '../../firmware/config/index.ts';
import { Journal } from '../../firmware/engine/journal.ts';
import { fakeInstance, stateIn, until, withFakeEngines } from '../kit/fake-engines.ts';

const VIP = '192.0.2.254';
const body = (priority: number, extra: string[] = []) =>
  `instances:\n${fakeInstance({ vrid: 51, priority, vip: VIP, extra })}\n`;

test('accept_mode false: the master filters its VIPs, the backup does not, and a handover moves the filter', async () => {
  await withFakeEngines([body(200, ['accept_mode: false']), body(100, ['accept_mode: false'])], async ([r1, r2]) => {
    await until('r1 master', () => stateIn(r1) === 'master' && stateIn(r2) === 'backup', 3000);
    assert.equal([...r1.driver.vipFilters()], [['vr4_2_51', [VIP]]]);
    assert.is(r2.driver.vipFilters().size, 0, 'a backup filters nothing');
    // The filter is in place before the VIP: no moment where the master accepts.
    const at = (op: string) => r1.driver.calls.findIndex((c) => c.op === op && String(c.args[1]).startsWith(VIP));
    assert.ok(at('set-vip-filter') < at('add-address'));
    r1.engine.maintenance(true);
    await until('r2 master', () => stateIn(r2) === 'master' && stateIn(r1) === 'backup', 3000);
    assert.is(r1.driver.vipFilters().size, 0, 'the old master kept its filter');
    assert.equal([...r2.driver.vipFilters().values()], [[VIP]]);
  });
});

test('accept_mode true (the default) and the address owner (255) install no filter', async () => {
  await withFakeEngines([body(200), body(255, ['accept_mode: false'])], async ([r1, r2]) => {
    await until('r2 (owner) master', () => stateIn(r2) === 'master', 3000);
    assert.is(r2.driver.vipFilters().size, 0, 'RFC 5798 6.1: the owner accepts');
    assert.is(r2.driver.callsOf('set-vip-filter').length, 0);
    assert.is(r1.engine.status().instances[0].acceptMode, true);
  });
  await withFakeEngines([body(200)], async ([r1]) => {
    await until('r1 master', () => stateIn(r1) === 'master', 3000);
    assert.is(r1.driver.callsOf('set-vip-filter').length, 0);
  });
});

test('a master that cannot install its filter goes to fault and the peer takes over', async () => {
  await withFakeEngines(
    [body(200, ['accept_mode: false']), body(100)],
    async ([r1, r2]) => {
      r1.driver.failAlways('set-vip-filter', 'EPERM');
      await until('r2 master', () => stateIn(r2) === 'master', 3000);
      assert.is(stateIn(r1), 'fault');
      assert.ok(r1.events.some((e) => e.reason === 'address-install-failed'));
    },
    { retryMs: 60_000 },
  );
});

test('reload to accept_mode true while master removes the filter in place; back to false puts it back', async () => {
  await withFakeEngines([body(200, ['accept_mode: false'])], async ([r1]) => {
    await until('r1 master', () => stateIn(r1) === 'master', 3000);
    assert.is(r1.driver.vipFilters().size, 1);
    let res = await r1.engine.reload(r1.config(body(200, ['accept_mode: true'])));
    assert.equal(res.kept, ['lan']);
    assert.is(r1.driver.vipFilters().size, 0);
    res = await r1.engine.reload(r1.config(body(200, ['accept_mode: false'])));
    assert.is(r1.driver.vipFilters().size, 1);
    assert.is(r1.engine.status().instances[0].counters.becameMaster, 1, 'no second election');
  });
});

test('stop removes the filter; a crash leftover in the journal is removed at the next start', async () => {
  let driver: FakeDriver | undefined;
  await withFakeEngines([body(200, ['accept_mode: false'])], async ([r1]) => {
    driver = r1.driver;
    await until('r1 master', () => stateIn(r1) === 'master', 3000);
  });
  assert.is(driver!.vipFilters().size, 0);
  assert.equal(driver!.callsOf('remove-vip-filter'), [['vr4_2_51']]);

  const dir = mkdtempSync(join(tmpdir(), 'tandem-journal-'));
  try {
    const j = new Journal(dir);
    j.recordFilter('vr4_2_51');
    const left = new Journal(dir).leftovers()!;
    assert.equal(left.filters, ['vr4_2_51']);
    const removed: string[] = [];
    const errors = Journal.undo(left, {
      setMac: () => {},
      removeAddress: () => {},
      deleteLink: () => {},
      removeClusterDataPath: () => {},
      setInterfaceSetting: () => {},
      removeVipFilter: (n) => removed.push(n),
    });
    assert.equal(errors, []);
    assert.equal(removed, ['vr4_2_51']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the nft script: own table, input hook, IPv4 drop; IPv6 lets Neighbor Discovery through first', () => {
  const v4 = vipFilterScript('vr4_2_51', ['192.0.2.254', '192.0.2.253']);
  assert.match(v4, /^add table inet tandem_accept$/m);
  assert.match(v4, /add chain inet tandem_accept vr4_2_51 \{ type filter hook input priority -10; policy accept; \}/);
  assert.match(v4, /add rule inet tandem_accept vr4_2_51 ip daddr \{ 192\.0\.2\.254, 192\.0\.2\.253 \} drop/);
  assert.not.match(v4, /ip6/);
  const v6 = vipFilterScript('vr6_2_51', ['fe80::51', '2001:db8::51']).split('\n');
  const nd = v6.findIndex((l) => l.includes('nd-neighbor-solicit, nd-neighbor-advert } accept'));
  const drop = v6.findIndex((l) => /ip6 daddr \{ fe80::51, 2001:db8::51 \} drop/.test(l));
  assert.ok(nd > 0 && drop > nd, 'ND must be accepted before the drop');
  assert.match(vipFilterRemoveScript('vr4_2_51', false), /delete chain inet tandem_accept vr4_2_51/);
  assert.match(vipFilterRemoveScript('vr4_2_51', true), /delete table inet tandem_accept/);
  assert.throws(() => vipFilterScript('x; flush ruleset', ['192.0.2.1']), /not a valid filter name/);
});

test('config: accept_mode defaults to true; false is an error on the BSDs, where no filter is driven', () => {
  const text = 'instances:\n  - { name: a, interface: eth0, vrid: 1, addresses: [192.0.2.10] }\n';
  const r = parseConfig(text, 'a.yaml', { hostname: 'h', platform: 'linux', probe: () => 'ok' });
  assert.ok(r.ok && r.config.instances[0].acceptMode === true);
  const strict = 'instances:\n  - { name: a, interface: eth0, vrid: 1, accept_mode: false, addresses: [192.0.2.10] }\n';
  for (const platform of ['netbsd', 'freebsd', 'openbsd']) {
    const b = parseConfig(strict, 'b.yaml', { hostname: 'h', platform, probe: () => 'ok' });
    assert.not.ok(b.ok, platform);
    if (!b.ok) assert.match(b.errors.map((e) => e.reason).join('\n'), /accept_mode: false needs a packet filter/);
  }
  assert.ok(parseConfig(strict, 'c.yaml', { hostname: 'h', platform: 'linux', probe: () => 'ok' }).ok);
});

test.run();
