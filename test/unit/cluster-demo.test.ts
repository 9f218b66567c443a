// The pure parts of `tandem lab --cluster N` (lab/cluster-demo.ts) and the bench's cluster report:
// how a step's window is measured from the clients' cumulative stats, and the tables.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { measureWindow, renderClusterTable, type ClusterDemoSummary } from '../../lab/cluster-demo.ts';
import { renderClusterMarkdown } from '../../bench/cluster-report.ts';

const src = (o: Partial<Parameters<typeof measureWindow>[0][string]>) => ({
  gaps: [],
  duplicates: 0,
  served: {},
  lastNode: 'n1',
  httpOk: 0,
  httpErrors: [],
  ...o,
});

test('measureWindow counts gaps and HTTP errors inside the window only, resets apart from other errors', () => {
  const m = measureWindow(
    {
      a: src({ gaps: [{ startMs: 1000, lengthMs: 300 }], lastNode: 'n2' }),
      b: src({ gaps: [{ startMs: 100, lengthMs: 50 }] }), // before the window
      c: src({
        httpErrors: [
          { atMs: 1500, code: 'ECONNRESET' },
          { atMs: 1600, code: 'ETIMEDOUT' },
        ],
      }),
      d: src({}),
    },
    { a: 'n3', b: 'n1', c: 'n1', d: 'n3' },
    900,
    2000,
    'n3',
  );
  assert.equal(
    [m.clientsAffected, m.clientsMoved, m.clientsOfNode, m.maxOutageMs, m.outagesMs, m.resets, m.httpErrors],
    [2, 2, 2, 300, [300], 1, 1],
  );
  assert.equal(m.errorCodes, { ECONNRESET: 1, ETIMEDOUT: 1 });
  assert.equal(m.served, { n2: 1, n1: 3 });
});

test('the demo table and the bench markdown carry every step and the bound', () => {
  const summary: ClusterDemoSummary = {
    lab: 'lab0000',
    vip: '192.0.2.80',
    nodes: ['n1', 'n2', 'n3'],
    advertMs: 100,
    failoverBoundMs: 325,
    ok: true,
    steps: [
      {
        step: 'failure',
        planned: false,
        action: 'n3 fails',
        tookMs: 300,
        drainedMs: null,
        clientsAffected: 15,
        clients: 32,
        clientsMoved: 17,
        clientsOfNode: 15,
        maxOutageMs: 340,
        outagesMs: [330, 340],
        resets: 0,
        httpErrors: 0,
        errorCodes: {},
        buckets: { n1: 32, n2: 32 },
        served: { n1: 17, n2: 15 },
        ok: true,
        expected: '',
      },
    ],
  };
  const table = renderClusterTable(summary).join('\n');
  assert.match(table, /failure\s+no\s+300 ms\s+-\s+15\s+17\/32\s+15\/32\s+340 ms\s+0\s+0\s+n1:32 n2:32\s+ok/);
  const md = renderClusterMarkdown({
    runs: [
      {
        nodes: 3,
        advertMs: 100,
        boundMs: 325,
        failure: { clients: 32, affected: 15, ofFailed: 15, outagesMs: [330, 340], tookMs: 300 },
        planned: [{ step: 'stop', clientsAffected: 0, resets: 0, httpErrors: 0, tookMs: 20, drainedMs: 5100 }],
        ok: true,
      },
    ],
    moveMs: { n: 10, p50: 0.5, p90: 1.2, max: 3 },
  }).join('\n');
  assert.match(
    md,
    /\| 3 \| 100 ms \| 15\/32 \(47 %\) \| 15 \| 33 % \| 100 % \| 340 ms \| 340 ms \| 325 ms \| 300 ms \|/,
  );
  assert.match(md, /\| 3 \| 100 ms \| stop \| 0 \| 0 \| 0 \| 20 ms \| 5.1 s \|/);
  assert.match(md, /median 0.5 ms, p90 1.2 ms, max 3 ms/);
});

test.run();
