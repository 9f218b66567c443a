// What the engine asks the driver to capture: VRRP (and CARP: IP protocol 112) on every interface
// with an instance, HSRP's UDP port and groups only where an HSRP instance runs (a reload that
// adds one opens it then).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PacketChannelOptions } from '../../drivers/types.ts';
import { fakeInstance, stateIn, until, withFakeEngines } from '../kit/fake-engines.ts';

const vrrp = `instances:\n${fakeInstance({ vrid: 51, priority: 200, vip: '192.0.2.254' })}\n`;
const hsrp = [
  '  - name: hot',
  '    protocol: hsrp',
  '    interface: eth0',
  '    version: 2',
  '    group: 300',
  '    priority: 150',
  '    hello_time: 100ms',
  '    hold_time: 300ms',
  '    addresses: [192.0.2.253]',
].join('\n');

const opened = (calls: unknown[][]) => calls.map((c) => c[1] as PacketChannelOptions);

test('VRRP only: one capture, no HSRP port or groups; adding an HSRP instance by reload opens its capture', async () => {
  await withFakeEngines([vrrp], async ([r1]) => {
    await until('master', () => stateIn(r1) === 'master', 3000);
    const before = opened(r1.driver.callsOf('open-channel'));
    assert.is(before.length, 1);
    assert.ok(!before[0].hsrp, 'no HSRP capture without an HSRP instance');
    const res = await r1.engine.reload(r1.config(`${vrrp}${hsrp}\n`));
    assert.ok(res.ok, JSON.stringify(res.errors));
    const after = opened(r1.driver.callsOf('open-channel'));
    assert.is(after.length, 2);
    assert.equal({ vrrp: after[1].vrrp, hsrp: after[1].hsrp }, { vrrp: false, hsrp: true });
    await until(
      'the HSRP instance active',
      () => r1.engine.status().instances.some((i) => i.name === 'hot' && i.state === 'master'),
      3000,
    );
  });
});

test.run();
