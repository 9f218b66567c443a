// The BFD session machine (RFC 5880 section 6): state diagram (6.2), reception (6.8.6),
// transmission and jitter (6.8.7), timer negotiation (6.8.2, 6.8.3), detection (6.8.4), poll and
// final (6.5), administrative control (6.8.16), and tandem's flap damping of takeovers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type BfdAction,
  type BfdSession,
  type BfdSessionConfig,
  DAMP_BASE_MS,
  DAMP_MAX_MS,
  SLOW_TX_US,
  bfdDetectionTimeUs,
  bfdInitialSession,
  bfdMayTrigger,
  bfdNextDeadline,
  bfdPacket,
  bfdReconfigure,
  bfdStep,
  bfdTxIntervalUs,
  jitteredMs,
} from '../../firmware/core/bfd/index.ts';
import type { BfdControl, BfdStateName } from '../../firmware/core/packet/index.ts';

const CFG: BfdSessionConfig = { localDiscr: 0x1111, desiredMinTxUs: 3000, requiredMinRxUs: 3000, detectMult: 3 };
const half = () => 0.5;
const sends = (a: BfdAction[]) => a.filter((x) => x.type === 'send').map((x) => (x as { packet: BfdControl }).packet);
const transitions = (a: BfdAction[]) =>
  a.filter((x) => x.type === 'transition') as Extract<BfdAction, { type: 'transition' }>[];

/** A packet from the remote (discriminator 0x2222) in `state`. */
function remote(state: BfdStateName, over: Partial<BfdControl> = {}): BfdControl {
  return {
    diag: 0,
    state,
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    detectMult: 3,
    myDiscr: 0x2222,
    yourDiscr: state === 'Down' || state === 'AdminDown' ? 0 : CFG.localDiscr,
    desiredMinTxUs: 3000,
    requiredMinRxUs: 3000,
    requiredMinEchoRxUs: 0,
    ...over,
  };
}

function rx(s: BfdSession, p: BfdControl, now: number) {
  return bfdStep(s, { type: 'packet', packet: p }, now, half);
}

/** Down -> Init -> Up through the peer's Down then Up packets (6.2). */
function upSession(now = 0): BfdSession {
  let s = bfdInitialSession(CFG, now);
  s = rx(s, remote('Down'), now).session;
  s = rx(s, remote('Up'), now).session;
  assert.is(s.state, 'Up');
  return s;
}

test('starts Down, sends at once with Your Discriminator 0 and the slow 1 s rate (6.8.1, 6.8.3)', () => {
  const s = bfdInitialSession(CFG, 100);
  assert.is(s.state, 'Down');
  assert.is(bfdNextDeadline(s), 100);
  const r = bfdStep(s, { type: 'timer' }, 100, half);
  const [p] = sends(r.actions);
  assert.equal(p, {
    diag: 0,
    state: 'Down',
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    detectMult: 3,
    myDiscr: 0x1111,
    yourDiscr: 0,
    desiredMinTxUs: SLOW_TX_US,
    requiredMinRxUs: 3000,
    requiredMinEchoRxUs: 0,
  });
  // RemoteMinRxInterval starts at 1 us, so the 1 s DesiredMinTx paces us: 875 ms with r = 0.5.
  assert.is(r.session.nextTxMs, 100 + 875);
});

test('6.2: Down hears Down -> Init, Init hears Up -> Up', () => {
  let s = bfdInitialSession(CFG, 0);
  let r = rx(s, remote('Down'), 10);
  assert.is(r.session.state, 'Init');
  assert.equal(
    transitions(r.actions).map((t) => [t.from, t.to, t.diag]),
    [['Down', 'Init', 0]],
  );
  s = r.session;
  assert.is(s.remoteDiscr, 0x2222);
  r = rx(s, remote('Up'), 20);
  assert.is(r.session.state, 'Up');
});

test('6.2: Down hears Init -> Up; Init hears Init -> Up', () => {
  assert.is(rx(bfdInitialSession(CFG, 0), remote('Init'), 1).session.state, 'Up');
  const init = rx(bfdInitialSession(CFG, 0), remote('Down'), 1).session;
  assert.is(rx(init, remote('Init'), 2).session.state, 'Up');
});

test('6.2: Down ignores Up from the peer; Init ignores Down', () => {
  assert.is(rx(bfdInitialSession(CFG, 0), remote('Up'), 1).session.state, 'Down');
  const init = rx(bfdInitialSession(CFG, 0), remote('Down'), 1).session;
  assert.is(rx(init, remote('Down'), 2).session.state, 'Init');
});

