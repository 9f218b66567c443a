// The VRRP machine's `master-down-detected` event (tandem's, fed by BFD): in Backup, following the
// master named, it does what RFC 5798 6.4.2 does when the Master_Down_Timer fires; in every other
// case it changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { VrrpAdvert } from '../../firmware/core/packet/types.ts';
import { initialState, step } from '../../firmware/core/vrrp/machine.ts';
import type { VrrpConfig, VrrpEvent, VrrpState } from '../../firmware/core/vrrp/types.ts';

const T0 = 1_000_000;
const OWN = '192.0.2.10';
const MASTER = '192.0.2.20';
const VIP = ['192.0.2.100'];
const cfg = (over: Partial<VrrpConfig> = {}): VrrpConfig => ({
  vrid: 7,
  version: 3,
  family: 4,
  priority: 100,
  advertIntervalCs: 10,
  preempt: true,
  preemptDelayMs: 0,
  acceptMode: false,
  addresses: VIP,
  primaryIp: OWN,
  ...over,
});
const adv = (priority: number): VrrpAdvert => ({
  version: 3,
  vrid: 7,
  priority,
  maxAdverIntervalCs: 10,
  addresses: VIP,
});
const detected = (ip = MASTER): VrrpEvent => ({ type: 'master-down-detected', masterIp: ip });

function following(c = cfg()): VrrpState {
  const b = step(initialState(c, T0), { type: 'startup' }, T0).state;
  const s = step(b, { type: 'advert', src: MASTER, advert: adv(200) }, T0 + 5).state;
  assert.is(s.masterIp, MASTER);
  return s;
}

test('Backup following the master: becomes master at once, as the Master_Down_Timer would (RFC 5798 6.4.2)', () => {
  const s = following();
  const r = step(s, detected(), T0 + 20);
  assert.is(r.state.name, 'master');
  assert.is(r.state.since, T0 + 20);
  assert.ok(r.state.masterDownTimerMs === undefined);
  assert.equal(r.actions, [
    { type: 'transition', from: 'backup', to: 'master', reason: 'master-down-detected' },
    { type: 'take-addresses' },
    { type: 'send-advert', priority: 100, maxAdverIntervalCs: 10 },
    { type: 'announce' },
  ]);
  // Well before Master_Down_Interval (3 x 100 ms + skew) would have run out.
  assert.ok(s.masterDownTimerMs! > T0 + 300);
});

test('the same address in another spelling still names the master (IPv6 compare by value)', () => {
  const c = cfg({ family: 6, addresses: ['2001:db8::100'], primaryIp: '2001:db8::10' });
  const b = step(initialState(c, T0), { type: 'startup' }, T0).state;
  const a = { ...adv(200), addresses: ['2001:db8::100'] };
  const s = step(b, { type: 'advert', src: '2001:db8::20', advert: a }, T0 + 5).state;
  assert.is(step(s, detected('2001:DB8:0:0::20'), T0 + 6).state.name, 'master');
});

test('another address than the master we follow: ignored', () => {
  const s = following();
  const r = step(s, detected('192.0.2.30'), T0 + 20);
  assert.is(r.state, s);
  assert.is(r.actions[0].type, 'drop');
});

test('Backup that has heard no master yet: ignored (VRRP timing as without BFD)', () => {
  const b = step(initialState(cfg(), T0), { type: 'startup' }, T0).state;
  const r = step(b, detected(), T0 + 1);
  assert.is(r.state, b);
});

test('priority 0 never becomes master, also not through the detector', () => {
  const s = step(following(), { type: 'priority', priority: 0 }, T0 + 6).state;
  assert.is(step(s, detected(), T0 + 7).state.name, 'backup');
});

test('Master, Initialize and Fault ignore it', () => {
  const m = step(following(), detected(), T0 + 20).state;
  assert.is(step(m, detected(), T0 + 21).state, m);
  const i = initialState(cfg(), T0);
  assert.is(step(i, detected(), T0).state, i);
  const f = step(following(), { type: 'interface-down' }, T0 + 8).state;
  assert.is(step(f, detected(), T0 + 9).state, f);
});

test.run();
