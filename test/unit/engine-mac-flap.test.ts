// A MAC change re-initialises many NICs (NetBSD sys/net/link_proto.c 1.40 calls if_init after
// if_activate_sadl; FreeBSD and OpenBSD cycle the interface; some Linux drivers reset the PHY),
// which shows as a carrier flap. The engine expects the flap that its own change causes: a short
// loss right after it is no fault, a loss that outlasts the grace is one, and a loss with no MAC
// change is a fault at once. A fake NIC that drops its carrier for 300 ms on every MAC change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FakeDriver } from '../../drivers/fake.ts';
import { fakeInstance, stateIn, until, withFakeEngines } from '../kit/fake-engines.ts';

const GRACE_MS = 1000;
const body = `instances:\n${fakeInstance({ vrid: 51, priority: 200, vip: '192.0.2.254', extra: ['mac_mode: move'] })}\n`;

/** Every setMac on eth0 drops the carrier for `downMs` (forever when undefined), as a NIC reset. */
function flapOnMacChange(driver: FakeDriver, downMs?: number): void {
  const setMac = driver.setMac.bind(driver);
  driver.setMac = (ifname, mac, o) => {
    setMac(ifname, mac, o);
    if (ifname !== 'eth0') return;
    driver.setCable('eth0', false);
    if (downMs !== undefined) setTimeout(() => driver.setCable('eth0', true), downMs);
  };
}

test('a 300 ms carrier flap caused by our own MAC change is not a fault', async () => {
  await withFakeEngines(
    [body],
    async ([r1]) => {
      flapOnMacChange(r1.driver, 300);
      await until('r1 master', () => stateIn(r1) === 'master', 3000);
      assert.is(r1.driver.getMac('eth0'), '00:00:5e:00:01:33', 'the virtual MAC is in place');
      const end = Date.now() + GRACE_MS + 300;
      while (Date.now() < end) {
        assert.is(stateIn(r1), 'master', 'the flap was taken for a fault');
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.not.ok(r1.events.some((e) => e.reason === 'carrier-down'));
    },
    { macFlapGraceMs: GRACE_MS },
  );
});

test('a carrier that stays down after our MAC change is a fault once the grace ends', async () => {
  await withFakeEngines(
    [body],
    async ([r1]) => {
      flapOnMacChange(r1.driver);
      await until('r1 master', () => stateIn(r1) === 'master', 3000);
      const t0 = Date.now();
      await until('r1 fault', () => stateIn(r1) === 'fault', GRACE_MS + 1000);
      assert.ok(Date.now() - t0 >= GRACE_MS - 100, `fault after ${Date.now() - t0} ms, inside the grace`);
      assert.ok(r1.events.some((e) => e.reason === 'carrier-down'));
    },
    { macFlapGraceMs: GRACE_MS },
  );
});

test('a carrier loss with no MAC change of ours is a fault at once', async () => {
  await withFakeEngines(
    [body],
    async ([r1]) => {
      await until('r1 master', () => stateIn(r1) === 'master', 3000);
      await new Promise((r) => setTimeout(r, GRACE_MS + 100)); // the grace of the change to master is over
      r1.driver.setCable('eth0', false);
      const ms = await until('r1 fault', () => stateIn(r1) === 'fault', 500);
      assert.ok(ms < 200, `fault after ${ms} ms`);
    },
    { macFlapGraceMs: GRACE_MS },
  );
});

test.run();
