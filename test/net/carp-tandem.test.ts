// Two tandem routers speaking CARP to each other, over IPv6 (ucarp has no IPv6) and IPv4: the
// election by advskew, a silent failure with ip_carp.c's timing (3 x advbase + advskew/256 s of
// the backup, less up to one master interval), preemption on return, and the last advert of a
// stopping master (advbase/advskew 255) handing over at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, waitFor, sleep } from '../kit/lab.ts';
import type { LabHost } from '../kit/lab.ts';
import { startTandem, stopAll } from '../kit/tandem.ts';
import type { TandemHandle } from '../kit/tandem.ts';

const MARGIN_MS = 1000; // a loaded 2-core machine and the 20 ms status poll
const masterDownMs = (skew: number) => 3000 + (skew * 1000) / 256;
const intervalMs = (skew: number) => 1000 + (skew * 1000) / 256;

function yaml(h: LabHost, family: 4 | 6, advskew: number, macMode: 'none' | 'virtual'): string {
  const vip = family === 6 ? '2001:db8::1/64' : '192.0.2.1/24';
  return [
    '  - name: lan',
    '    protocol: carp',
    `    interface: ${h.ifname}`,
    '    vhid: 9',
    '    advbase: 1',
    `    advskew: ${advskew}`,
    '    passphrase: "both-sides"',
    `    addresses: [${vip}]`,
    `    mac_mode: ${macMode}`,
  ].join('\n');
}

const state = async (t: TandemHandle) => {
  try {
    return (await t.status()).instances[0].state;
  } catch {
    return 'unknown';
  }
};

for (const [family, macMode] of [
  [6, 'none'],
  [4, 'none'],
  [4, 'virtual'],
] as const) {
  test(`IPv${family}, mac_mode ${macMode}: advskew 0 wins over 100; silent failure; preemption; last advert hands over at once`, async () => {
    await withLab({ routers: 2, clients: 0 }, async (lab) => {
      let a: TandemHandle | undefined, b: TandemHandle | undefined;
      try {
        a = await startTandem(lab, lab.routers[0], yaml(lab.routers[0], family, 0, macMode));
        b = await startTandem(lab, lab.routers[1], yaml(lab.routers[1], family, 100, macMode));
        const both = async (x: string, y: string) => (await state(a!)) === x && (await state(b!)) === y;
        assert.ok(await waitFor(() => both('master', 'backup'), 10_000, 20), `election: ${a.output().slice(-1500)}`);
        await sleep(2500);
        assert.ok(await both('master', 'backup'), 'stable');
        const sa = await a.status(),
          sb = await b.status();
        assert.is(sa.instances[0].vrid, 9);
        assert.is(sb.instances[0].masterIp, sa.instances[0].masterIp, 'the backup knows the master');
        assert.is(sb.instances[0].counters.drops['bad-auth'] ?? 0, 0);
        if (macMode === 'virtual') {
          // The master answers from a macvlan with CARP's MAC 00:00:5e:00:01:<vhid> (VHID 9).
          const links = JSON.parse(
            (await lab.exec(lab.routers[0].ns, ['ip', '-j', 'link', 'show', 'type', 'macvlan'])).stdout,
          ) as { ifname: string; address: string; flags: string[] }[];
          const m = links.find((l) => l.ifname.startsWith('cp4.'));
          assert.ok(m, `no CARP macvlan: ${JSON.stringify(links)}`);
          assert.is(m.address, '00:00:5e:00:01:09');
          assert.ok(m.flags.includes('UP'), 'the master has its macvlan up');
        }

        let t0 = Date.now();
        await lab.linkDown(lab.routers[0]);
        assert.ok(await waitFor(() => both('master', 'master'), masterDownMs(100) + 5000, 20), 'takeover');
        const took = Date.now() - t0;
        const lo = masterDownMs(100) - intervalMs(0) - 200,
          hi = masterDownMs(100) + MARGIN_MS;
        assert.ok(took >= lo && took <= hi, `takeover after ${took} ms, want ${Math.round(lo)}..${Math.round(hi)}`);

        await lab.linkUp(lab.routers[0]);
        assert.ok(await waitFor(() => both('master', 'backup'), 10_000, 20), 'preemption on return');

        await sleep(1500);
        t0 = Date.now();
        const stopping = a.stop('SIGTERM');
        assert.ok(await waitFor(async () => (await state(b!)) === 'master', 5000, 10), 'handover');
        const hand = Date.now() - t0;
        await stopping;
        // Without the last advert: at least masterDown(100) - interval(0) = 2.39 s.
        assert.ok(hand < 1000, `handover ${hand} ms after SIGTERM`);
      } finally {
        await stopAll([a, b]);
      }
    });
  });
}

test.run();