test('6.8.6: Up hears Down -> Down with diag 3 (Neighbor Signaled Session Down), no takeover', () => {
  const r = rx(upSession(), remote('Down'), 5000);
  assert.is(r.session.state, 'Down');
  assert.is(r.session.localDiag, 3);
  const [t] = transitions(r.actions);
  assert.equal([t.from, t.to, t.diag, t.peerSilent], ['Up', 'Down', 3, false]);
});

test('6.8.6: AdminDown from the peer takes Init or Up Down with diag 3; Down stays Down', () => {
  assert.is(rx(upSession(), remote('AdminDown', { diag: 7 }), 5).session.localDiag, 3);
  const init = rx(bfdInitialSession(CFG, 0), remote('Down'), 1).session;
  assert.is(rx(init, remote('AdminDown'), 2).session.state, 'Down');
  const down = rx(bfdInitialSession(CFG, 0), remote('AdminDown'), 1);
  assert.is(down.session.state, 'Down');
  assert.equal(transitions(down.actions), []);
});

test('6.8.6: a packet with the A bit is dropped (no authentication configured)', () => {
  const s = bfdInitialSession(CFG, 0);
  const r = rx(s, remote('Down', { auth: { type: 1, len: 7 } }), 1);
  assert.is(r.session, s);
  assert.equal(r.actions, [{ type: 'drop', reason: 'bfd-auth-not-configured' }]);
});

test('6.8.6: a nonzero Your Discriminator that is not ours is dropped', () => {
  const s = upSession();
  const r = rx(s, remote('Up', { yourDiscr: 0x9999 }), 1);
  assert.is(r.session, s);
  assert.equal(r.actions, [{ type: 'drop', reason: 'bfd-your-discr-mismatch' }]);
});

test('6.8.6: learns the remote discriminator, Required Min RX, Desired Min TX and Detect Mult', () => {
  const s = rx(bfdInitialSession(CFG, 0), remote('Down', { requiredMinRxUs: 50_000, detectMult: 5 }), 1).session;
  assert.is(s.remoteDiscr, 0x2222);
  assert.is(s.remoteMinRxUs, 50_000);
  assert.is(s.remoteDetectMult, 5);
  assert.is(s.remoteDesiredMinTxUs, 3000);
});

test('6.8.3: coming Up asks for the configured rate with a Poll; the Final ends the poll', () => {
  let s = upSession(0);
  assert.is(s.desiredMinTxUs, 3000);
  assert.ok(s.polling);
  assert.is(bfdTxIntervalUs(s), 3000);
  const t = bfdStep(s, { type: 'timer' }, s.nextTxMs!, half);
  const [p] = sends(t.actions);
  assert.ok(p.poll);
  assert.is(p.state, 'Up');
  assert.is(p.desiredMinTxUs, 3000);
  s = rx(t.session, remote('Up', { final: true }), s.nextTxMs! + 1).session;
  assert.not.ok(s.polling);
  assert.not.ok(bfdPacket(s).poll);
});

test('6.8.3: the slow 1 s rate holds while not Up even when both want 3 ms', () => {
  const s = rx(bfdInitialSession(CFG, 0), remote('Down'), 0).session; // Init
  assert.is(s.desiredMinTxUs, SLOW_TX_US);
  assert.is(bfdTxIntervalUs(s), SLOW_TX_US);
});

test('6.8.2: the transmit interval is the larger of our Desired Min TX and the remote Required Min RX', () => {
  const s = rx(upSession(), remote('Up', { requiredMinRxUs: 10_000 }), 1).session;
  assert.is(bfdTxIntervalUs(s), 10_000);
});

test('6.8.6: a Poll is answered at once with F and never with P, even while we poll', () => {
  const s = upSession();
  assert.ok(s.polling);
  const r = rx(s, remote('Up', { poll: true, desiredMinTxUs: 20_000 }), 7);
  const out = sends(r.actions);
  assert.is(out.length, 1);
  assert.ok(out[0].final);
  assert.not.ok(out[0].poll);
  assert.is(r.session.remoteDesiredMinTxUs, 20_000);
});

test('6.8.4: Detection Time = remote Detect Mult x max(our Required Min RX, its Desired Min TX)', () => {
  let s = rx(upSession(), remote('Up', { detectMult: 4, desiredMinTxUs: 5000 }), 100).session;
  assert.is(bfdDetectionTimeUs(s), 20_000);
  assert.is(s.detectMs, 120);
  s = rx(s, remote('Up', { detectMult: 3, desiredMinTxUs: 1000 }), 200).session;
  assert.is(bfdDetectionTimeUs(s), 9000); // our 3 ms Required Min RX wins
  assert.is(s.detectMs, 209);
});

