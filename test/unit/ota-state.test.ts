import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideBoot, emptyState, reconcile, type OtaState } from '../../ota/state.ts';

const info = (version: string, rollbackIndex: number) => ({
  version,
  rollbackIndex,
  bundleSha256: null,
  installedAt: 'T',
  target: { os: 'linux', arch: 'x64' },
});
const trial = (bootCount: number): OtaState => ({
  ...emptyState(),
  active: 'b',
  previous: 'a',
  pending: true,
  bootCount,
  slots: { a: info('1.0.0', 1), b: info('2.0.0', 2) },
  rollbackIndex: 1,
});

test('a confirmed slot boots as confirmed and is not counted', () => {
  const s = { ...emptyState(), active: 'a' as const, slots: { a: info('1.0.0', 1), b: null } };
  const r = decideBoot(s, 'boot1', 2);
  assert.equal(r.decision, { decision: 'confirmed', slot: 'a', version: '1.0.0' });
  assert.is(r.state.bootCount, 0);
  assert.is(r.rollbackTo, null);
});

test('a trial gets maxBoots starts, the next one rolls back to the previous slot', () => {
  let s = trial(0);
  const seen: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const r = decideBoot(s, `boot${i}`, 2);
    seen.push(r.decision.decision);
    s = r.state;
  }
  assert.equal(seen, ['trial', 'trial', 'rolled-back']);
  assert.equal([s.active, s.previous, s.pending, s.bootCount], ['a', 'b', false, 0]);
  const d = s.lastDecision;
  assert.ok(d && d.decision === 'rolled-back' && d.failedVersion === '2.0.0' && d.version === '1.0.0');
  assert.is(s.rollbackIndex, 1); // a failed trial never raises the anti-rollback floor
});

test('the same boot id asked twice (launcher, then daemon) counts once', () => {
  const a = decideBoot(trial(0), 'same', 2);
  const b = decideBoot(a.state, 'same', 2);
  assert.equal(b.decision, a.decision);
  assert.is(b.state.bootCount, 1);
});

test('with no previous slot a trial is never rolled back into nothing', () => {
  const s = { ...trial(5), previous: null };
  assert.is(decideBoot(s, 'x', 2).decision.decision, 'trial');
});

test('nothing installed decides none', () => {
  assert.is(decideBoot(emptyState(), 'x', 2).decision.decision, 'none');
});

test('reconcile: killed after the link switch finishes the switch on trial', () => {
  const s: OtaState = { ...emptyState(), active: 'a', staged: 'b', slots: { a: info('1', 1), b: info('2', 2) } };
  const r = reconcile(s, 'b', 'T');
  assert.equal([r.state.active, r.state.previous, r.state.pending, r.state.staged], ['b', 'a', true, null]);
  assert.ok(r.note);
});

test('reconcile: killed before the link switch abandons the staged slot', () => {
  const s: OtaState = { ...emptyState(), active: 'a', staged: 'b', slots: { a: info('1', 1), b: info('2', 2) } };
  const r = reconcile(s, 'a', 'T');
  assert.equal(
    [r.state.active, r.state.pending, r.state.staged, r.state.lastResult?.reason],
    ['a', false, null, 'interrupted'],
  );
});

test('reconcile: link already back on the previous slot finishes a rollback', () => {
  const r = reconcile(trial(2), 'a', 'T');
  assert.equal([r.state.active, r.state.previous, r.state.pending], ['a', 'b', false]);
});

test('reconcile: a consistent state is left alone', () => {
  const s = trial(1);
  const r = reconcile(s, 'b', 'T');
  assert.is(r.state, s);
  assert.is(r.note, null);
});

test.run();
