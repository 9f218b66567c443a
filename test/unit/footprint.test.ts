// The footprint work of issue #15: the engine's loop delay from its own timers, the cached
// master advert frame, and the backup's fast path for a repeated advert.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { InstanceConfig } from '../../firmware/config/types.ts';
import { encodeVrrpFrame } from '../../firmware/core/packet/index.ts';
import type { VrrpAdvert } from '../../firmware/core/packet/types.ts';
import { initialState, isPlainRefresh, refreshOnRepeat, step } from '../../firmware/core/vrrp/index.ts';
import type { VrrpConfig, VrrpState } from '../../firmware/core/vrrp/types.ts';
import { AdvertFrameCache } from '../../firmware/engine/advert-frame.ts';
import { RepeatAdverts, repeatKey, sameAdvertFrame } from '../../firmware/engine/repeat-advert.ts';
import { TimerLateness } from '../../firmware/runtime/timer-lateness.ts';

test('TimerLateness: zero before any timer, then percentiles of the lateness in ms', () => {
  const t = new TimerLateness();
  assert.equal(t.summary(), { p50: 0, p99: 0, max: 0 });
  for (let i = 0; i < 99; i++) t.record(0.2);
  t.record(40);
  t.record(-0.5); // early counts as on time
  const s = t.summary();
  assert.ok(s.p50 > 0.19 && s.p50 < 0.21, `p50 ${s.p50}`);
  assert.ok(s.max > 39.9 && s.max < 40.1, `max ${s.max}`);
});

test('AdvertFrameCache: one build while the inputs stay, a new one when any changes', () => {
  const cache = new AdvertFrameCache();
  const cfg = { name: 'a' } as unknown as InstanceConfig;
  let builds = 0;
  const build = () => {
    builds++;
    return new Uint8Array([builds]);
  };
  const f1 = cache.get(cfg, 200, 100, 'pseudo-header', build);
  assert.is(cache.get(cfg, 200, 100, 'pseudo-header', build), f1);
  assert.is(builds, 1);
  assert.is.not(cache.get(cfg, 0, 100, 'pseudo-header', build), f1); // priority 0 on shutdown
  cache.get(cfg, 0, 50, 'pseudo-header', build);
  cache.get(cfg, 0, 50, 'vrrp-only', build);
  cache.get({ ...cfg } as InstanceConfig, 0, 50, 'vrrp-only', build); // reconfigured
  assert.is(builds, 5);
});

const OWN = '192.0.2.10';
const PEER_HI = '192.0.2.20';
const PEER_LO = '192.0.2.9';
const VIPS = ['192.0.2.100'];

function vcfg(over: Partial<VrrpConfig> = {}): VrrpConfig {
  return {
    vrid: 7,
    version: 3,
    family: 4,
    priority: 100,
    advertIntervalCs: 10,
    preempt: true,
    preemptDelayMs: 0,
    acceptMode: false,
    addresses: VIPS,
    primaryIp: OWN,
    ...over,
  };
}
const adv = (priority: number, over: Partial<VrrpAdvert> = {}): VrrpAdvert => ({
  version: 3,
  vrid: 7,
  priority,
  maxAdverIntervalCs: 10,
  addresses: VIPS,
  ...over,
});