test('6.8.4: no Down before the Detection Time; at it, Down with diag 1 and the peer is silent', () => {
  let s = rx(upSession(0), remote('Up', { final: true }), 0).session;
  s = { ...s, nextTxMs: undefined }; // look at detection only
  const early = bfdStep(s, { type: 'timer' }, 8.99, half);
  assert.is(early.session.state, 'Up');
  const r = bfdStep(s, { type: 'timer' }, 9, half);
  assert.is(r.session.state, 'Down');
  assert.is(r.session.localDiag, 1);
  assert.is(r.session.lastDownDiag, 1);
  assert.is(r.session.remoteDiscr, 0); // 6.8.1
  assert.is(r.session.desiredMinTxUs, SLOW_TX_US);
  const [t] = transitions(r.actions);
  assert.equal([t.from, t.to, t.diag, t.peerSilent], ['Up', 'Down', 1, true]);
  // The Down goes out at once, with diag 1 and Your Discriminator 0.
  const [p] = sends(r.actions);
  assert.equal([p.state, p.diag, p.yourDiscr], ['Down', 1, 0]);
});

test('6.8.4: Init times out to Down (diag 1) without a takeover; Down only forgets the peer', () => {
  const init = rx(bfdInitialSession(CFG, 0), remote('Down'), 0).session;
  const r = bfdStep(init, { type: 'timer' }, init.detectMs!, half);
  assert.is(r.session.state, 'Down');
  assert.is(transitions(r.actions)[0].peerSilent, false);
  const down = rx(bfdInitialSession(CFG, 0), remote('AdminDown'), 0).session;
  const d = bfdStep(down, { type: 'timer' }, down.detectMs!, half);
  assert.is(d.session.remoteDiscr, 0);
  assert.equal(transitions(d.actions), []);
});

test('a session that never came Up never reports a silent peer', () => {
  let s = bfdInitialSession(CFG, 0);
  let silent = 0;
  for (let now = 0; now < 10_000; now += 50) {
    const r = bfdStep(s, { type: 'timer' }, now, Math.random);
    s = r.session;
    silent += transitions(r.actions).filter((t) => t.peerSilent).length;
  }
  assert.is(silent, 0);
  assert.is(s.state, 'Down');
});

test('6.8.7: jitter is 75-100% of the interval, 75-90% with Detect Mult 1', () => {
  assert.is(
    jitteredMs(4000, 3, () => 0),
    3,
  );
  assert.ok(Math.abs(jitteredMs(4000, 3, () => 0.9999999) - 4) < 1e-3);
  assert.is(
    jitteredMs(4000, 1, () => 0),
    3,
  );
  assert.ok(jitteredMs(4000, 1, () => 0.9999999) <= 3.6);
  for (let i = 0; i < 1000; i++) {
    const j = jitteredMs(1_000_000, 3, Math.random);
    assert.ok(j >= 750 && j <= 1000);
    const k = jitteredMs(1_000_000, 1, Math.random);
    assert.ok(k >= 750 && k <= 900);
  }
});

test('6.8.7: a Required Min RX of 0 from the remote stops our periodic packets', () => {
  const s = rx(upSession(), remote('Up', { requiredMinRxUs: 0 }), 1).session;
  assert.is(s.nextTxMs, undefined);
  assert.is(bfdTxIntervalUs(s), 0);
  // A Poll is still answered.
  assert.is(sends(rx(s, remote('Up', { poll: true, requiredMinRxUs: 0 }), 2).actions).length, 1);
});

test('6.8.7: a faster remote Required Min RX brings the next packet forward', () => {
  let s = bfdInitialSession({ ...CFG, desiredMinTxUs: 1_000_000 }, 0);
  s = bfdStep(s, { type: 'timer' }, 0, half).session; // next at 875
  s = rx(s, remote('Down'), 1).session; // to Init: the state change sends at once
  assert.is(s.nextTxMs, 1);
});

test('6.8.3: increasing Desired Min TX while Up keeps the old pace until the Final', () => {
  let s = rx(upSession(), remote('Up', { final: true }), 0).session;
  s = bfdReconfigure(s, { ...CFG, desiredMinTxUs: 50_000 }, 10).session;
  assert.ok(s.polling);
  assert.is(s.desiredMinTxUs, 50_000);
  assert.is(bfdTxIntervalUs(s), 3000);
  assert.is(bfdPacket(s).desiredMinTxUs, 50_000);
  s = rx(s, remote('Up', { final: true }), 11).session;
  assert.is(bfdTxIntervalUs(s), 50_000);
});

