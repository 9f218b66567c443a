// Skew_Time and Master_Down_Interval against numbers worked out by hand. Rounding is floor to
// whole centiseconds (see firmware/core/vrrp/timers.ts for why).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { masterDownIntervalCs, skewTimeCs, csToMs } from '../../firmware/core/vrrp/timers.ts';

// RFC 5798 6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256 cs.
test('v3 priority 100, interval 100 cs: Skew 156*100/256 = 60.94 -> 60 cs, Down 3*100+60 = 360 cs', () => {
  assert.is(skewTimeCs(100, 100, 3), 60);
  assert.is(masterDownIntervalCs(100, 100, 3), 360);
});

test('v3 is the default version of the helpers', () => {
  assert.is(skewTimeCs(100, 100), 60);
  assert.is(masterDownIntervalCs(100, 100), 360);
});

test('v3 hand-worked table (RFC 5798 6.1)', () => {
  const rows: Array<[prio: number, intervalCs: number, skew: number, down: number]> = [
    [255, 100, 0, 300], // 1*100/256 = 0.39
    [254, 100, 0, 300], // 2*100/256 = 0.78
    [1, 100, 99, 399], // 255*100/256 = 99.61
    [0, 100, 100, 400], // priority 0: 256/256 = one whole interval
    [200, 1000, 218, 3218], // 56*1000/256 = 218.75
    [100, 4095, 2495, 14780], // 156*4095/256 = 2495.39; 3*4095 = 12285
    [150, 1, 0, 3], // 106/256 = 0.41: 10 ms adverts leave no room for skew
    [128, 256, 128, 896], // exact: 128*256/256
  ];
  for (const [p, i, skew, down] of rows) {
    assert.is(skewTimeCs(p, i, 3), skew, `skew p=${p} i=${i}`);
    assert.is(masterDownIntervalCs(p, i, 3), down, `down p=${p} i=${i}`);
  }
});

// RFC 3768 6.1: Skew_Time = (256 - Priority) / 256 seconds, independent of the interval.
test('v2 hand-worked table (RFC 3768 6.1)', () => {
  const rows: Array<[prio: number, intervalCs: number, skew: number, down: number]> = [
    [100, 100, 60, 360], // 156/256 s = 0.609 s
    [100, 300, 60, 960], // 3 s adverts: 900 + the same 60 cs skew
    [254, 100, 0, 300], // 2/256 s = 0.0078 s
    [1, 100, 99, 399], // 255/256 s = 0.996 s
    [255, 500, 0, 1500],
  ];
  for (const [p, i, skew, down] of rows) {
    assert.is(skewTimeCs(p, i, 2), skew, `skew p=${p} i=${i}`);
    assert.is(masterDownIntervalCs(p, i, 2), down, `down p=${p} i=${i}`);
  }
});

test('Skew_Time never grows with priority, so a better backup never waits longer (RFC 5798 6.1)', () => {
  for (const v of [2, 3] as const) {
    for (const i of [1, 7, 100, 333, 4095]) {
      let prev = Infinity;
      for (let p = 0; p <= 255; p++) {
        const s = skewTimeCs(p, i, v);
        assert.ok(s <= prev, `v${v} i=${i} p=${p}`);
        const exact = v === 3 ? ((256 - p) * i) / 256 : ((256 - p) * 100) / 256;
        assert.ok(s <= exact && s > exact - 1, `floor of ${exact}`);
        prev = s;
      }
    }
  }
});

test('centiseconds convert to the shell clock in ms', () => {
  assert.is(csToMs(360), 3600);
  assert.is(csToMs(0), 0);
});

test.run();