test('refreshOnRepeat equals step() for every plain refresh, and isPlainRefresh refuses the rest', () => {
  const cases: { c: VrrpConfig; src: string; a: VrrpAdvert; plain: boolean }[] = [
    { c: vcfg(), src: PEER_HI, a: adv(200), plain: true },
    { c: vcfg(), src: PEER_HI, a: adv(100), plain: true }, // equal priority, higher address
    { c: vcfg({ preempt: false }), src: PEER_LO, a: adv(50), plain: true }, // no preempt: follows a lower master
    { c: vcfg(), src: PEER_HI, a: adv(200, { maxAdverIntervalCs: 25 }), plain: true }, // learns 250 ms
    {
      c: vcfg({ version: 2, advertIntervalCs: 100 }),
      src: PEER_HI,
      a: adv(200, { version: 2, maxAdverIntervalCs: 100 }),
      plain: true,
    },
    { c: vcfg(), src: PEER_LO, a: adv(50), plain: false }, // preempts: becomes master
    { c: vcfg({ preemptDelayMs: 500 }), src: PEER_LO, a: adv(50), plain: false }, // preempt delay runs
    { c: vcfg(), src: PEER_HI, a: adv(0), plain: false }, // priority 0: Skew_Time
    { c: vcfg(), src: PEER_HI, a: adv(200, { addresses: ['192.0.2.101'] }), plain: false }, // dropped
  ];
  for (const { c, src, a, plain } of cases) {
    const t0 = 5000;
    const b = step(initialState(c, t0), { type: 'startup' }, t0).state;
    const r = step(b, { type: 'advert', src, advert: a }, t0 + 10);
    const label = JSON.stringify({ src, a, preempt: c.preempt, delay: c.preemptDelayMs });
    assert.is(isPlainRefresh(r.state, src, t0 + 10), plain, label);
    if (!plain) continue;
    assert.equal(r.actions, [], label);
    let s: VrrpState = r.state;
    // Repeats on time, late (after Master_Down_Interval: a stalled loop read it before the timer).
    for (const t of [t0 + 110, t0 + 210, t0 + 215, t0 + 2000]) {
      const full = step(s, { type: 'advert', src, advert: a }, t);
      assert.equal(full.actions, [], `${label} at ${t}`);
      assert.equal(refreshOnRepeat(s, t), full.state, `${label} at ${t}`);
      assert.ok(isPlainRefresh(full.state, src, t), `${label} at ${t}`);
      s = full.state;
    }
  }
});

function frameOf(a: VrrpAdvert, ipId = 0): Uint8Array {
  return encodeVrrpFrame({ srcMac: '00:00:5e:00:01:07', family: 4, src: PEER_HI, advert: a, ipId });
}

test('repeatKey and sameAdvertFrame: family and VRID at fixed offsets; any byte but the IPv4 ID counts', () => {
  const f = frameOf(adv(200));
  assert.is(repeatKey(f), (4 << 8) | 7);
  const f6 = encodeVrrpFrame({
    srcMac: '00:00:5e:00:02:07',
    family: 6,
    src: 'fe80::1',
    advert: { ...adv(200), addresses: ['2001:db8::1'] },
  });
  assert.is(repeatKey(f6), (6 << 8) | 7);
  assert.is(repeatKey(f.subarray(0, 30)), -1);
  const arp = new Uint8Array(60);
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.is(repeatKey(arp), -1);
  assert.ok(sameAdvertFrame(f, frameOf(adv(200))));
  assert.ok(sameAdvertFrame(frameOf(adv(200), 4242), f), 'another IPv4 Identification, checksum right');
  const badSum = frameOf(adv(200), 4242);
  badSum[24] ^= 0xff;
  assert.not.ok(sameAdvertFrame(badSum, f), 'IPv4 header checksum wrong');
  assert.not.ok(sameAdvertFrame(f, frameOf(adv(199))));
  const ttl = f.slice();
  ttl[22] = 254;
  assert.not.ok(sameAdvertFrame(f, ttl));
});

test('RepeatAdverts: takes an exact repeat while the instance is unchanged, then lets go', () => {
  const repeats = new RepeatAdverts();
  const s0 = { name: 'backup' } as VrrpState;
  let current: VrrpState = s0;
  let heard = 0;
  const target = {
    heardRepeat(expected: VrrpState) {
      if (expected !== current) return undefined;
      heard++;
      current = { ...current };
      return current;
    },
  };
  const f = frameOf(adv(200));
  assert.not.ok(repeats.take(f), 'nothing remembered yet');
  repeats.remember(f, target, s0);
  f[0] ^= 1; // the remembered copy is the caller's frame as it was
  f[0] ^= 1;
  assert.ok(repeats.take(frameOf(adv(200))));
  assert.ok(repeats.take(frameOf(adv(200))));
  assert.not.ok(repeats.take(frameOf(adv(150))), 'another priority takes the full path');
  assert.is(heard, 2);
  current = { name: 'master' } as VrrpState; // something else stepped the machine
  assert.not.ok(repeats.take(frameOf(adv(200))));
  assert.not.ok(repeats.take(frameOf(adv(200))), 'the entry is gone');
  repeats.remember(f, target, current);
  repeats.forget(target);
  assert.not.ok(repeats.take(f));
  assert.is(heard, 2);
});

test.run();