test('6.8.3: decreasing Required Min RX while Up keeps the old detection time until the Final', () => {
  const slow = { ...CFG, requiredMinRxUs: 10_000 };
  let s = bfdInitialSession(slow, 0);
  s = rx(s, remote('Init'), 0).session;
  s = rx(s, remote('Up', { final: true }), 0).session;
  s = bfdReconfigure(s, { ...slow, requiredMinRxUs: 3000 }, 1).session;
  assert.is(bfdDetectionTimeUs(s), 30_000);
  s = rx(s, remote('Up', { final: true }), 2).session;
  assert.is(bfdDetectionTimeUs(s), 9000);
});

test('6.8.16: AdminDown sends diag 7, drops packets, and comes back Down', () => {
  const r = bfdStep(upSession(), { type: 'admin-down' }, 5, half);
  assert.is(r.session.state, 'AdminDown');
  assert.is(r.session.localDiag, 7);
  assert.is(r.session.detectMs, undefined);
  const t = bfdStep(r.session, { type: 'timer' }, 5, half);
  assert.equal(
    sends(t.actions).map((p) => [p.state, p.diag]),
    [['AdminDown', 7]],
  );
  assert.equal(rx(t.session, remote('Up'), 6).actions, [{ type: 'drop', reason: 'bfd-admin-down' }]);
  assert.is(bfdStep(t.session, { type: 'admin-up' }, 7, half).session.state, 'Down');
});

/** Up at `upAt`, then detection expiry at `downAt`; returns whether the Down may trigger. */
function flap(s: BfdSession, upAt: number, downAt: number): { s: BfdSession; silent: boolean } {
  s = rx(s, remote('Down'), upAt).session;
  s = rx(s, remote('Up'), upAt).session;
  assert.is(s.state, 'Up');
  const r = bfdStep({ ...s, detectMs: downAt }, { type: 'timer' }, downAt, half);
  assert.is(r.session.state, 'Down');
  return { s: r.session, silent: transitions(r.actions)[0].peerSilent };
}

test('damping: the first Down triggers; a Down within the hold does not and doubles it', () => {
  let s = bfdInitialSession(CFG, 0);
  let f = flap(s, 0, 5000);
  assert.ok(f.silent);
  assert.is(f.s.damping.holdMs, DAMP_BASE_MS);
  f = flap(f.s, 5100, 5100 + DAMP_BASE_MS - 1); // back Up for less than the hold
  assert.not.ok(f.silent);
  assert.is(f.s.damping.holdMs, 2 * DAMP_BASE_MS);
  assert.is(f.s.damping.flaps, 1);
  f = flap(f.s, 7000, 7000 + 2 * DAMP_BASE_MS - 1);
  assert.not.ok(f.silent);
  assert.is(f.s.damping.holdMs, 4 * DAMP_BASE_MS);
  f = flap(f.s, 20_000, 20_000 + 4 * DAMP_BASE_MS); // Up for the whole hold: may trigger again
  assert.ok(f.silent);
  assert.is(f.s.damping.holdMs, 4 * DAMP_BASE_MS);
  f = flap(f.s, 30_000, 30_000 + 16 * DAMP_BASE_MS); // Up for 4 x hold: the hold resets
  assert.ok(f.silent);
  assert.is(f.s.damping.holdMs, DAMP_BASE_MS);
  s = f.s;
  for (let i = 0; i < 12; i++) s = flap(s, 100_000 + i * 10, 100_000 + i * 10 + 5).s;
  assert.is(s.damping.holdMs, DAMP_MAX_MS);
});

test('damping: bfdMayTrigger reports the hold while Up', () => {
  const f = flap(bfdInitialSession(CFG, 0), 0, 100);
  let s = rx(f.s, remote('Down'), 200).session;
  s = rx(s, remote('Up'), 200).session;
  assert.not.ok(bfdMayTrigger(s, 200 + DAMP_BASE_MS - 1));
  assert.ok(bfdMayTrigger(s, 200 + DAMP_BASE_MS));
});

