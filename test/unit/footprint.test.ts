// The footprint work of issue #15: the engine's loop delay from its own timers, the cached
// master advert frame, and the backup's fast path for a repeated advert.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { InstanceConfig } from '../../firmware/config/types.ts';
import { AdvertFrameCache } from '../../firmware/engine/advert-frame.ts';
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

test.run();
