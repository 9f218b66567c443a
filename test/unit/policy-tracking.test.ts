// The pure tracking policy (firmware/core/policy/tracking.ts): fault verdict, effective priority
// and sync-group holds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { syncGroupHolds, type TrackingInputs, trackingVerdict } from '../../firmware/core/policy/tracking.ts';

const base: TrackingInputs = {
  configuredPriority: 100,
  ownCarrier: true,
  tracked: [],
  maintenance: false,
  groupHold: false,
};

test('nothing tracked: the configured priority, no fault', () => {
  assert.equal(trackingVerdict(base), { fault: false, effectivePriority: 100 });
});

test('carrier loss on the own interface is a fault', () => {
  assert.is(trackingVerdict({ ...base, ownCarrier: false }).fault, true);
});

test('an action the shell could not do (VIPs, adverts) is a fault, even for the address owner', () => {
  assert.is(trackingVerdict({ ...base, actionFault: true }).fault, true);
  assert.is(trackingVerdict({ ...base, configuredPriority: 255, actionFault: true }).fault, true);
});

test('a tracked thing without a weight is a fault only while down', () => {
  assert.is(trackingVerdict({ ...base, tracked: [{ down: false }] }).fault, false);
  assert.is(trackingVerdict({ ...base, tracked: [{ down: true }] }).fault, true);
});

test("keepalived's rule: a negative weight counts while down, a positive one while up; sums clamp to 1..254", () => {
  const down = (weight: number) => ({ down: true, weight });
  const up = (weight: number) => ({ down: false, weight });
  assert.is(trackingVerdict({ ...base, tracked: [down(-30), down(-20), up(-50)] }).effectivePriority, 50);
  assert.is(trackingVerdict({ ...base, tracked: [up(20), down(20)] }).effectivePriority, 120);
  assert.is(trackingVerdict({ ...base, tracked: [up(20), down(-20)] }).effectivePriority, 100);
  assert.is(trackingVerdict({ ...base, tracked: [down(-200)] }).effectivePriority, 1);
  assert.is(trackingVerdict({ ...base, tracked: [up(200)] }).effectivePriority, 254);
  assert.is(trackingVerdict({ ...base, tracked: [down(200), up(-200)] }).effectivePriority, 100);
});

test('the address owner keeps 255 whatever the weights; only a fault moves it', () => {
  const owner = { ...base, configuredPriority: 255 };
  assert.equal(trackingVerdict({ ...owner, tracked: [{ down: true, weight: -100 }] }), {
    fault: false,
    effectivePriority: 255,
  });
  assert.is(trackingVerdict({ ...owner, ownCarrier: false }).fault, true);
});

test('set-priority replaces the configured priority before weights apply', () => {
  assert.is(
    trackingVerdict({ ...base, priorityOverride: 200, tracked: [{ down: true, weight: -10 }] }).effectivePriority,
    190,
  );
});

test('maintenance and a sync-group hold hand over with priority 0', () => {
  assert.is(trackingVerdict({ ...base, maintenance: true }).effectivePriority, 0);
  assert.is(trackingVerdict({ ...base, groupHold: true }).effectivePriority, 0);
  assert.is(trackingVerdict({ ...base, configuredPriority: 255, maintenance: true }).effectivePriority, 0);
});

test('a fault in one sync-group member holds the others, not itself', () => {
  const holds = syncGroupHolds([{ instances: ['a', 'b', 'c'] }], (n) => n === 'b');
  assert.equal(Object.fromEntries(holds), { a: true, b: false, c: true });
});

test('no fault, no hold; a member of two groups is held when either has a fault', () => {
  const groups = [{ instances: ['a', 'b'] }, { instances: ['b', 'c'] }];
  assert.equal(Object.fromEntries(syncGroupHolds(groups, () => false)), { a: false, b: false, c: false });
  assert.equal(Object.fromEntries(syncGroupHolds(groups, (n) => n === 'c')), { a: false, b: true, c: false });
});

test.run();