// Two sessions wired back to back with a fixed one-way delay, driven by their own deadlines.
function simulate(
  a: BfdSession,
  b: BfdSession,
  untilMs: number,
  opts: { delayMs?: number; cutAtMs?: number; random?: () => number } = {},
) {
  const delay = opts.delayMs ?? 0.1;
  const random = opts.random ?? Math.random;
  const queue: { at: number; to: 'a' | 'b'; p: BfdControl }[] = [];
  const log: { at: number; who: 'a' | 'b'; t: Extract<BfdAction, { type: 'transition' }> }[] = [];
  const sent = { a: 0, b: 0 };
  let now = 0;
  const apply = (who: 'a' | 'b', r: { session: BfdSession; actions: BfdAction[] }) => {
    if (who === 'a') a = r.session;
    else b = r.session;
    for (const x of r.actions) {
      if (x.type === 'transition') log.push({ at: now, who, t: x });
      // After the cut, `a` is silent: its packets are lost (a dead master, a dead port).
      if (x.type === 'send' && !(who === 'a' && opts.cutAtMs !== undefined && now >= opts.cutAtMs)) {
        sent[who]++;
        queue.push({ at: now + delay, to: who === 'a' ? 'b' : 'a', p: x.packet });
      }
    }
  };
  for (let i = 0; i < 1_000_000; i++) {
    queue.sort((x, y) => x.at - y.at);
    const ta = bfdNextDeadline(a) ?? Number.POSITIVE_INFINITY;
    const tb = bfdNextDeadline(b) ?? Number.POSITIVE_INFINITY;
    const tq = queue[0]?.at ?? Number.POSITIVE_INFINITY;
    const t = Math.min(ta, tb, tq);
    if (t > untilMs) break;
    now = t;
    if (tq === t) {
      const m = queue.shift()!;
      apply(m.to, bfdStep(m.to === 'a' ? a : b, { type: 'packet', packet: m.p }, now, random));
    } else if (ta === t) apply('a', bfdStep(a, { type: 'timer' }, now, random));
    else apply('b', bfdStep(b, { type: 'timer' }, now, random));
  }
  return { a, b, log, sent };
}

test('two sessions come Up within a slow interval and settle at 3 ms with no poll left', () => {
  const a = bfdInitialSession(CFG, 0);
  const b = bfdInitialSession({ ...CFG, localDiscr: 0x2222 }, 0);
  const r = simulate(a, b, 2000);
  assert.is(r.a.state, 'Up');
  assert.is(r.b.state, 'Up');
  assert.not.ok(r.a.polling || r.b.polling);
  assert.is(bfdTxIntervalUs(r.a), 3000);
  const upAt = Math.max(...r.log.filter((l) => l.t.to === 'Up').map((l) => l.at));
  assert.ok(upAt < 5, `up at ${upAt} ms`);
  // Two seconds at 2.25-3 ms (jitter 75-100% of 3 ms): 667..889 packets, plus the handshake's few.
  assert.ok(r.sent.a >= 660 && r.sent.a <= 900, `${r.sent.a} sent`);
});

test('a peer that goes silent is detected after the Detection Time, never before (both bounds)', () => {
  for (let run = 0; run < 50; run++) {
    const cut = 1000 + run * 0.37;
    const r = simulate(bfdInitialSession(CFG, 0), bfdInitialSession({ ...CFG, localDiscr: 0x2222 }, 0), 1100, {
      cutAtMs: cut,
    });
    const down = r.log.find((l) => l.who === 'b' && l.t.to === 'Down');
    assert.ok(down, 'b saw the session go Down');
    // The last packet of `a` left at most one jittered interval (<= 3 ms) before the cut and
    // arrived 0.1 ms later; detection is 9 ms after it.
    const after = down!.at - cut;
    assert.ok(after > 9 - 3 && after <= 9 + 0.1 + 1e-9, `detected ${after} ms after the cut`);
    assert.ok(down!.t.peerSilent);
    assert.is(down!.t.diag, 1);
  }
});

test('10 ms x 3 against a peer asking for 50 ms: both send at 50 ms, detection 150 ms', () => {
  const a = bfdInitialSession({ ...CFG, desiredMinTxUs: 10_000, requiredMinRxUs: 10_000 }, 0);
  const b = bfdInitialSession(
    { localDiscr: 0x2222, desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 3 },
    0,
  );
  const r = simulate(a, b, 3000);
  assert.is(bfdTxIntervalUs(r.a), 50_000);
  assert.is(bfdTxIntervalUs(r.b), 50_000);
  assert.is(bfdDetectionTimeUs(r.a), 150_000);
  assert.is(bfdDetectionTimeUs(r.b), 150_000);
});

test.run();
