// Property tests (fast-check): one virtual router fed arbitrary event sequences on a
// non-decreasing clock. Whatever arrives, the machine must keep its own invariants.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { VrrpAdvert } from '../../firmware/core/packet/types.ts';
import { initialState, isStopped, nextDeadline, step } from '../../firmware/core/vrrp/machine.ts';
import { masterDownIntervalCs, skewTimeCs } from '../../firmware/core/vrrp/timers.ts';
import type { VrrpAction, VrrpConfig, VrrpEvent, VrrpState } from '../../firmware/core/vrrp/types.ts';

const OWN = '192.0.2.10';
const VIP = ['192.0.2.100'];
const PRIOS = [0, 1, 50, 100, 150, 254, 255];

const configArb = fc
  .record({
    version: fc.constantFrom(2 as const, 3 as const),
    priority: fc.constantFrom(1, 50, 100, 254, 255),
    advertIntervalCs: fc.constantFrom(10, 100, 300),
    preempt: fc.boolean(),
    preemptDelayMs: fc.constantFrom(0, 0, 500, 5000),
  })
  .map(
    (c): VrrpConfig => ({
      vrid: 5,
      family: 4,
      acceptMode: false,
      addresses: VIP,
      primaryIp: OWN,
      ...c,
      advertIntervalCs: c.version === 2 ? 100 : c.advertIntervalCs,
    }),
  );

const advertArb = (version: 2 | 3) =>
  fc
    .record({
      src: fc.constantFrom('192.0.2.9', '192.0.2.20', '192.0.2.200', OWN),
      priority: fc.constantFrom(...PRIOS),
      interval: fc.constantFrom(10, 100, 100, 250),
      addresses: fc.constantFrom(VIP, VIP, VIP, ['192.0.2.101']),
      vrid: fc.constantFrom(5, 5, 5, 6),
    })
    .map(({ src, priority, interval, addresses, vrid }): VrrpEvent => {
      const advert: VrrpAdvert = {
        version,
        vrid,
        priority,
        maxAdverIntervalCs: version === 2 ? (interval === 10 ? 200 : 100) : interval,
        addresses,
      };
      return { type: 'advert', src, advert };
    });

const eventArb = (version: 2 | 3): fc.Arbitrary<VrrpEvent> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant<VrrpEvent>({ type: 'startup' }) },
    { weight: 1, arbitrary: fc.constant<VrrpEvent>({ type: 'shutdown' }) },
    { weight: 6, arbitrary: fc.constant<VrrpEvent>({ type: 'timer' }) },
    { weight: 6, arbitrary: advertArb(version) },
    { weight: 2, arbitrary: fc.constantFrom(...PRIOS).map((priority): VrrpEvent => ({ type: 'priority', priority })) },
    { weight: 1, arbitrary: fc.constant<VrrpEvent>({ type: 'interface-down' }) },
    { weight: 1, arbitrary: fc.constant<VrrpEvent>({ type: 'interface-up' }) },
  );

const scenarioArb = configArb.chain((config) =>
  fc.record({
    config: fc.constant(config),
    steps: fc.array(fc.tuple(eventArb(config.version), fc.integer({ min: 0, max: 3000 }), fc.boolean()), {
      minLength: 1,
      maxLength: 80,
    }),
  }),
);

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Checks one step; returns the new "holds the addresses" flag. */
function checkStep(
  before: VrrpState,
  e: VrrpEvent,
  now: number,
  after: VrrpState,
  actions: VrrpAction[],
  holding: boolean,
): boolean {
  const trs = actions.filter((a) => a.type === 'transition');
  if (before.name !== after.name) {
    assert.is(trs.length, 1, 'a state change carries exactly one transition');
    assert.equal(trs[0], { ...trs[0], from: before.name, to: after.name });
    assert.is(after.since, now);
  } else {
    assert.is(trs.length, 0, 'no transition without a state change');
    assert.is(after.since, before.since);
  }
  for (const a of actions) {
    if (a.type === 'take-addresses') {
      assert.not.ok(holding, 'take twice');
      holding = true;
    }
    if (a.type === 'release-addresses') {
      assert.ok(holding, 'release without take');
      holding = false;
    }
    if (a.type === 'send-advert') {
      assert.ok(before.name === 'master' || after.name === 'master', 'only a master advertises');
      assert.is(a.maxAdverIntervalCs, after.config.advertIntervalCs);
      if (a.priority === 0) assert.ok(after.handover, 'priority 0 only when handing over');
    }
  }
  assert.is(holding, after.name === 'master', 'addresses held exactly while master');
  if (after.name === 'init' || after.name === 'fault')
    assert.is(nextDeadline(after), undefined, 'no timers in init/fault');
  if (after.name === 'master' && !after.handover) {
    assert.ok(after.effectivePriority > 0, 'never master at priority 0');
    assert.ok(after.adverTimerMs !== undefined, 'a master runs its Adver_Timer');
  }
  if (after.name === 'backup') assert.is(after.adverTimerMs, undefined);
  assert.is(isStopped(after), !after.started && after.name !== 'master');
  // RFC 5798 6.1: the derived values follow the formulas
  assert.is(after.skewTimeCs, skewTimeCs(after.effectivePriority, after.masterAdverIntervalCs, after.config.version));
  assert.is(
    after.masterDownIntervalCs,
    masterDownIntervalCs(after.effectivePriority, after.masterAdverIntervalCs, after.config.version),
  );
  if (e.type === 'timer') {
    const due = nextDeadline(before);
    if (due === undefined || due > now) {
      // early: nothing at all happens
      assert.equal(actions, []);
      assert.is(after, before);
    }
    const d = nextDeadline(after);
    assert.ok(d === undefined || d > now, 'everything due at nowMs fired');
  }
  return holding;
}

test("any event sequence keeps the machine's invariants (and never mutates its input)", () => {
  fc.assert(
    fc.property(scenarioArb, ({ config, steps }) => {
      let now = 1000;
      let s = deepFreeze(initialState(config, now));
      let holding = false;
      for (const [e, dt, snapToDeadline] of steps) {
        now += dt;
        // Half the timer events land exactly on the deadline, as a well-behaved shell's would.
        if (e.type === 'timer' && snapToDeadline) now = Math.max(now, nextDeadline(s) ?? now);
        const r = step(s, e, now);
        holding = checkStep(s, e, now, r.state, r.actions, holding);
        s = deepFreeze(r.state);
      }
    }),
    { numRuns: 3000, seed: 0x5eed },
  );
});

test('a started instance reaches master without peers, and stops after Shutdown (RFC 5798 6.4)', () => {
  fc.assert(
    fc.property(configArb, (config) => {
      let s = step(initialState(config, 0), { type: 'startup' }, 0).state;
      for (let i = 0; i < 3 && s.name !== 'master'; i++) s = step(s, { type: 'timer' }, nextDeadline(s)!).state;
      assert.is(s.name, 'master');
      s = step(s, { type: 'shutdown' }, 100_000).state;
      assert.not.ok(isStopped(s)); // make-before-break: still holding
      s = step(s, { type: 'timer' }, nextDeadline(s)!).state;
      assert.ok(isStopped(s));
      assert.is(nextDeadline(s), undefined);
    }),
    { numRuns: 300, seed: 0x5eed },
  );
});

test.run();
