// The 1 ms prober: outage arithmetic on fixed replies, then a real outage of known length
// (a bridge port disabled for ~400 ms) measured from a client namespace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withLab, computeProbeReport, startProber, waitFor, sleep } from '../kit/lab.ts';

const T = 1_000_000; // an arbitrary epoch ms

test('computeProbeReport: no loss, no outage', () => {
  const replies = Array.from({ length: 10 }, (_, n) => ({ n, timeMs: T + n }));
  const r = computeProbeReport(replies, 10, { intervalMs: 1, stopMs: T + 20 });
  assert.equal([r.sent, r.received, r.lost, r.outages, r.longestOutageMs, r.initialLost], [10, 10, 0, [], 0, 0]);
  assert.is(r.durationMs, 10); // sent x interval when the sender's own figure is not given
});

test('computeProbeReport: a gap is an outage from the reply before it to the reply after it', () => {
  const got = [0, 1, 2, 3, 50, 51, 52, 60, 61];
  const r = computeProbeReport(
    got.map((n) => ({ n, timeMs: T + n * 1.5 })),
    62,
    { intervalMs: 1, stopMs: T + 200 },
  );
  assert.equal(r.outages, [
    { startMs: T + 4.5, lengthMs: 70.5, lostPackets: 46 },
    { startMs: T + 78, lengthMs: 12, lostPackets: 7 },
  ]);
  assert.is(r.longestOutageMs, 70.5);
  assert.equal([r.sent, r.received, r.lost], [62, 9, 53]);
});

test('computeProbeReport: minLostPackets ignores single drops; a silent tail lasts to the stop', () => {
  const got = [0, 1, 3, 4, 5];
  const r = computeProbeReport(
    got.map((n) => ({ n, timeMs: T + n })),
    20,
    { intervalMs: 1, stopMs: T + 30, minLostPackets: 2 },
  );
  assert.equal(r.outages, [{ startMs: T + 5, lengthMs: 25, lostPackets: 14 }]);
});

test('computeProbeReport: duplicates and out-of-range numbers are ignored; losses before the first reply are initialLost', () => {
  const r = computeProbeReport(
    [
      { n: 7, timeMs: T + 7 },
      { n: 7, timeMs: T + 9 },
      { n: 8, timeMs: T + 8 },
      { n: 99, timeMs: T },
    ],
    9,
    { intervalMs: 1, stopMs: T + 10 },
  );
  assert.equal([r.received, r.lost, r.initialLost, r.outages.length], [2, 7, 7, 0]);
  const none = computeProbeReport([], 5, { intervalMs: 1, stopMs: T });
  assert.equal([none.received, none.lost, none.initialLost, none.outages], [0, 5, 5, []]);
});

test('startProber measures a ~400 ms silent link failure to within its bounds', async () => {
  await withLab({ routers: 1, clients: 1 }, async (lab) => {
    const r = lab.routers[0];
    const p = startProber(lab, lab.clients[0].ns, r.ipv4);
    await p.ready;
    assert.ok(await waitFor(() => p.received() >= 200, 5000), 'no replies');
    const t0 = Date.now();
    await lab.linkDown(r);
    await sleep(400);
    await lab.linkUp(r);
    const downMs = Date.now() - t0;
    await sleep(400);
    const rep = await p.stop();
    const rate = rep.sent / (rep.durationMs / 1000);
    console.log(
      `  port down ${downMs} ms; prober: sent ${rep.sent}, received ${rep.received}, longest outage ${rep.longestOutageMs.toFixed(1)} ms, ` +
        `${rep.outages.length} outage(s) (${rate.toFixed(0)} requests/s achieved)`,
    );
    assert.ok(rep.received > 300);
    // The gap includes the commands' own latency; generous margins for a busy 2-core machine.
    assert.ok(rep.longestOutageMs >= 300 && rep.longestOutageMs <= downMs + 300, `${rep.longestOutageMs} vs ${downMs}`);
  });
});

test('startProber rejects an IPv6 target (ICMPv4 only)', () => {
  let err: unknown;
  try {
    startProber({} as never, 'x', '2001:db8::1');
  } catch (e) {
    err = e;
  }
  assert.match(String(err), /IPv4/);
});

test.run();
