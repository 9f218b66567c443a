// BPF hands a channel the frames it sent itself (bpfopen() sets bd_seesent = 1, NetBSD
// sys/net/bpf.c 1.191); a Linux packet socket does not. The fake driver does the same per OS, so
// this checks that a BSD master's own adverts coming back are expected, not counted as drops,
// while on Linux a frame from our own address still is one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FakeChannel } from '../../drivers/fake.ts';
import { fakeInstance, stateIn, until, withFakeEngines } from '../kit/fake-engines.ts';

const body = (priority: number) => `instances:\n${fakeInstance({ vrid: 51, priority, vip: '192.0.2.254' })}\n`;

test('netbsd: a master reads its own adverts back through BPF and counts no drop for them', async () => {
  await withFakeEngines(
    [body(200), body(100)],
    async ([r1, r2]) => {
      await until('r1 master', () => stateIn(r1) === 'master' && stateIn(r2) === 'backup', 3000);
      const ch = r1.driver.openChannels('eth0')[0] as FakeChannel;
      const echoed0 = ch.echoed;
      await until('several adverts echoed', () => ch.echoed >= echoed0 + 3, 2000);
      const drops = r1.engine.status().instances[0].counters.drops;
      assert.is(drops['own-packet'] ?? 0, 0, JSON.stringify(drops));
    },
    { os: 'netbsd' },
  );
});

test('linux: a packet socket hands nothing back, so a frame from our own address is counted', async () => {
  await withFakeEngines([body(200), body(100)], async ([r1, r2]) => {
    await until('r1 master', () => stateIn(r1) === 'master' && stateIn(r2) === 'backup', 3000);
    const ch = r1.driver.openChannels('eth0')[0] as FakeChannel;
    assert.is(ch.echoed, 0);
    // Our own advert (IPv4, protocol 112), as another box using our address would send it.
    const advert = ch.sent.filter((f) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 112).pop();
    assert.ok(advert && ch.deliver(advert));
    const drops = r1.engine.status().instances[0].counters.drops;
    assert.is(drops['own-packet'], 1, JSON.stringify(drops));
  });
});

test.run();
