// The CARP election, one (state, event) per test, each citing the ip_carp.c behaviour it checks
// (OpenBSD sys/netinet/ip_carp.c: carp_setrun, carp_master_down, carp_input_c, carp_send_ad).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  carpInitialState,
  carpIsStopped,
  carpNextDeadline,
  carpStep,
  carpReconfigure,
  type CarpAction,
  type CarpConfig,
  type CarpState,
} from '../../firmware/core/carp/index.ts';
import type { CarpAdvert } from '../../firmware/core/packet/types.ts';

const cfg = (o: Partial<CarpConfig> = {}): CarpConfig => ({
  vhid: 7,
  family: 4,
  advbase: 1,
  advskew: 100,
  preempt: false,
  addresses: ['192.0.2.100'],
  primaryIp: '192.0.2.2',
  ...o,
});
const adv = (advbase: number, advskew: number, demote = 0): CarpAdvert => ({
  vhid: 7,
  advbase,
  advskew,
  demote,
  counter: 1n,
  md: new Uint8Array(20),
});
const types = (a: CarpAction[]) => a.map((x) => (x.type === 'transition' ? `${x.to}:${x.reason}` : x.type));

function backup(o: Partial<CarpConfig> = {}, t = 0): CarpState {
  return carpStep(carpInitialState(cfg(o), t), { type: 'startup' }, t).state;
}
function master(o: Partial<CarpConfig> = {}): CarpState {
  const b = backup(o);
  return carpStep(b, { type: 'timer' }, carpNextDeadline(b)!).state;
}

test('startup: init -> backup, master-down timer = 3 x advbase + advskew/256 of our own config (carp_setrun BACKUP)', () => {
  const r = carpStep(carpInitialState(cfg(), 1000), { type: 'startup' }, 1000);
  assert.equal(types(r.actions), ['backup:startup']);
  assert.is(r.state.name, 'backup');
  assert.is(carpNextDeadline(r.state), 1000 + 3000 + (100 * 1000) / 256);
});

test('advbase 0: master-down interval is 3 x advskew/256 s (carp_setrun BACKUP)', () => {
  const b = backup({ advbase: 0, advskew: 64 });
  assert.is(carpNextDeadline(b), (3 * 64 * 1000) / 256);
});

test('backup, timer early: nothing; at the deadline: master, take, advertise, announce (carp_master_down)', () => {
  const b = backup();
  const due = carpNextDeadline(b)!;
  assert.equal(carpStep(b, { type: 'timer' }, due - 1).actions, []);
  const r = carpStep(b, { type: 'timer' }, due);
  assert.equal(types(r.actions), ['master:master-down-timer', 'take-addresses', 'send-advert', 'announce']);
  assert.equal(r.actions[2], { type: 'send-advert', advbase: 1, advskew: 100, demote: 0 });
  assert.is(carpNextDeadline(r.state), due + 1000 + (100 * 1000) / 256);
});

test('master, adver timer: advertise and re-arm every advbase + advskew/256 (carp_send_ad)', () => {
  const m = master();
  const due = carpNextDeadline(m)!;
  const r = carpStep(m, { type: 'timer' }, due);
  assert.equal(types(r.actions), ['send-advert']);
  assert.is(carpNextDeadline(r.state), due + 1000 + (100 * 1000) / 256);
});

test('backup hears a master: re-arms the master-down timer, records the master (carp_input_c BACKUP)', () => {
  const b = backup();
  const r = carpStep(b, { type: 'advert', src: '192.0.2.1', advert: adv(1, 0) }, 2000);
  assert.equal(r.actions, []);
  assert.is(r.state.masterIp, '192.0.2.1');
  assert.is(carpNextDeadline(r.state), 2000 + 3000 + (100 * 1000) / 256);
});

test('backup without preempt does not take over a slower master (carp_input_c: preempt is opt-in)', () => {
  const r = carpStep(backup({ advskew: 0 }), { type: 'advert', src: '192.0.2.1', advert: adv(1, 200) }, 10);
  assert.is(r.state.name, 'backup');
});

test('backup with preempt takes over a slower, not less demoted master at once (carp_input_c)', () => {
  const b = backup({ advskew: 0, preempt: true });
  const r = carpStep(b, { type: 'advert', src: '192.0.2.1', advert: adv(1, 200) }, 10);
  assert.equal(types(r.actions), ['master:preempt', 'take-addresses', 'send-advert', 'announce']);
  const lessDemoted = carpStep(
    carpStep(b, { type: 'demote', demote: 2 }, 5).state,
    { type: 'advert', src: '192.0.2.1', advert: adv(1, 200, 1) },
    10,
  );
  assert.is(lessDemoted.state.name, 'backup');
});

test('backup takes over a more demoted master even without preempt (carp_input_c)', () => {
  const r = carpStep(backup({ advskew: 200 }), { type: 'advert', src: '192.0.2.1', advert: adv(1, 0, 1) }, 10);
  assert.equal(types(r.actions).slice(0, 1), ['master:demoted-master']);
});

