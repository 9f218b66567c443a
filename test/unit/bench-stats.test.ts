// The benchmark's pure helpers: percentiles, summaries, jitter, /proc parsing, the CPU profile
// digest and the SVG box plot, against values worked out by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compareMedians,
  seededRandom,
  percentile,
  summarize,
  advertJitter,
  masterDownIntervalMs,
  parseProcStat,
  parseVmRssKb,
  descendants,
  cpuSecondsPerMinute,
  topFunctions,
  ratio,
  parseCyclictestHistogram,
  type CpuProfile,
} from '../../bench/stats.ts';
import { boxPlotSvg, niceStep } from '../../bench/svg.ts';

test('percentile interpolates between closest ranks (type 7)', () => {
  const v = [10, 20, 30, 40];
  assert.is(percentile(v, 0), 10);
  assert.is(percentile(v, 100), 40);
  assert.is(percentile(v, 50), 25); // position 1.5
  assert.ok(Math.abs(percentile(v, 90) - 37) < 1e-9); // position 2.7: 30 + 0.7 * 10
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('summarize sorts, skips NaN, and reports n/min/median/p90/max/mean', () => {
  const s = summarize([5, NaN, 1, 3, 2, 4]);
  assert.equal([s.n, s.min, s.median, s.max, s.mean], [5, 1, 3, 5, 3]);
  assert.ok(Math.abs(s.p90 - 4.6) < 1e-9); // position 3.6 in 1..5
  assert.is(summarize([]).n, 0);
  assert.ok(Number.isNaN(summarize([]).median));
});

test('advertJitter: gaps minus the interval, signed, in time order', () => {
  // Sent at 0, 10, 21, 30, 45 ms with a 10 ms interval: deviations 0, +1, -1, +5.
  const j = advertJitter([21, 0, 10, 45, 30], 10);
  assert.is(j.gaps, 4);
  assert.is(j.deviation.min, -1);
  assert.is(j.deviation.max, 5);
  assert.is(j.deviation.median, 0.5);
  assert.is(j.absDeviation.median, 1);
});

test('Master_Down_Interval: 3 x interval + (256 - prio) / 256 x interval (RFC 5798 6.1)', () => {
  assert.ok(Math.abs(masterDownIntervalMs(100, 100) - 360.9375) < 1e-9);
  assert.ok(Math.abs(masterDownIntervalMs(10, 100) - 36.09375) < 1e-9);
  assert.is(masterDownIntervalMs(1000, 256), 3000);
});

test('parseProcStat splits at the last parenthesis (comm may hold spaces and parens)', () => {
  // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
  const line =
    '4242 (keep (a) live) S 4200 4242 4242 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 1 0 12345 1000000 300 18446744073709551615';
  const s = parseProcStat(line)!;
  assert.is(s.pid, 4242);
  assert.is(s.comm, 'keep (a) live');
  assert.is(s.ppid, 4200);
  assert.is(s.ticks, 150 + 50 + 7 + 3);
  assert.is(parseProcStat('garbage'), null);
});

test('parseVmRssKb reads VmRSS; a zombie without it gives NaN', () => {
  assert.is(parseVmRssKb('Name:\tnode\nVmPeak:\t 9000 kB\nVmRSS:\t   73412 kB\nThreads:\t11\n'), 73412);
  assert.ok(Number.isNaN(parseVmRssKb('Name:\tzombie\nState:\tZ (zombie)\n')));
});

test('descendants walks the whole tree and ignores other trees', () => {
  const procs = [
    { pid: 10, ppid: 1 },
    { pid: 11, ppid: 10 },
    { pid: 12, ppid: 11 },
    { pid: 20, ppid: 1 },
    { pid: 13, ppid: 10 },
  ];
  assert.equal(
    descendants(10, procs).sort((a, b) => a - b),
    [10, 11, 12, 13],
  );
  assert.equal(descendants(20, procs), [20]);
});

test('cpuSecondsPerMinute: 300 ticks at 100 Hz in 30 s is 6 CPU-s/min', () => {
  assert.is(cpuSecondsPerMinute(300, 100, 30_000), 6);
  assert.ok(Number.isNaN(cpuSecondsPerMinute(1, 100, 0)));
  assert.is(ratio(3, 2), 1.5);
  assert.ok(Number.isNaN(ratio(1, 0)));
});

test('topFunctions charges samples by time delta, merges same function, leaves idle out of the list', () => {
  const p: CpuProfile = {
    startTime: 0,
    endTime: 10_000,
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 3, callFrame: { functionName: 'decode', url: 'file:///x/dist/tandem.js', lineNumber: 9 } },
      { id: 4, callFrame: { functionName: 'decode', url: 'file:///x/dist/tandem.js', lineNumber: 9 } },
      { id: 5, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
    ],
    // Each sample takes the delta that follows it; the last takes its own.
    samples: [2, 3, 4, 5, 2],
    timeDeltas: [0, 1000, 2000, 1000, 4000],
  };
  // Charged: idle 1 + 4 (the last sample reuses its own delta) = 5 ms, decode 2 + 1 = 3 ms,
  // GC 4 ms; 12 ms in all, 7 ms busy.
  const t = topFunctions(p, 5);
  assert.is(t.totalMs, 12);
  const decode = t.top.find((h) => h.name === 'decode')!;
  assert.is(decode.where, 'dist/tandem.js:10');
  assert.is(decode.selfMs, 3);
  assert.is(decode.selfPct, 42.9); // 3 of 7 busy ms
  assert.is(t.gcPct, 57.1); // 4 of 7
  assert.is(t.idlePct, 41.7); // 5 of 12
  assert.ok(!t.top.some((h) => h.name === '(idle)'));
  assert.equal(
    t.top.map((h) => h.name),
    ['(garbage collector)', 'decode'],
  );
});

test('niceStep picks 1/2/5 x 10^k', () => {
  assert.is(niceStep(360, 5), 100);
  assert.is(niceStep(36, 5), 10);
  assert.is(niceStep(4, 5), 1);
  assert.is(niceStep(9, 5), 2);
});

test('boxPlotSvg draws one panel per setting, one box per series, a point per run, and escapes text', () => {
  const svg = boxPlotSvg(
    [
      {
        title: 'failure, 100 ms',
        series: [
          { label: 'tandem', values: [340, 350, 330] },
          { label: 'keepalived', values: [300, 310] },
        ],
        reference: { value: 360.9, label: 'bound' },
      },
      { title: 'a <b> & c', series: [{ label: 'frr', values: [] }] },
    ],
    { title: 'Outage' },
  );
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.is((svg.match(/<g class="panel">/g) ?? []).length, 2);
  assert.is((svg.match(/<circle /g) ?? []).length, 5);
  assert.is((svg.match(/fill-opacity="0.25"/g) ?? []).length, 2); // no box for the empty series
  assert.ok(svg.includes('a &lt;b&gt; &amp; c'));
  assert.ok(svg.includes('median 340 ms'));
  assert.ok(svg.includes('stroke-dasharray'));
});

test('compareMedians: clearly separated samples get a verdict, overlapping ones do not', () => {
  const fast = [30, 31, 29, 30, 32, 31, 30, 29, 31, 30];
  const slow = fast.map((x) => x + 10);
  const d = compareMedians(fast, slow);
  assert.is(d.diff, -10);
  assert.is(d.verdict, 'lower');
  assert.ok(d.lo <= -10 && d.hi < 0, `interval [${d.lo}, ${d.hi}] excludes zero`);
  assert.is(compareMedians(slow, fast).verdict, 'higher');
  // Medians 1 % apart with ranges that overlap (the 1 s / 100 ms case of the old report).
  const a = [343, 350, 308, 352, 354, 340, 347, 336, 349, 345];
  const b = [345, 349, 269, 350, 351, 344, 338, 352, 346, 341];
  assert.is(compareMedians(a, b).verdict, 'equal within noise');
});

test('compareMedians makes no claim from fewer than 5 runs a side', () => {
  assert.is(compareMedians([1, 2, 3], [10, 11, 12]).verdict, 'too few runs');
});

test('seededRandom repeats itself for a seed and stays in [0, 1)', () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.equal(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test.run();

test('parseCyclictestHistogram: per-thread maxima and wake-ups at or above each threshold', () => {
  // A cyclictest -h 12 -q output cut down by hand: two threads, buckets in us, 2 overflows on thread 1.
  const text = [
    '# /dev/cpu_dma_latency set to 0us',
    '# Histogram',
    '000000 000000\t000000',
    '000003 000005\t000001',
    '000009 000002\t000000',
    '000010 000001\t000003',
    '000011 000000\t000001',
    '# Total: 000000008 000000007',
    '# Min Latencies: 00003 00003',
    '# Avg Latencies: 00005 00009',
    '# Max Latencies: 00010 00017',
    '# Histogram Overflows: 00000 00002',
  ].join('\n');
  const r = parseCyclictestHistogram(text, [9, 11]);
  assert.ok(r);
  assert.is(r.threads, 2);
  assert.equal(r.samples, [8, 7]);
  assert.equal(r.maxUs, [10, 17]);
  assert.equal(r.atLeast[9], [3, 6]); // thread 0: 2 + 1; thread 1: 3 + 1 + 2 overflows
  assert.equal(r.atLeast[11], [0, 3]);
  assert.is(parseCyclictestHistogram('no histogram here', [9]), null);
  assert.is(parseCyclictestHistogram('000001 5 6\n# Max Latencies: 00001', [1]), null, 'row width differs');
});
