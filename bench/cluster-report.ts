// The cluster phase's results and their markdown (bench/cluster.ts measures). Pure (no I/O).
import type { ClusterStep } from '../lab/cluster-demo.ts';

export interface ClusterBenchRun {
  nodes: number;
  advertMs: number;
  boundMs: number;
  failure: {
    clients: number;
    affected: number;
    /** Sources served by the failed node before it failed: the ones that had to move. */
    ofFailed: number;
    outagesMs: number[];
    tookMs: number | null;
  } | null;
  planned: Pick<ClusterStep, 'step' | 'clientsAffected' | 'resets' | 'httpErrors' | 'tookMs' | 'drainedMs'>[];
  ok: boolean;
  error?: string;
}

export interface ClusterBenchResult {
  runs: ClusterBenchRun[];
  /** setBuckets (one transaction moving one bucket) on one node, ms. */
  moveMs: { n: number; p50: number; p90: number; max: number } | null;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : Number.NaN;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export function renderClusterMarkdown(c: ClusterBenchResult): string[] {
  const L: string[] = ['## Active-active cluster (issue #13)', ''];
  L.push(
    'One of N nodes fails silently (bridge port disabled) while 32 client addresses probe the shared address with UDP every 20 ms and fetch over HTTP; outage = from the last answered probe to the next one, for runs of unanswered probes. Bound: 3 x advert interval + interval/4.',
    '',
    '| Nodes | Interval | Clients with any outage | Clients of the failed node | 1/N | Active-backup (master dies) | Outage median | Outage max | Bound | Ownership reported after |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of c.runs) {
    if (!r.failure) {
      L.push(
        `| ${r.nodes} | ${r.advertMs} ms | error: ${(r.error ?? 'no failure step').split('\n')[0].replace(/\|/g, '/')} | | | | | | | |`,
      );
      continue;
    }
    const f = r.failure;
    L.push(
      `| ${r.nodes} | ${r.advertMs} ms | ${f.affected}/${f.clients} (${Math.round((100 * f.affected) / f.clients)} %) | ${f.ofFailed} | ${Math.round(100 / r.nodes)} % | 100 % | ${f.outagesMs.length ? r1(quantile(f.outagesMs, 0.5)) : 0} ms | ${f.outagesMs.length ? r1(Math.max(...f.outagesMs)) : 0} ms | ${r.boundMs} ms | ${f.tookMs === null ? '-' : `${Math.round(f.tookMs)} ms`} |`,
    );
  }
  L.push('', 'Planned changes (make-before-break with draining): clients affected and connections reset.', '');
  L.push(
    '| Nodes | Interval | Step | Clients affected | Resets | Other HTTP errors | New owners after | Draining over after |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of c.runs)
    for (const p of r.planned)
      L.push(
        `| ${r.nodes} | ${r.advertMs} ms | ${p.step} | ${p.clientsAffected} | ${p.resets} | ${p.httpErrors} | ${p.tookMs === null ? '-' : `${Math.round(p.tookMs)} ms`} | ${p.drainedMs === null ? '-' : `${r1(p.drainedMs / 1000)} s`} |`,
      );
  if (c.moveMs)
    L.push(
      '',
      `Bucket move in the data path (one libnftables transaction: flush and refill the owned, serving and draining sets), ${c.moveMs.n} moves: median ${r1(c.moveMs.p50)} ms, p90 ${r1(c.moveMs.p90)} ms, max ${r1(c.moveMs.max)} ms.`,
    );
  L.push('');
  return L;
}