test("backup takes over a master whose interval exceeds its master-down interval: ucarp's last advert (255/255)", () => {
  const r = carpStep(backup(), { type: 'advert', src: '192.0.2.1', advert: adv(255, 255) }, 10);
  assert.equal(types(r.actions).slice(0, 1), ['master:master-leaving']);
  const slowButOk = carpStep(backup({ advbase: 2 }), { type: 'advert', src: '192.0.2.1', advert: adv(5, 0) }, 10);
  assert.is(slowButOk.state.name, 'backup');
});

test('master steps down to a more frequent master and releases (carp_input_c MASTER)', () => {
  const r = carpStep(master(), { type: 'advert', src: '192.0.2.9', advert: adv(1, 50) }, 5000);
  assert.equal(types(r.actions), ['backup:preferred-master', 'release-addresses']);
  assert.is(r.state.masterIp, '192.0.2.9');
  assert.is(carpNextDeadline(r.state), 5000 + 3000 + (100 * 1000) / 256);
});

test('master steps down to a less demoted master whatever its interval (carp_input_c MASTER)', () => {
  const m = carpStep(master({ advskew: 0 }), { type: 'demote', demote: 1 }, 4000).state;
  const r = carpStep(m, { type: 'advert', src: '192.0.2.9', advert: adv(1, 250, 0) }, 5000);
  assert.is(r.state.name, 'backup');
});

test('master keeps the role against a slower master and answers it with an advert', () => {
  const r = carpStep(master(), { type: 'advert', src: '192.0.2.1', advert: adv(1, 200) }, 5000);
  assert.is(r.state.name, 'master');
  assert.equal(types(r.actions), ['send-advert', 'announce']);
});

test('master, equal interval and demotion: the lower address stays master (ucarp; ip_carp.c steps down)', () => {
  const lower = carpStep(master(), { type: 'advert', src: '192.0.2.1', advert: adv(1, 100) }, 5000);
  assert.is(lower.state.name, 'backup');
  const higher = carpStep(master(), { type: 'advert', src: '192.0.2.3', advert: adv(1, 100) }, 5000);
  assert.is(higher.state.name, 'master');
});

test('demotion raises the advskew sent and compared to 240 and is advertised at once (ip_carp.c)', () => {
  const r = carpStep(master({ advskew: 10 }), { type: 'demote', demote: 1 }, 4000);
  assert.equal(r.actions, [{ type: 'send-advert', advbase: 1, advskew: 240, demote: 1 }]);
  const keep = carpStep(master({ advskew: 250 }), { type: 'demote', demote: 1 }, 4000);
  assert.equal(keep.actions, [{ type: 'send-advert', advbase: 1, advskew: 250, demote: 1 }]);
  assert.equal(carpStep(r.state, { type: 'demote', demote: 1 }, 4001).actions, []);
});

test('shutdown as master: last advert 255/255, release, init, stopped', () => {
  const r = carpStep(master(), { type: 'shutdown' }, 9000);
  assert.equal(types(r.actions), ['init:shutdown', 'send-advert', 'release-addresses']);
  assert.equal(r.actions[1], { type: 'send-advert', advbase: 255, advskew: 255, demote: 0 });
  assert.ok(carpIsStopped(r.state));
  assert.is(carpNextDeadline(r.state), undefined);
});

test('shutdown as backup: init, no advert; twice: ignored', () => {
  const r = carpStep(backup(), { type: 'shutdown' }, 9000);
  assert.equal(types(r.actions), ['init:shutdown']);
  assert.equal(types(carpStep(r.state, { type: 'shutdown' }, 9001).actions), ['drop']);
});

test('interface down as master: fault and release; up again: backup with a fresh timer', () => {
  const d = carpStep(master(), { type: 'interface-down' }, 100);
  assert.equal(types(d.actions), ['fault:interface-down', 'release-addresses']);
  assert.is(carpNextDeadline(d.state), undefined);
  const u = carpStep(d.state, { type: 'interface-up' }, 200);
  assert.equal(types(u.actions), ['backup:interface-up']);
  assert.is(carpNextDeadline(u.state), 200 + 3000 + (100 * 1000) / 256);
});

test('adverts in init and fault are ignored and counted', () => {
  const i = carpInitialState(cfg(), 0);
  assert.equal(types(carpStep(i, { type: 'advert', src: '192.0.2.1', advert: adv(1, 0) }, 1).actions), ['drop']);
  const f = carpStep(backup(), { type: 'interface-down' }, 1).state;
  assert.equal(types(carpStep(f, { type: 'advert', src: '192.0.2.1', advert: adv(1, 0) }, 2).actions), ['drop']);
});

test('reconfigure keeps the state and re-arms with the new timing', () => {
  const r = carpReconfigure(master(), cfg({ advbase: 2, advskew: 0 }), 7000);
  assert.is(r.state.name, 'master');
  assert.is(carpNextDeadline(r.state), 9000);
  assert.is(r.state.masterAdverIntervalCs, 200);
});

test.run();
